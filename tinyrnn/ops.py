"""Primitive ops. Each is a forward and its vector-Jacobian product, side by side.

Every op computes its result `y` with NumPy and hands `make` a VJP: given
g = dL/dy, return dL/d(each input). Broadcasting is undone centrally
(tensor.unbroadcast), so a VJP may return a gradient of the broadcast shape.
"""

from __future__ import annotations

import numpy as np

from tinyrnn.tensor import IndexGrad, Tensor, make, mm, tensor


def _pair(op: str, a, b, fn):
    """Coerce a binary op's operands to Tensors and run `fn` on their arrays,
    turning NumPy's broadcasting error into one that names both shapes."""
    a = tensor(a, getattr(b, "dtype", None))
    b = tensor(b, a.dtype)
    try:
        return a, b, fn(a.data, b.data)
    except ValueError:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None


# ---- arithmetic -----------------------------------------------------------


def add(a, b) -> Tensor:
    """a + b (broadcasting): dL/da = dL/db = g, summed back to each shape."""
    a, b, y = _pair("add", a, b, np.add)
    return make(y, (a, b), lambda g: (g, g))


def sub(a, b) -> Tensor:
    """a - b (broadcasting): dL/da = g, dL/db = -g."""
    a, b, y = _pair("sub", a, b, np.subtract)
    return make(y, (a, b), lambda g: (g, -g))


def mul(a, b) -> Tensor:
    """a * b elementwise (broadcasting): dL/da = g b, dL/db = g a."""
    a, b, y = _pair("mul", a, b, np.multiply)
    return make(y, (a, b), lambda g: (g * b.data, g * a.data))


def div(a, b) -> Tensor:
    """a / b elementwise (broadcasting): dL/da = g / b, dL/db = -g a / b^2 = -g y / b."""
    a, b, y = _pair("div", a, b, np.divide)
    return make(y, (a, b), lambda g: (g / b.data, -g * y / b.data))


def neg(x: Tensor) -> Tensor:
    """-x: dL/dx = -g."""
    return make(-x.data, (x,), lambda g: (-g,))


def pow(a, b) -> Tensor:
    """a ** b elementwise (broadcasting; either may be a number or a Tensor):
    dL/da = g b a^(b-1), dL/db = g a^b log a (only computed when b needs it)."""
    a, b, y = _pair("pow", a, b, np.power)

    def vjp(g):
        if b.data.all():
            ga = g * b.data * a.data ** (b.data - 1)
        else:  # where b = 0 the gradient is 0 (b a^(b-1) would be 0 * inf = nan at a = 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                ga = np.where(b.data == 0, 0, g * b.data * a.data ** (b.data - 1))
        return ga, (g * y * np.log(a.data) if b.requires_grad else None)

    return make(y, (a, b), vjp)


def matmul(a, b) -> Tensor:
    """a @ b with NumPy's rules (1-D operands, batched and broadcast leading axes)."""
    a, b = tensor(a), tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: {a.shape} @ {b.shape}: operands must have at least 1 dimension")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        k_b = b.shape[-2 if b.ndim > 1 else 0]
        raise ValueError(f"matmul: {a.shape} @ {b.shape}: inner dimensions {a.shape[-1]} and {k_b} differ")
    A = a.data if a.ndim > 1 else a.data[None, :]  # 1-D operands become matrices
    B = b.data if b.ndim > 1 else b.data[:, None]
    try:
        Y = mm(A, B)
    except ValueError:
        raise ValueError(f"matmul: {a.shape} @ {b.shape}: batch dimensions cannot be broadcast together") from None

    def vjp(g):
        G = g.reshape(Y.shape)
        gA = mm(G, np.swapaxes(B, -1, -2))  # dL/dA = G B^T
        gB = mm(np.swapaxes(A, -1, -2), G)  # dL/dB = A^T G
        return (gA if a.ndim > 1 else gA.reshape(-1, a.shape[0]).sum(0),
                gB if b.ndim > 1 else gB.reshape(-1, b.shape[0]).sum(0))  # fmt: skip

    # drop the axes that the 1-D operands gained
    shape = Y.shape[:-2] + (Y.shape[-2],) * (a.ndim > 1) + (Y.shape[-1],) * (b.ndim > 1)
    return make(Y.reshape(shape), (a, b), vjp)


