"""tr.save / tr.load: exact round trips, atomic writes, and clear refusals of anything else."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyrnn as tr
from tinyrnn.io import CheckpointError, from_torch_state_dict, load, save, to_torch_state_dict


def sample_state() -> dict:
    rng = np.random.default_rng(0)
    return {
        "model": {"rnn.weight_ih_l0": rng.standard_normal((8, 3)).astype(np.float32), "rnn.bias": rng.random(8)},
        "optim": {"state": {"0": {"step": 4, "exp_avg": rng.standard_normal((8, 3))}}, "lr": 0.001},
        "meta": {"epoch": 3, "vocab": ["a", "ü", "恐"], "loss": 1.2345678901234567, "best": None, "ok": True},
        "empty": {},
        "tokens": np.arange(5, dtype=np.int64),
    }


def assert_same(a, b):
    """Equal nested structure, with arrays bit-for-bit equal in dtype, shape and values."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    else:
        assert type(a) is type(b) and a == b


def test_round_trip_nested_float32_float64_and_metadata(tmp_path):
    state = sample_state()
    save(state, tmp_path / "ckpt.npz")
    loaded = load(tmp_path / "ckpt.npz")
    assert_same(state, loaded)
    assert loaded["model"]["rnn.weight_ih_l0"].dtype == np.float32
    assert loaded["optim"]["state"]["0"]["exp_avg"].dtype == np.float64
    assert list(loaded["model"]) == ["rnn.weight_ih_l0", "rnn.bias"]  # order of an all-array dict is kept


def test_archive_is_a_plain_npz_with_json_metadata(tmp_path):
    save(sample_state(), tmp_path / "ckpt.npz")
    with np.load(tmp_path / "ckpt.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(
            ["model/rnn.weight_ih_l0", "model/rnn.bias", "optim/state/0/exp_avg", "tokens", "__tinyrnn__"]
        )
        assert npz["__tinyrnn__"].dtype == np.uint8
        assert b'"version": 1' in npz["__tinyrnn__"].tobytes()


@pytest.mark.parametrize(
    "array",
    [
        np.array(2.5, dtype=np.float16),
        np.arange(6, dtype=np.int8).reshape(2, 3),
        np.array([True, False]),
        np.array([1 + 2j, -3j]),
        np.array(["ab", "ünï"]),
        np.zeros((0, 3), dtype=np.float32),
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        np.arange(20.0)[::3],
        np.array([np.nan, np.inf, -0.0, 5e-324]),
    ],
    ids=["f16-0d", "int8", "bool", "complex", "str", "empty", "fortran", "strided", "special-floats"],
)
def test_any_non_object_dtype_round_trips_bit_for_bit(array, tmp_path):
    save({"x": array}, tmp_path / "a.npz")
    out = load(tmp_path / "a.npz")["x"]
    assert out.dtype == array.dtype and out.shape == array.shape
    assert out.tobytes() == np.ascontiguousarray(array).tobytes()


def test_keys_that_end_in_npy_keep_their_own_arrays(tmp_path):
    path = tmp_path / "k.npz"
    tr.save({"a": np.ones(2), "a.npy": np.zeros(2), "b.npy": np.full(2, 3.0)}, path)
    back = tr.load(path)
    np.testing.assert_array_equal(back["a"], np.ones(2))
    np.testing.assert_array_equal(back["a.npy"], np.zeros(2))
    np.testing.assert_array_equal(back["b.npy"], np.full(2, 3.0))


def test_tensors_are_saved_as_their_data(tmp_path):
    t = tr.Tensor(np.arange(3.0), requires_grad=True)
    save({"t": t}, tmp_path / "t.npz")
    assert_same(load(tmp_path / "t.npz"), {"t": np.arange(3.0)})


