"""Arguments and edge inputs of the nn modules, each beside what torch 2.13 does with it:
constructor checks, empty batches, Linear(0, n), the dtype rule, LSTM states with a None
part, Embedding(padding_idx=)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_nn_support import assert_close

import tinyrnn as tr

LAYERS = ("RNN", "GRU", "LSTM")
CELLS = ("RNNCell", "GRUCell", "LSTMCell")
PATHS = pytest.mark.parametrize("fused", [False, True], ids=["cells", "fused"])

# (module, args, kwargs, tinyrnn's error, its message, torch's error or None where torch accepts the arguments).
# Where the two differ, docs/differences_from_torch.md says why.
SAME, STRICTER = "same", "stricter"
CONSTRUCTOR_CASES = [
    *[
        (name, args, kwargs, error, message, torch_error)
        for name in LAYERS
        for args, kwargs, error, message, torch_error in [
            ((3, 5), {"batch_first": "False"}, TypeError, "batch_first should be of type bool, got: str", TypeError),
            ((3, 5), {"batch_first": 0}, TypeError, "batch_first should be of type bool, got: int", TypeError),
            ((3, 5), {"batch_first": 1}, TypeError, "batch_first should be of type bool, got: int", TypeError),
            ((3, 5), {"bias": "False"}, TypeError, "bias should be of type bool, got: str", TypeError),
            ((3, 5), {"bias": 0}, TypeError, "bias should be of type bool, got: int", TypeError),
            ((3, 5), {"bias": 1}, TypeError, "bias should be of type bool, got: int", TypeError),
            ((3, 5), {"bidirectional": 0}, TypeError, "bidirectional should be of type bool, got: int", None),
            ((3, 5), {"bidirectional": "no"}, TypeError, "bidirectional should be of type bool, got: str", None),
            ((3.0, 5), {}, TypeError, "input_size should be of type int, got: float", TypeError),
            (("10", 5), {}, TypeError, "input_size should be of type int, got: str", TypeError),
            ((True, 5), {}, TypeError, "input_size should be of type int, got: bool", None),
            ((3, 5.0), {}, TypeError, "hidden_size should be of type int, got: float", TypeError),
            ((0, 5), {}, ValueError, "input_size must be greater than zero", ValueError),
            ((-1, 5), {}, ValueError, "input_size must be greater than zero", ValueError),
            ((3, 0), {}, ValueError, "hidden_size must be greater than zero", ValueError),
            ((3, 5, 0), {}, ValueError, "num_layers must be greater than zero", ValueError),
            ((3, 5), {"num_layers": 1.0}, TypeError, "num_layers should be of type int, got: float", TypeError),
            ((3, 5), {"dropout": 1.5}, ValueError, r"dropout should be a number in range \[0, 1\]", ValueError),
            ((3, 5), {"dropout": -0.1}, ValueError, r"dropout should be a number in range \[0, 1\]", ValueError),
            ((3, 5), {"dropout": True}, ValueError, r"dropout should be a number in range \[0, 1\]", ValueError),
            ((3, 5), {"dropout": "0.5"}, ValueError, r"dropout should be a number in range \[0, 1\]", ValueError),
        ]
    ],
    ("RNN", (3, 5), {"nonlinearity": "sigmoid"}, ValueError, "Unknown nonlinearity 'sigmoid'", ValueError),
    *[
        (name, args, kwargs, error, message, torch_error)
        for name in CELLS
        for args, kwargs, error, message, torch_error in [
            ((3.0, 5), {}, TypeError, "input_size should be of type int, got: float", TypeError),
            ((3, 5.0), {}, TypeError, "hidden_size should be of type int, got: float", TypeError),
            ((3, 5), {"bias": "False"}, TypeError, "bias should be of type bool, got: str", None),
            ((3, 5), {"bias": 0}, TypeError, "bias should be of type bool, got: int", None),
            ((0, 5), {}, ValueError, "input_size must be greater than zero", None),
            ((3, 0), {}, ValueError, "hidden_size must be greater than zero", None),
            ((-1, 5), {}, ValueError, "input_size must be greater than zero", RuntimeError),
        ]
    ],
    ("RNNCell", (3, 5), {"nonlinearity": "sigmoid"}, ValueError, "nonlinearity must be one of", None),
    ("Linear", (3.0, 5), {}, TypeError, "in_features should be of type int, got: float", TypeError),
    ("Linear", (-1, 5), {}, ValueError, "in_features must be >= 0, got -1", RuntimeError),
    ("Linear", (3, 5), {"bias": "False"}, TypeError, "bias should be of type bool, got: str", None),
    ("Embedding", (3.0, 5), {}, TypeError, "num_embeddings should be of type int, got: float", TypeError),
    ("Embedding", (-1, 5), {}, ValueError, "num_embeddings must be >= 0, got -1", RuntimeError),
    ("Embedding", (3, 5), {"padding_idx": 3}, ValueError, "Padding_idx must be within num_embeddings", AssertionError),
    ("Embedding", (3, 5), {"padding_idx": -4}, ValueError, "padding_idx must be >= -3, got -4", AssertionError),
    ("Embedding", (3, 5), {"padding_idx": 1.0}, TypeError, "padding_idx should be of type int, got: float", IndexError),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(
    "name, args, kwargs, error, message, torch_error",
    CONSTRUCTOR_CASES,
    ids=[f"{c[0]}{c[1]}{c[2]}" for c in CONSTRUCTOR_CASES],
)
def test_constructor_arguments_are_checked_as_torch_does(name, args, kwargs, error, message, torch_error):
    """tinyrnn's error and message; torch's recorded outcome is re-checked, so the listed differences stay true."""
    with pytest.raises(error, match=f"^{name}: .*{message}"):
        getattr(tr.nn, name)(*args, **kwargs)
    if torch_error is None:
        getattr(torch.nn, name)(*args, **kwargs)  # torch accepts these: tinyrnn is stricter
    else:
        with pytest.raises(torch_error):
            getattr(torch.nn, name)(*args, **kwargs)


@pytest.mark.parametrize("name", LAYERS)
def test_layer_dropout_one_is_accepted_as_torch(name):
    layer = getattr(tr.nn, name)(3, 4, num_layers=2, dropout=1.0)
    out = layer(np.ones((2, 1, 3)))[0]
    assert out.shape == (2, 1, 4) and layer.dropout == 1.0


# ---- empty batches and empty features ------------------------------------------------------
@PATHS
@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_an_empty_batch_gives_empty_outputs_and_zero_gradients(fused, name, batch_first):
    ours = getattr(tr.nn, name)(3, 4, num_layers=2, bidirectional=True, batch_first=batch_first, fused=fused)
    theirs = getattr(torch.nn, name)(3, 4, num_layers=2, bidirectional=True, batch_first=batch_first)
    shape = (0, 5, 3) if batch_first else (5, 0, 3)
    x = tr.Tensor(np.zeros(shape), requires_grad=True)
    out, state = ours(x)
    t_out, t_state = theirs(torch.zeros(shape, requires_grad=True))
    h = state[0] if name == "LSTM" else state
    t_h = t_state[0] if name == "LSTM" else t_state
    assert out.shape == tuple(t_out.shape) == ((0, 5, 8) if batch_first else (5, 0, 8))
    assert h.shape == tuple(t_h.shape) == (4, 0, 4)
    (out.sum() + h.sum()).backward()
    assert x.grad.shape == shape
    for key, p in ours.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape and not p.grad.any(), key


@pytest.mark.parametrize("name", LAYERS)
def test_an_empty_sequence_is_refused_as_torch(name):
    with pytest.raises(ValueError, match="expected a sequence of length > 0"):
        getattr(tr.nn, name)(3, 4)(np.zeros((0, 2, 3)))
    with pytest.raises(RuntimeError, match="sequence length to be larger than 0"):
        getattr(torch.nn, name)(3, 4)(torch.zeros(0, 2, 3))


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op")
def test_linear_with_no_inputs_returns_the_bias_as_torch():
    ours, theirs = tr.nn.Linear(0, 3), torch.nn.Linear(0, 3, dtype=torch.float64)
    np.testing.assert_array_equal(ours.bias.data, theirs.bias.detach().numpy())  # both initialise it to 0
    ours.bias.data[:] = theirs.bias.data[:] = torch.tensor([1.0, -2.0, 3.0])
    y = ours(np.zeros((2, 0)))
    assert_close(y, theirs(torch.zeros(2, 0, dtype=torch.float64)), "Linear(0, 3)")
    y.sum().backward()
    np.testing.assert_array_equal(ours.bias.grad, [2.0, 2.0, 2.0])
    assert ours.weight.grad.shape == (3, 0)
    assert tr.nn.Linear(3, 0)(np.ones((2, 3))).shape == (2, 0)


# ---- one dtype rule: input and states must have the weights' dtype ----------------------
@PATHS
@pytest.mark.parametrize("name", LAYERS)
def test_a_layer_refuses_a_state_of_another_dtype_on_both_paths(fused, name):
    """A float32 layer given a float64 h0 raises on the per-op path as the fused path does."""
    layer = getattr(tr.nn, name)(3, 4, dtype=np.float32, fused=fused)
    x, h0 = np.zeros((5, 2, 3), np.float32), np.zeros((1, 2, 4))
    state = (h0, h0.astype(np.float32)) if name == "LSTM" else h0
    with pytest.raises(TypeError, match=rf"^{name}: h0 dtype float64, but {name}'s weights are float32"):
        layer(x, state)
    with pytest.raises(TypeError, match=rf"^{name}: input dtype int64, but {name}'s weights are float32"):
        layer(np.zeros((5, 2, 3), np.int64))
    t_layer = getattr(torch.nn, name)(3, 4)
    t_h0 = torch.zeros(1, 2, 4, dtype=torch.float64)
    with pytest.raises((RuntimeError, ValueError)):  # torch refuses too (its error types vary by path)
        t_layer(torch.zeros(5, 2, 3), (t_h0, t_h0.float()) if name == "LSTM" else t_h0)


@pytest.mark.parametrize("name", CELLS)
def test_a_cell_follows_the_same_dtype_rule(name):
    cell = getattr(tr.nn, name)(3, 4)
    for bad in (np.zeros((2, 3), np.float32), np.zeros((2, 3), np.int64)):
        with pytest.raises(TypeError, match=rf"^{name}: input dtype {bad.dtype}, but {name}'s weights are float64"):
            cell(bad)
        with pytest.raises(RuntimeError):  # torch: "mat1 and mat2 must have the same dtype"
            getattr(torch.nn, name)(3, 4, dtype=torch.float64)(torch.from_numpy(bad))
    h = np.zeros((2, 4), np.float32)
    with pytest.raises(TypeError, match=rf"^{name}: state dtype float32, but {name}'s weights are float64"):
        cell(np.zeros((2, 3)), (h, h) if name == "LSTMCell" else h)
    out = cell(np.zeros((2, 3)))
    assert (out[0] if name == "LSTMCell" else out).dtype == np.float64


# ---- LSTM states with a None part --------------------------------------------------------
@PATHS
def test_lstm_takes_none_for_either_part_of_its_state_as_lstm_cell_does(fused):
    rng = np.random.default_rng(0)
    lstm = tr.nn.LSTM(3, 4, num_layers=2, fused=fused)
    x, h0, c0 = rng.standard_normal((5, 2, 3)), rng.standard_normal((2, 2, 4)), rng.standard_normal((2, 2, 4))
    zeros = np.zeros((2, 2, 4))
    for given, explicit in [((h0, None), (h0, zeros)), ((None, c0), (zeros, c0)), ((None, None), (zeros, zeros))]:
        out, (h_n, c_n) = lstm(x, given)
        ref, (ref_h, ref_c) = lstm(x, explicit)
        assert_close(out, ref, "output")
        assert_close(h_n, ref_h, "h_n")
        assert_close(c_n, ref_c, "c_n")
    cell = tr.nn.LSTMCell(3, 4)
    assert_close(cell(x[0], (h0[0], None))[1], cell(x[0], (h0[0], zeros[0]))[1], "LSTMCell c'")


# ---- Embedding(padding_idx=) -------------------------------------------------------------
@pytest.mark.parametrize("padding_idx", [1, -2])
def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient_as_torch(padding_idx):
    ours = tr.nn.Embedding(5, 3, padding_idx=padding_idx)
    theirs = torch.nn.Embedding(5, 3, padding_idx=padding_idx, dtype=torch.float64)
    assert ours.padding_idx == theirs.padding_idx
    row = theirs.padding_idx
    np.testing.assert_array_equal(ours.weight.data[row], 0.0)
    ours.weight.data[row] = 7.0  # a padding vector set by hand is returned as it is, and still not trained
    theirs.weight.data.copy_(torch.from_numpy(ours.weight.data))
    indices = np.array([[row, 2, row], [0, 2, 4]])
    w = np.random.default_rng(1).standard_normal((2, 3, 3))
    y, t_y = ours(indices), theirs(torch.from_numpy(indices))
    assert_close(y, t_y, "lookup")
    (y * w).sum().backward()
    (t_y * torch.from_numpy(w)).sum().backward()
    assert_close(ours.weight.grad, theirs.weight.grad, "weight grad")
    assert not ours.weight.grad[row].any() and ours.weight.grad[2].any()
