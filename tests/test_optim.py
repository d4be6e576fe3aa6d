"""SGD and Adam against torch.optim, step by step, on the same gradients."""

import numpy as np
import pytest
import torch

import tinyrnn as tr
from tinyrnn import optim

SHAPES = {"W": (5, 3), "b": (5,), "U": (2, 5), "c": (2,)}
CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.02, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.1}),
]


def make_params(dtype=np.float64) -> dict:
    rng = np.random.default_rng(0)
    return {k: tr.Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for k, s in SHAPES.items()}


def backward(p: dict, step: int) -> None:
    """A small tanh layer with a quadratic loss; `c` gets no gradient on odd steps."""
    x = tr.Tensor(np.linspace(-1.0, 1.0, 12).reshape(4, 3).astype(p["W"].dtype))
    y = (x @ p["W"].T + p["b"]).tanh() @ p["U"].T
    if step % 2 == 0:
        y = y + p["c"]
    ((y - 0.5) ** 2).mean().backward()


def train(params: dict, opt, steps: range) -> None:
    for step in steps:
        opt.zero_grad()
        backward(params, step)
        opt.step()


@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{n}-{sorted(k)}" for n, k in CASES])
def test_matches_torch_every_step(name, kwargs):
    params = make_params()
    ours = getattr(optim, name)(params.values(), **kwargs)
    theirs_params = {k: torch.tensor(p.data.copy(), requires_grad=True) for k, p in params.items()}
    theirs = getattr(torch.optim, name)(theirs_params.values(), **kwargs)
    for step in range(10):
        ours.zero_grad()
        theirs.zero_grad()
        backward(params, step)
        assert (params["c"].grad is None) == (step % 2 == 1)
        for k, p in params.items():
            theirs_params[k].grad = None if p.grad is None else torch.from_numpy(p.grad.copy())
        ours.step()
        theirs.step()
        for k, p in params.items():
            np.testing.assert_allclose(p.data, theirs_params[k].detach().numpy(), rtol=0, atol=1e-10, err_msg=k)
    moved = np.abs(params["W"].data - make_params()["W"].data).max()
    assert moved > 1e-3  # the comparison above was not between two parameter sets that never moved


@pytest.mark.parametrize("name, kwargs", CASES[2:3] + CASES[4:])
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
    assert opt.params == list(params.values())


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda ps: optim.SGD(ps, lr=-0.1), "SGD: lr must be >= 0, got -0.1"),
        (lambda ps: optim.SGD(ps, lr=0.1, momentum=-1), "momentum must be >= 0"),
        (lambda ps: optim.SGD(ps, lr=0.1, weight_decay=-1e-3), "weight_decay must be >= 0"),
        (lambda ps: optim.Adam(ps, lr=-1), "Adam: lr must be >= 0"),
        (lambda ps: optim.Adam(ps, betas=(0.9, 1.0)), r"betas must be two numbers in \[0, 1\), got \(0.9, 1.0\)"),
        (lambda ps: optim.Adam(ps, eps=-1e-8), "eps must be >= 0"),
        (lambda ps: optim.SGD([], lr=0.1), "empty parameter list"),
        (lambda ps: optim.SGD(ps + ps[:1], lr=0.1), "more than once"),
    ],
)
def test_bad_arguments_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make(list(make_params().values()))


def test_non_tensor_params_raise_type_error():
    with pytest.raises(TypeError, match="one Tensor"):
        optim.SGD(make_params()["W"], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[1\] is a ndarray"):
        optim.Adam([make_params()["W"], np.zeros(3)])


@pytest.mark.parametrize("name, kwargs", [CASES[2], CASES[4]])
def test_state_dict_resumes_exactly_through_save_and_load(name, kwargs, tmp_path):
    """Training 6 steps == 3 steps, save params + optimiser state, load into fresh objects, 3 more steps."""
    straight = make_params()
    train(straight, getattr(optim, name)(straight.values(), **kwargs), range(6))

    first = make_params()
    opt = getattr(optim, name)(first.values(), **kwargs)
    train(first, opt, range(3))
    tr.save({"params": {k: p for k, p in first.items()}, "optim": opt.state_dict()}, tmp_path / "ckpt.npz")

    ckpt = tr.load(tmp_path / "ckpt.npz")
    resumed = make_params()
    for k, p in resumed.items():
        p.data = ckpt["params"][k]
    opt = getattr(optim, name)(resumed.values(), lr=123.0)
    opt.load_state_dict(ckpt["optim"])
    assert opt.lr == kwargs["lr"]
    train(resumed, opt, range(3, 6))
    for k in SHAPES:
        np.testing.assert_array_equal(resumed[k].data, straight[k].data, err_msg=k)


def test_load_state_dict_rejects_mismatched_state():
    params = make_params()
    opt = optim.SGD(params.values(), lr=0.1, momentum=0.9)
    backward(params, 0)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="momentum_buffer of parameter 0 has shape"):
        optim.SGD([params["b"], params["W"]], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="state for parameter 1, but there are 1"):
        optim.SGD([params["W"]], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"missing keys \['momentum'\]"):
        opt.load_state_dict({"lr": 0.1, "weight_decay": 0.0, "state": {}})
