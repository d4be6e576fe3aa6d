"""The GRU over a whole sequence, both formulations: forward, and BPTT by hand.

The same equations as tinyrnn/bptt/reference.py's gru_forward / gru_backward
(torch's, reset_after=True) and gru_reset_before_forward / gru_reset_before_backward
(Cho et al.'s) (read those first: one equation per line), rearranged for speed:
states are columns, h (H, B), with each step's gates in one (3H, B) array; the gates
are stored in another order than torch's where that makes the blocks a step updates
together adjacent (`order`, fused_kernel.reorder); W_ih x_t + b of all steps is one
projection before the loop, every bias that just adds to a pre-activation folded
into it; the factors that multiply dh (and drh) are computed for all steps at once
before the loop; padding (m_t = 0) zeroes those factors and sets z's factor to 1, so
dh passes through a padded step unchanged; the weight gradients are summed after the
loop, one matmul per chunk of steps (fused_kernel.sum_outer).

Forward, one step (a_* = W_i* x_t + b_i* + W_h* h + b_h*):
    r  = sigmoid(a_r)                                    reset gate
    z  = sigmoid(a_z)                                    update gate
    n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))       reset_after=True  (torch, cuDNN)
    n  = tanh(W_in x + b_in + W_hn (r * h) + b_hn)       reset_after=False (Cho et al. 2014, d2l)
    h' = (1 - z) * n + z * h

Backward, one step, dh = dL/dh_t (from the output and from step t+1), derivatives
from saved outputs (sigmoid' = s(1 - s), tanh' = 1 - y^2):
    da_n = dh * (1 - z) * (1 - n^2)            (gradient of n's pre-activation)
    da_z = dh * (h_{t-1} - n) * z(1 - z)
  reset_after=True, with hn = W_hn h_{t-1} + b_hn:
    da_r = da_n * hn * r(1 - r)        dhn = da_n * r
    dh_{t-1} = dh * z + W_hh^T [da_r, da_z, dhn]
  reset_after=False, with rh = r * h_{t-1}:
    drh  = W_hn^T da_n                 da_r = drh * h_{t-1} * r(1 - r)
    dh_{t-1} = dh * z + drh * r + W_hr^T da_r + W_hz^T da_z
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from tinyrnn.nn.fused_kernel import Kernel, chunks, inverse, padding, reorder, sigmoid_, step_matmul, sum_outer


def _update(h_prev, n, z, tmp, out):
    """h_t = (1 - z) * n + z * h_{t-1}, written as n + z * (h_{t-1} - n)."""
    np.subtract(h_prev, n, out=tmp)
    tmp *= z
    np.add(n, tmp, out=out)


def _direct_factor(z, valid):
    """A copy of z: the factor of the direct path dh_{t-1} += dh * z; 1 at padding (the state is carried)."""
    z = z.copy()
    if valid is not None:
        np.copyto(z, 1, where=~valid[:, None, :])
    return z


class GRUKernel(Kernel):
    """torch's GRU (reset_after=True). Internal order: W_ih n, r, z; W_hh r, z, n (torch's)."""

    order = (2, 0, 1)
    n_states = 1

    def __init__(self, w_ih, w_hh, b_ih, b_hh):
        H = self.H = w_hh.shape[1]
        self.w_ih, self.w_hh = reorder(w_ih, self.order), w_hh
        self.w_x = self.w_ih  # what project() applies
        self.b_x = None if b_ih is None else reorder(b_ih, self.order)
        self.b_hn = np.zeros((H, 1), w_hh.dtype)
        if b_hh is not None:  # b_hr, b_hz just add to a_r, a_z; b_hn sits inside r * (...)
            b_x = np.zeros(3 * H, w_hh.dtype) if self.b_x is None else self.b_x
            b_x[H:] += b_hh[: 2 * H]
            self.b_x, self.b_hn = b_x, b_hh[2 * H :, None]

    def forward(self, xp, state, valid):
        H, (S, _, B) = self.H, xp.shape
        hs, hn = np.empty((S + 1, H, B), xp.dtype), np.empty((S, H, B), xp.dtype)
        hs[0] = state[0]
        a_h, tmp, (recur, _) = np.empty((3 * H, B), xp.dtype), np.empty((H, B), xp.dtype), step_matmul(self.w_hh, B)
        b_hn = np.repeat(self.b_hn, B, axis=1)  # (H, B): contiguous, faster than a broadcast of (H, 1)
        gates = xp[:, H:], xp[:, :H], xp[:, H : 2 * H], xp[:, 2 * H :]
        steps = zip(*gates, hs[:-1], hs[1:], hn, padding(valid, S))
        for rz, n, r, z, h_prev, h, hn_t, pad in steps:  # step t's gates n, r, z, in place
            recur(h_prev, out=a_h)  # W_hr h, W_hz h, W_hn h
            rz += a_h[: 2 * H]
            sigmoid_(rz)
            np.add(a_h[2 * H :], b_hn, out=hn_t)  # hn = W_hn h + b_hn
            np.multiply(r, hn_t, out=tmp)
            n += tmp
            np.tanh(n, out=n)
            _update(h_prev, n, z, tmp, out=h)
            if pad is not None:  # padded sequences keep their state
                np.copyto(h, h_prev, where=pad)
        return SimpleNamespace(gates=xp, hn=hn, hs=hs, state=(hs[S],))

    def backward(self, cache, dh, dstate, valid, x):
        H, (S, _, B) = self.H, dh.shape
        gates, h_prev = cache.gates, cache.hs[:-1]  # gates: n, r, z (S, 3H, B)
        da_all = np.empty((S, 4 * H, B), dh.dtype)  # n, r, z, hn: their factors of dh, then (in the loop) their da
        for c in chunks(S, da_all[0].nbytes):  # a few steps at a time, in cache
            n, r, z, hn, h = gates[c, :H], gates[c, H : 2 * H], gates[c, 2 * H :], cache.hn[c], h_prev[c]
            k_n, k_r, k_z, k_hn = da_all[c, :H], da_all[c, H : 2 * H], da_all[c, 2 * H : 3 * H], da_all[c, 3 * H :]
            np.multiply(1 - z, 1 - n * n, out=k_n)  # da_n = dh * (1 - z)(1 - n^2)
            np.multiply(k_n * hn, r * (1 - r), out=k_r)  # da_r = da_n * hn r(1 - r)
            np.multiply(h - n, z * (1 - z), out=k_z)  # da_z = dh * (h_{t-1} - n) z(1 - z)
            np.multiply(k_n, r, out=k_hn)  # dhn = da_n * r
        if valid is not None:  # padding: no gate gradient
            da_all *= valid[:, None, :]
        dh_next, tmp, (_, recur_t) = np.array(dstate[0]), np.empty((H, B), dh.dtype), step_matmul(self.w_hh, B)
        steps = zip(dh, da_all.reshape(S, 4, H, B), da_all[:, H:], _direct_factor(gates[:, 2 * H :], valid))
        for dh_t, da, da_h, z_t in reversed(list(steps)):
            dh_t += dh_next
            da *= dh_t  # da_n, da_r, da_z, dhn
            recur_t(da_h, out=dh_next)  # W_hh^T [da_r, da_z, dhn]
            np.multiply(dh_t, z_t, out=tmp)
            dh_next += tmp
        da_x, da_h = da_all[:, : 3 * H], da_all[:, H:]  # d(W_ih x + b_ih) (n, r, z), d(W_hh h + b_hh) (r, z, n)
        (dw_ih, db_ih), (dw_hh, db_hh) = sum_outer(da_x, x, bias=True), sum_outer(da_h, h_prev, bias=True)
        back = inverse(self.order)
        grads = [reorder(dw_ih, back), dw_hh, reorder(db_ih, back), db_hh]
        return da_x, (dh_next,), grads


class GRUResetBeforeKernel(Kernel):
    """Cho et al.'s GRU (reset_after=False). Internal order: W_ih n, z, r; W_hh z, r, n."""

    order = (2, 1, 0)
    hidden_order = (1, 0, 2)
    n_states = 1

    def __init__(self, w_ih, w_hh, b_ih, b_hh):
        H = self.H = w_hh.shape[1]
        self.w_ih, self.w_hh = reorder(w_ih, self.order), reorder(w_hh, self.hidden_order)
        self.w_x = self.w_ih  # what project() applies
        self.w_hzr, self.w_hn = self.w_hh[: 2 * H], self.w_hh[2 * H :]
        bias = [b for b in (b_ih, b_hh) if b is not None]
        self.b_x = reorder(sum(bias), self.order) if bias else None  # every bias just adds to a

    def forward(self, xp, state, valid):
        H, (S, _, B) = self.H, xp.shape
        hs, rh = np.empty((S + 1, H, B), xp.dtype), np.empty((S, H, B), xp.dtype)
        hs[0] = state[0]
        a_h, tmp = np.empty((2 * H, B), xp.dtype), np.empty((H, B), xp.dtype)
        (w_hzr, _), (w_hn, _) = step_matmul(self.w_hzr, B), step_matmul(self.w_hn, B)
        gates = xp[:, H:], xp[:, :H], xp[:, H : 2 * H], xp[:, 2 * H :]
        steps = zip(*gates, hs[:-1], hs[1:], rh, padding(valid, S))
        for zr, n, z, r, h_prev, h, rh_t, pad in steps:  # step t's gates n, z, r, in place
            zr += w_hzr(h_prev, out=a_h)  # W_hz h, W_hr h
            sigmoid_(zr)
            np.multiply(r, h_prev, out=rh_t)
            w_hn(rh_t, out=tmp)  # W_hn (r * h)
            n += tmp
            np.tanh(n, out=n)
            _update(h_prev, n, z, tmp, out=h)
            if pad is not None:  # padded sequences keep their state
                np.copyto(h, h_prev, where=pad)
        return SimpleNamespace(gates=xp, rh=rh, hs=hs, state=(hs[S],))

    def backward(self, cache, dh, dstate, valid, x):
        H, (S, _, B) = self.H, dh.shape
        gates, h_prev = cache.gates, cache.hs[:-1]  # n, z, r (S, 3H, B); each slot becomes its factor, then its da
        z_direct, r_gate = _direct_factor(gates[:, H : 2 * H], valid), gates[:, 2 * H :].copy()  # kept before that
        for c in chunks(S, gates[0].nbytes):  # a few steps at a time, in cache
            n, z, r, h = gates[c, :H], gates[c, H : 2 * H], gates[c, 2 * H :], h_prev[c]
            z_factor = (h - n) * z * (1 - z)  # da_z = dh * (h_{t-1} - n) z(1 - z)
            n *= -n
            n += 1
            n *= 1 - z  # n's slot: (1 - z)(1 - n^2), as da_n = dh * (1 - z)(1 - n^2)
            z[...] = z_factor  # z's slot: (h_{t-1} - n) z(1 - z)
            r *= 1 - r
            r *= h  # r's slot: h_{t-1} r(1 - r), as da_r = drh * h_{t-1} r(1 - r)
        da_all = gates  # the factors, made da in place in the loop
        if valid is not None:  # padding: no gate gradient
            da_all *= valid[:, None, :]
        dh_next, drh, tmp = np.array(dstate[0]), np.empty((H, B), dh.dtype), np.empty((H, B), dh.dtype)
        (_, w_hzr_t), (_, w_hn_t) = step_matmul(self.w_hzr, B), step_matmul(self.w_hn, B)
        da_nz, da_zr = da_all[:, : 2 * H].reshape(S, 2, H, B), da_all[:, H:]
        da_n, da_r = da_all[:, :H], da_all[:, 2 * H :]
        steps = zip(dh, da_nz, da_n, da_zr, da_r, z_direct, r_gate)
        for dh_t, da_nz_t, da_n_t, da_zr_t, da_r_t, z_t, r_t in reversed(list(steps)):
            dh_t += dh_next
            da_nz_t *= dh_t  # da_n, da_z
            w_hn_t(da_n_t, out=drh)  # W_hn^T da_n
            da_r_t *= drh
            w_hzr_t(da_zr_t, out=dh_next)  # W_hz^T da_z + W_hr^T da_r
            np.multiply(dh_t, z_t, out=tmp)
            dh_next += tmp
            np.multiply(drh, r_t, out=tmp)
            dh_next += tmp
        (dw_ih, db), (dw_zr,), (dw_n,) = (
            sum_outer(da_all, x, bias=True),
            sum_outer(da_zr, h_prev),
            sum_outer(da_n, cache.rh),
        )
        db = reorder(db, inverse(self.order))  # every bias just adds to a
        dw_hh = reorder(np.concatenate([dw_zr, dw_n]), inverse(self.hidden_order))
        return da_all, (dh_next,), [reorder(dw_ih, inverse(self.order)), dw_hh, db, db.copy()]
