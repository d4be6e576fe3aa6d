"""Fused sequence kernels (tinyrnn.nn.fused): the same numbers as torch and as
tinyrnn's per-op cell loop, gradients checked by finite differences, and
checkpointing that changes memory but not results.

Tolerances: float64 throughout; 1e-10 between two exact computations of the
same function (the difference is rounding, ~1e-15 here); finite differences
(central, eps 1e-6) agree to ~1e-8, checked at atol 1e-6 / rtol 1e-5.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import tinyrnn as tr
from tinyrnn.nn import fused_kernel
from tinyrnn.nn.fused import gru_sequence, lstm_sequence, rnn_sequence

TOL = 1e-10
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "gru": 3, "gru_before": 3, "lstm": 4}


def run_fused(kind, x, states, weights, **kw):
    """The fused node for `kind` on Tensors; returns its list of outputs."""
    if kind.startswith("rnn"):
        return list(rnn_sequence(x, *states, *weights, nonlinearity=kind[4:], **kw))
    if kind.startswith("gru"):
        return list(gru_sequence(x, *states, *weights, reset_after=kind == "gru", **kw))
    return list(lstm_sequence(x, *states, *weights, **kw))


def make_case(kind, T, B, n_in, H, bias, given_state, seed):
    """Arrays for one layer: x (T, B, I), states (None or (B, H)), weights in torch layout."""
    rng = np.random.default_rng(seed)
    G = GATES[kind]
    x = rng.standard_normal((T, B, n_in))
    states = [rng.standard_normal((B, H)) if given_state else None for _ in range(2 if kind == "lstm" else 1)]
    shapes = [(G * H, n_in), (G * H, H)] + ([(G * H,), (G * H,)] if bias else [])
    weights = [rng.uniform(-0.8, 0.8, s) for s in shapes] + ([] if bias else [None, None])
    return x, states, weights


def upstream_loss(outputs, seed):
    """sum_i <w_i, output_i> with fixed random w_i: every output and entry gets a gradient."""
    rng = np.random.default_rng(seed + 1)
    ws = [rng.standard_normal(o.shape) for o in outputs]
    return ws, sum((o * w).sum() for o, w in zip(outputs, ws))


def ours(kind, x, states, weights, seed, **kw):
    """(outputs, gradients of x, states, weights) of the fused node under upstream_loss."""
    leaves = [tr.Tensor(a, requires_grad=True) if a is not None else None for a in (x, *states, *weights)]
    outs = run_fused(kind, leaves[0], leaves[1 : 1 + len(states)], leaves[1 + len(states) :], **kw)
    upstream_loss(outs, seed)[1].backward()
    return [o.data for o in outs], [None if t is None else t.grad for t in leaves]


def theirs(kind, x, states, weights, seed, lengths=None, reverse=False):
    """The same with torch.nn.RNN/GRU/LSTM (one layer; reverse = the backward half of a
    bidirectional layer; lengths via pack_padded_sequence)."""
    T, B, n_in = x.shape
    H = weights[1].shape[1]
    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind[:4].rstrip("_")]
    extra = {"nonlinearity": kind[4:]} if kind.startswith("rnn") else {}
    module = cls(n_in, H, bias=weights[2] is not None, bidirectional=reverse, dtype=torch.float64, **extra)
    suffix = "_l0_reverse" if reverse else "_l0"
    names = [n + suffix for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    with torch.no_grad():
        for name, w in zip(names, weights):
            if w is not None:
                getattr(module, name).copy_(torch.from_numpy(w))
    leaves = [None if a is None else torch.tensor(a, requires_grad=True) for a in (x, *states)]
    D = 2 if reverse else 1
    init = [torch.zeros(D, B, H, dtype=torch.float64) for _ in states]
    init = [torch.cat([i[:-1], s[None]]) if s is not None else i for i, s in zip(init, leaves[1:])]
    inp = leaves[0]
    if lengths is not None:
        inp = torch.nn.utils.rnn.pack_padded_sequence(inp, torch.as_tensor(lengths), enforce_sorted=False)
    out, final = module(inp, tuple(init) if kind == "lstm" else init[0])
    if lengths is not None:
        out = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)[0]
    final = final if kind == "lstm" else (final,)
    outs = [out[..., -H:], *(f[-1] for f in final)]
    ws = upstream_loss([o.detach().numpy() for o in outs], seed)[0]
    sum((o * torch.from_numpy(w)).sum() for o, w in zip(outs, ws)).backward()
    params = [getattr(module, n) if w is not None else None for n, w in zip(names, weights)]
    grads = [None if t is None else t.grad.numpy() for t in (*leaves, *params)]
    return [o.detach().numpy() for o in outs], grads


def assert_all_close(a_outs, a_grads, b_outs, b_grads, tol=TOL):
    assert len(a_outs) == len(b_outs) and len(a_grads) == len(b_grads)
    for i, (a, b) in enumerate(zip(a_outs, b_outs)):
        np.testing.assert_allclose(a, b, rtol=0, atol=tol, err_msg=f"output {i}")
    for i, (a, b) in enumerate(zip(a_grads, b_grads)):
        assert (a is None) == (b is None), f"gradient {i}: one side has none"
        if a is not None:
            assert a.shape == b.shape, f"gradient {i}: shape {a.shape} vs {b.shape}"
            np.testing.assert_allclose(a, b, rtol=0, atol=tol, err_msg=f"gradient {i}")


def some_lengths(use: bool, T: int, B: int, seed: int):
    """None, or B valid lengths in [1, T] drawn from `seed`."""
    return np.random.default_rng(seed + 2).integers(1, T + 1, B) if use else None


# ---- the fused node against torch ------------------------------------------


@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "gru", "lstm"])
@settings(max_examples=25)
@given(
    T=st.integers(1, 5),
    B=st.integers(1, 4),
    n_in=st.integers(1, 3),
    H=st.integers(1, 4),
    bias=st.booleans(),
    given_state=st.booleans(),
    reverse=st.booleans(),
    use_lengths=st.booleans(),
    checkpoint=st.sampled_from([None, 1, 2, 7]),
    seed=st.integers(0, 2**16),
)
@example(T=1, B=1, n_in=1, H=1, bias=True, given_state=True, reverse=False, use_lengths=False, checkpoint=None, seed=0)
def test_fused_matches_torch(kind, T, B, n_in, H, bias, given_state, reverse, use_lengths, checkpoint, seed):
    lengths = some_lengths(use_lengths, T, B, seed)
    x, states, weights = make_case(kind, T, B, n_in, H, bias, given_state, seed)
    kw = dict(lengths=lengths, reverse=reverse, checkpoint=checkpoint)
    a = ours(kind, x, states, weights, seed, **kw)
    b = theirs(kind, x, states, weights, seed, lengths=lengths, reverse=reverse)
    assert_all_close(*a, *b)


# ---- the fused node against tinyrnn's own per-op graph ---------------------


def per_op(kind, x, states, weights, lengths=None, reverse=False):
    """The same layer through tinyrnn's per-op cell loop (nn.RNN/GRU/LSTM with fused=False)."""
    T, B, n_in = x.shape
    H = weights[1].shape[1]
    bias = weights[2] is not None
    if kind.startswith("rnn"):
        layer = tr.nn.RNN(n_in, H, nonlinearity=kind[4:], bias=bias, bidirectional=reverse, fused=False)
    elif kind.startswith("gru"):
        layer = tr.nn.GRU(n_in, H, bias=bias, bidirectional=reverse, reset_after=kind == "gru", fused=False)
    else:
        layer = tr.nn.LSTM(n_in, H, bias=bias, bidirectional=reverse, fused=False)
    suffix = "_l0_reverse" if reverse else "_l0"
    names = [n + suffix for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    for name, w in zip(names, weights):
        if w is not None:
            getattr(layer, name).data = w.copy()
    leaves = [tr.Tensor(a, requires_grad=True) if a is not None else None for a in (x, *states)]
    D = 2 if reverse else 1
    init = [tr.cat([tr.Tensor(np.zeros((D - 1, B, H))), s.reshape(1, B, H)]) for s in leaves[1:] if s is not None]
    init = (tuple(init) if kind == "lstm" else init[0]) if init else None
    out, final = layer(leaves[0], init, lengths=lengths)
    final = final if kind == "lstm" else (final,)
    outs = [out[..., -H:], *(f[-1] for f in final)]
    return outs, leaves, [None if w is None else getattr(layer, n) for n, w in zip(names, weights)]


@pytest.mark.parametrize("kind", list(GATES))
@settings(max_examples=20)
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
def test_fused_matches_per_op_graph(kind, T, B, H, bias, given_state, reverse, use_lengths, seed):
    """Including Cho et al.'s GRU (gru_before), which torch does not have."""
    lengths = some_lengths(use_lengths, T, B, seed)
    x, states, weights = make_case(kind, T, B, 2, H, bias, given_state, seed)
    outs, leaves, params = per_op(kind, x, states, weights, lengths, reverse)
    upstream_loss(outs, seed)[1].backward()
    b = [o.data for o in outs], [None if t is None else t.grad for t in (*leaves, *params)]
    a = ours(kind, x, states, weights, seed, lengths=lengths, reverse=reverse)
    assert_all_close(*a, *b)


@pytest.mark.parametrize("kind", list(GATES))
@pytest.mark.parametrize("lengths, reverse", [(None, False), ([4, 2, 3], True)], ids=str)
def test_recurrent_matmul_in_row_blocks_changes_nothing(monkeypatch, kind, lengths, reverse):
    """At large sizes each step's W_hh h (and W_hh^T da) runs as several products of
    row blocks (fused_kernel.step_matmul); shrink the limits so that the small test
    sizes split too (blocks of 2 rows, the last one shorter), and compare."""
    monkeypatch.setattr(fused_kernel, "SMALL_MATMUL", 2 * 5 * 3)
    monkeypatch.setattr(fused_kernel, "MIN_BLOCK_ROWS", {np.dtype(np.float64): 1})
    assert len(fused_kernel.row_blocks(5, 5, 3, np.float64)) == 3
    lengths = None if lengths is None else np.array(lengths)
    x, states, weights = make_case(kind, 4, 3, 2, 5, True, True, seed=11)
    outs, leaves, params = per_op(kind, x, states, weights, lengths, reverse)
    upstream_loss(outs, 11)[1].backward()
    b = [o.data for o in outs], [None if t is None else t.grad for t in (*leaves, *params)]
    a = ours(kind, x, states, weights, 11, lengths=lengths, reverse=reverse)
    assert_all_close(*a, *b)


@pytest.mark.parametrize("kind, rows", [("lstm", 4), ("gru", 4), ("gru_before", 3)])
@pytest.mark.parametrize("steps_per_chunk", [1, 2, 3])
@pytest.mark.parametrize("lengths, reverse", [(None, False), ([5, 2, 4], True)], ids=str)
def test_backward_in_chunks_changes_nothing(monkeypatch, kind, rows, steps_per_chunk, lengths, reverse):
    """The LSTM and GRU backward compute their gate factors a few steps at a time (as many
    as fit in CACHED_BYTES; a step is `rows` * H * B float64s); shrink that so that a 5-step
    sequence takes several chunks, the last one shorter, and compare with the per-op graph."""
    B, H = 3, 4
    monkeypatch.setattr(fused_kernel, "CACHED_BYTES", steps_per_chunk * rows * H * B * 8)
    assert len(fused_kernel.chunks(5, rows * H * B * 8)) == -(-5 // steps_per_chunk)
    lengths = None if lengths is None else np.array(lengths)
    x, states, weights = make_case(kind, 5, B, 2, H, True, True, seed=5)
    outs, leaves, params = per_op(kind, x, states, weights, lengths, reverse)
    upstream_loss(outs, 5)[1].backward()
    b = [o.data for o in outs], [None if t is None else t.grad for t in (*leaves, *params)]
    a = ours(kind, x, states, weights, 5, lengths=lengths, reverse=reverse)
    assert_all_close(*a, *b)


@pytest.mark.parametrize(
    "shape, dtype, n_blocks",
    [
        ((512, 128, 32), np.float32, 3),
        ((128, 128, 32), np.float32, 1),
        ((1024, 256, 32), np.float32, 9),
        ((2048, 512, 32), np.float32, 1),
        ((2048, 512, 32), np.float64, 34),
        ((512, 128, 1), np.float64, 1),
        ((8000, 2000, 1), np.float64, 1),
    ],
)
def test_step_matmul_splits_only_into_small_products(shape, dtype, n_blocks):
    """Blocks of at most SMALL_MATMUL multiply-adds, as few as possible, or one block when
    they would be thinner than MIN_BLOCK_ROWS; and the products are W v and W^T u."""
    M, K, B = shape
    rows = [len(range(M)[b]) for b in fused_kernel.row_blocks(M, K, B, dtype)]
    assert len(rows) == n_blocks and sum(rows) == M
    assert n_blocks == 1 or max(rows) * K * B <= fused_kernel.SMALL_MATMUL
    rng = np.random.default_rng(0)
    w, v, u = (rng.standard_normal(s).astype(dtype) for s in ((M, K), (K, B), (M, B)))
    forward, backward = fused_kernel.step_matmul(w, B)
    tol = 1e-4 if dtype == np.float32 else 1e-10  # float32 sums of K products round at ~1e-6 relative
    np.testing.assert_allclose(forward(v, out=np.empty((M, B), dtype)), w @ v, rtol=tol, atol=tol)
    np.testing.assert_allclose(backward(u, out=np.empty((K, B), dtype)), w.T @ u, rtol=tol, atol=tol)


# ---- finite differences ----------------------------------------------------


@pytest.mark.parametrize("kind", list(GATES))
@pytest.mark.parametrize(
    "lengths, reverse, checkpoint", [(None, False, None), ([3, 1], True, 2), ([2, 3], False, 1)], ids=str
)
def test_fused_backward_matches_finite_differences(kind, lengths, reverse, checkpoint):
    x, states, weights = make_case(kind, 3, 2, 2, 3, True, True, seed=7)
    inputs = [tr.Tensor(a, requires_grad=True) for a in (x, *states, *weights)]
    n = len(states)
    kw = dict(lengths=None if lengths is None else np.array(lengths), reverse=reverse, checkpoint=checkpoint)

    def loss(*args):
        outs = run_fused(kind, args[0], args[1 : 1 + n], args[1 + n :], **kw)
        return upstream_loss(outs, seed=3)[1]

    tr.gradcheck(loss, *inputs, eps=1e-6, atol=1e-6, rtol=1e-5)


def test_gradcheck_catches_a_wrong_bptt(monkeypatch):
    """The finite-difference test above can fail: break one factor of the LSTM backward."""
    import tinyrnn.nn.fused_lstm as fused_lstm

    real = fused_lstm.LSTMKernel.backward

    def broken(self, *args):
        dxp, d0, grads = real(self, *args)
        dxp[:, : self.H] *= 1.01  # da_o off by 1 % (after the weight gradients: x's is wrong)
        return dxp, d0, grads

    monkeypatch.setattr(fused_lstm.LSTMKernel, "backward", broken)
    with pytest.raises(tr.GradcheckError):
        test_fused_backward_matches_finite_differences("lstm", None, False, None)


# ---- checkpointing ---------------------------------------------------------


@pytest.mark.parametrize("kind", list(GATES))
@pytest.mark.parametrize("checkpoint", [1, 3, 4, 50])
def test_checkpointing_changes_nothing_but_memory(kind, checkpoint):
    x, states, weights = make_case(kind, 10, 3, 2, 4, True, True, seed=11)
    lengths = np.array([10, 4, 7])
    full = ours(kind, x, states, weights, 5, lengths=lengths, reverse=True)
    ckpt = ours(kind, x, states, weights, 5, lengths=lengths, reverse=True, checkpoint=checkpoint)
    assert_all_close(*full, *ckpt, tol=1e-13)


def test_checkpointing_keeps_only_the_segment_start_states():
    """What the graph holds between forward and backward: every activation without
    checkpointing, only the outputs and the states every k steps with it."""
    x, states, weights = make_case("lstm", 120, 4, 3, 32, True, True, seed=1)
    leaves = [tr.Tensor(a, requires_grad=True) for a in (x, *states, *weights)]

    def held_bytes(checkpoint):  # NumPy reports its allocations to tracemalloc
        tracemalloc.start()
        out = lstm_sequence(*leaves, checkpoint=checkpoint)
        held = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        del out
        return held

    assert held_bytes(10) < held_bytes(None) / 3


# ---- the layers: fused path == per-op path ---------------------------------


LAYERS = {
    "rnn_tanh": lambda *a, **k: tr.nn.RNN(*a, **k),
    "rnn_relu": lambda *a, **k: tr.nn.RNN(*a, nonlinearity="relu", **k),
    "gru": tr.nn.GRU,
    "gru_before": lambda *a, **k: tr.nn.GRU(*a, reset_after=False, **k),
    "lstm": tr.nn.LSTM,
}


@pytest.mark.parametrize("kind", list(LAYERS))
@settings(max_examples=15)
@given(
    L=st.integers(1, 3),
    bidirectional=st.booleans(),
    batch_first=st.booleans(),
    bias=st.booleans(),
    given_state=st.booleans(),
    use_lengths=st.booleans(),
    checkpoint=st.sampled_from([None, 2]),
    seed=st.integers(0, 2**16),
)
def test_layers_fused_equal_per_op(
    kind, L, bidirectional, batch_first, bias, given_state, use_lengths, checkpoint, seed
):
    T, B, n_in, H = 4, 3, 2, 3
    rng = np.random.default_rng(seed)
    D = 2 if bidirectional else 1
    x = rng.standard_normal((B, T, n_in) if batch_first else (T, B, n_in))
    states = [rng.standard_normal((L * D, B, H)) for _ in range(2 if kind == "lstm" else 1)]
    lengths = some_lengths(use_lengths, T, B, seed)
    results = []
    for fused in (True, False):
        tr.manual_seed(seed)
        layer = LAYERS[kind](n_in, H, num_layers=L, bias=bias, batch_first=batch_first, bidirectional=bidirectional,
                             fused=fused, checkpoint=checkpoint if fused else None)  # fmt: skip
        xt = tr.Tensor(x, requires_grad=True)
        st_t = [tr.Tensor(s, requires_grad=True) for s in states] if given_state else []
        init = (tuple(st_t) if kind == "lstm" else st_t[0]) if given_state else None
        out, final = layer(xt, init, lengths=lengths)
        outs = [out, *(final if kind == "lstm" else (final,))]
        upstream_loss(outs, seed)[1].backward()
        grads = [xt.grad, *(s.grad for s in st_t), *(p.grad for _, p in layer.named_parameters())]
        results.append(([o.data for o in outs], grads))
    assert_all_close(*results[0], *results[1])


# ---- dtypes, inputs, second backward, errors -------------------------------


@pytest.mark.parametrize("kind", list(GATES))
def test_float32_stays_float32_and_inputs_are_not_mutated(kind):
    x, states, weights = make_case(kind, 4, 2, 3, 5, True, True, seed=2)
    arrays = [a.astype(np.float32) for a in (x, *states, *weights)]
    copies = [a.copy() for a in arrays]
    leaves = [tr.Tensor(a, requires_grad=True) for a in arrays]
    n = len(states)
    outs = run_fused(kind, leaves[0], leaves[1 : 1 + n], leaves[1 + n :], lengths=np.array([4, 2]), reverse=True)
    sum(o.sum() for o in outs).backward()
    assert all(o.dtype == np.float32 for o in outs)
    assert all(t.grad.dtype == np.float32 and t.grad.shape == t.shape for t in leaves)
    for a, c in zip(arrays, copies):
        np.testing.assert_array_equal(a, c)
    reference = ours(kind, x, states, weights, 0, lengths=np.array([4, 2]), reverse=True)  # float64, same inputs
    np.testing.assert_allclose(outs[0].data, reference[0][0], atol=1e-5)


@pytest.mark.parametrize("kind", list(GATES))
def test_a_second_backward_recomputes_and_accumulates(kind):
    """The backward overwrites its saved buffers; a second backward through the same
    graph must recompute them, and gradients add up as everywhere in tinyrnn."""
    x, states, weights = make_case(kind, 5, 2, 2, 3, True, True, seed=4)
    leaves = [tr.Tensor(a, requires_grad=True) for a in (x, *states, *weights)]
    n = len(states)
    loss = upstream_loss(run_fused(kind, leaves[0], leaves[1 : 1 + n], leaves[1 + n :]), seed=0)[1]
    loss.backward()
    once = [t.grad.copy() for t in leaves]
    loss.backward()
    for t, g in zip(leaves, once):
        np.testing.assert_allclose(t.grad, 2 * g, rtol=1e-12, atol=1e-14)


def test_zero_length_sequence_keeps_its_initial_state():
    x, (h0, c0), weights = make_case("lstm", 3, 2, 2, 3, True, True, seed=9)
    out, h_n, c_n = lstm_sequence(x, h0, c0, *weights, lengths=np.array([0, 3]))
    np.testing.assert_array_equal(out.data[:, 0], 0)
    np.testing.assert_array_equal(h_n.data[0], h0[0])
    np.testing.assert_array_equal(c_n.data[0], c0[0])


def test_no_grad_builds_no_graph():
    x, states, weights = make_case("gru", 3, 2, 2, 3, True, True, seed=9)
    with tr.no_grad():
        out, h_n = gru_sequence(tr.Tensor(x, requires_grad=True), *states, *weights)
    assert not out.requires_grad and not h_n.requires_grad


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(x=np.zeros((3, 2))), r"x must be \(T, B, I\)"),
        (dict(x=np.zeros((0, 2, 2))), "no time steps"),
        (dict(w_ih=np.zeros((9, 5))), r"w_ih must be \(12, 2\)"),
        (dict(b_hh=np.zeros(5)), r"b_hh must be \(12,\)"),
        (dict(h0=np.zeros((3, 3))), r"initial states must be \(B, H\) = \(2, 3\)"),
        (dict(h0=np.zeros((2, 3), np.float32)), "every input must have x's dtype float64"),
        (dict(lengths=np.array([1, 4])), r"lengths must lie in \[0, 3\]"),
        (dict(lengths=np.array([1.0, 2.0])), "lengths must be 2 integers"),
        (dict(checkpoint=0), "checkpoint must be a positive number of steps"),
    ],
)
def test_bad_inputs_are_named(change, message):
    x, (h0, c0), (w_ih, w_hh, b_ih, b_hh) = make_case("lstm", 3, 2, 2, 3, True, True, seed=0)
    args = dict(x=x, h0=h0, c0=c0, w_ih=w_ih, w_hh=w_hh, b_ih=b_ih, b_hh=b_hh, lengths=None, checkpoint=None)
    args.update(change)
    with pytest.raises((ValueError, TypeError), match=message):
        lstm_sequence(
            args["x"], args["h0"], args["c0"], args["w_ih"], args["w_hh"], args["b_ih"], args["b_hh"],
            lengths=args["lengths"], checkpoint=args["checkpoint"],
        )  # fmt: skip


