"""Primitive ops. Each is a forward and its vector-Jacobian product, side by side.

Every op computes its result `y` with NumPy and hands `make` a VJP: given
g = dL/dy, return dL/d(each input). Broadcasting is undone centrally
(tensor.unbroadcast), so a VJP may return a gradient of the broadcast shape.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from tinyrnn.tensor import IndexGrad, ProductGrad, Tensor, make, mm, product_grad, tensor

# ---- operands of binary ops: torch's dtype rule, in this one place ---------------

_KIND = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}  # torch's type categories: bool < integer < floating < complex


def _number_kind(x) -> int | None:
    """The category of a Python number (bool, int, float), None for anything else."""
    if isinstance(x, bool):
        return 0
    return 1 if isinstance(x, int) else 2 if isinstance(x, float) else None


def _operand(x, other) -> Tensor:
    """x as a Tensor. A Python number beside a tensor or array takes its dtype unless the number
    is of a higher category: float32 * 0.5 stays float32, int32 + 1 stays int32, int32 + 0.5 is
    float64 (tinyrnn's default float, where torch's is float32)."""
    if isinstance(x, Tensor):
        return x
    kind, like = _number_kind(x), getattr(other, "dtype", None)
    if kind is not None and like is not None:
        return Tensor(np.asarray(x, like if kind <= _KIND.get(like.kind, -1) else None))
    return tensor(x)


def _result_dtype(x: np.ndarray, y: np.ndarray) -> np.dtype:
    """The dtype torch gives x op y:
    - a 0-d operand does not change a dimensioned one's dtype unless it is of a higher category:
      float32 * (0-d float64) is float32, int32 + (0-d float64) is float64;
    - an integer or bool beside a float takes the float's dtype: int64 * float32 is float32
      (NumPy would give float64);
    - otherwise NumPy's promotion: float32 + float64 is float64, int32 + int64 is int64."""
    kx, ky = _KIND.get(x.dtype.kind, 4), _KIND.get(y.dtype.kind, 4)
    if x.ndim and not y.ndim and ky <= kx:
        return x.dtype
    if y.ndim and not x.ndim and kx <= ky:
        return y.dtype
    if kx != ky and (kx < 2 or ky < 2):
        return x.dtype if kx > ky else y.dtype
    return np.promote_types(x.dtype, y.dtype)


def _operands(op: str, a, b) -> tuple[Tensor, Tensor, np.ndarray, np.ndarray]:
    """A binary op's operands as Tensors, and their arrays cast to the result's dtype (torch's rule:
    _operand for Python numbers, _result_dtype for arrays). Equal dtypes cost one comparison."""
    try:
        a, b = _operand(a, b), _operand(b, a)
    except TypeError as e:
        raise TypeError(f"{op}: {e}") from None
    x, y = a.data, b.data
    if x.dtype is not y.dtype:
        dtype = _result_dtype(x, y)
        x, y = x.astype(dtype, copy=False), y.astype(dtype, copy=False)
    return a, b, x, y


def _pair(op: str, a, b, fn):
    """Coerce a binary op's operands (see _operands) and run `fn` on their arrays,
    turning NumPy's broadcasting error into one that names both shapes."""
    a, b, x, y = _operands(op, a, b)
    try:
        return a, b, fn(x, y)
    except ValueError:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None


def compare(a, b, fn: np.ufunc) -> Tensor:
    """An elementwise comparison (fn is np.equal, np.less, ...): a bool Tensor without gradient."""
    return Tensor(_pair(fn.__name__, a, b, fn)[2])


# ---- arithmetic -----------------------------------------------------------


def add(a, b) -> Tensor:
    """a + b (broadcasting): dL/da = dL/db = g, summed back to each shape."""
    a, b, y = _pair("add", a, b, np.add)
    return make(y, (a, b), lambda g: (g, g))


def sub(a, b) -> Tensor:
    """a - b (broadcasting): dL/da = g, dL/db = -g."""
    a, b, y = _pair("sub", a, b, np.subtract)
    return make(y, (a, b), lambda g: (g, -g if b.requires_grad else None))


def mul(a, b) -> Tensor:
    """a * b elementwise (broadcasting): dL/da = g b, dL/db = g a."""
    a, b, y = _pair("mul", a, b, np.multiply)

    def vjp(g):  # each product only when its operand needs it (a constant mask needs none)
        return (g * b.data if a.requires_grad else None, g * a.data if b.requires_grad else None)

    return make(y, (a, b), vjp)


