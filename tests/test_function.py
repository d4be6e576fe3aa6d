"""tr.Function: a user's op written as forward + backward on NumPy arrays, checked with the kit."""

from __future__ import annotations

import numpy as np
import pytest

import tinyrnn as tr
from tinyrnn.testing import CheckError, check_op
from tinyrnn.viz import op_name

RNG = np.random.default_rng(0)


class Cube(tr.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x**2 * g


class ScaledMatmul(tr.Function):
    """(a @ b) * scale, scale a plain number: its gradient must be None."""

    @staticmethod
    def forward(ctx, a, b, scale):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return (a @ b) * scale

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g @ b.T * ctx.scale if ctx.needs_input_grad[0] else None
        gb = a.T @ g * ctx.scale if ctx.needs_input_grad[1] else None
        return ga, gb, None


class SumAndProduct(tr.Function):
    """Two outputs: a + b and a * b."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a + b, a * b

    @staticmethod
    def backward(ctx, g_sum, g_prod):
        a, b = ctx.saved_tensors
        return g_sum + g_prod * b, g_sum + g_prod * a


def test_forward_gets_arrays_and_backward_reaches_the_inputs():
    seen = []

    class Spy(tr.Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(type(x))
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    x = tr.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    y = Spy.apply(x)
    assert seen == [np.ndarray] and isinstance(y, tr.Tensor)
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 20.0])


def test_user_ops_pass_the_kit():
    check_op(Cube.apply, RNG.standard_normal((2, 3)), reference=lambda x: x**3)
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 4))
    check_op(lambda a, b: ScaledMatmul.apply(a, b, 0.5), a, b, reference=lambda a, b: 0.5 * a @ b)
    check_op(SumAndProduct.apply, a, RNG.standard_normal((2, 3)))


def test_needs_input_grad_and_none_gradients():
    a = tr.Tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    b = tr.Tensor(RNG.standard_normal((3, 2)))  # a constant: backward is told so and returns None
    ScaledMatmul.apply(a, b, 2.0).sum().backward()
    np.testing.assert_allclose(a.grad, np.ones((2, 2)) @ b.data.T * 2.0)
    assert b.grad is None
    with tr.no_grad():
        assert not ScaledMatmul.apply(a, b, 2.0).requires_grad


def test_an_unused_output_gets_zeros():
    a, b = (tr.Tensor(RNG.standard_normal(3), requires_grad=True) for _ in range(2))
    _, prod = SumAndProduct.apply(a, b)
    prod.sum().backward()
    np.testing.assert_allclose(a.grad, b.data)


def test_nodes_are_named_after_the_class():
    x = tr.Tensor(np.ones(2), requires_grad=True)
    assert op_name(Cube.apply(x)) == "Cube"
    s, p = SumAndProduct.apply(x, x)
    assert (op_name(s), op_name(p), op_name(s._parents[0])) == ("SumAndProduct[0]", "SumAndProduct[1]", "SumAndProduct")
    assert 'label="Cube\\n(2,)"' in tr.to_dot(Cube.apply(x))


@pytest.mark.parametrize(
    "grad, message",
    [
        (
            lambda x, g: g[:1],
            r"Bad\.backward: the gradient of input 0 must match the input, shape \(2,\) dtype "
            r"float64; got shape \(1,\) dtype float64",
        ),  # fmt: skip
        (lambda x, g: g.astype(np.float32), r"input 0 .*got shape \(2,\) dtype float32"),
        (lambda x, g: (g, g), r"Bad\.backward returned 2 gradients, expected 1 \(one per input\)"),
    ],
)
def test_a_wrong_gradient_names_the_op_and_the_input(grad, message):
    class Bad(tr.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            return grad(ctx.saved_tensors[0], g)

    with pytest.raises(ValueError, match=message):
        Bad.apply(tr.Tensor(np.ones(2), requires_grad=True)).sum().backward()


def test_a_gradient_for_a_non_tensor_input_is_refused():
    class Bad(tr.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * 2, g

    with pytest.raises(ValueError, match=r"Bad\.backward: input 1 is not a Tensor, its gradient must be None"):
        Bad.apply(tr.Tensor(np.ones(2), requires_grad=True), 2.0).sum().backward()


def test_a_wrong_vjp_in_a_function_is_caught_by_the_kit():
    class WrongCube(Cube):
        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * g  # forgot the square

    with pytest.raises(CheckError, match=r"check_op backward: input 0, index \(\d+,\): analytic .* vs numeric"):
        check_op(WrongCube.apply, np.array([0.5, 2.0]))


def test_parameters_are_labelled_with_their_names():
    lstm = tr.nn.LSTM(2, 3, fused=False)
    out, _ = lstm(np.ones((2, 1, 2)))
    dot = tr.to_dot(out, lstm)
    assert all(f'label="{name}\\n' in dot for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"))
    assert "param\\n" not in dot and "param\\n" in tr.to_dot(out)
    fused = tr.nn.GRU(2, 3)
    assert 'label="gru_sequence\\n()"' in tr.to_dot(fused(np.ones((2, 1, 2)))[0], [fused])


class CubeInPlace(Cube):
    """Cube with the mistake of scaling the incoming gradient in place."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        g *= 3 * x**2
        return g


def test_backward_cannot_change_the_gradient_it_receives():
    """x @ W + Cube(u): the add sends one array to both; scaling it in place would change dL/dW
    (multiplied out later), so backward gets it read-only and NumPy refuses the write."""
    W = tr.Tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    u = tr.Tensor(RNG.standard_normal((2, 4)), requires_grad=True)
    with pytest.raises(ValueError, match="read-only"):
        ((tr.Tensor(RNG.standard_normal((2, 3))) @ W) + CubeInPlace.apply(u)).sum().backward()
    x = RNG.standard_normal((2, 3))
    ((tr.Tensor(x) @ W) + Cube.apply(u)).sum().backward()  # the same graph, written right
    np.testing.assert_allclose(W.grad, x.T @ np.ones((2, 4)), rtol=1e-15)
