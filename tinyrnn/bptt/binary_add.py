"""The classic binary-addition RNN with its backward pass written by hand: BPTT in plain NumPy.

See BPTT by hand here, then trust autograd: this file computes, with nothing
but NumPy, the gradients that tinyrnn's autograd computes for
tinyrnn.apps.binary_add.ClassicRNN, and the tests check that the two agree on the
same weights (and that this code agrees with finite differences).

The network, for a batch of B numbers of T bits and H hidden units:

    h_0 = 0                                     (B, H)
    h_t = sigmoid(x_t U + h_{t-1} W)            x_t (B, 2), U (2, H), W (H, H)
    o_t = sigmoid(h_t V)                        V (H, 1), o_t (B,): the sum's bit t
    L   = 0.5 / B * sum_t sum_b (o_t - y_t)^2   squared error, y_t the true bits

Backward: dX stands for dL/dX. Going from the last step to the first, the
hidden state h_t receives gradient from two places: its own output o_t, and
the next step's pre-activation, which used h_t through W. That second term,
carried backwards from step to step, is what "through time" means:

    dz_t = (o_t - y_t) o_t (1 - o_t) / B        o_t's pre-activation h_t V    (B,)
    dV  += h_t^T dz_t
    dh_t = dz_t V^T + da_{t+1} W^T              (da_{T+1} = 0)               (B, H)
    da_t = dh_t h_t (1 - h_t)                   through the sigmoid          (B, H)
    dU  += x_t^T da_t,   dW += h_{t-1}^T da_t
"""

from __future__ import annotations

import numpy as np

from tinyrnn.data.bits import random_pairs, sequences

Weights = dict[str, np.ndarray]


def sigmoid(a: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-a), computed as e^a / (1 + e^a) for negative a: exp never overflows."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0, e) / (1 + e)


def init_weights(hidden: int, rng: np.random.Generator) -> Weights:
    """U (2, H), W (H, H), V (H, 1), uniform in [-1, 1], drawn in that order (as ClassicRNN draws them)."""
    shapes = {"U": (2, hidden), "W": (hidden, hidden), "V": (hidden, 1)}
    return {name: rng.uniform(-1.0, 1.0, size=shape) for name, shape in shapes.items()}


def forward(w: Weights, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x (T, B, 2) -> (h (T+1, B, H) with h[0] = 0, outputs o (T, B))."""
    T, B, _ = x.shape
    h = np.zeros((T + 1, B, w["W"].shape[0]))
    for t in range(T):
        h[t + 1] = sigmoid(x[t] @ w["U"] + h[t] @ w["W"])
    return h, sigmoid(h[1:] @ w["V"])[..., 0]


def loss(o: np.ndarray, y: np.ndarray) -> float:
    """0.5 * squared error, summed over the bits, averaged over the batch: o, y (T, B)."""
    return 0.5 * float(((o - y) ** 2).sum()) / o.shape[1]


def backward(w: Weights, x: np.ndarray, y: np.ndarray, h: np.ndarray, o: np.ndarray) -> Weights:
    """dL/dU, dL/dW, dL/dV by backpropagation through time (the equations in the module docstring)."""
    T, B, _ = x.shape
    grads = {name: np.zeros_like(value) for name, value in w.items()}
    dz = (o - y) * o * (1 - o) / B  # (T, B)
    da_next = np.zeros_like(h[0])  # da_{t+1}: nothing comes from beyond the last step
    for t in reversed(range(T)):
        grads["V"] += h[t + 1].T @ dz[t][:, None]
        dh = dz[t][:, None] @ w["V"].T + da_next @ w["W"].T
        da = dh * h[t + 1] * (1 - h[t + 1])
        grads["U"] += x[t].T @ da
        grads["W"] += h[t].T @ da
        da_next = da
    return grads


def train(
    steps: int, hidden: int = 16, lr: float = 0.1, bits: int = 8, batch: int = 1, seed: int = 0
) -> tuple[Weights, list[float]]:
    """The classic training loop: fresh random `bits`-wide pairs each step, forward,
    backward, plain SGD. Draws its weights, then its data, from one generator seeded
    with `seed`, in the order tinyrnn.apps.binary_add does. Returns (weights, loss per step)."""
    rng = np.random.default_rng(seed)
    w, losses = init_weights(hidden, rng), []
    for _ in range(steps):
        x, y = sequences(*random_pairs(batch, bits, rng))
        h, o = forward(w, x)
        losses.append(loss(o, y))
        for name, g in backward(w, x, y, h, o).items():
            w[name] -= lr * g
    return w, losses
