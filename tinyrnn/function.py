"""tr.Function: write your own op as a forward and its vector-Jacobian product.

    class Cube(tr.Function):
        @staticmethod
        def forward(ctx, x):                 # x arrives as a NumPy array
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):                # g = dL/dy, an array of y's shape (read-only)
            (x,) = ctx.saved_tensors
            return 3 * x**2 * g              # dL/dx, an array of x's shape and dtype

    y = Cube.apply(x)                        # a Tensor; y.backward() reaches x

Shaped like torch.autograd.Function, with one deliberate difference: forward
and backward see NumPy arrays, never Tensors, so an op is written in plain
NumPy and nothing inside it is recorded (no graph within the op, no double
backward). The graph records one node named after the class (`to_dot` shows
`Cube`), like the built-in ops of ops.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyrnn.tensor import Tensor, is_grad_enabled, make, make_many


def _read_only(g: np.ndarray) -> np.ndarray:
    """g as backward receives it: a view it cannot write to. The same array may be another
    node's gradient too (a + b sends one array to both), so `g *= ...` in place would
    change theirs; NumPy refuses it ("assignment destination is read-only")."""
    view = np.asarray(g).view()
    view.flags.writeable = False
    return view


class FunctionCtx:
    """What forward hands to backward: `save_for_backward(*arrays)` -> `saved_tensors`, and any attribute you set.

    `Function.apply` makes one per call; you never build one yourself.

    Args:
        needs_input_grad: one bool per input of `apply`: True where the input is a
            Tensor that requires gradients (while gradients are enabled).

    Attributes:
        needs_input_grad (tuple[bool, ...]): as above; backward may return None where it is False.
        saved_tensors (tuple): the arrays given to `save_for_backward`, in order.
    """

    def __init__(self, needs_input_grad: tuple[bool, ...]):
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple = ()

    def save_for_backward(self, *arrays) -> None:
        """Keep arrays (inputs, outputs or intermediates of forward) for backward.

        Args:
            *arrays: the arrays backward needs; read back as `ctx.saved_tensors`.
        """
        self.saved_tensors = arrays


class Function:
    """Subclass, define the static methods forward and backward, call `MyOp.apply(*inputs)`.

    forward(ctx, *inputs) -> array or tuple of arrays:
        each Tensor given to apply arrives as its NumPy array (`.data`); any other
        argument (a number, an axis, a NumPy array of constants) arrives unchanged.
    backward(ctx, *grads) -> one gradient per input of apply (a single one may be returned bare):
        grads holds dL/d(each output) as arrays (zeros for an output that received none);
        return dL/d(each input) as an array of that input's shape and dtype, or None for an
        input that needs no gradient (check ctx.needs_input_grad) or is not a Tensor.
    A gradient of the wrong shape or dtype, or the wrong number of them, raises a
    ValueError naming the op and the input.

    Examples:
        >>> import numpy as np, tinyrnn as tr
        >>> class Cube(tr.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x**3
        ...     @staticmethod
        ...     def backward(ctx, g):
        ...         (x,) = ctx.saved_tensors
        ...         return 3 * x**2 * g
        >>> x = tr.Tensor(np.array([1.0, 2.0]), requires_grad=True)
        >>> Cube.apply(x).sum().backward()
        >>> x.grad
        array([ 3., 12.])
    """

    @staticmethod
    def forward(ctx: FunctionCtx, *inputs: Any) -> np.ndarray | tuple[np.ndarray, ...]:
        """The op's result from its inputs' arrays; what a subclass defines.

        Args:
            ctx: where to save what backward needs (`ctx.save_for_backward`).
            *inputs: the arguments of `apply`, each Tensor as its NumPy array.

        Returns:
            A floating-point array, or a tuple of them for an op with several outputs.
        """
        raise NotImplementedError("a tr.Function subclass must define forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: np.ndarray) -> Any:
        """The vector-Jacobian product: dL/d(each input) from dL/d(each output); what a subclass defines.

        Args:
            ctx: the context forward filled (`ctx.saved_tensors`, `ctx.needs_input_grad`).
            *grads: dL/d(each output), arrays of the outputs' shapes (zeros for an
                output that received no gradient).

        Returns:
            One gradient per input of `apply` (a single one may be returned bare):
            an array of that input's shape and dtype, or None.
        """
        raise NotImplementedError("a tr.Function subclass must define backward(ctx, *grads)")

    @classmethod
    def apply(cls, *inputs: Any) -> Tensor | tuple[Tensor, ...]:
        """Run forward on the inputs' arrays and record one node whose VJP is backward.

        Args:
            *inputs: Tensors (passed to forward as their arrays) and any other
                arguments (passed unchanged).

        Returns:
            A Tensor, or a tuple of Tensors when forward returns a tuple.

        Raises:
            TypeError: forward returned an array that is not floating-point.
            ValueError: (in backward) a gradient of the wrong shape or dtype, the
                wrong number of gradients, or one for an input that is not a Tensor.
        """
        name = cls.__name__
        recording = is_grad_enabled()
        ctx = FunctionCtx(tuple(recording and isinstance(x, Tensor) and x.requires_grad for x in inputs))
        out = cls.forward(ctx, *(x.data if isinstance(x, Tensor) else x for x in inputs))
        several = isinstance(out, tuple)
        outs = [np.asarray(y) for y in (out if several else (out,))]
        for i, y in enumerate(outs):
            if y.dtype.kind not in "fc":
                raise TypeError(f"{name}.forward: output {i} must be a floating-point array, got {y.dtype}")
        tensors = [x for x in inputs if isinstance(x, Tensor)]

        def vjp(grads):
            grads = [_read_only(g) for g in grads] if several else _read_only(grads)
            returned = cls.backward(ctx, *grads) if several else cls.backward(ctx, grads)
            returned = returned if isinstance(returned, tuple) else (returned,)
            if len(returned) != len(inputs):
                raise ValueError(
                    f"{name}.backward returned {len(returned)} gradients, expected {len(inputs)} (one per input)"
                )
            checked = []
            for i, (x, g) in enumerate(zip(inputs, returned)):
                if not isinstance(x, Tensor):
                    if g is not None:
                        raise ValueError(f"{name}.backward: input {i} is not a Tensor, its gradient must be None")
                    continue
                if g is not None:
                    g = np.asarray(g)
                    if g.shape != x.shape or g.dtype != x.dtype:
                        raise ValueError(
                            f"{name}.backward: the gradient of input {i} must match the input, shape {x.shape} "
                            f"dtype {x.dtype}; got shape {g.shape} dtype {g.dtype}"
                        )
                checked.append(g)
            return checked

        vjp.op = name  # type: ignore[attr-defined]
        if several:
            return tuple(make_many(outs, tuple(tensors), vjp, name))
        return make(outs[0], tuple(tensors), vjp)
