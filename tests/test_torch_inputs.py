"""tinyrnn on PyTorch's own test inputs for the modules and optimisers it shares with torch.

torch ships the inputs its module and optimiser tests run on, in
torch/testing/_internal/common_modules.py (module_db: ModuleInfo with module_inputs_func
and module_error_inputs_func) and common_optimizers.py (optim_db: optim_inputs_func and
optim_error_inputs_func); importing them needs `expecttest`. A private module, so what
this file relies on is pinned: torch==2.13.0 (pyproject.toml) and the counts in
test_the_walk_covers_torchs_lists, which fail if torch's lists change.

For every input:
  - module inputs: the tinyrnn module built with the same arguments and torch's weights;
    every output and every gradient (inputs and parameters) equal to torch's in float64
    to 1e-10, recurrent layers on both paths (fused and per-op);
  - optimiser inputs: 20 steps on 0-d, 1-d and 2-d parameters, equal after every step;
  - error inputs: tinyrnn raises the same exception type, or the one listed in
    DIFFERENT_ERRORS with its reason;
  - arguments tinyrnn does not support are skipped with the reason in UNSUPPORTED, counted.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest
import torch
from torch.testing._internal.common_modules import ModuleErrorEnum, module_db
from torch.testing._internal.common_optimizers import OptimizerErrorEnum, optim_db

import tinyrnn as tr
from tinyrnn.tensor import make

MODULES = ("RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell", "Linear", "Embedding")
OPTIMIZERS = ("SGD", "Adam")
LAYERS = ("RNN", "GRU", "LSTM")
TOL = 1e-10
STEPS = 20

# Why an input is not run: what tinyrnn does not have.
UNSUPPORTED = {
    "proj_size": "LSTM projections (proj_size > 0) are not implemented",
    "tensor hyperparameter": "hyperparameters are Python numbers (torch also takes a Tensor lr or betas)",
    "named parameters": "parameters are Tensors or groups of them, not (name, Tensor) pairs",
}

# Error inputs that tinyrnn refuses earlier, at construction: torch's RNNCell error inputs pass 'relu' and
# 'tanh' as the third positional argument, which is `bias` (nonlinearity comes fourth); torch reads the
# string as True, tinyrnn wants a bool.
REFUSED_AT_CONSTRUCTION = {
    key: "bias='relu' / 'tanh' (a nonlinearity in bias's position) is not a bool"
    for key in ("RNNCell-error-4", "RNNCell-error-5", "GRUCell-error-4", "GRUCell-error-5")
}

# (torch's error type, a piece of torch's message) -> tinyrnn's error type, and why they differ.
DIFFERENT_ERRORS = {
    (RuntimeError, "inconsistent input_size"): (ValueError, "a shape that does not fit is a ValueError in tinyrnn"),
    (RuntimeError, "inconsistent hidden_size"): (ValueError, "a shape that does not fit is a ValueError in tinyrnn"),
    (RuntimeError, "doesn't match hidden0 batch size"): (ValueError, "a shape that does not fit is a ValueError"),
    (ValueError, "does not match weight dtype"): (TypeError, "a dtype that does not fit is a TypeError in tinyrnn"),
    (RuntimeError, "Expected tensor for argument"): (TypeError, "float indices are a TypeError in tinyrnn"),
    (RuntimeError, "negative dimension"): (ValueError, "a negative size is a ValueError in tinyrnn"),
    (UserWarning, "duplicate parameters"): (ValueError, "tinyrnn refuses a parameter listed twice (torch warns)"),
}


def _infos(db, attribute: str, names: tuple) -> dict:
    return {getattr(i, attribute).__name__: i for i in db if getattr(i, attribute).__name__ in names}


MODULE_INFOS = _infos(module_db, "module_cls", MODULES)
OPTIM_INFOS = _infos(optim_db, "optim_cls", OPTIMIZERS)


def _forward_args(fwd) -> tuple[list, dict]:
    """torch's forward arguments; `input=` (torch's name for the first one) passed by position."""
    kwargs = dict(fwd.kwargs)
    return ([kwargs.pop("input")] if "input" in kwargs else []) + list(fwd.args), kwargs


def _module_kwargs(kwargs: dict) -> tuple[dict, str | None]:
    """torch constructor kwargs -> tinyrnn's, or the UNSUPPORTED key that stops the input."""
    ours = {}
    for k, v in kwargs.items():
        if k == "proj_size":
            if v:
                return {}, "proj_size"
        elif k == "device":
            assert str(v) == "cpu"  # tinyrnn is CPU only: the one device torch's CPU lists name
        elif k == "dtype":
            ours[k] = torch.empty(0, dtype=v).numpy().dtype
        else:
            ours[k] = v
    return ours, None


