"""An RNN written from scratch in the style of d2l's "RNN from scratch" chapter runs on tinyrnn in the
same form as on torch: parameters are leaf tensors, the state is carried (and detached) between
minibatches, gradients are clipped by hand, and the update is `p -= lr * p.grad` inside `no_grad`.

The loop below is one function written once; `train(tr, ...)` and `train(torch, ...)` run it with
only the module names changed. Both start from the same float64 weights, so the losses and the
trained weights must agree to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as torch_F

import tinyrnn as tr
import tinyrnn.functional as tr_F

TEXT = "the time traveller for so it will be convenient to speak of him was expounding a recondite matter to us "
VOCAB = sorted(set(TEXT))
CORPUS = np.array([VOCAB.index(c) for c in TEXT])
V, HIDDEN, BATCH, STEPS = len(VOCAB), 24, 2, 8  # vocabulary, hidden units, batch, time steps per minibatch
LR, THETA, UPDATES = 1.0, 0.5, 40  # learning rate, clipping threshold, parameter updates


def init_params(seed: int = 0) -> list[np.ndarray]:
    """W_xh, W_hh, b_h, W_hq, b_q as in d2l's get_params (normal, scale 0.1 rather than 0.01)."""
    rng = np.random.default_rng(seed)
    normal = lambda *shape: rng.normal(scale=0.1, size=shape)
    return [normal(V, HIDDEN), normal(HIDDEN, HIDDEN), np.zeros(HIDDEN), normal(HIDDEN, V), np.zeros(V)]


def minibatch(i: int) -> tuple[np.ndarray, np.ndarray]:
    """Sequential partitioning: one-hot inputs (STEPS, BATCH, V) and targets (STEPS * BATCH,), time-major."""
    span = len(CORPUS) // BATCH
    start = (i * STEPS) % (span - STEPS - 1)
    rows = np.stack([CORPUS[b * span + start : b * span + start + STEPS + 1] for b in range(BATCH)])
    return np.eye(V)[rows[:, :-1].T], rows[:, 1:].T.reshape(-1)


def leaf(lib, array: np.ndarray):
    return tr.Tensor(array.copy(), requires_grad=True) if lib is tr else torch.tensor(array, requires_grad=True)


def constant(lib, array: np.ndarray):
    return tr.Tensor(array) if lib is tr else torch.from_numpy(array)


# ---- the d2l-style program: the same text for both libraries --------------------------------------


def rnn(lib, inputs, state, params):
    W_xh, W_hh, b_h, W_hq, b_q = params
    H = state
    outputs = []
    for X in inputs:  # one time step at a time: (BATCH, V)
        H = lib.tanh(X @ W_xh + H @ W_hh + b_h)
        Y = H @ W_hq + b_q
        outputs.append(Y)
    return lib.cat(outputs, dim=0), H


def grad_clipping(params, theta):
    norm = sum((p.grad**2).sum() for p in params) ** 0.5
    if norm > theta:
        for p in params:
            p.grad[:] *= theta / norm
    return float(norm)


def sgd(lib, params, lr):
    with lib.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None  # d2l writes p.grad.zero_(); a tinyrnn .grad is a NumPy array: None clears it


def train(lib, F, updates: int = UPDATES):
    params = [leaf(lib, a) for a in init_params()]
    state = constant(lib, np.zeros((BATCH, HIDDEN)))
    losses, norms = [], []
    for i in range(updates):
        X, y = minibatch(i)
        state = state.detach()  # sequential minibatches: carry the state, cut the graph
        y_hat, state = rnn(lib, constant(lib, X), state, params)
        loss = F.cross_entropy(y_hat, constant(lib, y)).mean()
        loss.backward()
        norms.append(grad_clipping(params, THETA))
        sgd(lib, params, LR)
        losses.append(loss.item())
    return losses, norms, params


# ---- the checks --------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny matrices: torch's worker threads only wait on each other (on a busy 2-core machine, 100x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_the_loop_trains_and_matches_torch() -> None:
    losses, norms, params = train(tr, tr_F)
    t_losses, t_norms, t_params = train(torch, torch_F)
    assert np.mean(losses[-5:]) < 0.75 * losses[0]  # it learns
    assert 0 < sum(n > THETA for n in norms) < len(norms)  # clipping acted on some steps, not on all
    np.testing.assert_allclose(losses, t_losses, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(norms, t_norms, rtol=1e-10, atol=1e-10)
    for p, t in zip(params, t_params):
        assert p.is_leaf and p.requires_grad and p.grad is None
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-10, atol=1e-10)


def test_a_wrong_update_is_caught() -> None:
    """The comparison above can fail: a step size off by 1% separates the runs well past 1e-10."""
    global LR
    losses, _, _ = train(tr, tr_F, updates=5)
    LR, saved = LR * 1.01, LR
    try:
        t_losses, _, _ = train(torch, torch_F, updates=5)
    finally:
        LR = saved
    assert np.max(np.abs(np.subtract(losses, t_losses))) > 1e-6