@pytest.mark.parametrize(
    "state, error, message",
    [
        ([np.zeros(2)], TypeError, "state must be a dict, got list"),
        ({"a/b": np.zeros(2)}, ValueError, "key 'a/b': keys must be non-empty str without '/'"),
        ({"m": {3: np.zeros(2)}}, ValueError, "key 3 under 'm': keys must be non-empty str"),
        ({"__tinyrnn__": 1}, ValueError, "reserved"),
        ({"m": {"o": np.array([object()])}}, TypeError, "'m/o' is an object array"),
        ({"meta": {"lr": np.float32(0.1)}}, TypeError, "'meta/lr': Object of type float32 is not JSON serializable"),
    ],
)
def test_save_refuses_what_it_cannot_store_and_writes_nothing(state, error, message, tmp_path):
    with pytest.raises(error, match=message):
        save(state, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


def test_save_into_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save({"x": np.zeros(1)}, tmp_path / "nope" / "x.npz")


class Boom(Exception):
    pass


def test_failed_write_keeps_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    save(sample_state(), path)
    good = path.read_bytes()
    real_write = np.lib.format.write_array
    calls = []

    def write_then_fail(fp, array, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # two entries are already in the temporary file
            fp.write(b"half an array")
            raise Boom
        real_write(fp, array, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_fail)
    with pytest.raises(Boom):
        save({"new": {"a": np.ones(2), "b": np.ones(3), "c": np.ones(4)}}, path)
    assert len(calls) == 3
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    assert_same(load(path), sample_state())


def test_failed_rename_leaves_no_temp_file(tmp_path, monkeypatch):
    def fail(src, dst):
        assert os.path.exists(src)  # the complete temporary file was there
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(KeyboardInterrupt):
        save({"x": np.zeros(2)}, tmp_path / "ckpt.npz")
    assert os.listdir(tmp_path) == []


class MakesMarker:
    """Unpickling this object creates a file: the proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("with_tinyrnn_index", [False, True])
def test_pickle_in_archive_is_refused_without_running_it(with_tinyrnn_index, tmp_path):
    marker = tmp_path / "code_ran"
    entries = {"evil": np.array([MakesMarker(marker)], dtype=object)}
    if with_tinyrnn_index:
        save({"evil": np.zeros(1)}, tmp_path / "real.npz")
        with np.load(tmp_path / "real.npz") as npz:
            entries["__tinyrnn__"] = npz["__tinyrnn__"]
    path = tmp_path / "evil.npz"
    np.savez(path, **entries)

    with pytest.raises(CheckpointError, match="refused: it holds pickled Python objects") as info:
        load(path)
    assert str(path) in str(info.value)
    assert not marker.exists()

    # The object really would run code when unpickled, so the check above means something.
    with np.load(path, allow_pickle=True) as npz:
        npz["evil"]
    assert marker.exists()


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "ckpt.npz"
    save(sample_state(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"ckpt\.npz: damaged or truncated archive"):
        load(path)


@pytest.mark.parametrize(
    "content, message",
    [
        (bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8)), "not an .npz"),
        (b"epoch,loss\n1,2.5\n", "not an .npz"),
        (b"", "not an .npz"),
    ],
    ids=["random-bytes", "text", "empty"],
)
def test_non_npz_files_are_refused(content, message, tmp_path):
    path = tmp_path / "weird.npz"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message) as info:
        load(path)
    assert str(path) in str(info.value)


def test_npy_and_foreign_npz_are_refused(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(CheckpointError, match="not an .npz"):
        load(tmp_path / "a.npy")
    np.savez(tmp_path / "foreign.npz", w=np.zeros(3))
    with pytest.raises(CheckpointError, match="an .npz without the '__tinyrnn__' entry"):
        load(tmp_path / "foreign.npz")


def meta_bytes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), dtype=np.uint8)


@pytest.mark.parametrize(
    "entries, message",
    [
        ({"__tinyrnn__": np.zeros(3)}, r"bad '__tinyrnn__' entry: expected a 1-d uint8 array"),
        ({"__tinyrnn__": meta_bytes("{not json")}, "bad '__tinyrnn__' entry: Expecting property name"),
        ({"__tinyrnn__": meta_bytes('{"format": "other"}')}, "format is not 'tinyrnn'"),
        (
            {"__tinyrnn__": meta_bytes('{"format": "tinyrnn", "version": 2, "tree": {}, "arrays": []}')},
            "format version 2; this tinyrnn reads version 1",
        ),
        ({"__tinyrnn__": meta_bytes('{"format": "tinyrnn", "version": 1}')}, "lacks its 'tree' or 'arrays'"),
        (
            {"w": np.zeros(2), "__tinyrnn__": meta_bytes('{"format":"tinyrnn","version":1,"tree":{},"arrays":["v"]}')},
            r"its entries \['w'\] differ from its index \['v'\]",
        ),
        (
            {
                "m/w": np.zeros(2),
                "__tinyrnn__": meta_bytes('{"format":"tinyrnn","version":1,"tree":{"m":1},"arrays":["m/w"]}'),
            },
            "array 'm/w' lies under a non-dict value",
        ),
    ],
    ids=["meta-dtype", "meta-json", "meta-format", "future-version", "meta-fields", "entries-vs-index", "tree"],
)
def test_mismatched_metadata_is_refused(entries, message, tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, **entries)
    with pytest.raises(CheckpointError, match=message):
        load(path)


@settings(max_examples=150)
@given(cut=st.integers(0, 10_000), flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=3))
def test_damaged_files_load_exactly_or_raise_checkpoint_error(cut, flips, tmp_path_factory):
    """Cut and bit-flipped copies of a checkpoint: either the exact state comes back, or CheckpointError."""
    path = tmp_path_factory.mktemp("fuzz") / "c.npz"
    save(sample_state(), path)
    data = bytearray(path.read_bytes())
    for where, xor in flips:
        data[where % len(data)] ^= xor
    path.write_bytes(bytes(data[: len(data) - cut % len(data)]) if cut else bytes(data))
    try:
        loaded = load(path)
    except CheckpointError as e:
        assert str(path) in str(e)
    else:
        assert_same(sample_state(), loaded)


def test_import_does_not_import_torch():
    code = "import sys, tinyrnn, tinyrnn.io; assert 'torch' not in sys.modules, 'torch was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("dtype, torch_dtype", [(np.float64, torch.float64), (np.float32, torch.float32)])
def test_lstm_state_dict_travels_to_torch_and_back(dtype, torch_dtype, tmp_path):
    """tinyrnn LSTM -> save -> load -> torch LSTM (strict), and torch -> save -> load -> tinyrnn: same outputs."""
    kwargs = dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    tr.manual_seed(0)
    ours = tr.nn.LSTM(**kwargs, dtype=dtype)
    theirs = torch.nn.LSTM(**kwargs, dtype=torch_dtype)
    x = np.random.default_rng(1).standard_normal((5, 2, 3)).astype(dtype)
    tol = 1e-12 if dtype == np.float64 else 1e-5

    def assert_same_output():
        out, (h, c) = ours(tr.Tensor(x))
        with torch.no_grad():
            t_out, (t_h, t_c) = theirs(torch.from_numpy(x))
        for a, b in [(out, t_out), (h, t_h), (c, t_c)]:
            np.testing.assert_allclose(a.data, b.numpy(), rtol=tol, atol=tol)

    save({"model": ours.state_dict()}, tmp_path / "ours.npz")
    incompatible = theirs.load_state_dict(to_torch_state_dict(load(tmp_path / "ours.npz")["model"]), strict=True)
    assert not incompatible.missing_keys and not incompatible.unexpected_keys
    assert_same_output()

    with torch.no_grad():
        for p in theirs.parameters():
            p.mul_(-1.5)
    save({"model": from_torch_state_dict(theirs.state_dict())}, tmp_path / "theirs.npz")
    ours.load_state_dict(load(tmp_path / "theirs.npz")["model"])
    assert_same_output()
    assert all(v.dtype == dtype for v in ours.state_dict().values())
