"""Checkpoints past their stated limits, hostile files, and weights that are no weights.

Each refusal is one clear error (ValueError on save, CheckpointError naming the file
on load, RuntimeError naming the entry in load_state_dict), never a traceback from
deep inside zipfile, json or struct. Property tests: any state of float arrays and
JSON metadata round-trips exactly; any byte string is loaded or refused, nothing else.
"""

import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinyrnn as tr
from tinyrnn import functional as F
from tinyrnn.io import MAX_DEPTH, MAX_KEY_BYTES, META, CheckpointError, load, save


def nested(depth: int, leaf) -> dict:
    state = leaf
    for _ in range(depth):
        state = {"k": state}
    return state


# ---- save refuses what load could not read ------------------------------------------


@pytest.mark.parametrize(
    "state, message",
    [
        ({"a\0b": np.zeros(2)}, "without '/' or NUL"),
        ({"x" * (MAX_KEY_BYTES + 1): np.zeros(2)}, "over the 60,000 allowed"),
        ({"ok": {"é" * (MAX_KEY_BYTES // 2 + 1): 1}}, "bytes of UTF-8"),
        ({"\ud800": 1}, "not encodable as UTF-8"),
        (nested(MAX_DEPTH + 1, np.zeros(1)), f"deeper than {MAX_DEPTH} levels"),
        ({"meta": json.loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))}, f"deeper than {MAX_DEPTH} levels"),
    ],
    ids=["nul", "long-key", "long-utf8-path", "surrogate", "deep-dicts", "deep-json"],
)
def test_save_refuses_keys_and_nesting_past_the_limits(state, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        save(state, tmp_path / "c.npz")
    assert list(tmp_path.iterdir()) == []


def test_save_accepts_the_limits_themselves(tmp_path):
    state = {"x" * (MAX_KEY_BYTES - 10): np.zeros(1), "deep": nested(MAX_DEPTH - 1, [1])}
    save(state, tmp_path / "c.npz")
    back = load(tmp_path / "c.npz")
    assert back["deep"] == nested(MAX_DEPTH - 1, [1]) and list(back) == ["deep", "x" * (MAX_KEY_BYTES - 10)]


# ---- load refuses hostile archives before doing the costly work ----------------------


def archive(entries: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=False)
    return buf.getvalue()


def meta_entry(text: str) -> bytes:
    return npy(np.frombuffer(text.encode(), dtype=np.uint8))


def test_a_zip_bomb_is_refused_from_its_directory_without_inflating(tmp_path):
    bomb = archive({"w.npy": npy(np.zeros(25_000_000))}, zipfile.ZIP_DEFLATED)  # 200 MB of zeros
    path = tmp_path / "bomb.npz"
    path.write_bytes(bomb)
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()
    with pytest.raises(CheckpointError, match=r"bomb.npz: refused: .*200,000,128 bytes uncompressed, over the limit"):
        load(path, max_bytes=10_000_000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000, f"{peak:,} bytes allocated while refusing"


def test_the_default_limit_is_stated_and_a_normal_checkpoint_is_far_below_it(tmp_path):
    assert tr.io.MAX_BYTES == 4 << 30
    save({"w": np.zeros((512, 2048))}, tmp_path / "c.npz")
    assert load(tmp_path / "c.npz")["w"].shape == (512, 2048)


def test_deeply_nested_metadata_json_is_refused_not_a_recursion_error(tmp_path):
    path = tmp_path / "deep.npz"
    deep = "[" * 100_000 + "]" * 100_000
    meta = f'{{"format": "tinyrnn", "version": 1, "arrays": [], "tree": {{"m": {deep}}}}}'
    path.write_bytes(archive({META + ".npy": meta_entry(meta)}))
    with pytest.raises(CheckpointError, match=r"deep.npz: refused: .* nests deeper than 64 levels"):
        load(path)
    shallow = f'{{"format": "tinyrnn", "version": 1, "arrays": [], "tree": {{"m": {"[" * 200 + "]" * 200}}}}}'
    path.write_bytes(archive({META + ".npy": meta_entry(shallow)}))
    with pytest.raises(CheckpointError, match="nest deeper than 64 levels"):
        load(path)


# ---- weights that are no weights -----------------------------------------------------


@pytest.mark.parametrize(
    "bad, message",
    [
        (lambda w: w.astype(np.complex128), "holds complex128 values, not floating-point weights"),
        (lambda w: w.astype(np.int64), "holds int64 values, not floating-point weights"),
        (lambda w: np.where(w > 0, np.nan, w), "holds NaN or infinite values"),
        (lambda w: np.where(w > 0, np.inf, w), "holds NaN or infinite values"),
    ],
    ids=["complex", "integer", "nan", "inf"],
)
def test_load_state_dict_refuses_non_float_and_non_finite_weights(bad, message):
    model = tr.nn.RNN(2, 3)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    state = dict(before, weight_hh_l0=bad(before["weight_hh_l0"]))
    with pytest.raises(RuntimeError, match=rf"'weight_hh_l0' {message}"):
        model.load_state_dict(state)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])  # nothing changed


def test_non_finite_weights_load_when_asked():
    model = tr.nn.Linear(2, 2)
    state = {"weight": np.full((2, 2), np.nan), "bias": np.array([np.inf, 0.0])}
    model.load_state_dict(state, allow_nonfinite=True)
    assert np.isnan(model.weight.data).all() and model.bias.data[0] == np.inf


# ---- gradcheck and one_hot -----------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"eps": 0}, "eps must be a finite number > 0, got 0"),
        ({"eps": -1e-6}, "eps must be a finite number > 0"),
        ({"eps": float("nan")}, "eps must be a finite number > 0, got nan"),
        ({"atol": -1.0}, "atol must be a finite number >= 0"),
        ({"rtol": float("inf")}, "rtol must be a finite number >= 0"),
    ],
)
def test_gradcheck_refuses_a_bad_step_or_tolerance(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tr.gradcheck(lambda x: x.tanh(), np.ones(2), **kwargs)


def test_numerical_grad_refuses_eps_zero():
    with pytest.raises(ValueError, match="numerical_grad: eps must be a finite number > 0, got 0"):
        tr.numerical_grad(lambda x: x.tanh(), np.ones(2), eps=0)


def test_one_hot_allocates_only_its_result():
    """The result is (2, V); the old code built a V x V identity (V = 5,000: 200 MB) on every call."""
    tracemalloc.start()
    out = F.one_hot(np.array([[3], [4_999]]), 5_000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1_000_000, f"{peak:,} bytes"
    assert out.shape == (2, 1, 5_000) and out.data.sum() == 2 and out.data[0, 0, 3] == out.data[1, 0, 4_999] == 1


@given(hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0), elements=st.integers(0, 6)))
def test_one_hot_equals_rows_of_the_identity(indices):
    np.testing.assert_array_equal(F.one_hot(indices, 7, dtype=np.float32).data, np.eye(7, dtype=np.float32)[indices])


