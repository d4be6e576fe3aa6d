"""SGD and Adam against torch.optim, step by step, on the same gradients: every option,
parameter groups, 0-d / 1-d / n-d parameters, state dicts and refused hyperparameters."""

import numpy as np
import pytest
import torch

import tinyrnn as tr
from tinyrnn import optim

SHAPES = {"W": (5, 3), "b": (5,), "U": (2, 5), "c": (2,), "s": ()}  # "s": a 0-d parameter (a micrograd scalar)
STEPS = 20
CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {}),  # torch's default lr, 1e-3
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.7, "dampening": 0.3, "weight_decay": 0.05, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.02, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.02, "weight_decay": 0.1, "amsgrad": True}),
    ("Adam", {"lr": 0.02, "weight_decay": 0.1, "maximize": True}),
    ("Adam", {"lr": 0.05, "betas": (0.5, 0.9), "amsgrad": True, "maximize": True}),
]


def make_params(dtype=np.float64) -> dict:
    rng = np.random.default_rng(0)
    return {k: tr.Tensor(np.asarray(rng.standard_normal(s), dtype), requires_grad=True) for k, s in SHAPES.items()}


def backward(p: dict, step: int, sign: float = 1.0) -> None:
    """A small tanh layer with a quadratic loss (times `sign`: -1 for maximize, which then
    climbs a bounded objective); `c` gets no gradient on odd steps."""
    x = tr.Tensor(np.linspace(-1.0, 1.0, 12).reshape(4, 3).astype(p["W"].dtype))
    y = (x @ p["W"].T + p["b"]).tanh() @ p["U"].T * p["s"]
    if step % 2 == 0:
        y = y + p["c"]
    (((y - 0.5) ** 2).mean() * sign).backward()


def train(params: dict, opt, steps: range) -> None:
    for step in steps:
        opt.zero_grad()
        backward(params, step)
        opt.step()


def to_torch(params: dict) -> dict:
    return {k: torch.tensor(p.data.copy(), requires_grad=True) for k, p in params.items()}


def compare_every_step(params: dict, ours, theirs_params: dict, theirs, sign: float = 1.0) -> None:
    """Run both optimisers on tinyrnn's gradients; parameters equal to 1e-10 after every step."""
    for step in range(STEPS):
        ours.zero_grad()
        theirs.zero_grad()
        backward(params, step, sign)
        assert (params["c"].grad is None) == (step % 2 == 1)
        for k, p in params.items():
            theirs_params[k].grad = None if p.grad is None else torch.from_numpy(np.array(p.grad))
        ours.step()
        theirs.step()
        for k, p in params.items():
            assert isinstance(p.data, np.ndarray) and p.data.shape == SHAPES[k]
            np.testing.assert_allclose(p.data, theirs_params[k].detach().numpy(), rtol=0, atol=1e-10, err_msg=k)
    for k in SHAPES:  # the comparison was not between parameters that never moved
        assert np.abs(params[k].data - make_params()[k].data).max() > 1e-4, k


@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{n}-{sorted(k)}" for n, k in CASES])
def test_matches_torch_every_step(name, kwargs):
    params = make_params()
    theirs_params = to_torch(params)
    ours = getattr(optim, name)(params.values(), **kwargs)
    theirs = getattr(torch.optim, name)(theirs_params.values(), **kwargs)
    compare_every_step(params, ours, theirs_params, theirs, -1.0 if kwargs.get("maximize") else 1.0)


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_parameter_groups_match_torch(name):
    """Weights with decay and their own lr, the rest (biases, the 0-d scale) without; a group added later."""

    def groups(ps):
        return [{"params": [ps["W"], ps["U"]], "weight_decay": 0.1, "lr": 0.03}, {"params": [ps["b"], ps["c"]]}]

    kwargs = {"lr": 0.01, "momentum": 0.9} if name == "SGD" else {"lr": 0.01, "amsgrad": True}
    params = make_params()
    theirs_params = to_torch(params)
    ours = getattr(optim, name)(groups(params), **kwargs)
    theirs = getattr(torch.optim, name)(groups(theirs_params), **kwargs)
    ours.add_param_group({"params": params["s"], "lr": 0.05})
    theirs.add_param_group({"params": theirs_params["s"], "lr": 0.05})
    assert [len(g["params"]) for g in ours.param_groups] == [2, 2, 1]
    for g, t in zip(ours.param_groups, theirs.param_groups):
        assert {k: v for k, v in g.items() if k != "params"} == {k: t[k] for k in g if k != "params"}, (
            "every group holds all its hyperparameters, as torch's"
        )
    compare_every_step(params, ours, theirs_params, theirs)


