"""Check hand-written backpropagation through time against autograd through a cell.

You write, in plain NumPy, a forward over a whole sequence and its backward:

    forward(params, x, state0) -> (states, cache)
        params   {name: array}, the cell's named_parameters() as arrays
        x        (T, B, I)
        state0   tuple of (B, H) arrays, one per state of the cell (("h",) or ("h", "c"))
        states   tuple of (T, B, H) arrays: every state after every step (states[0][t] = h_t)
    backward(d_states, cache) -> {name: gradient}
        d_states tuple of (T, B, H) arrays: dL/d(state after step t) coming directly from
                 the loss (the loss is sum_t sum(w_t * h_t) with fixed random weights)
        returns  "x": (T, B, I); "h0" (and "c0"): (B, H); every parameter name: its shape;
                 optionally "h" (and "c"): (T, B, H), the total dL/d(state after step t)
                 (from the loss and from every later step), which pinpoints the step best

check_bptt(cell, forward, backward, x) runs the same cell step by step on Tensors,
lets autograd backpropagate, and compares: the forward states step by step, then the
gradients in the order BPTT produces them (step T-1 down to 0), then the initial states,
then the parameters. The first mismatch raises CheckError naming the gradient, the time
step, the index, both values and the tolerance.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinyrnn.ops import unbind
from tinyrnn.tensor import Tensor
from tinyrnn.testing.checks import CheckError, compare

# Hand-written and autograd BPTT compute the same float64 products in other orders: they
# agree to ~1e-14 relative; 1e-8 leaves a margin for long sequences and catches any wrong term.
BPTT_RTOL, BPTT_ATOL = 1e-8, 1e-10


def autograd_bptt(cell, x: np.ndarray, state0: tuple, weights: tuple) -> dict:
    """The cell stepped over x with autograd: states, dL/dx, dL/d(initial states), every
    parameter gradient and the total dL/d(state after step t), by the names backward returns."""
    names = cell.state_names
    cell.zero_grad()
    xt = Tensor(x.copy(), requires_grad=True)
    s0 = [Tensor(s.copy(), requires_grad=True) for s in state0]
    state, steps = tuple(s0), []
    for x_t in unbind(xt):
        new = cell(x_t, state if len(names) > 1 else state[0])
        state = tuple(new) if len(names) > 1 else (new,)
        steps.append(tuple(s.retain_grad() for s in state))
    loss = sum((s * w[t]).sum() for t, step in enumerate(steps) for s, w in zip(step, weights))
    loss.backward()
    grad = lambda t: np.zeros_like(t.data) if t.grad is None else t.grad  # no path to the loss: zero
    result = {"x": grad(xt), **{f"{n}0": grad(s) for n, s in zip(names, s0)}}
    result.update({name: grad(p) for name, p in cell.named_parameters()})
    for k, n in enumerate(names):
        result[n] = np.stack([grad(step[k]) for step in steps])
        result[f"forward {n}"] = np.stack([step[k].data for step in steps])
    return result


def check_bptt(
    cell,
    forward: Callable,
    backward: Callable,
    x,
    state0=None,
    rtol: float = BPTT_RTOL,
    atol: float = BPTT_ATOL,
    seed: int = 0,
) -> None:
    """Check a hand-written forward/backward over a sequence against autograd through `cell`.

    The contract of `forward` and `backward` is in the module docstring above.

    Args:
        cell: a float64 tr.nn.RecurrentCell: the step your code computes.
        forward: forward(params, x, state0) -> (states, cache).
        backward: backward(d_states, cache) -> {name: gradient}.
        x: the input sequence, (T, B, I).
        state0: a tuple of (B, H) arrays, one per state of the cell; None for random ones.
        rtol: relative tolerance.
        atol: absolute tolerance.
        seed: seeds the random initial states and loss weights.

    Raises:
        CheckError: the first wrong state or gradient, naming it, the time step,
            the index, both values and the tolerance; or a gradient missing from
            backward's result.
    """
    x = np.asarray(x, dtype=np.float64)
    T, B, _ = x.shape
    names, H = cell.state_names, cell.hidden_size
    rng = np.random.default_rng(seed)
    state0 = tuple(rng.standard_normal((B, H)) for _ in names) if state0 is None else tuple(state0)
    weights = tuple(rng.standard_normal((T, B, H)) for _ in names)
    ref = autograd_bptt(cell, x, state0, weights)

    params = {name: p.data.copy() for name, p in cell.named_parameters()}
    states, cache = forward(params, x.copy(), tuple(s.copy() for s in state0))
    for t in range(T):
        for n, s in zip(names, states):
            compare("check_bptt forward", f"{n} at step {t}", s[t], ref[f"forward {n}"][t], rtol, atol, LABELS)
    grads = backward(tuple(w.copy() for w in weights), cache)
    expected = ["x", *(f"{n}0" for n in names), *params]
    missing = [key for key in expected if key not in grads]
    if missing:
        raise CheckError(f"check_bptt: backward must return gradients {expected}; missing {missing}")
    for t in reversed(range(T)):  # the order BPTT produces them
        for n in names:
            if n in grads:
                compare("check_bptt backward", f"dL/d{n} at step {t}", grads[n][t], ref[n][t], rtol, atol, LABELS)
        compare("check_bptt backward", f"dL/dx at step {t}", grads["x"][t], ref["x"][t], rtol, atol, LABELS)
    for key in expected[1:]:
        compare("check_bptt backward", f"dL/d{key}", grads[key], ref[key], rtol, atol, LABELS)


LABELS = ("yours", "autograd")