def test_one_hot_refuses_float_indices():
    with pytest.raises(TypeError, match="one_hot: indices must be integers, got dtype float64"):
        F.one_hot(np.array([1.0]), 3)


# ---- properties of the format --------------------------------------------------------

keys = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0"), min_size=1, max_size=8)
keys = keys.filter(lambda k: k != META)
float_arrays = hnp.arrays(
    st.sampled_from([np.float32, np.float64]),
    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    elements={"allow_nan": True, "allow_infinity": True, "allow_subnormal": True},
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),  # a dict is a state dict
    max_leaves=10,
)
states = st.recursive(
    st.dictionaries(keys, float_arrays | json_values, max_size=4),
    lambda inner: st.dictionaries(keys, inner | float_arrays | json_values, max_size=3),
    max_leaves=8,
)


def assert_same(a, b):
    if isinstance(a, dict) and not isinstance(b, np.ndarray):
        assert isinstance(b, dict) and sorted(a) == sorted(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()  # bit for bit: NaN payloads and -0.0 included
    else:
        assert type(a) is type(b) and a == b


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(state=states)
def test_any_state_of_float_arrays_and_json_metadata_round_trips_exactly(state, tmp_path):
    save(state, tmp_path / "c.npz")
    assert_same(state, load(tmp_path / "c.npz"))


SEED = archive(
    {
        "model/w.npy": npy(np.arange(6.0).reshape(2, 3)),
        META + ".npy": meta_entry(
            '{"format": "tinyrnn", "version": 1, "arrays": ["model/w"], "tree": {"model": {}, "m": [1, {"a": 2}]}}'
        ),
    }
)
byte_strings = st.one_of(
    st.binary(max_size=600),
    st.binary(max_size=300).map(lambda b: b"PK\x03\x04" + b),
    st.tuples(
        st.integers(0, len(SEED)), st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(1, 255)), max_size=4)
    ).map(lambda cut_flips: mutate(SEED, *cut_flips)),
)


def mutate(data: bytes, cut: int, flips: list) -> bytes:
    out = bytearray(data[: len(data) - cut])
    for where, xor in flips:
        if out:
            out[where % len(out)] ^= xor
    return bytes(out)


@settings(max_examples=3000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=byte_strings)
def test_any_byte_string_is_loaded_or_refused_with_checkpoint_error(data, tmp_path):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(data)
    try:
        state = load(path)
    except CheckpointError as e:
        assert str(path) in str(e)
    else:
        assert isinstance(state, dict)
