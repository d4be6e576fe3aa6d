"""Fused recurrent layers: a whole sequence as ONE autograd node with BPTT by hand.

The per-op path (tinyrnn.nn.cells) records a dozen small ops per time step and
lets autograd find the gradient. Here one node runs all T steps of one layer
and direction in plain NumPy and its VJP is backpropagation through time
written out (fused_rnn.py, fused_gru.py, fused_lstm.py): the equations of
tinyrnn/bptt/reference.py, one per line there, rearranged for speed. The input
projection W_ih x_t of all steps is done up front, each step is one matmul for
the gates (a few, for large ones: fused_kernel.step_matmul) plus a few in-place
elementwise calls on preallocated buffers, and float32 stays float32.

Shapes follow torch: x (T, B, I), h0 and c0 (B, H) (None: zeros), w_ih (G*H, I),
w_hh (G*H, H), b_ih and b_hh (G*H,) or None, with G = 1 (RNN), 3 (GRU: r, z, n)
or 4 (LSTM: i, f, g, o); all of x's dtype. They return out (T, B, H) and the
final states (B, H). Every input may be a constant or require gradients.

lengths (B,) ints: sequence b is valid for its first lengths[b] steps; padded
steps keep the state, output zeros and get no gradient, and reverse=True
starts at each sequence's own last valid step (as torch's packed sequences).

checkpoint=k trades time for memory: the forward keeps only the states at
every k-th step, and the backward recomputes k steps at a time before
backpropagating through them.
"""

from __future__ import annotations

import numpy as np

from tinyrnn.nn.fused_gru import GRUKernel, GRUResetBeforeKernel
from tinyrnn.nn.fused_kernel import Kernel
from tinyrnn.nn.fused_lstm import LSTMKernel
from tinyrnn.nn.fused_rnn import RNNKernel
from tinyrnn.tensor import Tensor, is_grad_enabled, make_many, tensor


