"""What the fused RNN, GRU and LSTM kernels share: their interface and small helpers.

A kernel runs one layer and direction over a stretch of time steps with plain
NumPy, forward and backward (BPTT written out), and knows nothing about Tensors;
tinyrnn.nn.fused turns it into one autograd node. Each computes the equations of
tinyrnn/bptt/reference.py (one equation per line there), rearranged for speed; the
kernel's module docstring says how.

Layout. Inside a kernel a state is a block of columns, h (H, B), so that a gate
pre-activation is the textbook W_hh h: one matmul gives a (G*H, B) array whose
gates are *contiguous* row blocks (G stacked (H, B) arrays), and every
elementwise step runs on contiguous memory (a strided view would make each one
slower). A kernel may store its gates in another order than torch's where that
makes its hot blocks adjacent (the GRU's); `reorder` maps torch's order to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Any, overload

import numpy as np

from tinyrnn.tensor import mm


def sigmoid_(a: np.ndarray) -> np.ndarray:
    """Logistic sigmoid in place, as 0.5 * tanh(a / 2) + 0.5: never overflows
    (no exp of a large number), and float32 tanh is cheap."""
    half = np.array(0.5, a.dtype)  # a 0-d array: NumPy would convert a Python float on every call
    a *= half
    np.tanh(a, out=a)
    a *= half
    a += half
    return a


@overload
def reorder(w: np.ndarray, order: tuple[int, ...]) -> np.ndarray: ...
@overload
def reorder(w: None, order: tuple[int, ...]) -> None: ...
def reorder(w: np.ndarray | None, order: tuple[int, ...]) -> np.ndarray | None:
    """Stack w's gate blocks (axis 0 holds G blocks of H rows) in `order`:
    block k of the result is block order[k] of w. reorder(w, inverse(order))
    undoes it."""
    if w is None:
        return None
    blocks = w.reshape(len(order), -1, *w.shape[1:])
    return np.ascontiguousarray(blocks[list(order)].reshape(w.shape))


def inverse(order: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(k) for k in np.argsort(order))


# OpenBLAS (NumPy's BLAS) multiplies matrices of at most a million multiply-adds
# (M N K <= 1e6) with "small-matrix" kernels that skip packing the operands;
# on the AVX-512 machines measured here they do a multiply-add in ~0.7x the time of
# the packed path. A step's recurrent matmul just above that size (LSTM, hidden
# 128, batch 32: 2.1 million) is faster as a few products of row blocks below it.
SMALL_MATMUL = 1_000_000
# Thinner blocks cost more in extra calls than the small kernels save. float64 gains down
# to thinner ones (hidden 512, batch 32: 1.2-1.7x faster as 32-row blocks; float32 is not):
# the packed path copies all of W, twice the bytes, on every call.
MIN_BLOCK_ROWS = {np.dtype(np.float32): 64, np.dtype(np.float64): 32}


def row_blocks(M: int, K: int, n_cols: int, dtype=np.float64) -> list[slice]:
    """Blocks of the rows of W (M, K) such that each block times a (K, n_cols) matrix is a
    small product (at most SMALL_MATMUL multiply-adds), as few and as even as possible;
    one block when it is small already, when blocks would be thinner than MIN_BLOCK_ROWS, or
    for a single column (a matrix-vector product: splitting it only added calls, measured)."""
    rows = SMALL_MATMUL // (K * n_cols)  # the most rows a small product can have
    if M <= rows or rows < MIN_BLOCK_ROWS.get(np.dtype(dtype), 64) or n_cols == 1:
        rows = M
    else:
        rows = -(-M // -(-M // rows))  # ceil(M / number of blocks)
    return [slice(s, s + rows) for s in range(0, M, rows)]


def step_matmul(w: np.ndarray, n_cols: int) -> tuple[Callable, Callable]:
    """(forward, backward) for one time step: forward(v, out) = W v for v (K, n_cols), and
    backward(u, out) = W^T u for u (M, n_cols), with W (M, K); each returns out. One BLAS
    call each, or one per row block (row_blocks), W^T u being the sum of the blocks' W_b^T u_b."""
    M, K = w.shape
    blocks = row_blocks(M, K, n_cols, w.dtype)
    if len(blocks) == 1:
        return w.dot, w.T.dot  # bound methods: no Python layer per step, and no np.dot dispatch
    pieces, tmp = [(b, w[b], w[b].T) for b in blocks], np.empty((w.shape[1], n_cols), w.dtype)

    def forward(v, out):
        for b, w_b, _ in pieces:
            w_b.dot(v, out=out[b])
        return out

    def backward(u, out):
        (b, _, w_bt), *rest = pieces
        w_bt.dot(u[b], out=out)
        for b, _, w_bt in rest:
            out += w_bt.dot(u[b], out=tmp)
        return out

    return forward, backward


