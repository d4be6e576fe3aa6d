"""Reference BPTT for every cell: plain NumPy forward and backward over a whole sequence.

One pair of functions per cell, one line per equation with the equation as its
comment, no performance tricks. These are the equations that the fused kernels
(tinyrnn/nn/fused_rnn.py, fused_gru.py, fused_lstm.py) compute, rearranged for speed;
the tests check that both give the same numbers, and the same as autograd through
tinyrnn's cells and as torch.

Notation. x_t (B, I) is step t's input, h_t (B, H) the state, a_t a pre-activation.
The code holds a batch of row vectors, so the textbook W x_t is written x_t @ W.T
and W^T d is written d @ W. Weights have torch's layout and gate order: W_ih (G*H, I),
W_hh (G*H, H), b_ih and b_hh (G*H,) (pass zeros for a layer without biases), with
G = 1 (RNN), 3 (GRU: r, z, n) or 4 (LSTM: i, f, g, o). s(a) is the logistic sigmoid,
* the elementwise product; tanh' = 1 - tanh^2 and s' = s (1 - s), from saved outputs.

Padding. lengths (B,) says that sequence b is valid for its first lengths[b] steps.
m_t (B, 1) is 1 where step t is valid and 0 where it is padding: a padded step keeps
the state (h_t = h_{t-1}), outputs zero and gives no gradient to the weights. hbar_t
(and the LSTM's cbar_t) is what the cell computes at step t; h_t = m_t hbar_t +
(1 - m_t) h_{t-1}. With lengths=None every m_t is 1, h_t = hbar_t, and each equation
is the textbook one.

Every forward takes x (T, B, I), the start state(s) (B, H), the weights and lengths;
it returns out (T, B, H), the final state(s) (B, H) and a cache. Steps run t = 0..T-1;
states are dicts with h[-1] = h0, so that h[t - 1] reads as in the equations. Every
backward takes the cache, dout = dL/dout (T, B, H) and dL/d(final states), and returns
a dict of gradients: "x", "h0" (and "c0"), "weight_ih", "weight_hh", "bias_ih",
"bias_hh". A reverse direction is the same cell run on each sequence read backwards:
flip().
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def sigmoid(a: Array) -> Array:
    """s(a) = 1 / (1 + exp(-a)), as 0.5 tanh(a / 2) + 0.5 (never overflows)."""
    return 0.5 * np.tanh(0.5 * a) + 0.5


def step_mask(lengths: Array | None, T: int, B: int) -> Array:
    """m (T, B, 1): m[t, b] = 1.0 if t < lengths[b] else 0.0 (all ones for lengths=None)."""
    if lengths is None:
        return np.ones((T, B, 1))
    return (np.arange(T)[:, None] < np.asarray(lengths)[None, :]).astype(np.float64)[:, :, None]


def flip(a: Array, lengths: Array | None = None) -> Array:
    """a (T, B, ...) with each sequence's valid steps in reverse order, padding left in place.
    A reverse direction: out = flip(forward(flip(x))); its gradients flip the same way."""
    T, B = a.shape[:2]
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    t = np.arange(T)[:, None]
    return a[np.where(t < lengths, lengths - 1 - t, t), np.arange(B)]


def _zero_grads(x: Array, W_ih: Array, W_hh: Array) -> dict[str, Array]:
    """Gradients of x and the weights, zero, to be filled or summed over time."""
    zeros = {"x": np.zeros_like(x), "weight_ih": np.zeros_like(W_ih), "weight_hh": np.zeros_like(W_hh)}
    return zeros | {"bias_ih": np.zeros(W_ih.shape[0]), "bias_hh": np.zeros(W_hh.shape[0])}


# ----------------------------------------------------------------------------- RNN


def rnn_forward(
    x: Array,
    h0: Array,
    W_ih: Array,
    W_hh: Array,
    b_ih: Array,
    b_hh: Array,
    lengths: Array | None = None,
    nonlinearity: str = "tanh",
) -> tuple[Array, Array, dict]:
    """Elman RNN, h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act = tanh or relu.
    Returns out (T, B, H), h_n (B, H), cache."""
    T, B, _ = x.shape
    m, h, hbar, out = step_mask(lengths, T, B), {-1: h0}, {}, np.zeros((T, B, h0.shape[1]))
    for t in range(T):
        a = x[t] @ W_ih.T + b_ih + h[t - 1] @ W_hh.T + b_hh  # a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
        hbar[t] = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)  # hbar_t = act(a_t)
        h[t] = m[t] * hbar[t] + (1 - m[t]) * h[t - 1]  # h_t = m_t hbar_t + (1 - m_t) h_{t-1}
        out[t] = m[t] * h[t]  # out_t = m_t h_t
    return out, h[T - 1], dict(x=x, h=h, hbar=hbar, m=m, W_ih=W_ih, W_hh=W_hh, nonlinearity=nonlinearity)


def rnn_backward(cache: dict, dout: Array, dh_n: Array) -> dict[str, Array]:
    """BPTT for rnn_forward: dout (T, B, H), dh_n (B, H) -> dict of gradients."""
    x, h, hbar, m, W_ih, W_hh = (cache[k] for k in ("x", "h", "hbar", "m", "W_ih", "W_hh"))
    grads, dh_next = _zero_grads(x, W_ih, W_hh), dh_n
    for t in reversed(range(len(x))):
        dh = dh_next + m[t] * dout[t]  # dh_t = (gradient from step t+1) + m_t dout_t
        dact = 1 - hbar[t] ** 2 if cache["nonlinearity"] == "tanh" else (hbar[t] > 0) * 1.0  # act'(a_t)
        da = m[t] * dh * dact  # da_t = m_t dh_t * act'(a_t)
        grads["weight_ih"] += da.T @ x[t]  # dW_ih += da_t x_t^T
        grads["weight_hh"] += da.T @ h[t - 1]  # dW_hh += da_t h_{t-1}^T
        grads["bias_ih"] += da.sum(0)  # db_ih += da_t
        grads["bias_hh"] += da.sum(0)  # db_hh += da_t
        grads["x"][t] = da @ W_ih  # dx_t = W_ih^T da_t
        dh_next = da @ W_hh + (1 - m[t]) * dh  # dh_{t-1} = W_hh^T da_t + (1 - m_t) dh_t
    grads["h0"] = dh_next
    return grads


# ------------------------------------------------------------- GRU, torch's formulation


def gru_forward(
    x: Array, h0: Array, W_ih: Array, W_hh: Array, b_ih: Array, b_hh: Array, lengths: Array | None = None
) -> tuple[Array, Array, dict]:
    """GRU as torch computes it (the reset gate applied after the recurrent matmul).
    Returns out (T, B, H), h_n (B, H), cache."""
    T, B, _ = x.shape
    m, h, out, keep = step_mask(lengths, T, B), {-1: h0}, np.zeros((T, B, h0.shape[1])), {}
    for t in range(T):
        gx_r, gx_z, gx_n = np.split(x[t] @ W_ih.T + b_ih, 3, axis=1)  # gx = W_ih x_t + b_ih  (r, z, n)
        gh_r, gh_z, gh_n = np.split(h[t - 1] @ W_hh.T + b_hh, 3, axis=1)  # gh = W_hh h_{t-1} + b_hh  (r, z, n)
        r = sigmoid(gx_r + gh_r)  # r_t = s(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z = sigmoid(gx_z + gh_z)  # z_t = s(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n = np.tanh(gx_n + r * gh_n)  # n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
        hbar = (1 - z) * n + z * h[t - 1]  # hbar_t = (1 - z_t) * n_t + z_t * h_{t-1}
        h[t] = m[t] * hbar + (1 - m[t]) * h[t - 1]  # h_t = m_t hbar_t + (1 - m_t) h_{t-1}
        out[t] = m[t] * h[t]  # out_t = m_t h_t
        keep[t] = (r, z, n, gh_n)
    return out, h[T - 1], dict(x=x, h=h, m=m, keep=keep, W_ih=W_ih, W_hh=W_hh)


def gru_backward(cache: dict, dout: Array, dh_n: Array) -> dict[str, Array]:
    """BPTT for gru_forward: dout (T, B, H), dh_n (B, H) -> dict of gradients."""
    x, h, m, keep, W_ih, W_hh = (cache[k] for k in ("x", "h", "m", "keep", "W_ih", "W_hh"))
    grads, dh_next = _zero_grads(x, W_ih, W_hh), dh_n
    for t in reversed(range(len(x))):
        r, z, n, gh_n = keep[t]
        dh = dh_next + m[t] * dout[t]  # dh_t = (gradient from step t+1) + m_t dout_t
        dhbar = m[t] * dh  # dhbar_t = m_t dh_t
        da_n = dhbar * (1 - z) * (1 - n**2)  # da_n = dhbar_t * (1 - z_t) * (1 - n_t^2)
        da_z = dhbar * (h[t - 1] - n) * z * (1 - z)  # da_z = dhbar_t * (h_{t-1} - n_t) * z_t (1 - z_t)
        da_r = da_n * gh_n * r * (1 - r)  # da_r = da_n * (W_hn h_{t-1} + b_hn) * r_t (1 - r_t)
        dgx = np.concatenate([da_r, da_z, da_n], axis=1)  # dgx = [da_r, da_z, da_n]
        dgh = np.concatenate([da_r, da_z, da_n * r], axis=1)  # dgh = [da_r, da_z, da_n * r_t]
        grads["weight_ih"] += dgx.T @ x[t]  # dW_ih += dgx x_t^T
        grads["weight_hh"] += dgh.T @ h[t - 1]  # dW_hh += dgh h_{t-1}^T
        grads["bias_ih"] += dgx.sum(0)  # db_ih += dgx
        grads["bias_hh"] += dgh.sum(0)  # db_hh += dgh
        grads["x"][t] = dgx @ W_ih  # dx_t = W_ih^T dgx
        dh_next = dgh @ W_hh + dhbar * z + (1 - m[t]) * dh  # dh_{t-1} = W_hh^T dgh + dhbar_t * z_t + (1 - m_t) dh_t
    grads["h0"] = dh_next
    return grads


# ------------------------------------------------------- GRU, Cho et al.'s formulation


def gru_reset_before_forward(
    x: Array, h0: Array, W_ih: Array, W_hh: Array, b_ih: Array, b_hh: Array, lengths: Array | None = None
) -> tuple[Array, Array, dict]:
    """GRU as Cho et al. (2014) and d2l write it (the reset gate applied before the
    recurrent matmul). Returns out (T, B, H), h_n (B, H), cache."""
    T, B, H = *x.shape[:2], h0.shape[1]
    W_hr, W_hz, W_hn = np.split(W_hh, 3)
    b_hr, b_hz, b_hn = np.split(b_hh, 3)
    m, h, out, keep = step_mask(lengths, T, B), {-1: h0}, np.zeros((T, B, H)), {}
    for t in range(T):
        gx_r, gx_z, gx_n = np.split(x[t] @ W_ih.T + b_ih, 3, axis=1)  # gx = W_ih x_t + b_ih  (r, z, n)
        r = sigmoid(gx_r + h[t - 1] @ W_hr.T + b_hr)  # r_t = s(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z = sigmoid(gx_z + h[t - 1] @ W_hz.T + b_hz)  # z_t = s(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n = np.tanh(gx_n + (r * h[t - 1]) @ W_hn.T + b_hn)  # n_t = tanh(W_in x_t + b_in + W_hn (r_t * h_{t-1}) + b_hn)
        hbar = (1 - z) * n + z * h[t - 1]  # hbar_t = (1 - z_t) * n_t + z_t * h_{t-1}
        h[t] = m[t] * hbar + (1 - m[t]) * h[t - 1]  # h_t = m_t hbar_t + (1 - m_t) h_{t-1}
        out[t] = m[t] * h[t]  # out_t = m_t h_t
        keep[t] = (r, z, n)
    return out, h[T - 1], dict(x=x, h=h, m=m, keep=keep, W_ih=W_ih, W_hh=W_hh)


def gru_reset_before_backward(cache: dict, dout: Array, dh_n: Array) -> dict[str, Array]:
    """BPTT for gru_reset_before_forward: dout (T, B, H), dh_n (B, H) -> dict of gradients."""
    x, h, m, keep, W_ih, W_hh = (cache[k] for k in ("x", "h", "m", "keep", "W_ih", "W_hh"))
    H = W_hh.shape[1]
    W_hrz, W_hn = W_hh[: 2 * H], W_hh[2 * H :]  # W_hh = [W_hr; W_hz; W_hn]
    grads, dh_next = _zero_grads(x, W_ih, W_hh), dh_n
    for t in reversed(range(len(x))):
        r, z, n = keep[t]
        dh = dh_next + m[t] * dout[t]  # dh_t = (gradient from step t+1) + m_t dout_t
        dhbar = m[t] * dh  # dhbar_t = m_t dh_t
        da_n = dhbar * (1 - z) * (1 - n**2)  # da_n = dhbar_t * (1 - z_t) * (1 - n_t^2)
        da_z = dhbar * (h[t - 1] - n) * z * (1 - z)  # da_z = dhbar_t * (h_{t-1} - n_t) * z_t (1 - z_t)
        drh = da_n @ W_hn  # d(r_t * h_{t-1}) = W_hn^T da_n
        da_r = drh * h[t - 1] * r * (1 - r)  # da_r = d(r_t * h_{t-1}) * h_{t-1} * r_t (1 - r_t)
        dgx = np.concatenate([da_r, da_z, da_n], axis=1)  # dgx = [da_r, da_z, da_n]
        grads["weight_ih"] += dgx.T @ x[t]  # dW_ih += dgx x_t^T
        grads["weight_hh"][: 2 * H] += np.concatenate([da_r, da_z], axis=1).T @ h[t - 1]  # dW_h{r,z} += da h_{t-1}^T
        grads["weight_hh"][2 * H :] += da_n.T @ (r * h[t - 1])  # dW_hn += da_n (r_t * h_{t-1})^T
        grads["bias_ih"] += dgx.sum(0)  # db_ih += dgx
        grads["bias_hh"] += dgx.sum(0)  # db_hh += dgx
        grads["x"][t] = dgx @ W_ih  # dx_t = W_ih^T dgx
        drz = np.concatenate([da_r, da_z], axis=1) @ W_hrz  # drz = W_hr^T da_r + W_hz^T da_z
        dh_next = drz + drh * r + dhbar * z + (1 - m[t]) * dh  # dh_{t-1} = drz + drh r_t + dhbar_t z_t + (1 - m_t) dh_t
    grads["h0"] = dh_next
    return grads


# ---------------------------------------------------------------------------- LSTM


def lstm_forward(
    x: Array, h0: Array, c0: Array, W_ih: Array, W_hh: Array, b_ih: Array, b_hh: Array, lengths: Array | None = None
) -> tuple[Array, Array, Array, dict]:
    """LSTM, gates in torch's order i, f, g, o. Returns out (T, B, H), h_n, c_n (B, H), cache."""
    T, B, _ = x.shape
    m, h, c, out, keep = step_mask(lengths, T, B), {-1: h0}, {-1: c0}, np.zeros((T, B, h0.shape[1])), {}
    for t in range(T):
        a = x[t] @ W_ih.T + b_ih + h[t - 1] @ W_hh.T + b_hh  # a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
        a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)  # a_t = [a_i, a_f, a_g, a_o]
        i = sigmoid(a_i)  # i_t = s(a_i)       input gate
        f = sigmoid(a_f)  # f_t = s(a_f)       forget gate
        g = np.tanh(a_g)  # g_t = tanh(a_g)    candidate cell
        o = sigmoid(a_o)  # o_t = s(a_o)       output gate
        cbar = f * c[t - 1] + i * g  # cbar_t = f_t * c_{t-1} + i_t * g_t
        tanh_c = np.tanh(cbar)  # tanh(cbar_t)
        hbar = o * tanh_c  # hbar_t = o_t * tanh(cbar_t)
        c[t] = m[t] * cbar + (1 - m[t]) * c[t - 1]  # c_t = m_t cbar_t + (1 - m_t) c_{t-1}
        h[t] = m[t] * hbar + (1 - m[t]) * h[t - 1]  # h_t = m_t hbar_t + (1 - m_t) h_{t-1}
        out[t] = m[t] * h[t]  # out_t = m_t h_t
        keep[t] = (i, f, g, o, tanh_c)
    return out, h[T - 1], c[T - 1], dict(x=x, h=h, c=c, m=m, keep=keep, W_ih=W_ih, W_hh=W_hh)


