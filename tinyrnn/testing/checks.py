"""Gradient checks of one op or function, and of a Module over its parameters.

Both compare backward() with central finite differences, in float64:

    dL/dx_j ~ (L(x + eps e_j) - L(x - eps e_j)) / (2 eps),   L = sum_k sum(w_k * y_k)

with fixed random weights w_k (one per output y_k), so every output entry is checked
with a weight of its own. The step comes from the dtype: eps = machine_eps^(1/3)
(6e-6 in float64), which balances the O(eps^2) truncation error against the
O(machine_eps / eps) rounding error, both ~1e-11 relative. float32 is refused: its
machine epsilon (1.2e-7) gives eps ~ 5e-3 and errors ~1e-4 relative, too coarse to tell
a wrong VJP term from rounding; upcast=True checks the float64 copy instead.

A failure raises CheckError naming the input, the index, both values and the tolerance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tinyrnn.gradcheck import numerical_grad
from tinyrnn.tensor import Tensor, no_grad

# Defaults for float64 central differences: errors are ~1e-10 of the function's size,
# so 1e-6 relative and 1e-7 absolute leave a wide margin and still catch any wrong VJP term.
FD_RTOL, FD_ATOL = 1e-6, 1e-7
FORWARD_TOL = 1e-12  # two float64 formulas of the same function: a few ulps apart
TORCH_TOL = 1e-10  # torch runs the same float64 arithmetic in another order


class CheckError(AssertionError):
    """A gradient (or forward value) differs from its reference beyond the tolerance."""


def fd_step(dtype) -> float:
    """The central-difference step for `dtype`: machine_eps^(1/3), which balances truncation and rounding.

    Args:
        dtype: a floating-point dtype (or anything `np.finfo` takes).

    Returns:
        The step, about 6e-6 for float64.
    """
    return float(np.finfo(dtype).eps) ** (1 / 3)


def as_float64(arrays: Sequence, upcast: bool, what: str) -> list[np.ndarray]:
    """The inputs as float64 arrays; float32 is refused with the reason unless upcast=True."""
    out = []
    for i, a in enumerate(arrays):
        a = np.asarray(a.data if isinstance(a, Tensor) else a)
        if a.dtype == np.float32 and not upcast:
            raise TypeError(
                f"{what}: input {i} is float32. Central differences need float64: float32 keeps 7 digits, "
                f"so the best step (~5e-3) leaves errors ~1e-4, too coarse to tell a wrong VJP term from "
                f"rounding. Pass upcast=True to check the float64 copy of the inputs."
            )
        if a.dtype.kind not in "fiu":
            raise TypeError(f"{what}: input {i} must be a real floating-point array, got {a.dtype}")
        out.append(np.array(a, dtype=np.float64))
    return out


def compare(what: str, name: str, actual, expected, rtol: float, atol: float, labels=("analytic", "numeric")) -> None:
    """Raise CheckError at the first entry where |actual - expected| > atol + rtol * |expected|."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        raise CheckError(f"{what}: {name}: {labels[0]} has shape {actual.shape}, {labels[1]} {expected.shape}")
    tol = atol + rtol * np.abs(expected)
    bad = ~(np.abs(actual - expected) <= tol)  # NaN fails too
    if bad.any():
        idx = tuple(int(k) for k in np.argwhere(bad)[0])
        a, e, t = actual[idx], expected[idx], tol[idx]
        raise CheckError(
            f"{what}: {name}, index {idx}: {labels[0]} {a:.10g} vs {labels[1]} {e:.10g} "
            f"(|diff| {abs(a - e):.3g} > tolerance {t:.3g} = atol {atol:g} + rtol {rtol:g} * |{labels[1]}|; "
            f"{int(bad.sum())} of {bad.size} entries differ)"
        )


def outputs(out) -> list[Tensor]:
    return list(out) if isinstance(out, (list, tuple)) else [out]


def weighted_loss(outs: list[Tensor], weights: list[np.ndarray]) -> Tensor:
    """sum_k sum(w_k * y_k): the scalar whose gradient is checked."""
    total = (outs[0] * weights[0]).sum()
    for y, w in zip(outs[1:], weights[1:]):
        total = total + (y * w).sum()
    return total


def loss_weights(outs: list[Tensor], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(y.shape) for y in outs]


