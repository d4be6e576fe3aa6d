"""Optimisers: SGD (with momentum and weight decay) and Adam, with torch's update rules.

    opt = tr.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in batches:
        opt.zero_grad()
        loss = ...
        loss.backward()
        opt.step()

Each optimiser updates `p.data` in place (keeping its dtype) for every
parameter `p` whose `.grad` is not None, and keeps its per-parameter state
(momentum buffers, Adam moments) in `self.state[i]` for the i-th parameter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from tinyrnn.tensor import Tensor


class Optimizer:
    """Holds the parameter list, zero_grad() and the (de)serialisation of state.

    Subclasses set `self.hyper` (the names of their hyperparameters, stored as
    attributes) and implement `update(p, grad, state)`.
    """

    hyper: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Tensor]):
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors (e.g. model.parameters()), got one Tensor")
        self.params: list[Tensor] = list(params)
        if not self.params:
            raise ValueError(f"{name}: got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: params[{i}] is a {type(p).__name__}, expected a Tensor")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError(f"{name}: a parameter appears more than once in params")
        self.state: dict[int, dict[str, Any]] = {}

    def zero_grad(self) -> None:
        """Set every parameter's .grad to None (as torch does by default)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient; parameters whose .grad is None are skipped."""
        for i, p in enumerate(self.params):
            if p.grad is not None:
                self.update(p, p.grad, self.state.setdefault(i, {}))

    def update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """{hyperparameter: value, ..., "state": {"0": {name: array or int}, ...}}, ready for tr.save."""
        hyper = {k: getattr(self, k) for k in self.hyper}
        state = {
            str(i): {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in s.items()}
            for i, s in self.state.items()
        }
        return {**hyper, "state": state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what state_dict() returned (possibly after tr.save / tr.load)."""
        name = type(self).__name__
        missing = [k for k in (*self.hyper, "state") if k not in state_dict]
        if missing:
            raise ValueError(f"{name}.load_state_dict: missing keys {missing}")
        state = {}
        for key, s in state_dict["state"].items():
            i = int(key)
            if not 0 <= i < len(self.params):
                raise ValueError(f"{name}.load_state_dict: state for parameter {i}, but there are {len(self.params)}")
            p = self.params[i]
            for k, v in s.items():
                if isinstance(v, np.ndarray) and v.shape != p.shape:
                    raise ValueError(
                        f"{name}.load_state_dict: {k} of parameter {i} has shape {v.shape}, the parameter has {p.shape}"
                    )
            state[i] = {k: v.astype(p.dtype) if isinstance(v, np.ndarray) else v for k, v in s.items()}
        for k in self.hyper:
            setattr(self, k, tuple(state_dict[k]) if isinstance(state_dict[k], list) else state_dict[k])
        self.state = state


def _check(name: str, what: str, value, ok: bool, rule: str) -> None:
    if not ok:
        raise ValueError(f"{name}: {what} must be {rule}, got {value!r}")


class SGD(Optimizer):
    """Stochastic gradient descent with torch.optim.SGD's rule:

        d = grad + weight_decay * p
        buf = d at the first step, then momentum * buf + d      (only if momentum > 0)
        p  -= lr * buf                                          (lr * d without momentum)

    torch's dampening and nesterov options are not offered (dampening is 0).
    """

    hyper = ("lr", "momentum", "weight_decay")

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params)
        _check("SGD", "lr", lr, lr >= 0, ">= 0")
        _check("SGD", "momentum", momentum, momentum >= 0, ">= 0")
        _check("SGD", "weight_decay", weight_decay, weight_decay >= 0, ">= 0")
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay

    def update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any]) -> None:
        d = grad + self.weight_decay * p.data if self.weight_decay else grad
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = d.copy()
            else:
                buf *= self.momentum
                buf += d
            d = buf
        p.data -= self.lr * d


class Adam(Optimizer):
    """Adam (Kingma & Ba), torch.optim.Adam's bias-corrected rule, step t = 1, 2, ...:

        g  = grad + weight_decay * p          (L2 penalty, as torch's Adam; not AdamW)
        m  = beta1 * m + (1 - beta1) * g
        v  = beta2 * v + (1 - beta2) * g**2
        p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    m, v start at zero; t counts the steps in which this parameter had a gradient.
    """

    hyper = ("lr", "betas", "eps", "weight_decay")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(params)
        _check("Adam", "lr", lr, lr >= 0, ">= 0")
        _check("Adam", "betas", betas, len(betas) == 2 and all(0 <= b < 1 for b in betas), "two numbers in [0, 1)")
        _check("Adam", "eps", eps, eps >= 0, ">= 0")
        _check("Adam", "weight_decay", weight_decay, weight_decay >= 0, ">= 0")
        self.lr, self.betas, self.eps, self.weight_decay = lr, tuple(betas), eps, weight_decay

    def update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any]) -> None:
        beta1, beta2 = self.betas
        g = grad + self.weight_decay * p.data if self.weight_decay else grad
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data))
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + self.eps
        p.data -= self.lr / (1 - beta1**t) * m / denom
