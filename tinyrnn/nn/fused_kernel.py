"""What the fused RNN, GRU and LSTM kernels share: their interface and two helpers.

A kernel runs one layer and direction over a stretch of time steps with plain
NumPy, forward and backward (BPTT written out), and knows nothing about Tensors;
tinyrnn.nn.fused turns it into one autograd node.

Layout. Inside a kernel a state is a block of columns, h (H, B), so that a gate
pre-activation is the textbook W_hh h: one matmul gives a (G*H, B) array whose
gates are *contiguous* row blocks (G stacked (H, B) arrays), and every
elementwise step runs on contiguous memory (PERF_NOTES.md, trap 2). Each
kernel also stores its gates in the order that makes its hot blocks adjacent
(the LSTM's three sigmoid gates, say); `reorder` maps torch's order to it.
"""

from __future__ import annotations

import numpy as np


def sigmoid_(a: np.ndarray) -> np.ndarray:
    """Logistic sigmoid in place, as 0.5 * tanh(a / 2) + 0.5: never overflows
    (no exp of a large number), and float32 tanh is cheap."""
    np.multiply(a, 0.5, out=a)
    np.tanh(a, out=a)
    np.multiply(a, 0.5, out=a)
    np.add(a, 0.5, out=a)
    return a


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


class Kernel:
    """One layer and direction of a recurrent net, as NumPy forward + BPTT.

    Subclasses set `order` (torch gate of each internal gate block of W_ih),
    `n_states` (1, or 2 for the LSTM's (h, c)), fill `self.w_ih` (G*H, I) and
    `self.b_x` (G*H,) or None (all the bias that can be added to the input
    projection) in internal order, and implement:

    forward(xp, state, valid) -> cache
        xp (S, G*H, B): W_ih x_t + b_x for S steps (the kernel may overwrite it);
        state: n_states arrays (H, B); valid (S, B) bool or None (all valid).
        cache.hs (S+1, H, B) holds h_{-1} (the start state) then every h_t,
        cache.state the states after the last step. At a step where a column is
        not valid its states are carried over unchanged.
    backward(cache, dh, dstate, valid) -> (dxp, dstate0, dw_hh, db_hh)
        dh (S, H, B): dL/dh_t from above (zero where not valid; may be
        overwritten); dstate: dL/d(final states). Returns dL/dxp (S, G*H, B),
        dL/d(start states) and the hidden weights' gradients over these steps,
        dw_hh in internal order, db_hh in torch's order or None, meaning "the
        same as b_ih's" (a hidden bias that just adds to the pre-activation).
        The cache is used up (overwritten).
    hidden_to_torch(dw_hh) -> dw_hh in torch's gate order.
    """

    order: tuple[int, ...]
    n_states: int

    def hidden_to_torch(self, dw_hh: np.ndarray) -> np.ndarray:
        return dw_hh

    def project(self, x: np.ndarray) -> np.ndarray:
        """W_ih x_t + b_x for every step at once: x (S, B, I) -> (S, G*H, B)."""
        S, B, n_in = x.shape
        if B > 1:  # one matmul per step, each writing its (G*H, B) block
            xp = np.matmul(self.w_ih, x.transpose(0, 2, 1))
        else:  # one matmul for all steps (a single column needs no transposing)
            xp = (x.reshape(S, n_in) @ self.w_ih.T).reshape(S, -1, 1)
        if self.b_x is not None:
            xp += self.b_x[:, None]
        return xp


CHUNK = 64  # steps per piece of work on whole sequences: bounds temporaries on long ones


def chunks(n_steps: int) -> list[slice]:
    """Slices of CHUNK steps covering range(n_steps)."""
    return [slice(s, min(s + CHUNK, n_steps)) for s in range(0, n_steps, CHUNK)]


def sum_outer(d: np.ndarray, v: np.ndarray, batch_major: bool = False) -> np.ndarray:
    """sum over t and b of d[t, :, b] v[t, :, b]^T: the gradient of a weight that
    multiplies v at every step, given the gradients d of its products.

    d (S, G*H, B); v (S, K, B), or (S, B, K) if batch_major; returns (G*H, K).
    One matmul per CHUNK steps, (G*H, C*B) @ (C*B, K), on copies small enough to stay in cache."""
    n_out, n_in = d.shape[1], v.shape[2 if batch_major else 1]
    total = np.zeros((n_out, n_in), d.dtype)
    for c in chunks(d.shape[0]):
        v_c = v[c] if batch_major else v[c].transpose(0, 2, 1)
        total += d[c].transpose(1, 0, 2).reshape(n_out, -1) @ v_c.reshape(-1, n_in)
    return total


def padding(valid: np.ndarray | None, n_steps: int) -> list:
    """For each step: None if no sequence is padded there, else the (B,) mask of padded ones."""
    if valid is None:
        return [None] * n_steps
    return [None if row.all() else ~row for row in valid]