def test_changing_a_groups_lr_takes_effect():
    params = make_params()
    opt = optim.SGD([{"params": [params["W"]]}, {"params": [params["b"]]}], lr=0.1)
    opt.param_groups[1]["lr"] = 0.0
    before = params["b"].data.copy()
    backward(params, 0)
    opt.step()
    np.testing.assert_array_equal(params["b"].data, before)
    assert not np.array_equal(params["W"].data, make_params()["W"].data)


@pytest.mark.parametrize("name, kwargs", [CASES[3], CASES[10], CASES[11]])
def test_float32_stays_float32_and_in_place(name, kwargs):
    params = make_params(np.float32)
    arrays = {k: p.data for k, p in params.items()}
    train(params, getattr(optim, name)(params.values(), **kwargs), range(3))
    for k, p in params.items():
        assert p.data is arrays[k] and p.data.dtype == np.float32
    assert not np.allclose(params["W"].data, make_params(np.float32)["W"].data)


def test_zero_grad_sets_none_and_step_skips_missing_grads():
    params = make_params()
    opt = optim.SGD(params.values(), lr=0.5, momentum=0.9)
    backward(params, 0)
    opt.zero_grad()
    assert all(p.grad is None for p in params.values())
    before = {k: p.data.copy() for k, p in params.items()}
    opt.step()
    for k, p in params.items():
        np.testing.assert_array_equal(p.data, before[k])
    assert opt.state == {}


def test_accepts_module_like_generator():
    params = make_params()
    opt = optim.Adam(p for p in params.values())
    assert opt.param_groups[0]["params"] == list(params.values())