def check_op(
    fn: Callable,
    *inputs,
    reference: Callable | None = None,
    torch_fn: Callable | None = None,
    names: Sequence[str] | None = None,
    gradients: bool = True,
    rtol: float = FD_RTOL,
    atol: float = FD_ATOL,
    upcast: bool = False,
    seed: int = 0,
) -> None:
    """Check fn(*Tensors) -> Tensor (or a list of Tensors) on `inputs` (arrays).

    - reference (optional): a NumPy function of the same arrays; fn's forward must agree
      to 1e-12 (relative and absolute);
    - backward against central finite differences of sum_k sum(w_k * y_k), every entry
      of every input (rtol, atol), unless gradients=False;
    - torch_fn (optional): the same function on float64 torch tensors; outputs and
      gradients must agree to 1e-10 (torch is imported only then).
    `names` labels the inputs in messages (default "input 0", "input 1", ...).

    Args:
        fn: takes one Tensor per input and returns a Tensor or a list of Tensors.
        *inputs: float64 arrays (float32 only with upcast=True).
        reference: a NumPy function of the same arrays, or None.
        torch_fn: the same function on float64 torch tensors, or None.
        names: labels of the inputs in messages.
        gradients: False checks the forward only.
        rtol: relative tolerance of the finite-difference comparison.
        atol: absolute tolerance of the finite-difference comparison.
        upcast: check float32 inputs as float64 copies instead of refusing them.
        seed: seeds the random weights w_k of the checked loss.

    Raises:
        CheckError: the first mismatch, naming the input, the index, both values
            and the tolerance.
        TypeError: float32 inputs without upcast=True (the message says why).

    Examples:
        >>> import numpy as np, tinyrnn as tr
        >>> from tinyrnn.testing import check_op
        >>> check_op(lambda x: x.tanh(), np.array([0.5, -1.0]), reference=np.tanh)
    """
    arrays = as_float64(inputs, upcast, "check_op")
    names = list(names) if names is not None else [f"input {i}" for i in range(len(arrays))]
    leaves = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    outs = outputs(fn(*leaves))
    if reference is not None:
        for k, (y, r) in enumerate(zip(outs, outputs(reference(*[a.copy() for a in arrays])))):
            compare("check_op forward", f"output {k}", y.data, r, FORWARD_TOL, FORWARD_TOL, ("fn", "reference"))
    weights = loss_weights(outs, seed)
    if gradients or torch_fn is not None:
        weighted_loss(outs, weights).backward()

    def loss(*xs):
        with no_grad():
            return weighted_loss(outputs(fn(*xs)), weights)

    for name, leaf, num in zip(
        names, leaves, numerical_grad(loss, *arrays, eps=fd_step(np.float64)) if gradients else []
    ):
        grad = np.zeros_like(num) if leaf.grad is None else leaf.grad
        compare("check_op backward", name, grad, num, rtol, atol)
    if torch_fn is not None:
        _check_torch(torch_fn, arrays, outs, leaves, weights, names)


def _check_torch(torch_fn, arrays, outs, leaves, weights, names) -> None:
    try:
        import torch
    except ImportError:
        raise ImportError("check_op: torch_fn needs torch installed (pip install torch)") from None
    t_leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    t_outs = outputs(torch_fn(*t_leaves))
    for k, (y, t) in enumerate(zip(outs, t_outs)):
        compare("check_op vs torch", f"output {k}", y.data, t.detach().numpy(), TORCH_TOL, TORCH_TOL, ("ours", "torch"))
    t_weights = [torch.from_numpy(w) for w in weights]
    t_grads = torch.autograd.grad(t_outs, t_leaves, t_weights, allow_unused=True)  # type: ignore[arg-type]
    for name, leaf, t_grad in zip(names, leaves, t_grads):
        ours = np.zeros(leaf.shape) if leaf.grad is None else leaf.grad
        ref = np.zeros(leaf.shape) if t_grad is None else t_grad.numpy()
        compare("check_op vs torch", f"gradient of {name}", ours, ref, TORCH_TOL, TORCH_TOL, ("ours", "torch"))


def check_module(
    module,
    run: Callable,
    *inputs,
    rtol: float = FD_RTOL,
    atol: float = FD_ATOL,
    upcast: bool = False,
    seed: int = 0,
) -> None:
    """Check run(module, *Tensors) -> Tensor (or list of Tensors) against central differences,
    over every input entry and every entry of every parameter (named as in named_parameters()).

    The parameters are perturbed in place and restored afterwards; the module must be float64
    (or upcast=True, which checks a float64 copy of the parameters and puts the originals back).

    Args:
        module: a tr.nn.Module.
        run: called as run(module, *Tensors); returns a Tensor or a list of Tensors.
        *inputs: float64 arrays (float32 only with upcast=True).
        rtol: relative tolerance.
        atol: absolute tolerance.
        upcast: check float32 inputs and parameters as float64 copies.
        seed: seeds the random weights of the checked loss.

    Raises:
        CheckError: the first mismatch, naming the input or parameter, the index,
            both values and the tolerance.
        TypeError: float32 inputs or parameters without upcast=True.
    """
    named = module.named_parameters()
    originals = [p.data for _, p in named]
    arrays = as_float64(inputs, upcast, "check_module")
    params = as_float64(originals, upcast, "check_module (parameters)")
    n = len(arrays)
    try:
        for (_, p), a in zip(named, params):
            p.data = a.copy()
        leaves = [Tensor(a.copy(), requires_grad=True) for a in arrays]
        module.zero_grad()
        outs = outputs(run(module, *leaves))
        weights = loss_weights(outs, seed)
        weighted_loss(outs, weights).backward()
        analytic = [leaf.grad for leaf in leaves] + [p.grad for _, p in named]

        def loss(*xs):
            for (_, p), x in zip(named, xs[n:]):
                p.data = x.data
            with no_grad():
                return weighted_loss(outputs(run(module, *xs[:n])), weights)

        numeric = numerical_grad(loss, *arrays, *params, eps=fd_step(np.float64))
    finally:
        for (_, p), original in zip(named, originals):
            p.data = original
    labels = [f"input {i}" for i in range(n)] + [f"parameter {name}" for name, _ in named]
    for label, grad, num in zip(labels, analytic, numeric):
        compare("check_module", label, np.zeros_like(num) if grad is None else grad, num, rtol, atol)