def _collect():
    """(id, payload) of every input walked, and (id, reason) of every input skipped."""
    torch.manual_seed(0)  # the inputs are random tensors
    cases = {"module": [], "module_error": [], "optim": [], "optim_error": []}
    skipped = []
    for name, info in MODULE_INFOS.items():
        kw = dict(device="cpu", dtype=torch.float64, requires_grad=True, training=True)
        for i, mi in enumerate(info.module_inputs_func(info, **kw)):
            key = f"{name}-{i}"
            _, reason = _module_kwargs(mi.constructor_input.kwargs)
            (skipped.append((key, reason)) if reason else cases["module"].append((key, (name, mi))))
        for i, ei in enumerate(info.module_error_inputs_func(info, **kw) if info.module_error_inputs_func else []):
            cases["module_error"].append((f"{name}-error-{i}", (name, ei, f"{name}-error-{i}")))
    for name, info in OPTIM_INFOS.items():
        for i, oi in enumerate(info.optim_inputs_func(device="cpu", dtype=torch.float64)):
            key = f"{name}-{oi.desc}-{i}"
            reason = _optim_unsupported(oi.kwargs)
            (skipped.append((key, reason)) if reason else cases["optim"].append((key, (name, oi))))
        for i, ei in enumerate(info.optim_error_inputs_func(device="cpu", dtype=torch.float64)):
            oi, key = ei.optimizer_error_input, f"{name}-error-{ei.optimizer_error_input.desc}-{i}"
            params = oi.params if isinstance(oi.params, list) else []
            if _optim_unsupported(oi.kwargs):
                skipped.append((key, _optim_unsupported(oi.kwargs)))
            elif any(isinstance(p, tuple) or (isinstance(p, dict) and _has_names(p)) for p in params):
                skipped.append((key, "named parameters"))
            else:
                cases["optim_error"].append((key, (name, ei)))
    return cases, skipped


def _optim_unsupported(kwargs: dict) -> str | None:
    tensors = any(isinstance(t, torch.Tensor) for v in kwargs.values() for t in (v if isinstance(v, tuple) else (v,)))
    return "tensor hyperparameter" if tensors else None


def _has_names(group: dict) -> bool:
    return any(isinstance(p, tuple) for p in group["params"])


CASES, SKIPPED = _collect()


def _params(cases: list) -> dict:
    return {"argvalues": [c[1] for c in cases], "ids": [c[0] for c in cases]}


def test_the_walk_covers_torchs_lists():
    """Pinned counts of torch 2.13.0's lists: a change in them shows here first."""
    assert torch.__version__.split("+")[0] == "2.13.0", "the counts below are those of torch 2.13.0"
    walked = {kind: len(c) for kind, c in CASES.items()}
    assert walked == {"module": 76, "module_error": 61, "optim": 13, "optim_error": 9}
    assert Counter(reason for _, reason in SKIPPED) == {
        "proj_size": 16,
        "tensor hyperparameter": 7,
        "named parameters": 4,
    }
    assert sum(walked.values()) + len(SKIPPED) == 186
    assert {reason for _, reason in SKIPPED} <= set(UNSUPPORTED)
    per_module = Counter(c[1][0] for c in CASES["module"])
    assert per_module == {"RNN": 32, "GRU": 16, "LSTM": 16, "RNNCell": 3, "GRUCell": 2, "LSTMCell": 2} | {
        "Linear": 3,
        "Embedding": 2,
    }


# ---- module inputs ------------------------------------------------------------------------
def _to_ours(value):
    """torch inputs -> tinyrnn's: float tensors as Tensors that require grad, integer ones as arrays."""
    if isinstance(value, torch.Tensor):
        array = value.detach().numpy().copy()
        return tr.Tensor(array, requires_grad=value.requires_grad) if value.is_floating_point() else array
    if isinstance(value, (tuple, list)):
        return type(value)(_to_ours(v) for v in value)
    return value


