"""RNN, GRU and LSTM layers: torch parity over a grid of shapes and options,
finite-difference gradient checks, and input checking."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_nn_support import (
    assert_close,
    assert_same_results,
    loss_weights,
    run_ours,
    run_torch,
)

import tinyrnn as tr
from tinyrnn.testing import CheckError, check_module, torch_twin

KINDS = {
    "rnn_tanh": lambda *a, **k: tr.nn.RNN(*a, nonlinearity="tanh", **k),
    "rnn_relu": lambda *a, **k: tr.nn.RNN(*a, nonlinearity="relu", **k),
    "gru": tr.nn.GRU,
    "lstm": tr.nn.LSTM,
}


PATHS = pytest.mark.parametrize("fused", [False, True], ids=["cells", "fused"])  # the per-op loop and the fused kernels


def make_case(kind, B, T, In, H, L, bidirectional, batch_first, bias, given_h0, seed, fused=False):
    """Our layer, an input, an initial state (or None) and loss weights, all from `seed`."""
    tr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    module = KINDS[kind](
        In, H, num_layers=L, bias=bias, batch_first=batch_first, bidirectional=bidirectional, fused=fused
    )
    D = 2 if bidirectional else 1
    x = rng.standard_normal((B, T, In) if batch_first else (T, B, In))
    n_states = 2 if kind == "lstm" else 1
    h0 = [rng.standard_normal((L * D, B, H)) for _ in range(n_states)] if given_h0 else None
    out_shape = (B, T, D * H) if batch_first else (T, B, D * H)
    return module, x, h0, loss_weights(rng, out_shape, (L * D, B, H), n_states)


@PATHS
@pytest.mark.parametrize("kind", list(KINDS))
@settings(max_examples=40)
@given(
    B=st.sampled_from([1, 3]),
    T=st.sampled_from([1, 4]),
    In=st.sampled_from([1, 3]),
    H=st.sampled_from([1, 4]),
    L=st.sampled_from([1, 2, 3]),
    bidirectional=st.booleans(),
    batch_first=st.booleans(),
    bias=st.booleans(),
    given_h0=st.booleans(),
    seed=st.integers(0, 2**16),
)
@example(B=1, T=1, In=1, H=1, L=1, bidirectional=False, batch_first=False, bias=True, given_h0=False, seed=0)
@example(B=3, T=4, In=3, H=4, L=3, bidirectional=True, batch_first=True, bias=False, given_h0=True, seed=1)
@example(B=3, T=4, In=3, H=4, L=2, bidirectional=True, batch_first=False, bias=True, given_h0=True, seed=2)
def test_layer_matches_torch(fused, kind, B, T, In, H, L, bidirectional, batch_first, bias, given_h0, seed):
    """Outputs, h_n (c_n), dL/dx, dL/dh0 (dL/dc0) and every parameter gradient equal torch's."""
    module, x, h0, weights = make_case(kind, B, T, In, H, L, bidirectional, batch_first, bias, given_h0, seed, fused)
    ours = run_ours(module, x, h0, weights)
    ref = run_torch(torch_twin(module), x, h0, weights)
    assert_same_results(ours, ref)


@PATHS
@pytest.mark.parametrize("kind", list(KINDS))
def test_unbatched_input_matches_torch(fused, kind):
    """A (T, I) input with a (L*D, H) state, as torch accepts it."""
    module, x, h0, _ = make_case(kind, 1, 5, 3, 4, 2, True, False, True, True, seed=3, fused=fused)
    x, h0 = x[:, 0], [s[:, 0] for s in h0]
    twin = torch_twin(module)
    state = tuple(h0) if kind == "lstm" else h0[0]
    out, states = module(x, state)
    ref_out, ref_states = twin(
        torch.from_numpy(x), tuple(map(torch.from_numpy, h0)) if kind == "lstm" else torch.from_numpy(h0[0])
    )
    assert_close(out, ref_out, "output")
    for ours, ref in zip(states if kind == "lstm" else [states], ref_states if kind == "lstm" else [ref_states]):
        assert_close(ours, ref, "state")


def run_layer(module, x, *h0):
    """The layer's output and final states as one flat Tensor, for gradcheck."""
    is_lstm = isinstance(module, tr.nn.LSTM)
    out, states = module(x, (tuple(h0) if is_lstm else h0[0]) if h0 else None)
    states = list(states) if is_lstm else [states]
    return tr.cat([t.reshape(-1) for t in [out, *states]])


