"""RNNCell, GRUCell, LSTMCell: torch parity of a hand-written unroll (every h_t, its
total gradient dL/dh_t, every parameter gradient), finite differences, and the
original GRU (reset_after=False) against its equations in NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_nn_support import assert_close

import tinyrnn as tr
from tinyrnn.testing import check_module

CELLS = {
    "rnn_tanh": (tr.nn.RNNCell, torch.nn.RNNCell, {}),
    "rnn_relu": (tr.nn.RNNCell, torch.nn.RNNCell, {"nonlinearity": "relu"}),
    "gru": (tr.nn.GRUCell, torch.nn.GRUCell, {}),
    "lstm": (tr.nn.LSTMCell, torch.nn.LSTMCell, {}),
}


def make_cells(kind: str, n_in: int, hidden: int, bias: bool, seed: int):
    """Our cell and its torch twin with the same weights (loaded through our state_dict)."""
    ours_cls, torch_cls, kwargs = CELLS[kind]
    tr.manual_seed(seed)
    ours = ours_cls(n_in, hidden, bias, **kwargs)
    twin = torch_cls(n_in, hidden, bias, **kwargs).double()
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    return ours, twin


def unroll(cell, leaf, const, xs, s0, w, n_states: int):
    """Step `cell` over xs by hand with loss sum_t sum(h_t * w_t), keeping the gradient of
    every per-step state (retain_grad). `leaf`/`const` turn arrays into the library's tensors.
    Returns the input leaves, the initial-state leaves and the per-step states."""
    x_leaves = [leaf(x) for x in xs]
    s0_leaves = None if s0 is None else [leaf(s) for s in s0]
    state = None if s0 is None else (tuple(s0_leaves) if n_states == 2 else s0_leaves[0])
    steps, loss = [], 0
    for x, w_t in zip(x_leaves, w):
        state = cell(x, state)
        parts = state if n_states == 2 else (state,)
        for s in parts:
            s.retain_grad()
        steps.append(parts)
        loss = loss + (parts[0] * const(w_t)).sum()
    loss.backward()
    return x_leaves, s0_leaves, steps


@pytest.mark.parametrize("kind", list(CELLS))
@settings(max_examples=25)
@given(
    B=st.sampled_from([None, 1, 3]),
    n_in=st.sampled_from([1, 3]),
    hidden=st.sampled_from([1, 4]),
    T=st.sampled_from([1, 5]),
    bias=st.booleans(),
    given_state=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_cell_unroll_matches_torch_step_by_step(kind, B, n_in, hidden, T, bias, given_state, seed):
    """The BPTT lesson: every state h_t (and c_t), its total gradient dL/dh_t (through all
    later steps), dL/dx_t, dL/dh_0 and every parameter gradient equal torch's.
    B=None is an unbatched input (I,)."""
    ours, twin = make_cells(kind, n_in, hidden, bias, seed)
    rng = np.random.default_rng(seed)
    batch = () if B is None else (B,)
    n_states = 2 if kind == "lstm" else 1
    xs = rng.standard_normal((T, *batch, n_in))
    s0 = [rng.standard_normal((*batch, hidden)) for _ in range(n_states)] if given_state else None
    w = rng.standard_normal((T, *batch, hidden))

    ours_x, ours_s0, ours_steps = unroll(
        ours, lambda a: tr.Tensor(a.copy(), requires_grad=True), tr.Tensor, xs, s0, w, n_states
    )
    # torch runs batched even for B=None: its unbatched cells return squeezed views whose
    # retained .grad misses the path through the same step's h (so c_t.grad would be partial)
    as_batch = (lambda a: a[None]) if B is None else (lambda a: a)
    unbatch = (lambda a: a[0]) if B is None else (lambda a: a)
    ref_x, ref_s0, ref_steps = unroll(
        twin,
        lambda a: torch.from_numpy(as_batch(a).copy()).requires_grad_(),
        lambda a: torch.from_numpy(as_batch(a)),
        xs,
        s0,
        w,
        n_states,
    )
    for t in range(T):
        for k, (a, b) in enumerate(zip(ours_steps[t], ref_steps[t])):
            assert_close(a, unbatch(b), f"state {k} at step {t}")
            assert_close(a.grad, unbatch(b.grad), f"dL/d(state {k}) at step {t}")
        assert_close(ours_x[t].grad, unbatch(ref_x[t].grad), f"dL/dx at step {t}")
    for k, (a, b) in enumerate(zip(ours_s0 or [], ref_s0 or [])):
        assert_close(a.grad, unbatch(b.grad), f"dL/d(initial state {k})")
    ours_params = dict(ours.named_parameters())
    assert list(ours_params) == [name for name, _ in twin.named_parameters()]
    for name, p in twin.named_parameters():
        assert_close(ours_params[name].grad, p.grad, f"{name}.grad")


def run_cell(cell, x, *state):
    """The cell's new state as one flat Tensor, for gradcheck."""
    if isinstance(cell, tr.nn.LSTMCell):
        h, c = cell(x, tuple(state))
        return tr.cat([h.reshape(-1), c.reshape(-1)])
    return cell(x, *state)