def lstm_backward(cache: dict, dout: Array, dh_n: Array, dc_n: Array) -> dict[str, Array]:
    """BPTT for lstm_forward: dout (T, B, H), dh_n and dc_n (B, H) -> dict of gradients."""
    x, h, c, m, keep, W_ih, W_hh = (cache[k] for k in ("x", "h", "c", "m", "keep", "W_ih", "W_hh"))
    grads, dh_next, dc_next = _zero_grads(x, W_ih, W_hh), dh_n, dc_n
    for t in reversed(range(len(x))):
        i, f, g, o, tanh_c = keep[t]
        dh = dh_next + m[t] * dout[t]  # dh_t = (gradient from step t+1) + m_t dout_t
        dhbar = m[t] * dh  # dhbar_t = m_t dh_t
        dcbar = m[t] * dc_next + dhbar * o * (1 - tanh_c**2)  # dcbar_t = m_t dc_t + dhbar_t o_t (1 - tanh(cbar_t)^2)
        da_i = dcbar * g * i * (1 - i)  # da_i = dcbar_t * g_t * i_t (1 - i_t)
        da_f = dcbar * c[t - 1] * f * (1 - f)  # da_f = dcbar_t * c_{t-1} * f_t (1 - f_t)
        da_g = dcbar * i * (1 - g**2)  # da_g = dcbar_t * i_t * (1 - g_t^2)
        da_o = dhbar * tanh_c * o * (1 - o)  # da_o = dhbar_t * tanh(cbar_t) * o_t (1 - o_t)
        da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)  # da_t = [da_i, da_f, da_g, da_o]
        grads["weight_ih"] += da.T @ x[t]  # dW_ih += da_t x_t^T
        grads["weight_hh"] += da.T @ h[t - 1]  # dW_hh += da_t h_{t-1}^T
        grads["bias_ih"] += da.sum(0)  # db_ih += da_t
        grads["bias_hh"] += da.sum(0)  # db_hh += da_t
        grads["x"][t] = da @ W_ih  # dx_t = W_ih^T da_t
        dh_next = da @ W_hh + (1 - m[t]) * dh  # dh_{t-1} = W_hh^T da_t + (1 - m_t) dh_t
        dc_next = dcbar * f + (1 - m[t]) * dc_next  # dc_{t-1} = dcbar_t * f_t + (1 - m_t) dc_t
    grads["h0"], grads["c0"] = dh_next, dc_next
    return grads
