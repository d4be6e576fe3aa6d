"""The vanilla (Elman) RNN over a whole sequence: forward, and BPTT by hand.

The same equations as tinyrnn/bptt/reference.py's rnn_forward and rnn_backward (read
those first: one equation per line), rearranged for speed: states are columns, h (H, B);
W_ih x_t + b of all steps is one projection before the loop (the two biases summed);
act'(a_t) is computed for all steps before the loop and made da_t in place; padding
(m_t = 0) zeroes act' there, and dh passes through a padded step by a copy; the weight
gradients are summed after the loop, one matmul per chunk of steps (fused_kernel.sum_outer).

Forward, one step:   h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),  act = tanh or relu
Backward, one step:  da_t = (dh_t + W_hh^T da_{t+1}) * act'(a_t)
                     with act' from the output: tanh' = 1 - h_t^2, relu' = [h_t > 0]
After the loop:      dW_ih = sum_t da_t x_t^T,  dW_hh = sum_t da_t h_{t-1}^T,  db = sum_t da_t
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from tinyrnn.nn.fused_kernel import Kernel, padding, step_matmul, sum_outer


class RNNKernel(Kernel):
    n_states = 1

    def __init__(self, w_ih, w_hh, b_ih, b_hh, nonlinearity: str = "tanh"):
        self.H, self.nonlinearity = w_hh.shape[1], nonlinearity
        self.w_ih, self.w_hh = w_ih, w_hh
        self.w_x = w_ih  # what project() applies
        bias = [b for b in (b_ih, b_hh) if b is not None]
        self.b_x = sum(bias) if bias else None  # both biases just add to a

    def forward(self, xp, state, valid):
        S, H, B = xp.shape
        hs = np.empty((S + 1, H, B), xp.dtype)
        hs[0] = state[0]
        recur = step_matmul(self.w_hh, B)[0]
        for a, h_prev, h, pad in zip(xp, hs[:-1], hs[1:], padding(valid, S)):
            recur(h_prev, out=h)
            h += a
            if self.nonlinearity == "tanh":
                np.tanh(h, out=h)
            else:
                np.maximum(h, 0, out=h)
            if pad is not None:  # padded sequences keep their state
                np.copyto(h, h_prev, where=pad)
        return SimpleNamespace(hs=hs, state=(hs[S],))

    def backward(self, cache, dh, dstate, valid, x):
        S, _, B = dh.shape
        h = cache.hs[1:]
        da = 1 - h * h if self.nonlinearity == "tanh" else (h > 0).astype(h.dtype)  # act'(a_t); da_t after the loop
        if valid is not None:  # padding: no gradient to a, dh passes through unchanged
            da *= valid[:, None, :]
        dh_next, recur_t = np.array(dstate[0]), step_matmul(self.w_hh, B)[1]
        for dh_t, da_t, pad in reversed(list(zip(dh, da, padding(valid, S)))):
            dh_t += dh_next
            da_t *= dh_t  # act'(a_t) becomes da_t = dh_t * act'(a_t)
            recur_t(da_t, out=dh_next)  # W_hh^T da
            if pad is not None:
                np.copyto(dh_next, dh_t, where=pad)
        dw_ih, dw_hh, db = sum_outer(da, x, cache.hs[:-1], bias=True)  # both biases just add to a
        return da, (dh_next,), [dw_ih, dw_hh, db, db.copy()]
