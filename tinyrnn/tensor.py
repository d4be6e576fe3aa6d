"""The Tensor, the graph it records, and reverse-mode backward().

A Tensor is a NumPy array plus, when it was computed from Tensors that need
gradients, a link to its parents and a vector-Jacobian product (VJP): a
function that takes dL/d(this tensor) and returns dL/d(each parent).

backward() visits each node once, after every node that used it, and
accumulates each parent's gradient with `+` (a parameter's matmul gradients,
one per time step, are kept as factors and summed as one product when the
parameter is reached: ProductGrad). The order comes from a creation
number: an op's inputs always exist before its result, so going from the
newest node to the oldest (a heap, no recursion: a 10,000-step unroll is fine)
is a reverse topological order.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import numbers
from collections.abc import Callable

import numpy as np

_grad_enabled = True
_creation = itertools.count()  # numbers every Tensor in the order it was made


class _GradMode:
    """A context manager (and decorator) that sets graph recording to `mode` for a block."""

    mode: bool

    def __enter__(self) -> None:
        global _grad_enabled
        self._prev, _grad_enabled = _grad_enabled, self.mode

    def __exit__(self, *exc) -> None:
        global _grad_enabled
        _grad_enabled = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapped


class no_grad(_GradMode):
    """Context manager (and decorator) in which no graph is recorded."""

    mode = False


class enable_grad(_GradMode):
    """Context manager (and decorator) that records the graph again, e.g. inside a no_grad block."""

    mode = True


class set_grad_enabled(_GradMode):
    """Graph recording on or off, like torch's: for a block (`with tr.set_grad_enabled(training):`)
    or, called on its own (`tr.set_grad_enabled(False)`), from then on.

    Args:
        mode: True to record graphs, False not to.
    """

    def __init__(self, mode: bool) -> None:
        global _grad_enabled
        self.mode, self._prev, _grad_enabled = bool(mode), _grad_enabled, bool(mode)

    def __enter__(self) -> None:  # the mode was set when the object was made
        pass


def is_grad_enabled() -> bool:
    """Whether ops record a graph now.

    Returns:
        False inside `with no_grad():`, True otherwise.
    """
    return _grad_enabled


def as_array(data, dtype=None) -> np.ndarray:
    """Arrays and NumPy scalars keep their dtype; Python numbers and lists become float64."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (np.ndarray, np.generic)):
        return np.asarray(data, dtype)
    return np.asarray(data, dtype=np.float64 if dtype is None else dtype)