@pytest.mark.parametrize(
    "make",
    [
        lambda f: tr.nn.RNN(2, 3, num_layers=2, bidirectional=True, fused=f),
        lambda f: tr.nn.RNN(2, 3, nonlinearity="relu", bias=False, fused=f),
        lambda f: tr.nn.GRU(2, 3, num_layers=2, bidirectional=True, fused=f),
        lambda f: tr.nn.GRU(2, 3, num_layers=2, bidirectional=True, reset_after=False, fused=f),
        lambda f: tr.nn.GRU(2, 2, bias=False, reset_after=False, fused=f),
        lambda f: tr.nn.LSTM(2, 3, num_layers=2, bidirectional=True, fused=f),
        lambda f: tr.nn.LSTM(2, 2, bias=False, batch_first=True, fused=f),
    ],
    ids=[
        "rnn-2l-bi",
        "rnn-relu-nobias",
        "gru-2l-bi",
        "gru-cho-2l-bi",
        "gru-cho-nobias",
        "lstm-2l-bi",
        "lstm-nobias-bf",
    ],
)
@PATHS
def test_layer_gradcheck(fused, make):
    """Backward of small layers (every parameter, x and h0) against finite differences."""
    tr.manual_seed(4)
    module = make(fused)
    rng = np.random.default_rng(4)
    D = 2 if module.bidirectional else 1
    x = tr.Tensor(rng.standard_normal((2, 3, 2) if module.batch_first else (3, 2, 2)))  # T = 3, B = 2
    h0 = [tr.Tensor(rng.standard_normal((module.num_layers * D, 2, module.hidden_size)))]
    if isinstance(module, tr.nn.LSTM):
        h0.append(tr.Tensor(rng.standard_normal(h0[0].shape)))
    check_module(module, run_layer, x, *h0, atol=1e-8, rtol=1e-6)


def test_gradcheck_catches_a_wrong_layer():
    """The check above can fail: a layer whose c_n is cut from the graph is caught."""
    tr.manual_seed(5)
    module = tr.nn.LSTM(2, 2, fused=False)
    x = tr.Tensor(np.random.default_rng(5).standard_normal((3, 1, 2)))

    def wrong(module, x):
        out, (h, c) = module(x)
        return tr.cat([out.reshape(-1), (c * 0 + c.detach()).reshape(-1)])  # c_n cut from the graph

    with pytest.raises(CheckError, match=r"check_module: input 0, index \(0, 0, 0\): analytic .* vs numeric"):
        check_module(module, wrong, x, atol=1e-8, rtol=1e-6)


@PATHS
def test_gru_reset_before_layer_equals_its_cell_unrolled(fused):
    """GRU(reset_after=False), which torch lacks, against GRUCell(reset_after=False) stepped by hand
    (the cell itself is checked against the NumPy equations in test_nn_cells.py)."""
    tr.manual_seed(6)
    layer = tr.nn.GRU(3, 4, bidirectional=True, reset_after=False, fused=fused)
    cell = tr.nn.GRUCell(3, 4, reset_after=False)
    x = np.random.default_rng(6).standard_normal((5, 2, 3))
    out, h_n = layer(x)
    for d, suffix in enumerate(["_l0", "_l0_reverse"]):
        cell.load_state_dict({k.removesuffix(suffix): v for k, v in layer.state_dict().items() if k.endswith(suffix)})
        h, steps = None, range(4, -1, -1) if d else range(5)
        for t in steps:
            h = cell(x[t], h)
            assert_close(out.data[t, :, 4 * d : 4 * d + 4], h, f"output {t} direction {d}")
        assert_close(h_n.data[d], h, f"h_n direction {d}")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m(np.zeros((5, 2, 4))), r"expected input of shape \(T, B, 3\) or \(T, 3\), got \(5, 2, 4\)"),
        (lambda m: m(np.zeros((5, 2, 3, 1))), r"got \(5, 2, 3, 1\)"),
        (lambda m: m(np.zeros((5, 2, 3)), np.zeros((1, 2, 4))), r"expected h0 of shape \(2, 2, 4\), got \(1, 2, 4\)"),
        (lambda m: m(np.zeros((5, 2, 3)), lengths=[5, 6]), r"lengths must lie in \[1, T\] = \[1, 5\], got 5..6"),
        (lambda m: m(np.zeros((5, 2, 3)), lengths=[0, 3]), r"got 0..3"),
        (lambda m: m(np.zeros((5, 2, 3)), lengths=[5, 3, 1]), r"shape \(B,\) = \(2,\), got int64 \(3,\)"),
        (lambda m: m(np.zeros((5, 2, 3)), lengths=[5.0, 3.0]), r"must be integers"),
        (lambda m: m(np.zeros((5, 3)), lengths=[5]), r"lengths need a batched input"),
    ],
)
def test_gru_input_errors_name_expected_and_got(call, message):
    with pytest.raises(ValueError, match=message):
        call(tr.nn.GRU(3, 4, bidirectional=True))


def test_lstm_state_errors():
    lstm = tr.nn.LSTM(3, 4, batch_first=True)
    with pytest.raises(TypeError, match=r"h0 must be a tuple \(h0, c0\)"):
        lstm(np.zeros((2, 5, 3)), np.zeros((1, 2, 4)))
    with pytest.raises(ValueError, match=r"expected c0 of shape \(1, 2, 4\), got \(1, 5, 4\)"):
        lstm(np.zeros((2, 5, 3)), (np.zeros((1, 2, 4)), np.zeros((1, 5, 4))))
    with pytest.raises(ValueError, match=r"expected input of shape \(B, T, 3\)"):
        lstm(np.zeros((2, 5, 2)))
