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
"""{op name: why it is not analytic}: the ops `check_complex_step` refuses to find in a graph."""


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
    module=None,
    h: float = 1e-20,
    rtol: float = COMPLEX_STEP_RTOL,
    atol: float = 1e-15,
    non_analytic: Sequence[str] = (),
    seed: int = 0,
) -> float:
    """Check backward() of fn(*Tensors) -> Tensor(s) against complex-step derivatives on every
    entry of every input (float64 arrays); with module=, fn is called as fn(module, *Tensors)
    and every parameter is checked too. Returns the largest relative difference found
    (|autograd - complex step| / |complex step|, over entries with a nonzero derivative).

    Args:
        fn: takes Tensors (after `module`, when given) and returns a Tensor or a list of them.
        *inputs: float64 arrays.
        module: a tr.nn.Module whose parameters are checked too, or None.
        h: the imaginary step; the derivative is Im f(x + ih) / h, exact to rounding.
        rtol: relative tolerance.
        atol: absolute tolerance.
        non_analytic: names of your own ops (tr.Function classes) to refuse as non-analytic.
        seed: seeds the random weights of the checked loss.

    Returns:
        The largest relative difference found.

    Raises:
        ComplexStepError: the graph of fn contains a non-analytic op (see
            `NON_ANALYTIC`); the message gives the reason.
        CheckError: an entry differs, naming the input, the index, both values and the tolerance.
    """
    arrays = as_float64(inputs, False, "check_complex_step")
    named = [] if module is None else module.named_parameters()
    run = fn if module is None else (lambda *xs: fn(module, *xs))
    leaves = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    if module is not None:
        module.zero_grad()
    outs = outputs(run(*leaves))
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
    analytic = [leaf.grad for leaf in leaves] + [p.grad for _, p in named]
    labels = [f"input {i}" for i in range(len(arrays))] + [f"parameter {name}" for name, _ in named]
    worst = 0.0
    for k, (label, grad) in enumerate(zip(labels, analytic)):
        base = arrays[k] if k < len(arrays) else named[k - len(arrays)][1].data
        derivative = np.zeros(base.shape)
        for j in np.ndindex(base.shape):
            shifted = base.astype(np.complex128)
            shifted[j] += 1j * h
            derivative[j] = _imag_loss(run, arrays, named, k, shifted, weights) / h
        grad = np.zeros(base.shape) if grad is None else grad
        compare("check_complex_step", label, grad, derivative, rtol, atol, ("autograd", "complex step"))
        nonzero = derivative != 0
        if nonzero.any():
            worst = max(worst, float(np.max(np.abs(grad - derivative)[nonzero] / np.abs(derivative[nonzero]))))
    return worst


def _imag_loss(run, arrays, named, k, shifted, weights) -> float:
    """Im of the weighted loss with slot k (an input, then the parameters) replaced by `shifted`."""
    xs = [shifted if i == k else a for i, a in enumerate(arrays)]
    p = named[k - len(arrays)][1] if k >= len(arrays) else None
    original = None if p is None else p.data
    try:
        if p is not None:
            p.data = shifted
        with no_grad():
            return float(weighted_loss(outputs(run(*[Tensor(x) for x in xs])), weights).data.imag)
    finally:
        if p is not None:
            p.data = original