def _leaves(value) -> list:
    """Every tensor in a nested output or input, in order."""
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _leaves(v)]
    return [value] if isinstance(value, (torch.Tensor, tr.Tensor, np.ndarray)) else []


def _close(ours, theirs, what: str) -> None:
    theirs = theirs.detach().numpy()
    assert ours is not None, f"{what}: tinyrnn has no gradient, torch has {theirs.shape}"
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=TOL, atol=TOL, err_msg=what)


@pytest.mark.parametrize("name, module_input", **_params(CASES["module"]))
def test_module_input_matches_torch(name, module_input):
    compare_module(name, module_input)


def compare_module(name: str, module_input, plant=None) -> None:
    """Outputs and gradients of tinyrnn's module equal torch's; `plant(module)` may spoil ours first."""
    ctor, fwd = module_input.constructor_input, module_input.forward_input
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*ctor.args, **ctor.kwargs).to(torch.float64)
    f_args, f_kwargs = _forward_args(fwd)
    t_out = _leaves(theirs(*f_args, **f_kwargs))
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(tuple(o.shape)) for o in t_out]
    sum((o * torch.from_numpy(w)).sum() for o, w in zip(t_out, weights)).backward()
    kwargs, _ = _module_kwargs(ctor.kwargs)
    for fused in (True, False) if name in LAYERS else (None,):
        ours = getattr(tr.nn, name)(*ctor.args, **kwargs, **({} if fused is None else {"fused": fused}))
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        if plant:
            plant(ours)
        args = _to_ours(f_args)
        out = _leaves(ours(*args, **f_kwargs))
        assert len(out) == len(t_out)
        for k, (o, t) in enumerate(zip(out, t_out)):
            _close(o.data, t, f"output {k} (fused={fused})")
        sum((o * w).sum() for o, w in zip(out, weights)).backward()
        for k, (a, t) in enumerate(zip(_leaves(args), _leaves(f_args))):
            if t.requires_grad:
                _close(a.grad, t.grad, f"gradient of input {k} (fused={fused})")
        t_params = dict(theirs.named_parameters())
        assert [k for k, _ in ours.named_parameters()] == list(t_params)
        for k, p in ours.named_parameters():
            _close(p.grad, t_params[k].grad, f"gradient of {k} (fused={fused})")


def _expected_error(error_type: type, regex: str) -> type:
    for (torch_type, piece), (ours, _) in DIFFERENT_ERRORS.items():
        if error_type is torch_type and piece in regex.replace("\\", ""):
            return ours
    return error_type


@pytest.mark.parametrize("name, error_input, key", **_params(CASES["module_error"]))
def test_module_error_input_raises_as_torch(name, error_input, key):
    mi = error_input.module_error_input
    ctor, fwd = mi.constructor_input, mi.forward_input
    expected = _expected_error(error_input.error_type, error_input.error_regex)
    with pytest.raises(error_input.error_type, match=error_input.error_regex):  # torch's own claim, re-checked
        module = getattr(torch.nn, name)(*ctor.args, **ctor.kwargs)
        if error_input.error_on == ModuleErrorEnum.FORWARD_ERROR:
            module(*_forward_args(fwd)[0], **_forward_args(fwd)[1])
    kwargs, _ = _module_kwargs(ctor.kwargs)
    if key in REFUSED_AT_CONSTRUCTION:
        with pytest.raises(TypeError, match="bias should be of type bool, got: str"):
            getattr(tr.nn, name)(*ctor.args, **kwargs)
    elif error_input.error_on == ModuleErrorEnum.CONSTRUCTION_ERROR:
        with pytest.raises(expected):
            getattr(tr.nn, name)(*ctor.args, **kwargs)
    else:
        ours = getattr(tr.nn, name)(*ctor.args, **kwargs)
        f_args, f_kwargs = _forward_args(fwd)
        with pytest.raises(expected):
            ours(*_to_ours(f_args), **f_kwargs)


# ---- optimiser inputs ---------------------------------------------------------------------
SHAPES = [(), (3,), (2, 3)]


def _gradient(p: np.ndarray, k: int, step: int) -> np.ndarray | None:
    """A gradient that depends on the parameter (so the paths must agree to keep agreeing); None sometimes."""
    if k == 1 and step % 3 == 2:
        return None
    return np.sin(3 * p) + 0.1 * (step + 1) * np.cos(p + k)


