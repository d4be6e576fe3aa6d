"""Losses and helpers beyond what the op factory checks: stability at huge logits,
argument errors, dtypes, dropout's statistics. (Their values and gradients on
ordinary inputs are rows of the factory in test_ops.py.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinyrnn as tr
from tinyrnn import functional as F
from tinyrnn.testing.checks import TORCH_TOL
from tinyrnn.testing.strategies import upstream

pytestmark = pytest.mark.filterwarnings("error")

# Logits at +-1e4 next to ordinary ones: exp(1e4) overflows float64 (max ~1.8e308 = e^709.8).
HUGE = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, 3.0], [0.5, -1e4, 1e4], [-2.0, 1.0, 0.25]])
CLASSES = np.array([1, 0, 2, 1, 0])  # picks -1e4 next to 1e4 (a loss of 2e4), ties, ordinary rows
PROBS = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.3], [0.0, 1.0, 1.0], [0.2, 1.0, 0.0], [1.0, 0.0, 0.7]])

STABLE = {
    "sigmoid": (tr.sigmoid, torch.sigmoid),
    "softplus": (tr.softplus, TF.softplus),
    "softmax": (lambda x: tr.softmax(x, axis=1), lambda x: torch.softmax(x, 1)),
    "log_softmax": (lambda x: tr.log_softmax(x, axis=1), lambda x: torch.log_softmax(x, 1)),
    "cross_entropy": (lambda x: F.cross_entropy(x, CLASSES, reduction="none"),
                      lambda x: TF.cross_entropy(x, torch.from_numpy(CLASSES), reduction="none")),
    "cross_entropy_mean": (lambda x: F.cross_entropy(x, CLASSES),
                           lambda x: TF.cross_entropy(x, torch.from_numpy(CLASSES))),
    "bce_with_logits": (lambda x: F.binary_cross_entropy_with_logits(x, PROBS, reduction="none"),
                        lambda x: TF.binary_cross_entropy_with_logits(x, torch.from_numpy(PROBS), reduction="none")),
}  # fmt: skip


@pytest.mark.parametrize("name", STABLE)
def test_huge_logits_give_torchs_finite_values_and_gradients(name: str) -> None:
    """No overflow, no invalid value, no division by zero: each would raise here. Underflow
    (exp(-2e4) = 0) is the right answer and stays allowed."""
    ours, theirs = STABLE[name]
    x = tr.Tensor(HUGE.copy(), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        y = ours(x)
        g = upstream(y.shape, 0)
        y.backward(g)
    t_x = torch.tensor(HUGE, requires_grad=True)
    t_y = theirs(t_x)
    t_y.backward(torch.from_numpy(g))
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(y.data, t_y.detach().numpy(), rtol=TORCH_TOL, atol=TORCH_TOL)
    np.testing.assert_allclose(x.grad, t_x.grad.numpy(), rtol=TORCH_TOL, atol=TORCH_TOL)


@pytest.mark.parametrize("name", STABLE)
def test_huge_logits_stay_finite_in_float32(name: str) -> None:
    x = tr.Tensor(HUGE.astype(np.float32), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        y = STABLE[name][0](x)
        y.backward(np.ones(y.shape, np.float32))
    assert y.dtype == np.float32 and np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))


def test_sigmoid_and_softplus_limits_at_huge_logits() -> None:
    x = np.array([-1e4, 1e4])
    np.testing.assert_array_equal(tr.sigmoid(tr.Tensor(x)).data, [0.0, 1.0])
    np.testing.assert_array_equal(tr.softplus(tr.Tensor(x)).data, [0.0, 1e4])
    np.testing.assert_allclose(F.cross_entropy(tr.Tensor(HUGE[:1]), np.array([1])).item(), 2e4, rtol=1e-15)


# ---- cross_entropy -----------------------------------------------------------------------


def test_cross_entropy_rejects_bad_targets() -> None:
    logits = tr.Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"logits \(2, 3\) need targets of shape \(2,\), got \(3,\)"):
        F.cross_entropy(logits, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"target 3 is outside \[0, 3\)"):
        F.cross_entropy(logits, np.array([0, 3]))
    with pytest.raises(TypeError, match="integer class indices"):
        F.cross_entropy(logits, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(logits, np.array([0, 1]), reduction="avg")


def test_cross_entropy_ignored_targets_get_no_gradient_and_no_count() -> None:
    logits = np.random.default_rng(1).standard_normal((4, 3))
    x = tr.Tensor(logits.copy(), requires_grad=True)
    F.cross_entropy(x, np.array([2, -100, 0, -100])).backward()
    np.testing.assert_array_equal(x.grad[[1, 3]], 0.0)
    kept = tr.Tensor(logits[[0, 2]].copy(), requires_grad=True)
    F.cross_entropy(kept, np.array([2, 0])).backward()  # the mean is over the 2 kept rows only
    np.testing.assert_allclose(x.grad[[0, 2]], kept.grad, rtol=1e-15)


@pytest.mark.parametrize("as_tensor", [False, True], ids=["array", "Tensor"])
def test_cross_entropy_gradient_is_of_the_targets_at_the_forward(as_tensor) -> None:
    """A caller may refill its targets buffer before backward() (a reused batch array):
    the gradient must still be softmax - onehot of the targets the loss was computed with."""
    logits = np.random.default_rng(2).standard_normal((3, 4))
    buffer = np.array([1, 2, 3])
    x = tr.Tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, tr.Tensor(buffer) if as_tensor else buffer, reduction="sum")
    buffer[:] = 0
    loss.backward()
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad, p - np.eye(4)[[1, 2, 3]], rtol=1e-12, atol=1e-15)


CE_SHAPES = [((5, 4), (5,)), ((3, 4, 2, 2), (3, 2, 2)), ((4,), ())]


@pytest.mark.parametrize("shapes", CE_SHAPES, ids=["N,C", "N,C,d1,d2", "C"])
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_weight_and_label_smoothing_match_torch(shapes, weighted, label_smoothing, reduction) -> None:
    """Values and gradients to 1e-12 in float64, an ignored target included (except for the lone 0-d target)."""
    rng = np.random.default_rng(len(shapes[0]))
    z, t = rng.standard_normal(shapes[0]), rng.integers(0, 4, shapes[1])
    if t.ndim:
        t.flat[0] = -100
    w = rng.uniform(0.1, 2.0, 4) if weighted else None
    x = tr.Tensor(z.copy(), requires_grad=True)
    loss = F.cross_entropy(x, t, reduction=reduction, weight=w, label_smoothing=label_smoothing)
    g = rng.standard_normal(loss.shape)
    loss.backward(g)
    xt = torch.tensor(z, requires_grad=True)
    kw = {"weight": None if w is None else torch.from_numpy(w), "label_smoothing": label_smoothing}
    expected = TF.cross_entropy(xt, torch.from_numpy(t), reduction=reduction, **kw)
    expected.backward(torch.from_numpy(np.asarray(g)))
    np.testing.assert_allclose(loss.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_cross_entropy_weight_and_label_smoothing_pass_gradcheck() -> None:
    w, t = np.array([0.5, 2.0, 1.0]), np.array([[2, -100], [0, 1]])
    for reduction in ("mean", "none"):
        tr.gradcheck(
            lambda x: F.cross_entropy(x, t, reduction=reduction, weight=w, label_smoothing=0.2),
            np.random.default_rng(2).standard_normal((2, 3, 2)),
        )


@pytest.mark.parametrize("kw", [{}, {"weight": np.array([1.0, 2.0, 3.0])}, {"label_smoothing": 0.1}])
def test_cross_entropy_mean_over_no_targets_is_nan_with_zero_gradient_as_torch(kw) -> None:
    tkw = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    for z, t in [(np.ones((3, 3)), np.full(3, -100)), (np.ones((0, 3)), np.zeros(0, np.int64))]:
        x, xt = tr.Tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
        loss, expected = F.cross_entropy(x, t, **kw), TF.cross_entropy(xt, torch.from_numpy(t), **tkw)
        assert np.isnan(loss.item()) and np.isnan(expected.item())
        loss.backward()
        expected.backward()
        assert x.grad.shape == z.shape and not x.grad.any() and not xt.grad.any()
        for reduction, value in (("sum", 0.0), ("none", np.zeros(len(t)))):
            np.testing.assert_array_equal(F.cross_entropy(x, t, reduction=reduction, **kw).data, value)


def test_cross_entropy_keeps_float32_with_weight_and_smoothing() -> None:
    x = tr.Tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    loss = F.cross_entropy(x, np.array([0, 2]), weight=np.array([1.0, 2.0, 3.0]), label_smoothing=0.1)
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32


def test_cross_entropy_refuses_bad_arguments_clearly() -> None:
    with pytest.raises(ValueError, match=r"logits must have a class axis, shape \(C,\), \(N, C\)"):
        F.cross_entropy(tr.Tensor(1.0), np.array(0))
    with pytest.raises(ValueError, match=r"weight must have one entry per class, \(4,\), got \(3,\)"):
        F.cross_entropy(np.zeros((2, 4)), np.array([0, 1]), weight=np.ones(3))
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0, got 1.5"):
        F.cross_entropy(np.zeros((2, 4)), np.array([0, 1]), label_smoothing=1.5)


# ---- binary_cross_entropy_with_logits -------------------------------------------------------


def test_bce_checks_shapes_and_keeps_the_logits_dtype() -> None:
    with pytest.raises(ValueError, match=r"logits \(3,\) and targets \(2,\) differ"):
        F.binary_cross_entropy_with_logits(tr.Tensor(np.zeros(3)), np.zeros(2))
    logits = tr.Tensor(np.array([0.5, -1.0], np.float32), requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(logits, np.array([0.0, 1.0]))  # float64 labels
    loss.backward()
    assert loss.dtype == np.float32 and logits.grad.dtype == np.float32


# ---- one_hot ---------------------------------------------------------------------------------


def test_one_hot_dtype_shape_and_range() -> None:
    y = F.one_hot(np.array([[2, 0], [1, 1]]), 3, dtype=np.float32)
    assert y.dtype == np.float32 and y.shape == (2, 2, 3) and not y.requires_grad
    np.testing.assert_array_equal(y.data[0, 0], [0, 0, 1])
    assert F.one_hot(np.zeros(0, np.int64), 4).shape == (0, 4)
    with pytest.raises(ValueError, match=r"\[0, 3\).*-1\.\.2"):
        F.one_hot(np.array([-1, 2]), 3)
    with pytest.raises(ValueError, match=r"\[0, 3\).*0\.\.3"):
        F.one_hot(np.array([0, 3]), 3)
    np.testing.assert_array_equal(F.one_hot(tr.Tensor(np.array(1)), 3).data, [0, 1, 0])  # a 0-d index


# ---- dropout ---------------------------------------------------------------------------------


def test_dropout_statistics() -> None:
    """200k entries: the kept fraction is within 0.01 (~9 standard deviations) of 1 - p, and
    inverted scaling keeps the mean; the gradient is exactly the mask."""
    x = tr.Tensor(np.ones(200_000), requires_grad=True)
    y = F.dropout(x, 0.3, rng=np.random.default_rng(5))
    kept = y.data != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y.data[kept], 1 / 0.7, rtol=1e-15)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)


def test_dropout_off_is_the_identity_and_bad_p_is_refused() -> None:
    x = tr.Tensor(np.ones(3), requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x and F.dropout(x, 0.0) is x
    for p in (-0.1, 1.5, True, "0.5"):
        with pytest.raises(ValueError, match=r"a number in range \[0, 1\]"):
            F.dropout(x, p)
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, np.zeros(3))  # torch: p = 1 zeroes everything


def test_dropout_follows_manual_seed() -> None:
    x = tr.Tensor(np.ones((4, 5)))
    tr.manual_seed(3)
    first = F.dropout(x, 0.5).data
    tr.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x, 0.5).data, first)
    assert not np.array_equal(F.dropout(x, 0.5).data, first)  # the stream moved on: 2^-20 chance of equal