def div(a, b) -> Tensor:
    """a / b elementwise (broadcasting): dL/da = g / b, dL/db = -g a / b^2 = -g y / b."""
    a, b, y = _pair("div", a, b, np.divide)

    def vjp(g):
        return (g / b.data if a.requires_grad else None, -g * y / b.data if b.requires_grad else None)

    return make(y, (a, b), vjp)


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
        else:  # where b = 0 the gradient is 0 (b a^(b-1) would be 0 * inf = nan at a = 0, or overflow near 0)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                ga = np.where(b.data == 0, 0, g * b.data * a.data ** (b.data - 1))
        return ga, (g * y * np.log(a.data) if b.requires_grad else None)

    return make(y, (a, b), vjp)


def matmul(a, b) -> Tensor:
    """a @ b with NumPy's rules (1-D operands, batched and broadcast leading axes)."""
    a, b, A, B = _operands("matmul", a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: {a.shape} @ {b.shape}: operands must have at least 1 dimension")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        k_b = b.shape[-2 if b.ndim > 1 else 0]
        raise ValueError(f"matmul: {a.shape} @ {b.shape}: inner dimensions {a.shape[-1]} and {k_b} differ")
    A = A if a.ndim > 1 else A[None, :]  # 1-D operands become matrices
    B = B if b.ndim > 1 else B[:, None]
    try:
        Y = mm(A, B)
    except ValueError:
        raise ValueError(f"matmul: {a.shape} @ {b.shape}: batch dimensions cannot be broadcast together") from None

    def vjp(g):  # only the gradients needed: an input x_t of x_t @ W is a constant, its product would be wasted
        G = g.reshape(Y.shape)
        gA = _operand_grad(a, G, B.swapaxes(-1, -2)) if a.requires_grad else None  # dL/dA = G B^T
        gB = _operand_grad(b, A.swapaxes(-1, -2), G) if b.requires_grad else None  # dL/dB = A^T G
        return gA, gB

    # drop the axes that the 1-D operands gained
    shape = Y.shape[:-2] + (Y.shape[-2],) * (a.ndim > 1) + (Y.shape[-1],) * (b.ndim > 1)
    return make(Y.reshape(shape), (a, b), vjp)


def _operand_grad(x: Tensor, p: np.ndarray, q: np.ndarray) -> np.ndarray | ProductGrad:
    """dL/dx = p @ q for an operand x of a matmul (a parameter's deferred: tensor.product_grad);
    a 1-D operand's is summed over the rows it was repeated in."""
    if x.ndim > 1:
        return product_grad(x, p, q)
    return mm(p, q).reshape(-1, x.shape[0]).sum(0)


# ---- elementwise functions -------------------------------------------------


def exp(x: Tensor) -> Tensor:
    """Elementwise e^x: dL/dx = g e^x = g y, from the saved output.

    Args:
        x: a floating-point Tensor of any shape.

    Returns:
        A Tensor of x's shape and dtype.
    """
    y = np.exp(x.data)
    return make(y, (x,), lambda g: (g * y,))


def log(x: Tensor) -> Tensor:
    """Elementwise natural logarithm: dL/dx = g / x (NumPy's -inf at 0, nan below).

    Args:
        x: a floating-point Tensor of any shape.

    Returns:
        A Tensor of x's shape and dtype.
    """
    return make(np.log(x.data), (x,), lambda g: (g / x.data,))


def tanh(x: Tensor) -> Tensor:
    """Elementwise tanh(x): dL/dx = g (1 - y^2), from the saved output.

    Args:
        x: a floating-point Tensor of any shape.

    Returns:
        A Tensor of x's shape and dtype.
    """
    y = np.tanh(x.data)
    return make(y, (x,), lambda g: (g * (1 - y * y),))


def _sigmoid(a: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-a), written as 0.5 tanh(a / 2) + 0.5: the same function (tanh(u) = 2 / (1 + e^-2u) - 1),
    one transcendental call and no overflow for any a (2-3x faster than an exp-based stable form);
    analytic, so a complex-step check goes through it unchanged."""
    return 0.5 * np.tanh(0.5 * a) + 0.5


def sigmoid(x: Tensor) -> Tensor:
    """Elementwise 1 / (1 + exp(-x)), never overflowing (computed as 0.5 tanh(x / 2) + 0.5):
    dL/dx = g y (1 - y), from the saved output.

    Args:
        x: a floating-point Tensor of any shape.

    Returns:
        A Tensor of x's shape and dtype.
    """
    y = _sigmoid(x.data)
    return make(y, (x,), lambda g: (g * y * (1 - y),))


def relu(x: Tensor) -> Tensor:
    """Elementwise max(x, 0): dL/dx = g where x > 0, else 0.

    Args:
        x: a floating-point Tensor of any shape.

    Returns:
        A Tensor of x's shape and dtype.
    """
    return make(np.maximum(x.data, 0), (x,), lambda g: (g * (x.data > 0),))


def softplus(x: Tensor) -> Tensor:
    """Elementwise log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|) so it never overflows.

    dL/dx = g sigmoid(x).

    Args:
        x: a floating-point Tensor of any shape.

    Returns:
        A Tensor of x's shape and dtype.
    """
    y = np.maximum(x.data, 0) + np.log1p(np.exp(-np.abs(x.data)))
    return make(y, (x,), lambda g: (g * _sigmoid(x.data),))


def where(cond, a, b) -> Tensor:
    """a where cond is true, else b: dL/da = g where cond, dL/db = g elsewhere.

    Args:
        cond: a boolean array (or Tensor, or anything `np.asarray` takes); not differentiated.
        a: a Tensor, array or number.
        b: a Tensor, array or number; cond, a and b broadcast together.

    Returns:
        A Tensor of the broadcast shape.

    Raises:
        ValueError: a and b cannot be broadcast together (the message names both shapes).
    """
    cond = np.asarray(cond.data if isinstance(cond, Tensor) else cond, dtype=bool)
    a, b, y = _pair("where", a, b, lambda x, z: np.where(cond, x, z))
    return make(y, (a, b), lambda g: (np.where(cond, g, 0), np.where(cond, 0, g)))


# ---- axes: NumPy's names (axis, keepdims) first, torch's (dim, keepdim) accepted ------------


def _either(op: str, axis, dim, default=None):
    """The axis argument: `axis` (tinyrnn's name, as NumPy's) or `dim` (torch's name), not both."""
    if dim is None:
        return default if axis is None else axis
    if axis is not None:
        raise TypeError(f"{op}: got both axis={axis!r} and dim={dim!r}; they name the same argument, give one")
    return dim


def _out_of_range(op: str, axis: int, ndim: int) -> IndexError:
    n = ndim or 1
    return IndexError(f"{op}: axis {axis} is out of range for {ndim} dimensions (expected {-n} to {n - 1})")


def _axes(op: str, ndim: int, axis) -> tuple[int, ...] | None:
    """`axis` (an int, a tuple of ints, or None: all) as a tuple of distinct axes in 0..ndim-1.
    A 0-d tensor accepts axis 0 or -1, as in torch, and has no axis to run along: None."""
    if axis is None:
        return None
    try:
        axes = tuple(operator.index(a) for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
    except TypeError:
        raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}") from None
    n = ndim or 1
    for a in axes:
        if not -n <= a < n:
            raise _out_of_range(op, a, ndim)
    axes = tuple(a % n for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: axis {axis} names an axis twice")
    return axes if ndim else None


def _along(op: str, ndim: int, axis, dim, default: int = 0) -> int:
    """The one axis (0..ndim-1) that cat, stack, split or unbind work along."""
    axis = _either(op, axis, dim, default)
    if ndim == 0:
        raise ValueError(f"{op}: a 0-d tensor has no axis to work along (axis {axis} was asked for)")
    try:
        a = operator.index(axis)
    except TypeError:
        raise TypeError(f"{op}: axis must be an int, got {axis!r}") from None
    if not -ndim <= a < ndim:
        raise _out_of_range(op, a, ndim)
    return a % ndim


def _reduction(op: str, x: Tensor, axis, keepdims: bool, dim, keepdim) -> tuple[tuple[int, ...] | None, bool]:
    """(axes, keepdims) of a reduction, from NumPy's names or torch's (`dim`, `keepdim`)."""
    if keepdim is not None:
        if keepdims:
            raise TypeError(f"{op}: got both keepdims and keepdim; they name the same argument, give one")
        keepdims = keepdim
    return _axes(op, x.ndim, _either(op, axis, dim)), bool(keepdims)


# ---- reductions --------------------------------------------------------------


def _expand(g: np.ndarray, x_shape: tuple, axis: tuple | None, keepdims: bool) -> np.ndarray:
    """Put back the axes a reduction removed, so `g` broadcasts against x."""
    if keepdims:
        return g
    if axis is None:
        return np.reshape(g, (1,) * len(x_shape))
    return np.expand_dims(g, axis)


def _spread(g: np.ndarray, x_shape: tuple, axis: tuple | None, keepdims: bool) -> np.ndarray:
    """g copied to every entry of x it was reduced from (a filled array: np.broadcast_to
    would be a view, but costs more than the copy for the small arrays of RNN steps)."""
    out = np.empty(x_shape, g.dtype)
    out[...] = _expand(g, x_shape, axis, keepdims)
    return out


def sum(x: Tensor, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> Tensor:
    """Sum over `axis` (an int, a tuple, or None: all; torch's `dim`, `keepdim` also work):
    every summed entry gets g."""
    axis, keepdims = _reduction("sum", x, axis, keepdims, dim, keepdim)
    y = x.data.sum(axis=axis, keepdims=keepdims)  # the method: np.sum adds a Python-level wrapper
    return make(np.asarray(y), (x,), lambda g: (_spread(g, x.shape, axis, keepdims),))


def mean(x: Tensor, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> Tensor:
    """Mean over `axis` (as in sum): every entry gets g / (number averaged)."""
    axis, keepdims = _reduction("mean", x, axis, keepdims, dim, keepdim)
    y = x.data.mean(axis=axis, keepdims=keepdims)
    n = x.data.size / (np.size(y) or 1)
    return make(np.asarray(y), (x,), lambda g: (_spread(g / n, x.shape, axis, keepdims),))


def _extreme(op: str, fn, x: Tensor, axis, keepdims: bool, dim, keepdim):
    """(axis, keepdims, y) of max or min (fn: np.max or np.min) over `axis`."""
    axis, keepdims = _reduction(op, x, axis, keepdims, dim, keepdim)
    try:
        return axis, keepdims, np.asarray(fn(x.data, axis=axis, keepdims=keepdims))
    except ValueError:
        raise ValueError(f"{op}: a tensor of shape {x.shape} has an empty axis to reduce (axis {axis})") from None


def _to_extremes(g: np.ndarray, x: Tensor, y: np.ndarray, axis, keepdims: bool) -> np.ndarray:
    """The VJP of max and min. Tie rule: every entry equal to the result shares its gradient
    equally (as torch.amax/amin do); a NaN is the result of its slice, and the NaN entries
    share its gradient (as torch's x.max() does)."""
    y_x = _expand(y, x.shape, axis, keepdims)
    hit = x.data == y_x
    if np.isnan(y).any():  # NaN != NaN: mark the NaN entries of the slices whose result is NaN
        hit |= np.isnan(x.data) & np.isnan(y_x)
    ties = hit.sum(axis=axis, keepdims=True, dtype=x.dtype)  # x's dtype: an integer count would upcast g
    return hit * (_expand(g, x.shape, axis, keepdims) / ties)


def max(x: Tensor, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> Tensor:
    """Largest entry over `axis` (the values only, like torch.amax); tied maxima share the gradient.

    Args:
        x: a Tensor of any shape.
        axis: an axis, a tuple of axes, or None for all of them.
        keepdims: keep the reduced axes with size 1.
        dim: torch's name for `axis`.
        keepdim: torch's name for `keepdims`.

    Returns:
        A Tensor of the reduced shape and x's dtype.
    """
    axis, keepdims, y = _extreme("max", np.max, x, axis, keepdims, dim, keepdim)
    return make(y, (x,), lambda g: (_to_extremes(g, x, y, axis, keepdims),))


def min(x: Tensor, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> Tensor:
    """Smallest entry over `axis` (the values only, like torch.amin); tied minima share the gradient.
    Arguments and result as in `max`."""
    axis, keepdims, y = _extreme("min", np.min, x, axis, keepdims, dim, keepdim)
    return make(y, (x,), lambda g: (_to_extremes(g, x, y, axis, keepdims),))


# ---- shapes and indexing --------------------------------------------------


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """x with a new shape (same entries, C order): the VJP reshapes g back."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        y = x.data.reshape(shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape {x.shape} into {tuple(shape)}") from None
    return make(y, (x,), lambda g: (g.reshape(x.shape),))


def transpose(x: Tensor, *axes: Any) -> Tensor:
    """x with its axes permuted (reversed when none are given), like ndarray.transpose."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    axes = tuple(a % x.ndim for a in axes) or tuple(reversed(range(x.ndim)))
    inverse = tuple(np.argsort(axes))  # the VJP undoes the permutation
    return make(x.data.transpose(axes), (x,), lambda g: (g.transpose(inverse),))


_BASIC_INDEX = frozenset({int, slice, type(None), type(...)})  # index parts that never pick an entry twice


def _index(index):
    """`index` with each Tensor in it replaced by its array and each list or inner tuple by an
    integer (or bool) array, so that backward tells an array index, whose repeated entries add up,
    from a basic one (tensor._is_advanced). An empty list picks nothing, as in torch."""
    parts = index if type(index) is tuple else (index,)
    for i in parts:
        if type(i) not in _BASIC_INDEX:
            break
    else:
        return index  # integers, slices, None, ...: nothing to normalise
    out = []
    for i in parts:
        if isinstance(i, Tensor):
            i = i.data
        elif isinstance(i, (list, tuple)):
            i = np.asarray(i)
        if isinstance(i, np.ndarray) and i.dtype.kind not in "biu":
            if i.size:
                raise IndexError(f"getitem: index arrays must hold integers or booleans, got dtype {i.dtype}")
            i = i.astype(np.intp)
        out.append(i)
    return tuple(out) if type(index) is tuple else out[0]


def getitem(x: Tensor, index) -> Tensor:
    """x[index] for integers, slices, None, ..., and integer or bool arrays, Tensors or lists;
    repeated indices add up."""
    index = _index(index)
    return make(x.data[index], (x,), lambda g: (IndexGrad(index, g),))


def _tensors(op: str, tensors) -> list[Tensor]:
    """The list of tensors that cat or stack joins (at least one)."""
    if isinstance(tensors, (Tensor, np.ndarray)):
        raise TypeError(f"{op}: expected a list or tuple of tensors, got a single {type(tensors).__name__}")
    tensors = [tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors, got an empty one")
    return tensors


def cat(tensors, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis: the VJP splits g at the same places.

    Args:
        tensors: a non-empty sequence of Tensors (or arrays) whose shapes agree off the axis.
        axis: the axis to join along (default 0).
        dim: torch's name for `axis` (give one of the two).

    Returns:
        A Tensor whose size along the axis is the sum of the inputs'.

    Raises:
        ValueError: a tensor is 0-d, or the shapes differ off the axis (the message lists them).
    """
    tensors = _tensors("cat", tensors)
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise ValueError(f"cat: tensor {i} is 0-d and has no axis to join along (tr.stack joins 0-d tensors)")
    axis = _along("cat", tensors[0].ndim, axis, dim)
    try:
        y = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"cat: shapes {shapes} do not match off axis {axis}") from None
    ends = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    return make(y, tuple(tensors), lambda g: tuple(np.split(g, ends, axis=axis)))


def stack(tensors, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join equal-shaped tensors along a new axis: the VJP hands each its slice of g.

    Args:
        tensors: a non-empty sequence of N Tensors (or arrays) of one shape.
        axis: where the new axis of size N goes (default 0).
        dim: torch's name for `axis` (give one of the two).

    Returns:
        A Tensor with one more axis than the inputs.

    Raises:
        ValueError: the shapes differ (the message lists them).

    Examples:
        >>> import numpy as np, tinyrnn as tr
        >>> tr.stack([tr.Tensor(np.zeros((2, 3)))] * 4).shape
        (4, 2, 3)
    """
    tensors = _tensors("stack", tensors)
    axis = _along("stack", tensors[0].ndim + 1, axis, dim)
    try:
        y = np.stack([t.data for t in tensors], axis=axis)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"stack: all shapes must be equal, got {shapes}") from None
    return make(y, tuple(tensors), lambda g: tuple(np.moveaxis(g, axis, 0)))


def split(x: Tensor, size_or_sections, axis: int | None = None, *, dim: int | None = None) -> list[Tensor]:
    """Cut x into pieces along an axis, like torch.split.

    Each piece is a slice of x: the backward adds every piece's gradient into
    one buffer (never one full-size array per piece).

    Args:
        x: the Tensor to cut.
        size_or_sections: an int >= 1, the size of every piece (the last may be
            shorter), or a list of sizes that add up to x's size along the axis.
        axis: the axis to cut along (default 0).
        dim: torch's name for `axis` (give one of the two).

    Returns:
        A list of Tensors, views of x's data.

    Raises:
        ValueError: the size is below 1, or the sizes do not add up.
    """
    axis = _along("split", x.ndim, axis, dim)
    n = x.shape[axis]
    sizes = size_or_sections if isinstance(size_or_sections, (list, tuple)) else None
    if sizes is None:
        if size_or_sections < 1:
            raise ValueError(f"split: the piece size must be at least 1, got {size_or_sections}")
        sizes = [size_or_sections] * (n // size_or_sections) + ([n % size_or_sections] if n % size_or_sections else [])
    if np.sum(sizes) != n:
        raise ValueError(f"split: sizes {list(sizes)} do not add up to {n} (axis {axis} of {x.shape})")
    starts = np.cumsum([0, *sizes])
    lead = (slice(None),) * axis
    return [getitem(x, (*lead, slice(s, e))) for s, e in zip(starts[:-1], starts[1:])]


def unbind(x: Tensor, axis: int | None = None, *, dim: int | None = None) -> list[Tensor]:
    """The slices x[i] along an axis, e.g. the T time steps of a (T, B, F) input.

    Args:
        x: the Tensor to slice.
        axis: the axis to remove (default 0).
        dim: torch's name for `axis` (give one of the two).

    Returns:
        A list of Tensors, each with that axis removed; their gradients are
        gathered into one buffer in backward.
    """
    axis = _along("unbind", x.ndim, axis, dim)
    lead = (slice(None),) * axis
    return [getitem(x, (*lead, i)) for i in range(x.shape[axis])]


# ---- softmax family -------------------------------------------------------


def softmax(x: Tensor, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """e^x / sum e^x along an axis, with the max subtracted first, so it never overflows.

    dL/dx = `y * (g - sum(g * y))` along the axis, from the saved output. The max
    is that of the real parts, so that complex input (for complex-step checks)
    gets the same shift: softmax is shift-invariant.

    Args:
        x: a floating-point (or complex) Tensor of any shape.
        axis: the axis whose entries sum to 1 (default -1).
        dim: torch's name for `axis` (give one of the two).

    Returns:
        A Tensor of x's shape and dtype.
    """
    axes = _axes("softmax", x.ndim, _either("softmax", axis, dim, -1))
    if x.data.size == 0:  # nothing to normalise: an empty result, as in torch
        return make(np.empty_like(x.data), (x,), lambda g: (g,))
    e = np.exp(x.data - x.data.real.max(axis=axes, keepdims=True))
    y = e / e.sum(axis=axes, keepdims=True)
    return make(y, (x,), lambda g: (y * (g - (g * y).sum(axis=axes, keepdims=True)),))


def log_softmax(x: Tensor, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """x - log sum e^x along an axis (a stable log-sum-exp).

    dL/dx = `g - softmax(x) * sum(g)` along the axis.

    Args:
        x: a floating-point (or complex) Tensor of any shape, e.g. logits (..., V).
        axis: the axis to normalise over (default -1).
        dim: torch's name for `axis` (give one of the two).

    Returns:
        A Tensor of x's shape and dtype: log-probabilities along the axis.
    """
    axes = _axes("log_softmax", x.ndim, _either("log_softmax", axis, dim, -1))
    if x.data.size == 0:  # nothing to normalise: an empty result, as in torch
        return make(np.empty_like(x.data), (x,), lambda g: (g,))
    shifted = x.data - x.data.real.max(axis=axes, keepdims=True)  # real parts, as softmax
    y = shifted - np.log(np.exp(shifted).sum(axis=axes, keepdims=True))
    return make(y, (x,), lambda g: (g - np.exp(y) * g.sum(axis=axes, keepdims=True),))
