"""The reference BPTT (tinyrnn.bptt.reference) computes what everything else computes:
the same outputs, final states and every gradient as the fused kernels, as autograd
through tinyrnn's cells (nn layers with fused=False) and as torch (all but Cho et
al.'s GRU, which torch does not have), with and without lengths, forward and reverse.

Tolerance: float64, 1e-10 absolute, as between any two exact computations of the
same function here (their differences are rounding, ~1e-15 at these sizes).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_fused import GATES, assert_all_close, make_case, ours, per_op, some_lengths, theirs, upstream_loss

from tinyrnn.bptt import reference as ref

PAIRS = {
    "rnn_tanh": (ref.rnn_forward, ref.rnn_backward),
    "rnn_relu": (ref.rnn_forward, ref.rnn_backward),
    "gru": (ref.gru_forward, ref.gru_backward),
    "gru_before": (ref.gru_reset_before_forward, ref.gru_reset_before_backward),
    "lstm": (ref.lstm_forward, ref.lstm_backward),
}


def reference(kind, x, states, weights, seed, lengths=None, reverse=False):
    """(outputs, gradients) of the reference under test_fused's upstream loss, in the order
    of test_fused.ours: [out, h_n(, c_n)], [x, states..., w_ih, w_hh, b_ih, b_hh] (None
    for what was not given). reverse: the cell run on each sequence read backwards."""
    forward, backward = PAIRS[kind]
    T, B, _ = x.shape
    G, H = GATES[kind], weights[1].shape[1]
    given = [np.zeros((B, H)) if s is None else s for s in states]
    w = [np.zeros(G * H) if b is None else b for b in weights]
    kw = {"nonlinearity": kind[4:]} if kind.startswith("rnn") else {}
    flip = (lambda a: ref.flip(a, lengths)) if reverse else (lambda a: a)
    out, *final, cache = forward(flip(x), *given, *w, lengths=lengths, **kw)
    outs = [flip(out), *final]
    ws = upstream_loss(outs, seed)[0]
    grads = backward(cache, flip(ws[0]), *ws[1:])
    grads["x"] = flip(grads["x"])
    names = ["x", "h0", "c0"][: 1 + len(states)] + ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    return outs, [None if a is None else grads[n] for n, a in zip(names, [x, *states, *weights])]


@pytest.mark.parametrize("kind", list(GATES))
@settings(max_examples=15, deadline=None)
@given(
    T=st.integers(1, 5),
    B=st.integers(1, 3),
    H=st.integers(1, 4),
    bias=st.booleans(),
    given_state=st.booleans(),
    reverse=st.booleans(),
    use_lengths=st.booleans(),
    seed=st.integers(0, 2**16),
)
@example(T=4, B=3, H=2, bias=True, given_state=True, reverse=True, use_lengths=True, seed=3)
def test_reference_matches_fused_autograd_and_torch(kind, T, B, H, bias, given_state, reverse, use_lengths, seed):
    lengths = some_lengths(use_lengths, T, B, seed)
    x, states, weights = make_case(kind, T, B, 2, H, bias, given_state, seed)
    a = reference(kind, x, states, weights, seed, lengths, reverse)
    assert_all_close(*a, *ours(kind, x, states, weights, seed, lengths=lengths, reverse=reverse))
    outs, leaves, params = per_op(kind, x, states, weights, lengths, reverse)
    upstream_loss(outs, seed)[1].backward()
    assert_all_close(*a, [o.data for o in outs], [None if t is None else t.grad for t in (*leaves, *params)])
    if kind != "gru_before":
        assert_all_close(*a, *theirs(kind, x, states, weights, seed, lengths=lengths, reverse=reverse))


@pytest.mark.parametrize("kind", list(GATES))
def test_padding_keeps_the_state_outputs_zero_and_gets_no_gradient(kind):
    """Sequence 1 is 2 steps long in a batch of 4 steps: its padded steps output 0, its final
    state is its state after step 2, and its padded inputs get exactly zero gradient."""
    x, states, weights = make_case(kind, 4, 2, 2, 3, True, True, seed=5)
    lengths = np.array([4, 2])
    (out, *final), grads = reference(kind, x, states, weights, 5, lengths)
    (short_out, *short_final), _ = reference(kind, x[:2, 1:], [s[1:] for s in states], weights, 5)
    assert np.all(out[2:, 1] == 0) and np.all(grads[0][2:, 1] == 0)
    for f, s in zip(final, short_final):
        np.testing.assert_allclose(f[1], s[0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(out[:2, 1], short_out[:, 0], rtol=0, atol=1e-15)


def test_flip_reverses_each_sequence_within_its_length():
    a = np.arange(8.0).reshape(4, 2)  # a[t, b] = 2 t + b
    np.testing.assert_array_equal(ref.flip(a, np.array([4, 2])), [[6, 3], [4, 1], [2, 5], [0, 7]])
    np.testing.assert_array_equal(ref.flip(ref.flip(a, np.array([3, 1])), np.array([3, 1])), a)
