"""The complex-step derivative check: derivatives exact to machine precision.

For a function f that is analytic (a power series around every real x) and real on
real inputs, Taylor's theorem in the complex plane gives

    f(x + i h) = f(x) + i h f'(x) - h^2 f''(x) / 2 - i h^3 f'''(x) / 6 + ...

so f'(x) = Im f(x + i h) / h + O(h^2), with no subtraction of nearly equal numbers: h
can be 1e-20 and the derivative is exact to rounding (~1e-16 relative), where central
differences reach ~1e-10 at best. A VJP checked this way must agree to ~1e-13.

It needs every op on the path to accept complex input and to compute an analytic
function of it. |x|, relu and max are not analytic (they compare real numbers: their
derivative jumps), and softplus is computed through |x| for stability, so a function
whose graph contains one of them is refused; name your own non-analytic ops (the class
names of tr.Function subclasses) in `non_analytic=`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tinyrnn.tensor import Tensor, no_grad
from tinyrnn.testing.checks import as_float64, compare, loss_weights, outputs, weighted_loss
from tinyrnn.viz import op_name

COMPLEX_STEP_RTOL = 1e-13
NON_ANALYTIC = {
    "abs": "|x| is not analytic (its derivative jumps at 0; on complex numbers it is the modulus)",
    "relu": "relu = max(x, 0) is not analytic (its derivative jumps at 0)",
    "max": "max is not analytic (it compares real numbers; the derivative jumps where the maximum changes)",
    "softplus": "softplus is computed as max(x, 0) + log1p(exp(-|x|)), which uses |x| and max",
}


class ComplexStepError(TypeError):
    """The function cannot be checked with the complex step (a non-analytic op in its graph)."""


def graph_ops(out: Tensor) -> set[str]:
    """The names of every op in the graph that produced `out`, lowercased (a tr.Function `Abs` is `abs`)."""
    seen, names, stack = set(), set(), [out]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if (name := op_name(t)) is not None:
            names.add(name.split("[")[0].lower())  # "Op[1]" (a result of a several-output op) -> "op"
        stack.extend(t._parents)
    return names


def check_complex_step(
    fn: Callable,
    *inputs,
    h: float = 1e-20,
    rtol: float = COMPLEX_STEP_RTOL,
    atol: float = 1e-15,
    non_analytic: Sequence[str] = (),
    seed: int = 0,
) -> float:
    """Check backward() of fn(*Tensors) -> Tensor(s) against complex-step derivatives on every
    entry of every input (float64 arrays). Returns the largest relative difference found
    (|autograd - complex step| / |complex step|, over entries with a nonzero derivative).

    Refuses (ComplexStepError, with the reason) when the graph of fn contains a non-analytic
    op; raises CheckError naming the input, the index, both values and the tolerance."""
    arrays = as_float64(inputs, False, "check_complex_step")
    leaves = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    outs = outputs(fn(*leaves))
    refused = {**NON_ANALYTIC, **{name.lower(): "named non-analytic by the caller" for name in non_analytic}}
    found = sorted(graph_ops(weighted_loss(outs, [np.ones(y.shape) for y in outs])) & set(refused))
    if found:
        reasons = "; ".join(f"{name}: {refused[name]}" for name in found)
        raise ComplexStepError(
            f"check_complex_step: the function uses {', '.join(found)}, so the complex step does not give its "
            f"derivative ({reasons}). Use check_op (central differences) instead."
        )
    weights = loss_weights(outs, seed)
    weighted_loss(outs, weights).backward()
    worst = 0.0
    for i, (a, leaf) in enumerate(zip(arrays, leaves)):
        derivative = np.zeros(a.shape)
        for j in np.ndindex(a.shape):
            xs = [x.astype(np.complex128) for x in arrays]
            xs[i][j] += 1j * h
            with no_grad():
                derivative[j] = weighted_loss(outputs(fn(*[Tensor(x) for x in xs])), weights).data.imag / h
        grad = np.zeros(a.shape) if leaf.grad is None else leaf.grad
        compare("check_complex_step", f"input {i}", grad, derivative, rtol, atol, ("autograd", "complex step"))
        nonzero = derivative != 0
        if nonzero.any():
            worst = max(worst, float(np.max(np.abs(grad - derivative)[nonzero] / np.abs(derivative[nonzero]))))
    return worst