@pytest.mark.parametrize("name, optim_input", **_params(CASES["optim"]))
def test_optimizer_input_matches_torch_every_step(name, optim_input):
    compare_optimizer(name, optim_input.kwargs, optim_input.kwargs)


def compare_optimizer(name: str, kwargs: dict, torch_kwargs: dict) -> None:
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in SHAPES]
    ours_p = [tr.Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs_p = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours = getattr(tr.optim, name)(ours_p, **kwargs)
    theirs = getattr(torch.optim, name)(theirs_p, **torch_kwargs)
    for step in range(STEPS):
        for k, (p, q) in enumerate(zip(ours_p, theirs_p)):
            g = _gradient(p.data, k, step)
            p.grad, q.grad = (None, None) if g is None else (g, torch.tensor(g))  # 0-d: g is a NumPy scalar
        ours.step()
        theirs.step()
        for k, (p, q) in enumerate(zip(ours_p, theirs_p)):
            _close(p.data, q, f"parameter {k} after step {step}")
    assert all(not np.allclose(p.data, a) for p, a in zip(ours_p, arrays))


def _optim_params(params, memo: dict):
    """torch's params argument -> tinyrnn's, the same torch tensor always becoming the same Tensor."""
    if isinstance(params, torch.Tensor):
        if id(params) not in memo:
            memo[id(params)] = tr.Tensor(params.detach().numpy().copy(), requires_grad=True)
        return memo[id(params)]
    if isinstance(params, dict):
        return {k: _optim_params(v, memo) for k, v in params.items()}
    if isinstance(params, (list, tuple)):
        return [_optim_params(p, memo) for p in params]
    return params


@pytest.mark.parametrize("name, error_input", **_params(CASES["optim_error"]))
def test_optimizer_error_input_raises_as_torch(name, error_input):
    oi = error_input.optimizer_error_input
    expected = _expected_error(error_input.error_type, error_input.error_regex)
    default = [torch.zeros(2, dtype=torch.float64, requires_grad=True)]
    t_params = default if oi.params is None else oi.params
    params = _optim_params(t_params, {})
    if error_input.error_type is UserWarning:
        with pytest.warns(UserWarning, match=error_input.error_regex):
            getattr(torch.optim, name)(t_params, **oi.kwargs)
    else:
        with pytest.raises(error_input.error_type, match=error_input.error_regex):
            getattr(torch.optim, name)(t_params, **oi.kwargs)
    assert error_input.error_on == OptimizerErrorEnum.CONSTRUCTION_ERROR  # every CPU error input of SGD and Adam
    with pytest.raises(expected):
        getattr(tr.optim, name)(params, **oi.kwargs)


def test_every_listed_difference_is_used():
    """DIFFERENT_ERRORS lists only differences that torch's error inputs actually show."""
    pairs = [(c[1][1].error_type, c[1][1].error_regex) for c in CASES["module_error"] + CASES["optim_error"]]
    for torch_type, piece in DIFFERENT_ERRORS:
        assert any(t is torch_type and piece in re.sub(r"\\", "", r) for t, r in pairs), piece


def test_the_comparisons_fail_on_planted_mistakes(monkeypatch):
    """A weight off by 1e-7, a tanh with a wrong gradient, an optimiser with another option: each is caught."""
    name, gru_input = next(c[1] for c in CASES["module"] if c[1][0] == "GRU")

    def nudge(module):
        module.weight_hh_l0.data[0, 0] += 1e-7

    with pytest.raises(AssertionError, match="output 0"):
        compare_module(name, gru_input, plant=nudge)
    name, cell_input = next(c[1] for c in CASES["module"] if c[1][0] == "LSTMCell")
    wrong_tanh = lambda x: make(np.tanh(x.data), (x,), lambda g: (g,))  # right values, gradient of the identity
    monkeypatch.setattr(tr.nn.cells, "tanh", wrong_tanh)
    with pytest.raises(AssertionError, match="gradient of input 0"):
        compare_module(name, cell_input)
    with pytest.raises(AssertionError, match="after step 0"):
        compare_optimizer("SGD", {"lr": 0.01, "momentum": 0.9}, {"lr": 0.01, "momentum": 0.9, "nesterov": True})
