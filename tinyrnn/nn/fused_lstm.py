"""The LSTM over a whole sequence: forward, and backpropagation through time by hand.

The same equations as tinyrnn/bptt/reference.py's lstm_forward and lstm_backward
(read those first: one equation per line), rearranged for speed:
- states are columns, h (H, B), so a step's gates are one (4H, B) array whose
  gates are contiguous row blocks (fused_kernel.py), and W_ih x_t + b for all steps
  is one projection before the loop (Kernel.project); the two biases are summed;
- sigmoid(a) = 0.5 tanh(a / 2) + 0.5 with the sigmoid gates' rows of the weights
  halved beforehand, so one tanh, one multiply and one add make all four gates;
- the factors that multiply dh and dc in the backward depend only on the forward
  pass, so they are computed for all steps at once before the loop, in the buffers
  of the forward values they replace (comments mark each reuse), which leaves seven
  small NumPy calls per step;
- padding (m_t = 0) zeroes those factors and sets the forget factor to 1, so dh and
  dc pass through a padded step unchanged, without a mask in the loop;
- dW_ih, dW_hh and db are summed after the loop, one matmul per chunk of steps
  (fused_kernel.sum_outer).

Forward, one step (column vectors, as in the textbooks; a = W_ih x_t + b + W_hh h):
    i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

Backward, one step, going back in time. dh = dL/dh_t (from the output at t and
from step t+1), dc = dL/dc_t; every derivative comes from saved outputs
(sigmoid' = s(1 - s), tanh' = 1 - y^2):
    dc    += dh * o * (1 - tanh(c_t)^2)
    da_o   = dh * tanh(c_t) * o(1 - o)
    da_i   = dc * g * i(1 - i)
    da_f   = dc * c_{t-1} * f(1 - f)
    da_g   = dc * i * (1 - g^2)
    dh_{t-1} = W_hh^T da        dc_{t-1} = dc * f
and after the loop dW_ih = sum_t da x_t^T, dW_hh = sum_t da h_{t-1}^T, db = sum_t da.
Gates stay in torch's order i, f, g, o: the gates driven by dc (i, f, g) are one
block backward.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from tinyrnn.nn.fused_kernel import Kernel, chunks, padding, step_matmul, sum_outer


def _halve_sigmoid_rows(w: np.ndarray, H: int) -> np.ndarray:
    """A copy of w (4H, ...) with the rows of i, f and o (not g) halved."""
    w = w.copy()
    w[: 2 * H] *= 0.5
    w[3 * H :] *= 0.5
    return w


class LSTMKernel(Kernel):
    n_states = 2

    def __init__(self, w_ih, w_hh, b_ih, b_hh):
        H = self.H = w_hh.shape[1]
        self.w_ih, self.w_hh = w_ih, w_hh
        # sigmoid(a) = (1 + tanh(a / 2)) / 2 (stable: no exp). With the sigmoid gates' rows
        # (i, f, o) of W_ih, W_hh and the bias halved, one tanh over a whole step gives
        # tanh(a / 2) for i, f, o and tanh(a) for g. (Halving is exact in floating point.)
        bias = [b for b in (b_ih, b_hh) if b is not None]
        self.w_x, self.w_hh_half = _halve_sigmoid_rows(w_ih, H), _halve_sigmoid_rows(w_hh, H)  # w_x: project()'s
        self.b_x = _halve_sigmoid_rows(sum(bias), H) if bias else None

    def _to_gates(self, B, dtype):
        """(scale, shift), each (4H, B): tanh(a) * scale + shift is sigmoid(a) = 0.5 tanh(a / 2) + 0.5
        on the rows of i, f and o (their pre-activations are halved already) and tanh(a) on g's.
        Two calls over a whole step: fewer than four on separate gates, and whole arrays are
        faster operands than Python scalars (which NumPy converts on every call)."""
        scale = _halve_sigmoid_rows(np.ones((4 * self.H, B), dtype), self.H)
        return scale, 1 - scale

    def forward(self, xp, state, valid):
        H, (S, _, B) = self.H, xp.shape
        hs, cs = np.empty((S + 1, H, B), xp.dtype), np.empty((S + 1, H, B), xp.dtype)
        hs[0], cs[0] = state
        tanh_c = np.empty((S, H, B), xp.dtype)
        a_h, ig = np.empty((4 * H, B), xp.dtype), np.empty((H, B), xp.dtype)
        recur = step_matmul(self.w_hh_half, B)[0]
        scale, shift = self._to_gates(B, xp.dtype)
        gates = xp[:, :H], xp[:, H : 2 * H], xp[:, 2 * H : 3 * H], xp[:, 3 * H :]
        steps = zip(xp, *gates, hs[:-1], hs[1:], cs[:-1], cs[1:], tanh_c, padding(valid, S))
        for a, i, f, g, o, h_prev, h, c_prev, c, tanh_ct, pad in steps:  # a: step t's gates, in place
            a += recur(h_prev, out=a_h)
            np.tanh(a, out=a)
            a *= scale
            a += shift  # i, f, o = sigmoid(a); g = tanh(a)
            np.multiply(f, c_prev, out=c)  # c_t = f * c_{t-1} + i * g
            np.multiply(i, g, out=ig)
            c += ig
            np.tanh(c, out=tanh_ct)
            np.multiply(o, tanh_ct, out=h)  # h_t = o * tanh(c_t)
            if pad is not None:  # padded sequences keep their state
                np.copyto(h, h_prev, where=pad)
                np.copyto(c, c_prev, where=pad)
        return SimpleNamespace(gates=xp, cs=cs, tanh_c=tanh_c, hs=hs, state=(hs[S], cs[S]))

    def backward(self, cache, dh, dstate, valid, x):
        H, (S, _, B) = self.H, dh.shape
        gates = cache.gates  # i, f, g, o (S, 4H, B); each gate's slot is overwritten by its factor, then by its da
        for c in chunks(S, gates[0].nbytes):  # a few steps at a time, in cache
            i, f, g, o = gates[c, :H], gates[c, H : 2 * H], gates[c, 2 * H : 3 * H], gates[c, 3 * H :]
            tanh_c, c_prev = cache.tanh_c[c], cache.cs[c]
            dc_per_dh = o * (1 - tanh_c * tanh_c)  # dc += dh * o (1 - tanh(c)^2)
            o *= (1 - o) * tanh_c  # o's slot: tanh(c) o(1 - o), as da_o = dh * tanh(c) o(1 - o)
            g_factor = i * (1 - g * g)  # da_g = dc * i (1 - g^2)
            i *= (1 - i) * g  # i's slot: g i(1 - i), as da_i = dc * g i(1 - i)
            g[...] = g_factor  # g's slot: i (1 - g^2)
            forget = tanh_c  # tanh(c_t) is used up: its buffer keeps f from here on, as dc_{t-1} = dc * f
            forget[...] = f
            f *= (1 - f) * c_prev  # f's slot: c_{t-1} f(1 - f), as da_f = dc * c_{t-1} f(1 - f)
            c_prev[...] = dc_per_dh  # c_{t-1} is used up: its buffer keeps o (1 - tanh(c)^2) from here on
        dc_per_dh, forget = cache.cs[:-1], cache.tanh_c  # the two reused buffers, under what they now hold
        if valid is not None:  # padding: no gate gradient, dh and dc pass through unchanged
            gates *= valid[:, None, :]
            dc_per_dh *= valid[:, None, :]
            np.copyto(forget, 1, where=~valid[:, None, :])
        dh_next, dc = (np.array(s) for s in dstate)
        dc_h, recur_t = np.empty((H, B), dh.dtype), step_matmul(self.w_hh, B)[1]
        da_all = gates  # the factors become da in place, step by step
        da_ifg, da_o = da_all[:, : 3 * H].reshape(S, 3, H, B), da_all[:, 3 * H :]
        steps = zip(dh, da_all, da_ifg, da_o, dc_per_dh, forget, padding(valid, S))
        for dh_t, da, da_ifg_t, da_o_t, dc_per_dh_t, f, pad in reversed(list(steps)):
            dh_t += dh_next
            np.multiply(dh_t, dc_per_dh_t, out=dc_h)
            dc += dc_h
            da_o_t *= dh_t
            da_ifg_t *= dc  # da_i, da_f, da_g
            recur_t(da, out=dh_next)  # W_hh^T da
            if pad is not None:
                np.copyto(dh_next, dh_t, where=pad)
            dc *= f
        dw_ih, dw_hh, db = sum_outer(da_all, x, cache.hs[:-1], bias=True)  # both biases just add to a
        return da_all, (dh_next, dc), [dw_ih, dw_hh, db, db.copy()]