def rnn_sequence(
    x: Tensor,
    h0: Tensor | None,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
    *,
    nonlinearity: str = "tanh",
    lengths: np.ndarray | None = None,
    reverse: bool = False,
    checkpoint: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Elman RNN over x (T, B, I) from h0 (B, H): returns (out (T, B, H), h_n (B, H))."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_sequence: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    make = lambda w_ih, w_hh, b_ih, b_hh: RNNKernel(w_ih, w_hh, b_ih, b_hh, nonlinearity=nonlinearity)
    out, h_n = _sequence("rnn_sequence", make, 1, x, [h0], [w_ih, w_hh, b_ih, b_hh], lengths, reverse, checkpoint)
    return out, h_n


def gru_sequence(
    x: Tensor,
    h0: Tensor | None,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
    *,
    reset_after: bool = True,
    lengths: np.ndarray | None = None,
    reverse: bool = False,
    checkpoint: int | None = None,
) -> tuple[Tensor, Tensor]:
    """GRU over x (T, B, I) from h0 (B, H): returns (out (T, B, H), h_n (B, H)).

    reset_after=True is torch's formulation, n = tanh(W_in x + b_in + r * (W_hn h + b_hn));
    False is Cho et al.'s (and d2l's), n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)."""
    make = GRUKernel if reset_after else GRUResetBeforeKernel
    out, h_n = _sequence("gru_sequence", make, 3, x, [h0], [w_ih, w_hh, b_ih, b_hh], lengths, reverse, checkpoint)
    return out, h_n


def lstm_sequence(
    x: Tensor,
    h0: Tensor | None,
    c0: Tensor | None,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
    *,
    lengths: np.ndarray | None = None,
    reverse: bool = False,
    checkpoint: int | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """LSTM over x (T, B, I) from (h0, c0) (B, H): returns (out (T, B, H), h_n, c_n (B, H))."""
    weights = [w_ih, w_hh, b_ih, b_hh]
    out, h_n, c_n = _sequence("lstm_sequence", LSTMKernel, 4, x, [h0, c0], weights, lengths, reverse, checkpoint)
    return out, h_n, c_n


def _sequence(name, make_kernel, gates, x, states, weights, lengths, reverse, checkpoint) -> list[Tensor]:
    x, states, weights = _check(name, gates, x, states, weights)
    T, B, _ = x.shape
    valid, to_time = _time_order(name, lengths, T, B, reverse)
    if checkpoint is not None and (not isinstance(checkpoint, (int, np.integer)) or checkpoint < 1):
        raise ValueError(f"{name}: checkpoint must be a positive number of steps or None, got {checkpoint!r}")
    kernel: Kernel = make_kernel(*(None if w is None else w.data for w in weights))
    xs = to_time(x.data)  # x in the order the recurrence visits it
    step = checkpoint or T
    segments = [(s, min(s + step, T)) for s in range(0, T, step)]
    seg_valid = [None if valid is None else valid[s:e] for s, e in segments]

    # forward: one segment at a time; keep its cache (its saved activations) unless checkpointing
    parents = [t for t in (x, *states, *weights) if t is not None]
    keep = checkpoint is None and is_grad_enabled() and any([p.requires_grad for p in parents])
    state = tuple(np.ascontiguousarray(s.data.T) for s in states)  # (H, B) columns
    starts, caches, out = [], [], np.empty((T, B, kernel.H), x.dtype)
    for (s, e), v in zip(segments, seg_valid):
        starts.append(state)
        cache = kernel.forward(kernel.project(xs[s:e]), state, v)
        out[s:e] = cache.hs[1:].transpose(0, 2, 1)
        state = tuple(np.array(a) for a in cache.state)  # copies: views would keep the whole cache alive
        caches.append(cache if keep else None)
    if valid is not None:
        out *= valid[:, :, None]  # padded steps output zeros

    def vjp(grads):
        d_out, *d_final = grads
        dstate = tuple(np.ascontiguousarray(d.T) for d in d_final)
        d_out = to_time(d_out)
        dx = np.empty(x.shape, x.dtype) if x.requires_grad else None
        total: list[np.ndarray] = []  # [dw_ih, dw_hh, db_ih, db_hh] summed over segments
        for k in reversed(range(len(segments))):
            (s, e), v = segments[k], seg_valid[k]
            cache = caches[k] or kernel.forward(kernel.project(xs[s:e]), starts[k], v)  # recompute if needed
            caches[k] = None  # the backward uses the cache up
            dh = d_out[s:e].transpose(0, 2, 1).copy()  # the kernel overwrites it: never the caller's array
            if v is not None:
                dh *= v[:, None, :]  # padded outputs are constants
            dxp, dstate, grads = kernel.backward(cache, dh, dstate, v, xs[s:e].transpose(0, 2, 1))
            total = [a + b for a, b in zip(total, grads)] if total else grads
            if dx is not None:
                dx[s:e] = kernel.input_grad(dxp)
        d_start = [np.ascontiguousarray(d.T) for d in dstate]
        named = [None if dx is None else np.ascontiguousarray(to_time(dx)), *d_start, *total]
        return [g for t, g in zip((x, *states, *weights), named) if t is not None]

    finals = [np.ascontiguousarray(s.T) for s in state]
    return make_many([np.ascontiguousarray(to_time(out)), *finals], tuple(parents), vjp, name)


def _check(name, gates, x, states, weights):
    """Coerce to Tensors and check shapes and dtypes; a missing state is zeros."""
    x = tensor(x)
    weights = [None if w is None else tensor(w) for w in weights]
    if x.ndim != 3:
        raise ValueError(f"{name}: x must be (T, B, I), got shape {x.shape}")
    T, B, n_in = x.shape
    if T == 0:
        raise ValueError(f"{name}: x has no time steps (shape {x.shape})")
    H = weights[1].shape[-1]
    expected = [(gates * H, n_in), (gates * H, H), (gates * H,), (gates * H,)]
    for key, w, shape in zip(("w_ih", "w_hh", "b_ih", "b_hh"), weights, expected):
        if w is not None and w.shape != shape:
            raise ValueError(f"{name}: {key} must be {shape} for input size {n_in}, hidden size {H}; got {w.shape}")
    states = [Tensor(np.zeros((B, H), x.dtype)) if s is None else tensor(s) for s in states]
    for s in states:
        if s.shape != (B, H):
            raise ValueError(f"{name}: initial states must be (B, H) = {(B, H)}, got {s.shape}")
    for t in (*states, *weights):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"{name}: every input must have x's dtype {x.dtype}, got {t.dtype}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: x must be floating point, got {x.dtype}")
    return x, states, weights


def _time_order(name, lengths, T, B, reverse):
    """(valid (T, B) bool or None, to_time): to_time reorders a (T, B, ...) array
    between the user's time order and the order the recurrence visits it, in
    which every sequence starts at step 0 (its own last step if reverse). It is
    its own inverse."""
    if lengths is None:
        return None, (lambda a: a[::-1]) if reverse else (lambda a: a)
    lengths = np.asarray(lengths)
    if lengths.shape != (B,) or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"{name}: lengths must be {B} integers (one per sequence), got {lengths!r}")
    if lengths.min() < 0 or lengths.max() > T:
        raise ValueError(f"{name}: lengths must lie in [0, {T}] (the number of steps), got {lengths.tolist()}")
    steps = np.arange(T)[:, None]
    valid = steps < lengths
    if valid.all():
        valid = None
    if not reverse:
        return valid, lambda a: a
    index = np.where(steps < lengths, lengths - 1 - steps, steps), np.arange(B)  # padding stays in place
    return valid, lambda a: a[index]