def test_a_scalar_gradient_is_updated_as_an_array():
    """A 0-d parameter whose .grad was set as a NumPy scalar still gets its momentum buffer right."""
    p, q = tr.Tensor(np.array(1.0), requires_grad=True), torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    ours, theirs = optim.SGD([p], lr=0.1, momentum=0.9), torch.optim.SGD([q], lr=0.1, momentum=0.9)
    for g in (np.float64(2.0), np.float64(-1.0), np.float64(0.5)):
        p.grad, q.grad = g, torch.tensor(float(g), dtype=torch.float64)
        ours.step()
        theirs.step()
        assert isinstance(p.data, np.ndarray) and p.data.shape == ()
        assert p.data == pytest.approx(q.item(), abs=1e-12)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda ps: optim.SGD(ps, lr=-0.1), "SGD: Invalid learning rate: -0.1"),
        (lambda ps: optim.SGD(ps, lr=float("nan")), "Invalid learning rate: nan"),
        (lambda ps: optim.SGD(ps, lr=0.1, momentum=-1), "Invalid momentum value: -1"),
        (lambda ps: optim.SGD(ps, lr=0.1, weight_decay=-1e-3), "Invalid weight_decay value: -0.001"),
        (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
        (lambda ps: optim.SGD(ps, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov momentum requires"),
        (lambda ps: optim.Adam(ps, lr=-1), "Adam: Invalid learning rate: -1"),
        (lambda ps: optim.Adam(ps, betas=(0.9, 1.0)), r"Invalid beta parameter at index 1: 1.0"),
        (lambda ps: optim.Adam(ps, betas=(-0.1, 0.9)), r"Invalid beta parameter at index 0: -0.1"),
        (lambda ps: optim.Adam(ps, eps=-1e-8), "Invalid epsilon value: -1e-08"),
        (lambda ps: optim.Adam(ps, weight_decay=-1), "Invalid weight_decay value: -1"),
        (lambda ps: optim.SGD([], lr=0.1), "empty parameter list"),
        (lambda ps: optim.SGD(ps + ps[:1], lr=0.1), "more than once in a parameter group"),
        (lambda ps: optim.SGD([{"params": ps[:1]}, {"params": ps[:1]}]), "more than one parameter group"),
        (lambda ps: optim.SGD([{"params": ps[:1], "lr": -2}]), "Invalid learning rate: -2"),
        (lambda ps: optim.SGD([{"params": ps[:1], "betas": (0.9, 0.9)}]), r"unknown hyperparameters \['betas'\]"),
    ],
)
def test_bad_arguments_raise_value_error_with_torchs_message(make, message):
    with pytest.raises(ValueError, match=message):
        make(list(make_params().values()))


def test_non_tensor_params_raise_type_error():
    with pytest.raises(TypeError, match="iterable of Tensors or dicts .* one Tensor"):
        optim.SGD(make_params()["W"], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[1\] is a ndarray"):
        optim.Adam([make_params()["W"], np.zeros(3)])
    with pytest.raises(TypeError, match="a dict with a 'params' key"):
        optim.Adam([{"lr": 0.1}])


@pytest.mark.parametrize("name, kwargs", [CASES[5], CASES[11]])
def test_state_dict_resumes_exactly_through_save_and_load(name, kwargs, tmp_path):
    """Training 6 steps == 3 steps, save params + optimiser state (two groups), load into fresh objects, 3 more."""

    def groups(ps):
        return [{"params": [ps["W"], ps["U"]], "lr": 0.03}, {"params": [ps["b"], ps["c"], ps["s"]], "weight_decay": 0}]

    straight = make_params()
    train(straight, getattr(optim, name)(groups(straight), **kwargs), range(6))

    first = make_params()
    opt = getattr(optim, name)(groups(first), **kwargs)
    train(first, opt, range(3))
    tr.save({"params": dict(first), "optim": opt.state_dict()}, tmp_path / "ckpt.npz")

    ckpt = tr.load(tmp_path / "ckpt.npz")
    resumed = make_params()
    for k, p in resumed.items():
        p.data = ckpt["params"][k]
    opt = getattr(optim, name)(groups(resumed), lr=123.0)
    opt.load_state_dict(ckpt["optim"])
    assert [g["lr"] for g in opt.param_groups] == [0.03, kwargs["lr"]]
    assert opt.param_groups[1]["params"][0] is resumed["b"]
    train(resumed, opt, range(3, 6))
    for k in SHAPES:
        np.testing.assert_array_equal(resumed[k].data, straight[k].data, err_msg=k)


def test_state_dict_has_torchs_layout_and_loads_into_torch():
    params = make_params()
    opt = optim.Adam([{"params": [params["W"]]}, {"params": [params["b"]], "lr": 0.5}], lr=0.1)
    backward(params, 0)
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][1]["params"] == [1] and sd["param_groups"][1]["lr"] == 0.5
    theirs_params = to_torch(params)
    theirs = torch.optim.Adam([{"params": [theirs_params["W"]]}, {"params": [theirs_params["b"]]}], lr=0.2)
    state = {int(i): {k: torch.tensor(v, dtype=torch.float64) for k, v in s.items()} for i, s in sd["state"].items()}
    theirs.load_state_dict({"state": state, "param_groups": sd["param_groups"]})
    assert theirs.param_groups[1]["lr"] == 0.5


def test_load_state_dict_refuses_bad_hyperparameters_and_mismatched_state():
    params = make_params()
    opt = optim.SGD(params.values(), lr=0.1, momentum=0.9)
    backward(params, 0)
    opt.step()
    sd = opt.state_dict()
    good = {"state": {}, "param_groups": sd["param_groups"]}

    def with_group(**changes):
        return {"state": {}, "param_groups": [{**sd["param_groups"][0], **changes}]}

    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        opt.load_state_dict(with_group(lr=-1))
    with pytest.raises(ValueError, match="Invalid momentum value: -0.5"):
        opt.load_state_dict(with_group(momentum=-0.5))
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        opt.load_state_dict(with_group(momentum=0.0, nesterov=True))
    assert opt.param_groups[0]["lr"] == 0.1  # nothing changed by the refused loads
    adam = optim.Adam(params.values())
    adam_group = adam.state_dict()["param_groups"][0]
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0: 1.0"):
        adam.load_state_dict({"state": {}, "param_groups": [{**adam_group, "betas": [1.0, 0.0]}]})
    with pytest.raises(ValueError, match="Invalid epsilon value: -1"):
        adam.load_state_dict({"state": {}, "param_groups": [{**adam_group, "eps": -1}]})
    with pytest.raises(ValueError, match="momentum_buffer of parameter 0 has shape"):
        optim.SGD([params["b"], params["W"], *list(params.values())[2:]], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="group 0 has 5 parameters in the state dict, 1 in the optimizer"):
        optim.SGD([params["W"]], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="2 parameter groups, the optimizer 1"):
        opt.load_state_dict({"state": {}, "param_groups": sd["param_groups"] * 2})
    with pytest.raises(ValueError, match=r"missing keys \['param_groups'\]"):
        opt.load_state_dict({"state": {}})
    opt.load_state_dict(good)
    assert opt.state == {}