class Tensor:
    """A NumPy array (`.data`) and, when it was computed from tensors that require grad, its place in the graph.

    - In-place updates are `+=`, `-=`, `*=`, `/=`. Inside `with tr.no_grad():` (d2l's update
      `w -= lr * w.grad`) they change `w.data` in place and `w` stays the same leaf; on a leaf that
      requires grad outside `no_grad` they raise, as in torch. `w.data -= ...` and `w.data = array`
      change values outside the graph anywhere. `w.grad = None` or `w.zero_grad()` clears a gradient.
    - Comparisons (`==`, `<`, ...) give bool Tensors without gradient; tensors hash by identity.
    - `bool`, `float`, `int` take one-element tensors, `f"{t:.3f}"` a 0-d one, as in torch.

    A Tensor keeps its array's dtype; Python numbers and lists become float64.
    Its operators (`+ - * / ** @`, unary `-`, indexing) and methods call the ops
    of `tinyrnn.ops`, and broadcast like NumPy.

    Args:
        data: an `np.ndarray` (kept as it is, not copied), a Tensor (its array is
            shared), or a Python number or nested list (converted to float64).
        requires_grad: record operations on this tensor so that `backward()`
            fills its `.grad`. Only floating-point tensors can require gradients.
        name: an optional label, shown by `tr.to_dot`.

    Attributes:
        data (np.ndarray): the values.
        grad (np.ndarray | None): dL/d(this tensor) after `backward()`, of the
            same shape and dtype as `data`; None until then. Kept on leaves and
            on tensors that called `retain_grad()`.
        requires_grad (bool): whether operations on it are recorded.
        shape (tuple[int, ...]): `data.shape`; also `dtype`, `ndim` and `size`,
            as the array's.
        T (Tensor): the tensor with its axes reversed (a recorded `transpose()`).

    Raises:
        TypeError: `requires_grad=True` for an integer or boolean array.

    Examples:
        >>> import numpy as np, tinyrnn as tr
        >>> x = tr.Tensor(np.array([1.0, 2.0]), requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        array([2., 4.])
    """

    __slots__ = ("data", "grad", "_requires_grad", "_parents", "_vjp", "_retain", "name", "_seq")
    __array_ufunc__ = None  # make `ndarray * Tensor` call Tensor.__rmul__
    __hash__ = object.__hash__  # hashable by identity, as torch's tensors (== is elementwise)

    def __init__(self, data, requires_grad: bool = False, name: str | None = None):
        self.data = as_array(data)
        self.grad: np.ndarray | None = None
        self._parents: tuple[Tensor, ...] = ()
        self._vjp: Callable[[np.ndarray], tuple] | None = None
        self.requires_grad = requires_grad
        self._retain = False
        self.name = name
        self._seq = next(_creation)

    # ---- array-like properties -------------------------------------------
    shape = property(lambda self: self.data.shape, doc="The shape of `data`, a tuple of ints.")
    dtype = property(lambda self: self.data.dtype, doc="The dtype of `data` (np.dtype).")
    ndim = property(lambda self: self.data.ndim, doc="The number of axes of `data`.")
    size = property(lambda self: self.data.size, doc="The number of entries of `data`.")
    T = property(lambda self: self.transpose(), doc="The tensor with its axes reversed (recorded: `transpose()`).")

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, prefix='Tensor(')}{grad})"

    def item(self) -> float:
        """The value of a one-entry tensor as a Python number.

        Raises:
            ValueError: the tensor has more than one entry (NumPy's message).
        """
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying array `data` (not a copy: writing to it changes the tensor)."""
        return self.data

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """np.asarray(t) gives t's data, so Tensors go wherever arrays do."""
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def detach(self) -> Tensor:
        """The same data as a new tensor cut from the graph, which requires no gradient.

        Truncated BPTT carries the hidden state from one batch to the next this
        way: the values go on, the graph behind them does not.
        """
        return Tensor(self.data)

    def retain_grad(self) -> Tensor:
        """Keep `.grad` on this non-leaf after `backward()`, e.g. on every h_t of an unroll.

        Returns:
            The tensor itself, so that `h = cell(x, h).retain_grad()` reads in one line.
        """
        self._retain = True
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient: `.grad = None` (gradients accumulate across `backward()` calls)."""
        self.grad = None

    @property
    def is_leaf(self) -> bool:
        """True for a tensor made directly (not by an op on tensors that require gradients)."""
        return self._vjp is None

    @property
    def requires_grad(self) -> bool:
        """Whether backward() computes a gradient for this tensor (settable on leaves)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self.data.dtype.kind != "f":
            raise RuntimeError(f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")
        if not value and not self.is_leaf:
            raise RuntimeError(
                "requires_grad can be turned off only on a leaf; .detach() gives a copy outside the graph"
            )
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set requires_grad in place and return self (torch's spelling).

        Args:
            requires_grad: the new value; True only for a floating-point tensor.
        """
        self.requires_grad = requires_grad
        return self

    # ---- Python conversions: one-element tensors only, as in torch ---------
    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"bool() of a tensor of shape {self.shape} is ambiguous: it has {self.data.size} values, not one "
                "(reduce it first, e.g. (t == 0).data.all())"
            )
        return bool(self.data.item())

    def __float__(self) -> float:
        return float(self._only_value("float()"))

    def __int__(self) -> int:
        return int(self._only_value("int()"))

    def __format__(self, spec: str) -> str:
        """f"{t:.3f}" formats a 0-d tensor's value; other tensors take only an empty spec (as in torch)."""
        return format(self.data.item(), spec) if self.ndim == 0 else object.__format__(self, spec)

    def _only_value(self, what: str):
        if self.data.size != 1:
            raise ValueError(f"{what}: only a one-element tensor converts to a Python number, got shape {self.shape}")
        return self.data.item()

    # ---- operators and methods: each calls its op in ops.py (forward + VJP side by side) ----
    def __add__(self, other: Operand) -> Tensor:
        return ops.add(self, other)

    def __radd__(self, other: Operand) -> Tensor:
        return ops.add(other, self)

    def __sub__(self, other: Operand) -> Tensor:
        return ops.sub(self, other)

    def __rsub__(self, other: Operand) -> Tensor:
        return ops.sub(other, self)

    def __mul__(self, other: Operand) -> Tensor:
        return ops.mul(self, other)

    def __rmul__(self, other: Operand) -> Tensor:
        return ops.mul(other, self)

    def __truediv__(self, other: Operand) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other: Operand) -> Tensor:
        return ops.div(other, self)

    def __pow__(self, exponent: Operand) -> Tensor:
        return ops.pow(self, exponent)

    def __rpow__(self, base: Operand) -> Tensor:
        return ops.pow(base, self)

    def __matmul__(self, other: Operand) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Operand) -> Tensor:
        return ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return ops.neg(self)

    def __getitem__(self, index) -> Tensor:
        return ops.getitem(self, index)

    # Comparisons: elementwise, a bool Tensor outside the graph (no gradient), as in torch.
    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return ops.compare(self, other, np.equal) if isinstance(other, OPERAND_TYPES) else NotImplemented

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return ops.compare(self, other, np.not_equal) if isinstance(other, OPERAND_TYPES) else NotImplemented

    def __lt__(self, other: object) -> Tensor:
        return ops.compare(self, other, np.less)

    def __le__(self, other: object) -> Tensor:
        return ops.compare(self, other, np.less_equal)

    def __gt__(self, other: object) -> Tensor:
        return ops.compare(self, other, np.greater)

    def __ge__(self, other: object) -> Tensor:
        return ops.compare(self, other, np.greater_equal)

    # In-place updates (see the class docstring and _update).
    def __iadd__(self, other: Operand) -> Tensor:
        return self._update("+=", np.add, ops.add, other)

    def __isub__(self, other: Operand) -> Tensor:
        return self._update("-=", np.subtract, ops.sub, other)

    def __imul__(self, other: Operand) -> Tensor:
        return self._update("*=", np.multiply, ops.mul, other)

    def __itruediv__(self, other: Operand) -> Tensor:
        return self._update("/=", np.true_divide, ops.div, other)

    def _update(self, symbol: str, ufunc: np.ufunc, op: Callable, other: Operand) -> Tensor:
        """`self symbol other`. When no graph is recorded (inside no_grad, or when neither side requires
        grad) self's array is changed in place and self is returned, as torch does. When a graph is
        recorded, a leaf that requires grad is refused, as by torch (changing it would lose its
        gradient); any other tensor gets the out-of-place result, a new tensor bound to the same name
        (torch would change it in place: only other references to the old tensor see a difference)."""
        if _grad_enabled and (self._requires_grad or getattr(other, "requires_grad", False)):
            if self._requires_grad and self._vjp is None:
                raise RuntimeError(
                    f"{symbol} on a leaf tensor that requires grad (shape {self.shape}): an in-place change would "
                    "lose its gradient; update parameters inside `with tr.no_grad():`, as torch requires"
                )
            return op(self, other)
        value = other.data if isinstance(other, Tensor) else other
        try:
            ufunc(self.data, value, out=self.data)
        except (TypeError, ValueError) as e:
            raise RuntimeError(
                f"{symbol} in place on a tensor of shape {self.shape}, dtype {self.dtype}: {e}"
            ) from None
        return self

    def exp(self) -> Tensor:
        """Elementwise e**x (see `tr.exp`)."""
        return ops.exp(self)

    def log(self) -> Tensor:
        """Elementwise natural logarithm (see `tr.log`)."""
        return ops.log(self)

    def tanh(self) -> Tensor:
        """Elementwise tanh (see `tr.tanh`)."""
        return ops.tanh(self)

    def sigmoid(self) -> Tensor:
        """Elementwise 1 / (1 + e**-x), never overflowing (see `tr.sigmoid`)."""
        return ops.sigmoid(self)

    def relu(self) -> Tensor:
        """Elementwise max(x, 0) (see `tr.relu`)."""
        return ops.relu(self)

    def softplus(self) -> Tensor:
        """Elementwise log(1 + e**x), never overflowing (see `tr.softplus`)."""
        return ops.softplus(self)

    # Reductions take NumPy's names (axis, keepdims) or torch's (dim, keepdim).
    def sum(
        self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None, keepdim: bool | None = None
    ) -> Tensor:
        """Sum over `axis`, as `np.sum` (torch's `dim=` and `keepdim=` are accepted too).

        Args:
            axis: an axis, a tuple of axes (negative ones count from the end), or
                None for all of them.
            keepdims: keep the reduced axes with size 1.
            dim: torch's name for `axis` (give one of the two).
            keepdim: torch's name for `keepdims`.

        Returns:
            A tensor of the reduced shape and the same dtype.
        """
        return ops.sum(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def mean(
        self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None, keepdim: bool | None = None
    ) -> Tensor:
        """Mean over `axis`, as `np.mean` (torch's `dim=` and `keepdim=` are accepted too).

        Arguments and result as in `sum`.
        """
        return ops.mean(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def max(
        self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None, keepdim: bool | None = None
    ) -> Tensor:
        """Maximum over `axis`, as `np.max` (also `dim=`, `keepdim=`); tied maxima share the gradient.

        Arguments and result as in `sum`.
        """
        return ops.max(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def min(
        self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None, keepdim: bool | None = None
    ) -> Tensor:
        """Minimum over `axis`, as `np.min` (also `dim=`, `keepdim=`); tied minima share the gradient.

        Arguments and result as in `sum`.
        """
        return ops.min(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def reshape(self, *shape) -> Tensor:
        """The same entries in a new shape, as `np.reshape`.

        Args:
            *shape: the new shape, as ints or one tuple; one entry may be -1.

        Raises:
            ValueError: the sizes differ (NumPy's message).
        """
        return ops.reshape(self, *shape)

    def transpose(self, *axes) -> Tensor:
        """Permute the axes, as `np.transpose`.

        Args:
            *axes: the new order of the axes, as ints or one tuple; none reverses them.
        """
        return ops.transpose(self, *axes)

    def softmax(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """exp(x) / sum(exp(x)) along an axis, computed stably (see `tr.softmax`).

        Args:
            axis: the axis whose entries sum to 1 (default the last).
            dim: torch's name for `axis`.
        """
        return ops.softmax(self, axis, dim=dim)

    def log_softmax(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """x - logsumexp(x) along an axis, computed stably (see `tr.log_softmax`).

        Args:
            axis: the axis to normalise over (default the last).
            dim: torch's name for `axis`.
        """
        return ops.log_softmax(self, axis, dim=dim)

    # ---- backward ----------------------------------------------------------
    def backward(self, grad=None) -> None:
        """Backpropagate: add dL/dx into `.grad` of every leaf x that requires gradients.

        Each node of the graph is visited once, after every node that used it
        (newest first), and the gradients reaching a node from its users are
        summed. Gradients accumulate across calls, as in torch: call
        `zero_grad()` between steps.

        Args:
            grad: dL/d(self), an array (or number) of self's shape; may be
                omitted only when self has one entry (then it is 1).

        Raises:
            RuntimeError: self does not require gradients, or `grad` was omitted
                for a tensor with more than one entry.
            ValueError: `grad` has another shape than self.
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad (no input of it did)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward(): grad must be given for a non-scalar output of shape {self.shape}")
            grad = np.ones_like(self.data)
        grad = as_array(grad, self.dtype)
        if grad.shape != self.shape:
            raise ValueError(f"backward(): grad of shape {grad.shape} for a tensor of shape {self.shape}")

        grads = {id(self): grad}  # dL/d(node) so far, by node id
        owned: set[int] = set()  # ids whose gradient array we allocated and may add into
        products: dict[int, Products] = {}  # ProductGrads not multiplied out yet, by node id
        queue = [(-self._seq, self)]  # newest first: every user of a node is newer than it
        while queue:
            node = heapq.heappop(queue)[1]
            key, vjp = id(node), node._vjp
            g = grads.pop(key, None)
            if key in products:  # every user has sent its part: multiply the products out now
                g = products.pop(key).total(g)
                owned.add(key)
            if vjp is None or node._retain:
                keep = g if key in owned else np.array(g)  # a copy; an array even if g is a 0-d NumPy scalar
                node.grad = keep if node.grad is None else np.asarray(node.grad + keep)
            if vjp is None:
                continue
            for parent, pg in zip(node._parents, vjp(g)):
                if pg is None or not parent._requires_grad:
                    continue
                pkey = id(parent)
                if pkey not in grads and pkey not in products:
                    heapq.heappush(queue, (-parent._seq, parent))
                if type(pg) is ProductGrad:
                    if pkey not in products:
                        products[pkey] = Products(max(parent.data.size, PRODUCTS_HELD))
                    products[pkey].add(pg)
                else:
                    _accumulate(grads, owned, pkey, parent.data, pg)


Operand = Tensor | np.ndarray | float | int  # what an operator accepts on its other side
Axis = int | tuple[int, ...] | None  # the axes a reduction runs over (None: all)


class IndexGrad:
    """A gradient that is zero except at `index`: what x[index] sends back to x.

    The engine adds it in place into one buffer of x's shape, so indexing every
    time step of a sequence costs O(T), not T full-size zero arrays."""

    __slots__ = ("index", "value")

    def __init__(self, index, value):
        self.index, self.value = index, value


class ProductGrad:
    """A gradient a @ b, not multiplied out yet: what y = x @ W sends back to a parameter W (x^T G),
    when a @ b has W's shape and dtype.

    A weight used at every time step gets one per step. The engine keeps their
    factors and multiplies them out together when it reaches the weight:

        sum_t a_t @ b_t = [a_1 a_2 ... a_T] @ [b_1; b_2; ...; b_T]

    one matrix product instead of T products and T - 1 sums of weight-sized
    arrays (batch 1, hidden 512: T outer products, each a pass over memory).
    Anything else that takes it as an array (np.asarray) gets a @ b."""

    __slots__ = ("a", "b")

    def __init__(self, a: np.ndarray, b: np.ndarray):
        self.a, self.b = a, b

    shape = property(lambda self: (self.a.shape[0], self.b.shape[1]))
    dtype = property(lambda self: np.result_type(self.a, self.b))

    def __array__(self, dtype=None, copy=None):
        return np.asarray(mm(self.a, self.b), dtype=dtype)


def product_grad(x: Tensor, a: np.ndarray, b: np.ndarray) -> np.ndarray | ProductGrad:
    """dL/dx = a @ b, for x an operand of a matrix product (matmul, linear). For a parameter
    (a 2-D leaf, of the product's dtype) a ProductGrad, multiplied out later together with
    the parameter's uses at other time steps; otherwise the product, now."""
    if x._vjp is None and x.data.ndim == 2 == a.ndim == b.ndim and a.dtype == x.data.dtype:
        return ProductGrad(a, b)
    return mm(a, b)


PRODUCTS_HELD = 1 << 16  # entries of factors a node may hold before they are multiplied out (or its size)


class Products:
    """The ProductGrads one node has received so far. Their factors hold memory until
    multiplied out, so once they outgrow `limit` entries (one gradient of the node's size,
    at least PRODUCTS_HELD) they are summed into `done` and the list starts over."""

    def __init__(self, limit: int):
        self.a: list[np.ndarray] = []
        self.b: list[np.ndarray] = []
        self.held, self.limit = 0, limit
        self.done: np.ndarray | None = None

    def add(self, g: ProductGrad) -> None:
        self.a.append(g.a)
        self.b.append(g.b)
        self.held += g.a.size + g.b.size
        if self.held > self.limit:
            self.done, self.a, self.b, self.held = self.total(None), [], [], 0

    def total(self, other: np.ndarray | None) -> np.ndarray:
        """A new array: the sum of every product received, plus `other` (another gradient, or None)."""
        out = self.done  # set (a new array) when the list was folded into it
        if self.a:  # the factors side by side: one product sums them all
            a, b = (self.a[0], self.b[0]) if len(self.a) == 1 else (np.hstack(self.a), np.vstack(self.b))
            out = mm(a, b) if out is None else np.add(out, mm(a, b), out=out)
        assert out is not None, "Products.total: no product received"
        if other is not None:
            out += other
        return out


def _accumulate(grads: dict, owned: set, key: int, data: np.ndarray, g) -> None:
    """Add g, a gradient of the node `key` whose value is `data`, into grads[key]."""
    if isinstance(g, IndexGrad):
        buf = grads.get(key)
        if buf is None:
            buf = np.zeros(data.shape, data.dtype)
        elif key not in owned:
            buf = buf.astype(data.dtype, copy=True)
        if _is_advanced(g.index):
            np.add.at(buf, g.index, g.value)  # repeated indices add up
        else:
            buf[g.index] += g.value
        grads[key] = buf
        owned.add(key)
        return
    if g.shape != data.shape:
        g = unbroadcast(g, data.shape)
    if g.dtype != data.dtype:
        g = g.astype(data.dtype)
    prev = grads.get(key)
    if prev is None:
        grads[key] = g
    elif key in owned:
        prev += g
    else:
        grads[key] = np.asarray(prev + g)  # 0-d sums come back as NumPy scalars, which += cannot update
        owned.add(key)


def _is_advanced(index) -> bool:
    """Whether an index (normalised by ops.getitem: every sequence in it is an array) picks entries by array,
    so that an entry may be picked twice."""
    index = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, np.ndarray) for i in index)


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `grad` back down to `shape`: the VJP of NumPy broadcasting.

    Broadcasting (a) prepends axes until both shapes have the same length,
    then (b) stretches axes of length 1. Undo both: sum over the prepended
    axes, then over every axis that was 1 in `shape` but is not in `grad`.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = np.asarray(grad.sum(axis=tuple(range(extra))))  # a sum down to 0-d is a NumPy scalar: keep an array
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def mm(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x @ y for arrays. With 2-D operands and an inner dimension of 1 (an outer product: the
    weight gradient of a batch of one) NumPy's matmul runs a slow loop, 5-10x slower than
    x.dot(y), which gives the same numbers (one product per element)."""
    if x.ndim == 2 and y.ndim == 2 and x.shape[1] == 1:
        return x.dot(y)
    return x @ y


def make(data: np.ndarray, parents: tuple, vjp: Callable[[np.ndarray], tuple]) -> Tensor:
    """The result of an op: records (parents, vjp) when a parent needs gradients."""
    out = Tensor.__new__(Tensor)
    out.data, out.grad, out._retain, out.name, out._seq = data, None, False, None, next(_creation)
    if _grad_enabled and any([p._requires_grad for p in parents]):
        out._requires_grad, out._parents, out._vjp = True, parents, vjp
    else:
        out._requires_grad, out._parents, out._vjp = False, (), None
    return out


_REACHED = np.zeros(())  # the token a result of make_many sends its hub: "visit the hub"
_REACHED.flags.writeable = False


def make_many(arrays: list, parents: tuple, vjp: Callable[[list], list], op: str) -> list[Tensor]:
    """Several results of one op (a fused RNN returns output, h_n, c_n); `op` names it in to_dot.

    `vjp(grads)` gets one gradient per result (zeros for a result that got
    none) and returns one per parent. Each result's own VJP only files its
    gradient and sends a 0-d "reached" token to a hidden hub node; the hub,
    visited after every result, calls `vjp` once with all of them."""
    slots = [None] * len(arrays)

    def hub_vjp(_token):
        grads = [np.zeros(a.shape, a.dtype) if s is None else s for a, s in zip(arrays, slots)]
        slots[:] = [None] * len(arrays)  # empty for the next backward() through this node
        return vjp(grads)

    hub_vjp.op = op  # type: ignore[attr-defined]
    hub = make(_REACHED, parents, hub_vjp)  # its value is never read

    def result(i):
        def file_grad(g):
            slots[i] = g if slots[i] is None else slots[i] + g
            return (_REACHED,)

        file_grad.op = f"{op}[{i}]"  # type: ignore[attr-defined]
        return make(arrays[i], (hub,), file_grad)

    return [result(i) for i in range(len(arrays))]


OPERAND_TYPES = (Tensor, np.ndarray, np.generic, numbers.Number, list, tuple)  # what `tensor` converts


def tensor(x) -> Tensor:
    """`x` as a Tensor (a Tensor is returned as it is): arrays and NumPy scalars keep their dtype,
    Python numbers and lists become float64. (Beside a tensor in a binary op a Python number takes
    that tensor's dtype instead: ops._operands has the rule.)"""
    if isinstance(x, Tensor):
        return x
    if not isinstance(x, OPERAND_TYPES):
        raise TypeError(f"expected a Tensor, a NumPy array, a number or a list of numbers, got {type(x).__name__}")
    return Tensor(x)


# The ops need Tensor, and Tensor's methods call the ops: imported last, looked up when called.
from tinyrnn import ops  # noqa: E402
