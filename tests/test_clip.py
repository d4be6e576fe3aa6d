"""clip_grad_norm_ and clip_grad_value_ against torch.nn.utils, on the same gradients."""

import math

import numpy as np
import pytest
import torch

import tinyrnn as tr
from tinyrnn.nn.utils import clip_grad_norm_, clip_grad_value_

SHAPES = [(4, 3), (4,), (2, 4), (2,)]


def make_pair(scale: float = 1.0, none_at=(3,)):
    """tinyrnn and torch parameters with identical float64 gradients; params in none_at have grad None."""
    rng = np.random.default_rng(1)
    ours, theirs = [], []
    for i, shape in enumerate(SHAPES):
        p, q = tr.Tensor(np.zeros(shape), requires_grad=True), torch.zeros(shape, dtype=torch.float64)
        if i not in none_at:
            p.grad = scale * rng.standard_normal(shape)
            q.grad = torch.from_numpy(p.grad.copy())
        ours.append(p)
        theirs.append(q)
    return ours, theirs


def assert_same_grads(ours, theirs):
    for p, q in zip(ours, theirs):
        assert (p.grad is None) == (q.grad is None)
        if p.grad is not None:
            np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])  # 1e6: no clipping happens
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = make_pair()
    before = [None if p.grad is None else p.grad.copy() for p in ours]
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, float)
    assert total == pytest.approx(expected.item(), rel=1e-12)
    assert_same_grads(ours, theirs)
    if max_norm == 1e6:
        for p, b in zip(ours, before):
            assert (p.grad is None and b is None) or np.array_equal(p.grad, b)
    else:
        assert clip_grad_norm_(ours, max_norm, norm_type=norm_type) == pytest.approx(max_norm, rel=1e-5)


def test_clip_grad_norm_by_hand():
    """Independent of torch: two gradients (3, 4) and (0,) have joint 2-norm 5; max_norm 1 scales by 1/(5+1e-6)."""
    a, b = tr.Tensor(np.zeros(2), requires_grad=True), tr.Tensor(np.zeros(1), requires_grad=True)
    a.grad, b.grad = np.array([3.0, 4.0]), np.array([0.0])
    assert clip_grad_norm_([a, b], 1.0) == 5.0
    np.testing.assert_allclose(a.grad, [3 / (5 + 1e-6), 4 / (5 + 1e-6)], rtol=1e-15)


def test_clip_grad_norm_single_tensor_all_none_and_float32():
    ours, theirs = make_pair(scale=10.0, none_at=())
    assert clip_grad_norm_(ours[0], 1.0) == pytest.approx(torch.nn.utils.clip_grad_norm_(theirs[0], 1.0).item())
    assert_same_grads(ours, theirs)
    assert clip_grad_norm_([tr.Tensor(np.zeros(3), requires_grad=True)], 1.0) == 0.0
    p = tr.Tensor(np.zeros(3, np.float32), requires_grad=True)
    p.grad = np.full(3, 10.0, np.float32)
    clip_grad_norm_([p], 1.0)
    assert p.grad.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(p.grad), 1.0, rtol=1e-5)


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply")  # inf * 0, as in torch
def test_clip_grad_norm_nan_and_inf_like_torch():
    for bad in (np.nan, np.inf):
        ours, theirs = make_pair()
        ours[0].grad[0, 0] = bad
        theirs[0].grad[0, 0] = bad
        total = clip_grad_norm_(ours, 1.0)
        expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0).item()
        assert (math.isnan(total) and math.isnan(expected)) or total == expected
        for p, q in zip(ours, theirs):
            if p.grad is not None:
                np.testing.assert_array_equal(p.grad, q.grad.numpy())


@pytest.mark.parametrize("clip_value", [0.3, 100.0])  # 100: nothing to clip
def test_clip_grad_value_matches_torch(clip_value):
    ours, theirs = make_pair(scale=2.0)
    assert clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    assert_same_grads(ours, theirs)
    assert max(np.abs(p.grad).max() for p in ours if p.grad is not None) <= clip_value
    if clip_value == 0.3:
        assert any((np.abs(p.grad) == clip_value).any() for p in ours if p.grad is not None)


def test_bad_arguments():
    ours, _ = make_pair()
    with pytest.raises(ValueError, match="max_norm must be >= 0, got -1"):
        clip_grad_norm_(ours, -1)
    with pytest.raises(ValueError, match="norm_type must be > 0"):
        clip_grad_norm_(ours, 1.0, norm_type=0)
    with pytest.raises(ValueError, match="norm_type must be a number or 'inf', got 'two'"):
        clip_grad_norm_(ours, 1.0, norm_type="two")
    with pytest.raises(ValueError, match="clip_value must be >= 0, got -0.5"):
        clip_grad_value_(ours, -0.5)


@pytest.mark.parametrize("norm_type", ["inf", float("inf"), "2", 2])
def test_clip_grad_norm_reads_norm_type_as_torch_does(norm_type):
    ours, theirs = make_pair(scale=3.0)
    total = clip_grad_norm_(ours, 2, norm_type=norm_type)
    assert total == pytest.approx(torch.nn.utils.clip_grad_norm_(theirs, 2, norm_type=norm_type).item(), rel=1e-12)
    assert_same_grads(ours, theirs)


def test_clip_grad_norm_error_if_nonfinite():
    ours, theirs = make_pair()
    ours[0].grad[0, 0] = theirs[0].grad[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is inf"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("clip", ["norm", "value"])
def test_clip_on_0d_1d_and_nd_parameters_matches_torch(clip):
    """A 0-d parameter (a micrograd-style scalar) whose grad is a NumPy scalar or a 0-d array is clipped too."""
    shapes, values = [(), (), (3,), (2, 3)], [np.float64(4.0), np.array(-5.0), np.arange(3.0), np.ones((2, 3))]
    ours = [tr.Tensor(np.zeros(s), requires_grad=True) for s in shapes]
    theirs = [torch.zeros(s, dtype=torch.float64) for s in shapes]
    for p, q, v in zip(ours, theirs, values):
        p.grad, q.grad = v, torch.tensor(np.array(v))
    if clip == "norm":
        assert clip_grad_norm_(ours, 1.0) == pytest.approx(torch.nn.utils.clip_grad_norm_(theirs, 1.0).item())
    else:
        clip_grad_value_(ours, 0.5)
        torch.nn.utils.clip_grad_value_(theirs, 0.5)
    for p, q in zip(ours, theirs):
        assert isinstance(p.grad, np.ndarray) and p.grad.shape == tuple(q.shape)
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12)
    assert abs(ours[0].grad) < 4.0  # the scalar was changed, not a copy of it
