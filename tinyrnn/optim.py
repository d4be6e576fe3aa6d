"""Optimisers: SGD and Adam with torch's update rules, options, parameter groups and state dicts.

    opt = tr.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in batches:
        opt.zero_grad()
        loss = ...
        loss.backward()
        opt.step()

Parameter groups, as torch: pass a list of dicts instead of the parameters, each
with its own "params" and any hyperparameter to override for it, e.g. no weight
decay on biases:

    opt = tr.optim.SGD([{"params": weights, "weight_decay": 1e-4}, {"params": biases}], lr=0.1)

`opt.param_groups` is that list (every group holding all hyperparameters, so
`group["lr"] = ...` changes a learning rate), `opt.add_param_group(dict)` adds
one. Each optimiser updates `p.data` in place (keeping its dtype) for every
parameter `p` whose `.grad` is not None, and keeps its per-parameter state
(momentum buffers, Adam moments) in `self.state[i]` for the i-th parameter,
counting through the groups in order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from tinyrnn.tensor import Tensor

Params = Iterable[Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Holds the parameter groups, zero_grad(), step() and the (de)serialisation of state.

    A subclass passes its `defaults` (every hyperparameter with its value), and
    implements `check(group)` (raises ValueError for a bad value) and
    `update(p, grad, state, group)`.

    Args:
        params: an iterable of Tensors (e.g. `model.parameters()`), or of dicts
            {"params": Tensors, hyperparameter: value, ...}, one per group.
        defaults: every hyperparameter with its default value.

    Attributes:
        param_groups (list[dict]): the groups, each {"params": [...], hyperparameters...}.
        state (dict[int, dict]): per-parameter state (momentum buffers, Adam
            moments) by index over all groups' parameters.

    Raises:
        TypeError: params is a single Tensor or dict, or a group is malformed.
        ValueError: params is empty, holds a parameter twice, or a
            hyperparameter is out of range.
    """

    def __init__(self, params: Params, defaults: dict[str, Any]):
        name = type(self).__name__
        if isinstance(params, (Tensor, dict)):
            raise TypeError(
                f"{name}: params argument given to the optimizer should be an iterable of Tensors or dicts "
                f"(e.g. model.parameters()), but got one {type(params).__name__}"
            )
        self.check(defaults)
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}
        groups: list[Any] = list(params)
        if not groups:
            raise ValueError(f"{name}: optimizer got an empty parameter list")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Append a group {"params": Tensors, hyperparameter: value, ...}; missing values come from defaults.

        Args:
            group: the new group; its parameters must not be in another group.

        Raises:
            TypeError: group is not a dict with a 'params' key, or holds something else than Tensors.
            ValueError: a parameter is already in a group, or a hyperparameter is out of range.
        """
        name = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{name}: a parameter group must be a dict with a 'params' key, got {group!r}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: params[{i}] is a {type(p).__name__}, expected a Tensor")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter appears more than once in a parameter group")
        if {id(p) for p in params} & {id(p) for _, p, _ in self._indexed()}:
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        unknown = sorted(set(group) - set(self.defaults) - {"params"})
        if unknown:
            raise ValueError(f"{name}: unknown hyperparameters {unknown} in a parameter group")
        full = {**self.defaults, **group, "params": params}
        self.check(full)
        self.param_groups.append(full)

    def _indexed(self):
        """(i, p, group) for every parameter, i counting through the groups in order."""
        i = 0
        for group in self.param_groups:
            for p in group["params"]:
                yield i, p, group
                i += 1

    def zero_grad(self) -> None:
        """Set every parameter's .grad to None (as torch does by default)."""
        for _, p, _ in self._indexed():
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient; parameters whose .grad is None are skipped."""
        for i, p, group in self._indexed():
            if p.grad is not None:
                grad = np.asarray(p.grad)  # a 0-d parameter's gradient as a 0-d array
                self.update(p, -grad if group["maximize"] else grad, self.state.setdefault(i, {}), group)

    def check(self, group: dict[str, Any]) -> None:
        """Check a group's hyperparameters; what a subclass defines.

        Args:
            group: a parameter group's hyperparameters.

        Raises:
            ValueError: a value is out of range (torch's message).
        """
        raise NotImplementedError

    def update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Update one parameter from its gradient; what a subclass defines.

        Args:
            p: the parameter; its `data` is changed in place, keeping its dtype.
            grad: its gradient (already negated when `maximize`), an array of p's shape.
            state: this parameter's state, empty at its first update; filled in place.
            group: the hyperparameters of p's group.
        """
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """As torch's: {"state": {"0": {name: array or int}, ...}, "param_groups": [{hyperparameters...,
        "params": [0, 1, ...]}, ...]}; string keys and no Tensors, so that tr.save writes it."""
        groups, start = [], 0
        for group in self.param_groups:
            n = len(group["params"])
            groups.append(
                {**{k: v for k, v in group.items() if k != "params"}, "params": list(range(start, start + n))}
            )
            start += n
        state = {
            str(i): {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in s.items()}
            for i, s in self.state.items()
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what state_dict() returned (possibly after tr.save / tr.load): the groups'
        hyperparameters (checked as the constructor checks them) and the per-parameter state.
        Nothing changes if anything is refused.

        Args:
            state_dict: {"state": ..., "param_groups": ...} as `state_dict()` returns it;
                buffers are cast to each parameter's dtype.

        Raises:
            ValueError: a key is missing, the groups do not match this optimizer's,
                a buffer's shape differs from its parameter's, or a hyperparameter
                is out of range.
        """
        name = f"{type(self).__name__}.load_state_dict"
        missing = [k for k in ("state", "param_groups") if k not in state_dict]
        if missing:
            raise ValueError(f"{name}: missing keys {missing}")
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError(
                f"{name}: the state dict has {len(saved)} parameter groups, the optimizer {len(self.param_groups)}"
            )
        groups = []
        for k, (group, new) in enumerate(zip(self.param_groups, saved)):
            if len(new["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}: group {k} has {len(new['params'])} parameters in the state dict, "
                    f"{len(group['params'])} in the optimizer"
                )
            new = {**self.defaults, **new, "params": group["params"]}
            new = {k: tuple(v) if isinstance(v, list) else v for k, v in new.items() if k != "params"}
            self.check(new)
            groups.append({**new, "params": group["params"]})
        params = [p for _, p, _ in self._indexed()]
        state = {}
        for key, s in state_dict["state"].items():
            i = int(key)
            if not 0 <= i < len(params):
                raise ValueError(f"{name}: state for parameter {i}, but there are {len(params)}")
            p = params[i]
            for k, v in s.items():
                if isinstance(v, np.ndarray) and v.shape != p.shape:
                    raise ValueError(f"{name}: {k} of parameter {i} has shape {v.shape}, the parameter has {p.shape}")
            state[i] = {k: v.astype(p.dtype) if isinstance(v, np.ndarray) else v for k, v in s.items()}
        self.param_groups, self.state = groups, state


def _refuse(name: str, bad: bool, message: str) -> None:
    if bad:
        raise ValueError(f"{name}: {message}")


def _check_common(name: str, group: dict[str, Any]) -> None:
    _refuse(name, not group["lr"] >= 0, f"Invalid learning rate: {group['lr']} (expected >= 0)")
    wd = group["weight_decay"]
    _refuse(name, not wd >= 0, f"Invalid weight_decay value: {wd} (expected >= 0)")


class SGD(Optimizer):
    """Stochastic gradient descent with torch.optim.SGD's rule, per step:

    g   = -grad if maximize else grad
    g   = g + weight_decay * p
    buf = g at the first step, then momentum * buf + (1 - dampening) * g     (if momentum > 0)
    g   = g + momentum * buf if nesterov else buf                           (if momentum > 0)
    p  -= lr * g

    Args:
        params: an iterable of Tensors (e.g. `model.parameters()`), or of dicts
            {"params": Tensors, hyperparameter: value, ...}, one per group.
        lr: the learning rate, >= 0.
        momentum: the momentum factor, >= 0 (0: plain SGD).
        dampening: dampening for momentum.
        weight_decay: the L2 penalty added to the gradient, >= 0.
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: ascend the objective instead of descending it.

    Raises:
        ValueError: a hyperparameter is out of range (torch's messages).

    Examples:
        >>> import numpy as np, tinyrnn as tr
        >>> w = tr.nn.Parameter(np.array([1.0]))
        >>> opt = tr.optim.SGD([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.data
        array([0.8])
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def check(self, group: dict[str, Any]) -> None:
        """Check SGD's hyperparameters (lr, momentum, weight_decay >= 0; nesterov's needs).

        Args:
            group: a parameter group's hyperparameters.

        Raises:
            ValueError: a value is out of range (torch's message).
        """
        _check_common("SGD", group)
        _refuse("SGD", not group["momentum"] >= 0, f"Invalid momentum value: {group['momentum']} (expected >= 0)")
        nesterov_ok = group["momentum"] > 0 and group["dampening"] == 0
        _refuse(
            "SGD", group["nesterov"] and not nesterov_ok, "Nesterov momentum requires a momentum and zero dampening"
        )

    def update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        """One SGD step for p, by the rule above (`momentum_buffer` in state).

        Args:
            p: the parameter; its `data` is changed in place, keeping its dtype.
            grad: its gradient (already negated when `maximize`), an array of p's shape.
            state: this parameter's state, empty at its first update; filled in place.
            group: the hyperparameters of p's group.
        """
        momentum = group["momentum"]
        g = grad + group["weight_decay"] * p.data if group["weight_decay"] else grad
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        p.data -= group["lr"] * g


class Adam(Optimizer):
    """Adam (Kingma & Ba), torch.optim.Adam's bias-corrected rule, step t = 1, 2, ...:

        g  = -grad if maximize else grad
        g  = g + weight_decay * p             (L2 penalty, as torch's Adam; not AdamW)
        m  = beta1 * m + (1 - beta1) * g
        v  = beta2 * v + (1 - beta2) * g**2
        v_max = max(v_max, v)                 (amsgrad; v_max replaces v below)
        p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    m, v start at zero; t counts the steps in which this parameter had a gradient.

    Args:
        params: an iterable of Tensors (e.g. `model.parameters()`), or of dicts
            {"params": Tensors, hyperparameter: value, ...}, one per group.
        lr: the learning rate, >= 0.
        betas: (beta1, beta2), the decay rates of the moment estimates, each in [0, 1).
        eps: added to the denominator for stability, >= 0.
        weight_decay: the L2 penalty added to the gradient, >= 0.
        amsgrad: use the running maximum of v (AMSGrad).
        maximize: ascend the objective instead of descending it.

    Raises:
        ValueError: a hyperparameter is out of range (torch's messages).
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize
        )
        super().__init__(params, defaults)

    def check(self, group: dict[str, Any]) -> None:
        """Check Adam's hyperparameters (lr, eps, weight_decay >= 0; betas in [0, 1)).

        Args:
            group: a parameter group's hyperparameters.

        Raises:
            ValueError: a value is out of range (torch's message).
        """
        _check_common("Adam", group)
        _refuse("Adam", not group["eps"] >= 0, f"Invalid epsilon value: {group['eps']} (expected >= 0)")
        betas = group["betas"]
        _refuse("Adam", len(betas) != 2, f"betas must be two numbers, got {betas!r}")
        for k, b in enumerate(betas):
            _refuse("Adam", not 0 <= b < 1, f"Invalid beta parameter at index {k}: {b} (expected in [0, 1))")

    def update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        """One Adam step for p, by the rule above (`step`, `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq` in state).

        Args:
            p: the parameter; its `data` is changed in place, keeping its dtype.
            grad: its gradient (already negated when `maximize`), an array of p's shape.
            state: this parameter's state, empty at its first update; filled in place.
            group: the hyperparameters of p's group.
        """
        beta1, beta2 = group["betas"]
        g = grad + group["weight_decay"] * p.data if group["weight_decay"] else grad
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data))
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        if group["amsgrad"]:
            v_max = state.setdefault("max_exp_avg_sq", np.zeros_like(p.data))
            v = np.maximum(v_max, v, out=v_max)
        denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + group["eps"]
        p.data -= group["lr"] / (1 - beta1**t) * m / denom