def test_rnn_rejects_an_unknown_nonlinearity():
    x, (h0,), weights = make_case("rnn_tanh", 2, 1, 1, 2, False, True, seed=0)
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        rnn_sequence(x, h0, *weights, nonlinearity="sigmoid")


@pytest.mark.parametrize("fused", [True, False])
def test_layers_use_the_fused_kernels_by_default(monkeypatch, fused):
    import tinyrnn.nn.recurrent as recurrent

    calls = []
    real = recurrent.lstm_sequence
    monkeypatch.setattr(recurrent, "lstm_sequence", lambda *a, **k: calls.append(1) or real(*a, **k))
    kwargs = {} if fused else {"fused": False}
    layer = tr.nn.LSTM(2, 3, num_layers=2, bidirectional=True, **kwargs)
    layer(np.zeros((4, 1, 2)))
    assert len(calls) == (4 if fused else 0)  # one fused node per layer and direction


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("B", [1, 3])
def test_the_incoming_output_gradient_is_not_overwritten(kind, B):
    """(out + y) * w: out and y receive the same gradient array; BPTT must not write into it
    (with batch 1 the kernel once did, and y.grad came out wrong)."""
    layer = {"rnn": tr.nn.RNN, "gru": tr.nn.GRU, "lstm": tr.nn.LSTM}[kind](2, 3)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, B, 3))
    y = tr.Tensor(np.zeros((4, B, 3)), requires_grad=True)
    out = layer(rng.standard_normal((4, B, 2)))[0]
    ((out + y) * w).sum().backward()
    np.testing.assert_array_equal(y.grad, w)
