"""The gradient checker itself: right on known derivatives, and shown to FAIL on wrong VJPs."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings

import tinyrnn as tr
from tinyrnn.tensor import make
from tinyrnn.testing.strategies import arrays, floats, shapes

pytestmark = pytest.mark.filterwarnings("error")
RNG = np.random.default_rng(0)


def tanh_with_vjp(vjp_of_y):
    """tanh whose VJP is g * vjp_of_y(y): 1 - y^2 is right, anything else is a planted bug."""

    def fn(x):
        y = np.tanh(x.data)
        return make(y, (x,), lambda g: (g * vjp_of_y(y),))

    return fn


RIGHT_TANH = tanh_with_vjp(lambda y: 1 - y * y)
WRONG_TANH = tanh_with_vjp(lambda y: 1 - y)  # the classic slip: forgot to square


@settings(max_examples=20)
@given(x=arrays(shapes(max_dims=2), floats(-2, 2)), w=arrays((), floats(-2, 2)))
def test_numerical_grad_matches_closed_forms(x, w) -> None:
    """d/dx sum(x^3) = 3x^2; d/dx sum(tanh(w x)) = w (1 - tanh^2(w x)); d/dw of the same = sum(x (1 - tanh^2))."""
    (cube,) = tr.numerical_grad(lambda t: (t * t * t).sum(), x)
    np.testing.assert_allclose(cube, 3 * x**2, rtol=1e-8, atol=1e-8)  # error O(eps^2) = 1e-12 here
    gx, gw = tr.numerical_grad(lambda t, s: (t * s).tanh().sum(), x, w)
    sech2 = 1 - np.tanh(w * x) ** 2
    np.testing.assert_allclose(gx, w * sech2, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(gw, np.sum(x * sech2), rtol=1e-8, atol=1e-8)


def test_numerical_grad_restores_the_inputs_and_handles_views() -> None:
    base = RNG.standard_normal((3, 4))
    x = base.T  # not contiguous: a naive reshape(-1) would perturb a copy and return zeros
    (grad,) = tr.numerical_grad(lambda t: (t**3).sum(), x)
    np.testing.assert_allclose(grad, 3 * x**2, rtol=1e-8)
    t = tr.Tensor(base.copy())
    tr.numerical_grad(lambda s: s.exp().sum(), t)
    np.testing.assert_array_equal(t.data, base)


@pytest.mark.parametrize(
    "fn, shapes_",
    [
        (RIGHT_TANH, [(2, 3)]),
        (lambda a, b: (a @ b).tanh(), [(2, 3), (3, 4)]),
        (lambda a, b: (a * b).sigmoid().sum(axis=0), [(3, 1), (4,)]),
        (lambda x: tr.functional.cross_entropy(x, np.array([0, 2])), [(2, 3)]),
        (lambda x: x.log_softmax(0)[np.array([1, 1, 0])], [(3,)]),
    ],
)
def test_gradcheck_passes_on_correct_ops(fn, shapes_) -> None:
    assert tr.gradcheck(fn, *(RNG.standard_normal(s) for s in shapes_)) is True


def test_gradcheck_fails_on_a_wrong_vjp_and_says_where() -> None:
    x = np.array([[0.3, -1.2, 0.8], [1.5, -0.1, 2.0]])
    with pytest.raises(tr.GradcheckError) as info:
        tr.gradcheck(WRONG_TANH, x)
    message = str(info.value)
    found = re.search(r"input (\d+).*index \((\d+), (\d+)\): analytic (\S+) vs numeric (\S+)", message)
    assert found, message
    i, row, col = (int(k) for k in found.groups()[:3])
    analytic, numeric = float(found.group(4)), float(found.group(5))
    y = np.tanh(x[row, col])
    assert i == 0
    # whatever upstream weight w gradcheck used: analytic = w (1 - y) and numeric = w (1 - y^2)
    assert analytic / numeric == pytest.approx(1 / (1 + y), rel=1e-6)


def test_gradcheck_names_the_second_input_when_only_its_gradient_is_wrong() -> None:
    def mul_wrong_b(a, b):
        return make(a.data * b.data, (a, b), lambda g: (g * b.data, g * b.data))  # should be g * a

    with pytest.raises(tr.GradcheckError, match=r"input 1 \(shape \(3,\)\), index \(\d,\)"):
        tr.gradcheck(mul_wrong_b, RNG.standard_normal(3), RNG.standard_normal(3))


def test_gradcheck_fails_on_nan_and_on_a_missing_gradient() -> None:
    nan_vjp = tanh_with_vjp(lambda y: np.full_like(y, np.nan))
    with pytest.raises(tr.GradcheckError, match="analytic nan"):
        tr.gradcheck(nan_vjp, RNG.standard_normal(3))

    def drops_b(a, b):  # b changes the output but its VJP returns no gradient
        return make(a.data + b.data, (a, b), lambda g: (g, None))

    with pytest.raises(tr.GradcheckError, match="input 1"):
        tr.gradcheck(drops_b, RNG.standard_normal(2), RNG.standard_normal(2))


def test_gradcheck_catches_a_small_error_that_a_loose_tolerance_would_miss() -> None:
    """A VJP off by 0.1%: far above float64 finite-difference error (~1e-9), so caught."""
    slightly_off = tanh_with_vjp(lambda y: (1 - y * y) * 1.001)
    with pytest.raises(tr.GradcheckError):
        tr.gradcheck(slightly_off, RNG.standard_normal((2, 2)), atol=1e-8, rtol=1e-6)


def test_float32_inputs_are_refused() -> None:
    x32 = tr.Tensor(np.ones(3, np.float32))
    with pytest.raises(TypeError, match=r"float64.*input 0: float32"):
        tr.gradcheck(RIGHT_TANH, x32)
    with pytest.raises(TypeError, match=r"float64.*input 1: float32"):
        tr.numerical_grad(lambda a, b: a + b, np.ones(3), x32)
