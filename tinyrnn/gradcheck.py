"""Finite-difference gradients: the ground truth every VJP is tested against.

numerical_grad perturbs one entry at a time by +-eps and takes the central
difference (f(x + eps) - f(x - eps)) / 2 eps, whose error is O(eps^2) from
truncation plus O(machine_eps / eps) from rounding: with eps = 1e-6 in float64
both are around 1e-10 times the size of f, hence float64 only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinyrnn.tensor import Tensor


class GradcheckError(AssertionError):
    """An analytic gradient differs from the numerical one (an AssertionError, so pytest shows it as a failure)."""


def _as_inputs(inputs) -> list[Tensor]:
    """Fresh contiguous copies: perturbing one entry of a copy is exact even when the
    caller passed a view (e.g. x.T), and the caller's arrays are never touched."""
    tensors = [x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float64)) for x in inputs]
    for i, x in enumerate(tensors):
        if x.dtype != np.float64:
            raise TypeError(f"gradient checks need float64 inputs (float32 rounding swamps eps); input {i}: {x.dtype}")
    return [Tensor(np.array(x.data, order="C")) for x in tensors]


def numerical_grad(fn: Callable[..., Tensor], *inputs, eps: float = 1e-6) -> list[np.ndarray]:
    """d fn(*inputs).sum() / d input, for every input, by central differences.

    Copies of the inputs are perturbed entry by entry, (f(x + eps) - f(x - eps)) / 2 eps:
    2 * (total number of entries) calls of fn. The error is O(eps^2) from
    truncation plus O(machine epsilon / eps) from rounding, hence float64 only.

    Args:
        fn: takes one Tensor per input and returns a Tensor.
        *inputs: float64 arrays or Tensors (never modified).
        eps: the step, a finite number > 0.

    Returns:
        One float64 array per input, of its shape.

    Raises:
        TypeError: an input is not float64.
        ValueError: eps is not a finite number > 0.
    """
    if not (isinstance(eps, (int, float)) and 0 < eps < float("inf")):
        raise ValueError(f"numerical_grad: eps must be a finite number > 0, got {eps!r}")
    tensors = _as_inputs(inputs)
    grads = []
    for x in tensors:
        grad = np.zeros_like(x.data)
        flat, gflat = x.data.reshape(-1), grad.reshape(-1)
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            up = float(np.sum(fn(*tensors).data))
            flat[i] = orig - eps
            down = float(np.sum(fn(*tensors).data))
            flat[i] = orig
            gflat[i] = (up - down) / (2 * eps)
        grads.append(grad)
    return grads


def gradcheck(
    fn: Callable[..., Tensor], *inputs, eps: float = 1e-6, atol: float = 1e-6, rtol: float = 1e-4, seed: int = 0
) -> bool:
    """Check backward() of `fn` against finite differences on every input entry.

    A non-scalar output is reduced to `sum(fn(*inputs) * w)` with a fixed random
    w, so every output entry is checked with its own weight. Passes when
    |analytic - numeric| <= atol + rtol |numeric| everywhere.

    Args:
        fn: takes one Tensor per input and returns a Tensor.
        *inputs: float64 arrays or Tensors (never modified).
        eps: the finite-difference step, a finite number > 0.
        atol: the absolute tolerance, >= 0.
        rtol: the relative tolerance, >= 0.
        seed: seeds the random weights w.

    Returns:
        True when every entry agrees.

    Raises:
        GradcheckError: an entry differs; the message names the input, the
            index, and the analytic and numeric values of the worst entry.
        TypeError: an input is not float64.
        ValueError: eps, atol or rtol is out of range.

    Examples:
        >>> import numpy as np, tinyrnn as tr
        >>> tr.gradcheck(lambda x: (x * x).tanh(), np.array([0.5, -1.0]))
        True
    """
    if not (isinstance(eps, (int, float)) and 0 < eps < float("inf")):
        raise ValueError(f"gradcheck: eps must be a finite number > 0, got {eps!r}")
    for name, tol in (("atol", atol), ("rtol", rtol)):
        if not (isinstance(tol, (int, float)) and 0 <= tol < float("inf")):
            raise ValueError(f"gradcheck: {name} must be a finite number >= 0, got {tol!r}")
    tensors = _as_inputs(inputs)
    out = fn(*tensors)
    w = np.random.default_rng(seed).standard_normal(out.shape)

    def scalar_fn(*xs):
        return (fn(*xs) * w).sum()

    leaves = [Tensor(x.data, requires_grad=True) for x in tensors]
    scalar_fn(*leaves).backward()
    numeric = numerical_grad(scalar_fn, *tensors, eps=eps)
    for i, (leaf, num) in enumerate(zip(leaves, numeric)):
        ana = np.zeros_like(num) if leaf.grad is None else leaf.grad
        excess = np.nan_to_num(np.abs(ana - num) - (atol + rtol * np.abs(num)), nan=np.inf)  # NaN fails
        if excess.size and excess.max() > 0:
            idx = np.unravel_index(np.argmax(excess), excess.shape)
            raise GradcheckError(
                f"gradcheck: input {i} (shape {leaf.shape}), index {tuple(int(k) for k in idx)}: "
                f"analytic {ana[idx]:.10g} vs numeric {num[idx]:.10g} "
                f"(|diff| {abs(ana[idx] - num[idx]):.3g} > atol {atol:g} + rtol {rtol:g} * |numeric|)"
            )
    return True