class Kernel:
    """One layer and direction of a recurrent net, as NumPy forward + BPTT.

    Subclasses set `n_states` (1, or 2 for the LSTM's (h, c)), fill `self.H`,
    `self.w_ih` (G*H, I) with their gates in internal order, and what `project`
    applies to every input: `self.w_x` (G*H, I) and `self.b_x` (G*H,) or None (all
    the bias that can be added to the input projection); w_x is W_ih itself or a
    rescaled copy (the LSTM halves its sigmoid gates' rows). They implement:

    forward(xp, state, valid) -> cache
        xp (S, G*H, B): w_x x_t + b_x for S steps (the kernel may overwrite it);
        state: n_states arrays (H, B); valid (S, B) bool or None (all valid).
        cache.hs (S+1, H, B) holds h_{-1} (the start state) then every h_t,
        cache.state the states after the last step. At a step where a column is
        not valid its states are carried over unchanged.
    backward(cache, dh, dstate, valid, x) -> (dxp, dstate0, grads)
        dh (S, H, B): dL/dh_t from above (zero where not valid; may be
        overwritten); dstate: dL/d(final states); x (S, I, B): the inputs of
        these steps. Returns dL/dxp (S, G*H, B) in internal order, dL/d(start
        states), and grads = [dw_ih, dw_hh, db_ih, db_hh] over these steps in
        torch's layout. The cache is used up (overwritten).
    """

    n_states: int
    H: int
    w_ih: np.ndarray
    w_x: np.ndarray
    b_x: np.ndarray | None

    def forward(self, xp: np.ndarray, state: Sequence[np.ndarray], valid: np.ndarray | None) -> Any:
        raise NotImplementedError

    def backward(
        self, cache: Any, dh: np.ndarray, dstate: Sequence[np.ndarray], valid: np.ndarray | None, x: np.ndarray
    ):
        raise NotImplementedError

    def project(self, x: np.ndarray) -> np.ndarray:
        """w_x x_t + b_x for every step at once: x (S, B, I) -> (S, G*H, B)."""
        S, B, n_in = x.shape
        if B > 1:  # per step w_x x_t^T, into its (G*H, B) block; BLAS is faster on contiguous x_t^T
            xp, step = np.empty((S, self.w_x.shape[0], B), x.dtype), step_matmul(self.w_x, B)[0]
            for x_t, xp_t in zip(np.ascontiguousarray(x.transpose(0, 2, 1)), xp):
                step(x_t, out=xp_t)
        else:  # one matmul for all steps (a single column needs no transposing)
            xp = mm(x.reshape(S, n_in), self.w_x.T).reshape(S, -1, 1)
        if self.b_x is not None:  # b_x in every column of a (G*H, B) block, added to every step's block:
            xp += np.repeat(self.b_x[:, None], B, axis=1)  # contiguous runs, faster than a (G*H, 1) broadcast
        return xp

    def input_grad(self, dxp: np.ndarray) -> np.ndarray:
        """dL/dx_t = W_ih^T dL/dxp_t for every step: dxp (S, G*H, B) -> (S, B, I), project()'s VJP."""
        S, _, B = dxp.shape
        if B == 1:  # one matmul for all steps, as in project()
            return mm(dxp.reshape(S, -1), self.w_ih).reshape(S, 1, -1)
        dx, step_t = np.empty((S, self.w_ih.shape[1], B), dxp.dtype), step_matmul(self.w_ih, B)[1]
        for dxp_t, dx_t in zip(dxp, dx):  # per step, on contiguous blocks
            step_t(dxp_t, out=dx_t)
        return dx.transpose(0, 2, 1)


CHUNK = 64  # steps per piece of work on whole sequences: bounds temporaries on long ones
CACHED_BYTES = 512 * 1024  # a piece of elementwise work this size stays in a core's cache (L2) between passes


def chunks(n_steps: int, step_bytes: int | None = None) -> list[slice]:
    """Slices of CHUNK steps covering range(n_steps); given step_bytes (what one step of the
    work reads), of as many steps as fit in CACHED_BYTES instead (at least one), so that
    several passes over a piece cost one trip to memory (the LSTM's gate factors at batch
    32: 20-40% faster than 64 steps at a time)."""
    n = CHUNK if step_bytes is None else max(1, CACHED_BYTES // step_bytes)
    return [slice(s, min(s + n, n_steps)) for s in range(0, n_steps, n)]


def sum_outer(d: np.ndarray, *vs: np.ndarray, bias: bool = False) -> list[np.ndarray]:
    """For each v: the sum over t and b of d[t, :, b] v[t, :, b]^T, the gradient of a
    weight that multiplies v at every step, given the gradients d of its products;
    with bias=True also the sum over t and b of d[t, :, b], the gradient of a bias
    (the weight of a constant input 1).

    d (S, G*H, B), each v (S, K, B); returns one (G*H, K) array per v, then the (G*H,)
    one. The inputs side by side, [v_1, v_2, ..., 1], make one (C*B, sum of K) matrix,
    so it is one matmul (G*H, C*B) @ (C*B, sum of K) per CHUNK steps: one large
    product runs faster than several thin ones."""
    ends = list(accumulate([v.shape[1] for v in vs] + [1] * bias))
    columns = [slice(a, b) for a, b in zip([0, *ends], ends)]  # v_i's columns of [v_1, v_2, ..., 1]
    total: np.ndarray | None = None
    G, B = d.shape[1], d.shape[2]
    for c in chunks(d.shape[0]):
        d_c = d[c].transpose(1, 0, 2).reshape(G, -1)
        v_c = np.empty((c.stop - c.start, B, ends[-1]), d.dtype)
        for v, cols in zip(vs, columns):
            v_c[:, :, cols] = v[c].transpose(0, 2, 1)
        if bias:
            v_c[:, :, -1] = 1
        term = mm(d_c, v_c.reshape(-1, ends[-1]))
        total = term if total is None else np.add(total, term, out=total)
    assert total is not None, "sum_outer: no steps"
    pieces = [total[:, cols] for cols in columns]  # views: the engine copies a leaf's gradient
    return pieces[: len(vs)] + [pieces[-1][:, 0]] * bias


def padding(valid: np.ndarray | None, n_steps: int) -> list:
    """For each step: None if no sequence is padded there, else the (B,) mask of padded ones."""
    if valid is None:
        return [None] * n_steps
    return [None if row.all() else ~row for row in valid]