@pytest.mark.parametrize(
    "make",
    [
        lambda: tr.nn.RNNCell(3, 4),
        lambda: tr.nn.RNNCell(3, 4, bias=False, nonlinearity="relu"),
        lambda: tr.nn.GRUCell(3, 4),
        lambda: tr.nn.GRUCell(3, 4, reset_after=False),
        lambda: tr.nn.GRUCell(3, 4, bias=False, reset_after=False),
        lambda: tr.nn.LSTMCell(3, 4),
        lambda: tr.nn.LSTMCell(3, 4, bias=False),
    ],
    ids=["rnn", "rnn-relu-nobias", "gru", "gru-cho", "gru-cho-nobias", "lstm", "lstm-nobias"],
)
def test_cell_gradcheck(make):
    """Backward of every cell (x, state and every parameter) against central differences."""
    tr.manual_seed(7)
    cell = make()
    rng = np.random.default_rng(7)
    x = tr.Tensor(rng.standard_normal((2, 3)))
    state = [tr.Tensor(rng.standard_normal((2, 4))) for _ in range(2 if isinstance(cell, tr.nn.LSTMCell) else 1)]
    check_module(cell, run_cell, x, *state, atol=1e-8, rtol=1e-6)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def gru_cho_numpy(x, h, w_ih, w_hh, b_ih, b_hh):
    """Cho et al. (2014) / d2l GRU step in plain NumPy, gate by gate:
    r = s(W_ir x + b_ir + W_hr h + b_hr), z = s(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + W_hn (r * h) + b_hn), h' = z * h + (1 - z) * n."""
    (W_ir, W_iz, W_in), (W_hr, W_hz, W_hn) = np.split(w_ih, 3), np.split(w_hh, 3)
    (b_ir, b_iz, b_in), (b_hr, b_hz, b_hn) = np.split(b_ih, 3), np.split(b_hh, 3)
    r = sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = np.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
    return z * h + (1 - z) * n


@pytest.mark.parametrize("bias", [True, False])
def test_gru_reset_before_matches_numpy_equations(bias):
    tr.manual_seed(8)
    cell = tr.nn.GRUCell(3, 4, bias=bias, reset_after=False)
    rng = np.random.default_rng(8)
    x, h = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    p = cell.state_dict()
    zeros = np.zeros(12)
    expected = gru_cho_numpy(x, h, p["weight_ih"], p["weight_hh"], p.get("bias_ih", zeros), p.get("bias_hh", zeros))
    assert_close(cell(x, h), expected, "h'")
    # and it differs from torch's formulation with the same weights (the two are not the same model)
    torch_style = tr.nn.GRUCell(3, 4, bias=bias)
    torch_style.load_state_dict(p)
    assert np.abs(torch_style(x, h).data - expected).max() > 1e-3


def test_cell_default_state_is_zeros():
    tr.manual_seed(9)
    x = np.random.default_rng(9).standard_normal((2, 3))
    for cell in (tr.nn.RNNCell(3, 4), tr.nn.GRUCell(3, 4)):
        assert_close(cell(x), cell(x, np.zeros((2, 4))), type(cell).__name__)
    lstm = tr.nn.LSTMCell(3, 4)
    for a, b in zip(lstm(x), lstm(x, (np.zeros((2, 4)), np.zeros((2, 4))))):
        assert_close(a, b, "LSTMCell")


def test_cell_errors_name_expected_and_got():
    with pytest.raises(ValueError, match=r"expected input of shape \(B, 3\) or \(3,\), got \(2, 5\)"):
        tr.nn.GRUCell(3, 4)(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"expected a state of shape \(2, 4\) for input \(2, 3\), got \(4,\)"):
        tr.nn.RNNCell(3, 4)(np.zeros((2, 3)), np.zeros(4))
    with pytest.raises(TypeError, match=r"state must be a tuple \(h, c\)"):
        tr.nn.LSTMCell(3, 4)(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        tr.nn.RNNCell(3, 4, nonlinearity="sigmoid")
