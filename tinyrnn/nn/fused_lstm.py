"""The LSTM over a whole sequence: forward, and backpropagation through time by hand.

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

The factors that multiply dh and dc (o(1 - tanh(c)^2), tanh(c) o(1 - o), ...)
depend only on the forward pass, so they are computed for all steps at once
before the loop, which is left with seven small NumPy calls per step.
Gates are stored in the order o, i, f, g: the sigmoid gates (o, i, f) are one
block in the forward, and the gates driven by dc (i, f, g) one block backward.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from tinyrnn.nn.fused_kernel import Kernel, chunks, invalid_steps, inverse, reorder, sigmoid_, sum_outer

ORDER = (3, 0, 1, 2)  # internal blocks o, i, f, g hold torch's gates 3, 0, 1, 2 (torch: i, f, g, o)


class LSTMKernel(Kernel):
    order = ORDER
    n_states = 2

    def __init__(self, w_ih, w_hh, b_ih, b_hh):
        self.H = w_hh.shape[1]
        self.w_ih, self.w_hh = reorder(w_ih, ORDER), reorder(w_hh, ORDER)
        bias = [b for b in (b_ih, b_hh) if b is not None]
        self.b_x = reorder(sum(bias), ORDER) if bias else None  # both biases just add to a

    def forward(self, xp, state, valid):
        H, (S, _, B) = self.H, xp.shape
        hs, cs = np.empty((S + 1, H, B), xp.dtype), np.empty((S + 1, H, B), xp.dtype)
        hs[0], cs[0] = state
        tanh_c = np.empty((S, H, B), xp.dtype)
        a_h, ig = np.empty((4 * H, B), xp.dtype), np.empty((H, B), xp.dtype)
        invalid, padded = invalid_steps(valid, S)
        for t in range(S):
            a = xp[t]  # becomes the gates o, i, f, g of step t, in place
            np.matmul(self.w_hh, hs[t], out=a_h)
            a += a_h
            sigmoid_(a[: 3 * H])
            np.tanh(a[3 * H :], out=a[3 * H :])
            o, i, f, g = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
            np.multiply(f, cs[t], out=cs[t + 1])  # c_t = f * c_{t-1} + i * g
            np.multiply(i, g, out=ig)
            cs[t + 1] += ig
            np.tanh(cs[t + 1], out=tanh_c[t])
            np.multiply(o, tanh_c[t], out=hs[t + 1])  # h_t = o * tanh(c_t)
            if padded[t]:  # padding keeps the state
                np.copyto(hs[t + 1], hs[t], where=invalid[t])
                np.copyto(cs[t + 1], cs[t], where=invalid[t])
        return SimpleNamespace(gates=xp, cs=cs, tanh_c=tanh_c, hs=hs, state=(hs[S], cs[S]))

    def backward(self, cache, dh, dstate, valid):
        H, (S, _, B) = self.H, dh.shape
        k = cache.gates  # the gates' slots become their factors, then da
        for c in chunks(S):  # a few steps at a time: small temporaries on long sequences
            o, i, f, g = k[c, :H], k[c, H : 2 * H], k[c, 2 * H : 3 * H], k[c, 3 * H :]
            tanh_c, c_prev = cache.tanh_c[c], cache.cs[c]
            k_c = o * (1 - tanh_c * tanh_c)  # dc += dh * o (1 - tanh(c)^2)
            o *= (1 - o) * tanh_c  # da_o = dh * tanh(c) o(1 - o)
            k_g = i * (1 - g * g)  # da_g = dc * i (1 - g^2)
            i *= (1 - i) * g  # da_i = dc * g i(1 - i)
            g[...] = k_g
            tanh_c[...] = f  # dc_{t-1} = dc * f
            f *= (1 - f) * c_prev  # da_f = dc * c_{t-1} f(1 - f)
            c_prev[...] = k_c
        k_c, f_keep = cache.cs[:-1], cache.tanh_c  # used-up buffers, reused
        invalid, padded = invalid_steps(valid, S)
        if valid is not None:  # padding: no gate gradient, dh and dc pass through unchanged
            k *= valid[:, None, :]
            k_c *= valid[:, None, :]
            np.copyto(f_keep, 1, where=invalid[:, None, :])
        dh_next, dc = (np.array(s) for s in dstate)
        dc_h = np.empty((H, B), dh.dtype)
        for t in reversed(range(S)):
            dh_t = dh[t]
            dh_t += dh_next
            np.multiply(dh_t, k_c[t], out=dc_h)
            dc += dc_h
            da = k[t]
            np.multiply(da[:H], dh_t, out=da[:H])
            da_ifg = da[H:].reshape(3, H, B)
            np.multiply(da_ifg, dc, out=da_ifg)
            np.matmul(self.w_hh.T, da, out=dh_next)
            if padded[t]:
                np.copyto(dh_next, dh_t, where=invalid[t])
            dc *= f_keep[t]
        return k, (dh_next, dc), sum_outer(k, cache.hs[:-1]), None

    def hidden_to_torch(self, dw_hh):
        return reorder(dw_hh, inverse(ORDER))