# ---- elementwise functions -------------------------------------------------


def exp(x: Tensor) -> Tensor:
    """e^x: dL/dx = g e^x = g y."""
    y = np.exp(x.data)
    return make(y, (x,), lambda g: (g * y,))


def log(x: Tensor) -> Tensor:
    """Natural log: dL/dx = g / x."""
    return make(np.log(x.data), (x,), lambda g: (g / x.data,))


def tanh(x: Tensor) -> Tensor:
    """tanh(x): dL/dx = g (1 - y^2), from the saved output."""
    y = np.tanh(x.data)
    return make(y, (x,), lambda g: (g * (1 - y * y),))


def _sigmoid(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "c":  # complex input (a complex-step check): the plain formula, which is analytic
        return 1 / (1 + np.exp(-a))
    e = np.exp(-np.abs(a))  # exp of a non-positive number only: never overflows
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid(x: Tensor) -> Tensor:
    y = _sigmoid(x.data)
    return make(y, (x,), lambda g: (g * y * (1 - y),))


def relu(x: Tensor) -> Tensor:
    """max(x, 0): dL/dx = g where x > 0, else 0."""
    return make(np.maximum(x.data, 0), (x,), lambda g: (g * (x.data > 0),))


def softplus(x: Tensor) -> Tensor:
    """log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|) so it never overflows."""
    y = np.maximum(x.data, 0) + np.log1p(np.exp(-np.abs(x.data)))
    return make(y, (x,), lambda g: (g * _sigmoid(x.data),))


def where(cond, a, b) -> Tensor:
    """a where cond is true, else b (cond is not differentiated)."""
    cond = np.asarray(cond.data if isinstance(cond, Tensor) else cond, dtype=bool)
    a, b, y = _pair("where", a, b, lambda x, z: np.where(cond, x, z))
    return make(y, (a, b), lambda g: (np.where(cond, g, 0), np.where(cond, 0, g)))


# ---- reductions --------------------------------------------------------------


def _expand(g: np.ndarray, x_shape: tuple, axis, keepdims: bool) -> np.ndarray:
    """Put back the axes a reduction removed, so `g` broadcasts against x."""
    if keepdims:
        return g
    if axis is None:
        return np.reshape(g, (1,) * len(x_shape))
    axes = (axis,) if np.isscalar(axis) else tuple(axis)
    return np.expand_dims(g, tuple(a % len(x_shape) for a in axes))


def _spread(g: np.ndarray, x_shape: tuple, axis, keepdims: bool) -> np.ndarray:
    """g copied to every entry of x it was reduced from (a filled array: np.broadcast_to
    would be a view, but costs more than the copy for the small arrays of RNN steps)."""
    out = np.empty(x_shape, g.dtype)
    out[...] = _expand(g, x_shape, axis, keepdims)
    return out


def sum(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    """Sum over `axis` (None: all): every summed entry gets g."""
    y = np.sum(x.data, axis=axis, keepdims=keepdims)
    return make(np.asarray(y), (x,), lambda g: (_spread(g, x.shape, axis, keepdims),))


def mean(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    """Mean over `axis` (None: all): every entry gets g / (number averaged)."""
    y = np.mean(x.data, axis=axis, keepdims=keepdims)
    n = x.data.size / (np.size(y) or 1)
    return make(np.asarray(y), (x,), lambda g: (_spread(g / n, x.shape, axis, keepdims),))


def max(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    """Largest entry; the gradient is shared equally by tied maxima (like torch.amax)."""
    y = np.max(x.data, axis=axis, keepdims=keepdims)

    def vjp(g):
        hit = x.data == _expand(y, x.shape, axis, keepdims)
        return (hit * (_expand(g, x.shape, axis, keepdims) / hit.sum(axis=axis, keepdims=True)),)

    return make(np.asarray(y), (x,), vjp)


# ---- shapes and indexing --------------------------------------------------


def reshape(x: Tensor, *shape) -> Tensor:
    """x with a new shape (same entries, C order): the VJP reshapes g back."""
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    try:
        y = x.data.reshape(shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape {x.shape} into {tuple(shape)}") from None
    return make(y, (x,), lambda g: (g.reshape(x.shape),))


def transpose(x: Tensor, *axes) -> Tensor:
    """x with its axes permuted (reversed when none are given), like ndarray.transpose."""
    axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    axes = tuple(a % x.ndim for a in axes) or tuple(reversed(range(x.ndim)))
    inverse = tuple(np.argsort(axes))  # the VJP undoes the permutation
    return make(x.data.transpose(axes), (x,), lambda g: (g.transpose(inverse),))


def getitem(x: Tensor, index) -> Tensor:
    """x[index] for slices, integers and integer arrays; repeated indices add up."""
    if isinstance(index, Tensor):
        index = index.data
    if isinstance(index, list):
        index = np.asarray(index)
    return make(x.data[index], (x,), lambda g: (IndexGrad(index, g),))


def cat(tensors, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis: the VJP splits g at the same places."""
    tensors = [tensor(t) for t in tensors]
    try:
        y = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"cat: shapes {shapes} do not match off axis {axis}") from None
    ends = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    return make(y, tuple(tensors), lambda g: tuple(np.split(g, ends, axis=axis)))


def stack(tensors, axis: int = 0) -> Tensor:
    """Join equal-shaped tensors along a new axis: the VJP hands each its slice of g."""
    tensors = [tensor(t) for t in tensors]
    try:
        y = np.stack([t.data for t in tensors], axis=axis)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"stack: all shapes must be equal, got {shapes}") from None
    return make(y, tuple(tensors), lambda g: tuple(np.moveaxis(g, axis, 0)))


def split(x: Tensor, size_or_sections, axis: int = 0) -> list[Tensor]:
    """Pieces of `size` along `axis` (the last may be shorter), or of the given
    list of sizes, like torch.split. Each piece is a slice of x: the backward
    adds every piece's gradient into one buffer (never one full array each)."""
    n = x.shape[axis]
    sizes = size_or_sections if isinstance(size_or_sections, (list, tuple)) else None
    if sizes is None:
        sizes = [size_or_sections] * (n // size_or_sections) + ([n % size_or_sections] if n % size_or_sections else [])
    if np.sum(sizes) != n:
        raise ValueError(f"split: sizes {list(sizes)} do not add up to {n} (axis {axis} of {x.shape})")
    starts = np.cumsum([0, *sizes])
    lead = (slice(None),) * (axis % x.ndim)
    return [getitem(x, (*lead, slice(s, e))) for s, e in zip(starts[:-1], starts[1:])]


def unbind(x: Tensor, axis: int = 0) -> list[Tensor]:
    """The slices x[i] along `axis`, e.g. the T time steps of a (T, B, F) input."""
    lead = (slice(None),) * (axis % x.ndim)
    return [getitem(x, (*lead, i)) for i in range(x.shape[axis])]


# ---- softmax family -------------------------------------------------------


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """e^x / sum e^x along `axis` (the max subtracted first, so no overflow):
    dL/dx = y * (g - sum(g * y)), from the saved output. (The max of the real parts, so that
    complex input, for complex-step checks, gets the same shift: softmax is shift-invariant.)"""
    e = np.exp(x.data - x.data.real.max(axis=axis, keepdims=True))
    y = e / e.sum(axis=axis, keepdims=True)
    return make(y, (x,), lambda g: (y * (g - (g * y).sum(axis=axis, keepdims=True)),))


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x - log sum e^x along `axis` (stable log-sum-exp): dL/dx = g - softmax(x) * sum(g)."""
    shifted = x.data - x.data.real.max(axis=axis, keepdims=True)  # real parts, as softmax
    y = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return make(y, (x,), lambda g: (g - np.exp(y) * g.sum(axis=axis, keepdims=True),))
