"""Module and Parameter: the containers that networks are built from.

A Module finds its parameters by walking its own attributes, in the order they
were assigned in __init__: a Parameter is a parameter, a Module contributes its
own parameters under `name.`, and a list or tuple contributes its items under
`name.0`, `name.1`, ... No registration is needed.
"""

from __future__ import annotations

import math

import numpy as np

from tinyrnn.random import get_rng
from tinyrnn.tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module trains: it requires gradients by default.

    A Module finds its Parameters by walking its attributes, so assigning one in
    `__init__` is all it takes to register it.

    Args:
        data: the initial values (an array is kept as it is, not copied).
        requires_grad: False freezes the parameter.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)


def init_uniform(shape: tuple, bound: float, dtype=np.float64) -> Parameter:
    """A Parameter drawn uniformly from [-bound, bound] with tinyrnn's generator."""
    return Parameter(get_rng().uniform(-bound, bound, size=shape).astype(dtype))


def fan_in_bound(fan_in: int) -> float:
    """torch's default init bound for Linear and recurrent weights: 1 / sqrt(fan_in) (0 when fan_in is 0)."""
    return 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0


# ---- constructor and input checks, with torch's messages ----------------------
def check_size(owner: str, name: str, value, minimum: int = 1) -> int:
    """A size argument: an int (not a bool) >= minimum."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner}: {name} should be of type int, got: {type(value).__name__}")
    if value < minimum:
        rule = "greater than zero" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{owner}: {name} must be {rule}, got {value}")
    return int(value)


def check_flag(owner: str, name: str, value) -> bool:
    """A flag argument: True or False, never a string or a number read by its truthiness."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} should be of type bool, got: {type(value).__name__}")
    return bool(value)


def check_dtype(owner: str, what: str, x: Tensor, dtype: np.dtype) -> None:
    """Input and weights must share a dtype, as in torch: no silent casts."""
    if x.dtype != dtype:
        raise TypeError(
            f"{owner}: {what} dtype {x.dtype}, but {owner}'s weights are {dtype} "
            f"(convert the input with .astype({dtype}) or build the module with dtype=np.{x.dtype})"
        )


def _walk(value, name: str):
    """(dotted name, Parameter or Module) for everything reachable from one attribute."""
    if isinstance(value, Parameter):
        yield name, value
    elif isinstance(value, Module):
        yield name, value
        for attr, item in vars(value).items():
            yield from _walk(item, f"{name}.{attr}" if name else attr)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk(item, f"{name}.{i}")


class Module:
    """Base class of every layer: subclass it, assign Parameters and Modules in `__init__`, and write `forward()`.

    Parameters are found by walking the attributes in the order they were
    assigned: a Parameter, a Module (its parameters under `name.`), or a list or
    tuple of them (under `name.0`, `name.1`, ...). No registration is needed.
    Calling the module calls `forward`.

    Attributes:
        training (bool): True in training mode (the default), False after
            `eval()`; Dropout drops only in training mode.

    Examples:
        >>> import numpy as np, tinyrnn as tr
        >>> class Affine(tr.nn.Module):
        ...     def __init__(self):
        ...         self.w = tr.nn.Parameter(np.ones((2, 3)))
        ...         self.b = tr.nn.Parameter(np.zeros(3))
        ...     def forward(self, x):
        ...         return x @ self.w + self.b
        >>> [name for name, _ in Affine().named_parameters()]
        ['w', 'b']
    """

    training = True

    def forward(self, *args, **kwargs):
        """The computation; subclasses define it (calling the module calls it).

        Raises:
            NotImplementedError: the subclass did not define it.
        """
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """(dotted name, Parameter) in attribute order; a shared Parameter appears once."""
        seen, named = set(), []
        for name, value in _walk(self, ""):
            if isinstance(value, Parameter) and id(value) not in seen:
                seen.add(id(value))
                named.append((name, value))
        return named

    def parameters(self) -> list[Parameter]:
        """Every Parameter of this module and its sub-modules, in attribute order, each once."""
        return [p for _, p in self.named_parameters()]

    def modules(self) -> list[Module]:
        """This module and every sub-module, each once."""
        found = {id(m): m for _, m in _walk(self, "") if isinstance(m, Module)}
        return list(found.values())

    def zero_grad(self) -> None:
        """Set every parameter's `.grad` to None (gradients accumulate across `backward()` calls)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        """Set the `training` flag (used by Dropout) here and in every sub-module.

        Args:
            mode: True for training mode, False for evaluation.

        Returns:
            The module itself.
        """
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode, `train(False)`: Dropout passes its input through. Returns the module."""
        return self.train(False)

    def state_dict(self) -> dict[str, np.ndarray]:
        """{dotted name: a copy of the parameter's array}, in attribute order; torch's names for the layers."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict, allow_nonfinite: bool = False) -> None:
        """Copy arrays into the parameters (in place, keeping each parameter's dtype).

        Args:
            state: {dotted name: array}, with exactly the keys of `state_dict()`,
                every shape matching, every array of real floating-point numbers
                (an integer, bool or complex array is refused rather than cast).
            allow_nonfinite: also accept NaN and inf (refused by default: they
                usually mean a diverged run).

        Raises:
            RuntimeError: anything above does not hold; nothing is changed and
                the message lists every problem.
        """
        params = dict(self.named_parameters())
        arrays = {key: np.asarray(value) for key, value in state.items()}
        problems = []
        missing = [k for k in params if k not in arrays]
        unexpected = [k for k in arrays if k not in params]
        if missing:
            problems.append(f"missing keys {missing}")
        if unexpected:
            problems.append(f"unexpected keys {unexpected}")
        for key, p in params.items():
            if key not in arrays:
                continue
            a = arrays[key]
            if a.shape != p.shape:
                problems.append(f"shape mismatch for {key!r}: the module has {p.shape}, the state has {a.shape}")
            elif not np.issubdtype(a.dtype, np.floating):
                problems.append(f"{key!r} holds {a.dtype} values, not floating-point weights")
            elif not allow_nonfinite and not np.isfinite(a).all():
                problems.append(f"{key!r} holds NaN or infinite values (allow_nonfinite=True loads them anyway)")
        if problems:
            raise RuntimeError(f"{type(self).__name__}.load_state_dict: " + "; ".join(problems))
        for key, p in params.items():
            p.data[...] = arrays[key]
