"""tinyrnn.testing: every check passes right code and catches planted mistakes with the expected message.

The mistakes are the classic ones: a wrong sign, a factor of 2, a transposed matrix, a
missing broadcast reduction, BPTT off by one time step, the gradient dropped at the first
step. The complex step agrees with autograd to 1e-13 relative on chains of tanh, sigmoid,
exp, log, matmul and softmax, and refuses abs, relu and max with its reason.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinyrnn as tr
from tinyrnn.testing import CheckError, ComplexStepError, check_bptt, check_complex_step, check_module, check_op
from tinyrnn.testing import strategies as trs

RNG = np.random.default_rng(0)
X = np.array([[0.3, -1.2, 0.8], [1.5, -0.1, 2.0]])
A, B = RNG.standard_normal((3, 3)), RNG.standard_normal((3, 3))


def tanh_op(vjp):
    """tanh as a tr.Function whose backward is g * vjp(y); 1 - y^2 is right."""

    class Tanh(tr.Function):
        @staticmethod
        def forward(ctx, x):
            y = np.tanh(x)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * vjp(y)

    return Tanh.apply


class MatMul(tr.Function):
    """a @ b; `transposed` plants dL/da = g b instead of g b^T (same shape for square b)."""

    transposed = False

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved_tensors
        return (g @ b if cls.transposed else g @ b.T), a.T @ g


class TransposedMatMul(MatMul):
    transposed = True


class AddBias(tr.Function):
    """x (B, H) + b (H,); `reduced` False plants the missing sum over the batch."""

    reduced = True

    @classmethod
    def forward(cls, ctx, x, b):
        return x + b

    @classmethod
    def backward(cls, ctx, g):
        return g, (g.sum(axis=0) if cls.reduced else g)


class AddBiasUnreduced(AddBias):
    reduced = False


RIGHT = tanh_op(lambda y: 1 - y * y)
WRONG_SIGN = tanh_op(lambda y: y * y - 1)
TWICE = tanh_op(lambda y: 2 * (1 - y * y))


# ---- check_op ---------------------------------------------------------------------------


def test_check_op_passes_right_ops_with_every_reference():
    check_op(RIGHT, X, reference=np.tanh, torch_fn=torch.tanh)
    check_op(MatMul.apply, A, B, reference=np.matmul, torch_fn=torch.matmul, names=["a", "b"])
    check_op(AddBias.apply, X, RNG.standard_normal(3), reference=np.add)


@pytest.mark.parametrize(
    "fn, inputs, names, message",
    [
        (WRONG_SIGN, [X], None, r"input 0, index \(0, 0\): analytic -?\d.* vs numeric -?\d.*; 6 of 6 entries differ"),
        (TWICE, [X], None, r"input 0, index \(0, 0\): analytic .* vs numeric .*; 6 of 6 entries differ"),
        (TransposedMatMul.apply, [A, B], ["a", "b"], r"a, index \(0, 0\): analytic .* vs numeric .*"),
    ],
    ids=["wrong-sign", "factor-2", "transposed"],
)
def test_check_op_catches_wrong_vjps(fn, inputs, names, message):
    with pytest.raises(CheckError, match=r"check_op backward: " + message) as info:
        check_op(fn, *inputs, names=names)
    assert "> tolerance" in str(info.value) and "atol 1e-07 + rtol 1e-06 * |numeric|" in str(info.value)


def test_the_factor_of_2_is_reported_with_both_values():
    with pytest.raises(CheckError) as info:
        check_op(TWICE, X)
    found = re.search(r"analytic (\S+) vs numeric (\S+)", str(info.value))
    assert float(found[1]) / float(found[2]) == pytest.approx(2, rel=1e-6)


def test_a_missing_broadcast_reduction_is_caught_naming_the_op_and_input():
    with pytest.raises(ValueError, match=r"AddBiasUnreduced\.backward: the gradient of input 1 must match the input, "
                       r"shape \(3,\) dtype float64; got shape \(2, 3\)"):  # fmt: skip
        check_op(AddBiasUnreduced.apply, X, np.ones(3))


def test_check_op_compares_the_forward_and_torch():
    with pytest.raises(CheckError, match=r"check_op forward: output 0, index \(0, 0\): fn .* vs reference"):
        check_op(RIGHT, X, reference=np.sin)
    with pytest.raises(CheckError, match=r"check_op vs torch: gradient of input 0, index \(0, 0\): ours .* vs torch"):
        check_op(TWICE, X, torch_fn=torch.tanh, gradients=False)


def test_float32_is_refused_with_the_reason_or_upcast():
    x32 = X.astype(np.float32)
    with pytest.raises(TypeError, match=r"input 0 is float32\. Central differences need float64: .* upcast=True"):
        check_op(RIGHT, x32)
    check_op(RIGHT, x32, upcast=True)
    with pytest.raises(CheckError):
        check_op(WRONG_SIGN, x32, upcast=True)


def test_under_hypothesis_a_failure_shrinks_to_a_small_example():
    """The factor-2 VJP fails on any input; hypothesis shrinks the drawn array to the 0-d zero."""
    failures = []

    @settings(derandomize=True, database=None, max_examples=50, suppress_health_check=list(HealthCheck))
    @given(x=trs.arrays(trs.shapes(max_dims=2)))
    def check(x):
        try:
            check_op(TWICE, x)
        except CheckError as error:
            failures.append((x, str(error)))
            raise

    with pytest.raises(CheckError, match=r"input 0, index \(\): analytic"):
        check()
    x, message = failures[-1]  # the last run is the shrunk example hypothesis reports
    assert x.shape == () and x == 0.0, message


# ---- check_complex_step ------------------------------------------------------------------


CHAINS = {
    "tanh-sigmoid-exp-log": (lambda x: ((x.tanh().sigmoid() * 2).exp() + 1).log(), [(3, 4)]),
    "matmul-softmax": (lambda x, w: (x @ w).softmax(axis=1), [(3, 4), (4, 5)]),
    "all-six": (lambda x, w: ((x @ w).tanh().sigmoid().exp() + 0.5).log().softmax(axis=0) @ w.T, [(2, 3), (3, 3)]),
    "log_softmax": (lambda x: x.log_softmax(axis=-1).exp().sum(axis=0), [(3, 4)]),
}


@pytest.mark.parametrize("name", list(CHAINS))
def test_complex_step_agrees_with_autograd_to_1e13(name):
    fn, shapes = CHAINS[name]
    worst = check_complex_step(fn, *(RNG.standard_normal(s) for s in shapes))
    assert worst < 1e-13
    print(f"{name}: largest relative difference {worst:.2e}")


@pytest.mark.parametrize(
    "fn, message",
    [
        (WRONG_SIGN, r"input 0, index \(0, 0\): autograd .* vs complex step"),
        (TWICE, r"input 0, index \(0, 0\): autograd .*; 6 of 6 entries differ"),
    ],
    ids=["wrong-sign", "factor-2"],
)
def test_complex_step_catches_wrong_vjps(fn, message):
    with pytest.raises(CheckError, match=r"check_complex_step: " + message):
        check_complex_step(fn, X)


class Abs(tr.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * np.sign(x)


@pytest.mark.parametrize(
    "fn, message",
    [
        (Abs.apply, r"uses abs, so the complex step does not give its derivative \(abs: \|x\| is not analytic"),
        (lambda x: x.relu(), r"uses relu, .*\(relu: relu = max\(x, 0\) is not analytic \(its derivative jumps at 0\)"),
        (lambda x: x.max(axis=1), r"uses max, .*\(max: max is not analytic .*\)\. Use check_op"),
        (lambda x: x.softplus().tanh(), r"uses softplus, .* computed as max\(x, 0\) \+ log1p\(exp\(-\|x\|\)\)"),
    ],
    ids=["abs", "relu", "max", "softplus"],
)
def test_complex_step_refuses_non_analytic_functions_with_the_reason(fn, message):
    with pytest.raises(ComplexStepError, match=message):
        check_complex_step(fn, X)


def test_complex_step_refuses_ops_the_caller_names():
    with pytest.raises(ComplexStepError, match=r"uses tanh, .*tanh: named non-analytic by the caller"):
        check_complex_step(RIGHT, X, non_analytic=["Tanh"])


# ---- check_module --------------------------------------------------------------------------


class Affine(tr.nn.Module):
    """y = tanh(x W + b) with a tr.Function matmul (so a planted mistake can hide in it)."""

    def __init__(self, matmul=MatMul):
        self.weight = tr.nn.Parameter(RNG.standard_normal((3, 3)))
        self.bias = tr.nn.Parameter(RNG.standard_normal(3))
        self.matmul = matmul

    def forward(self, x):
        return (self.matmul.apply(x, self.weight) + self.bias).tanh()


def run_affine(module, x):
    return module(x)


def test_check_module_passes_a_right_module_and_restores_the_parameters():
    module = Affine()
    before = {k: v.copy() for k, v in module.state_dict().items()}
    check_module(module, run_affine, X[:, :3])
    assert all(np.array_equal(before[k], v) for k, v in module.state_dict().items())


def test_check_module_catches_a_transposed_weight_gradient():
    class WrongWeightGrad(MatMul):
        @classmethod
        def backward(cls, ctx, g):
            a, b = ctx.saved_tensors
            return g @ b.T, (a.T @ g).T  # dL/dW transposed

    with pytest.raises(CheckError, match=r"check_module: parameter weight, index \(\d, \d\): analytic .* vs numeric"):
        check_module(Affine(WrongWeightGrad), run_affine, X[:, :3])


def test_check_module_catches_a_transposed_input_gradient():
    with pytest.raises(CheckError, match=r"check_module: input 0, index \(0, \d\): analytic"):
        check_module(Affine(TransposedMatMul), run_affine, X[:, :3])


# ---- check_bptt ------------------------------------------------------------------------------


def rnn_forward(params, x, state0):
    """A tanh RNN over x (T, B, I) in NumPy: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)."""
    h, hs = state0[0], []
    for x_t in x:
        h = np.tanh(x_t @ params["weight_ih"].T + params["bias_ih"] + h @ params["weight_hh"].T + params["bias_hh"])
        hs.append(h)
    hs = np.stack(hs)
    return (hs,), (params, x, state0[0], hs)


def rnn_backward(d_states, cache, off_by_one=False, first_step=0):
    """BPTT for rnn_forward. off_by_one plants tanh' taken at h_{t-1}; first_step=1 drops step 0."""
    params, x, h0, hs = cache
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    dx, dh_total = np.zeros_like(x), np.zeros_like(hs)
    dh_next = np.zeros_like(h0)
    for t in reversed(range(first_step, len(x))):
        h_prev = hs[t - 1] if t else h0
        dh = d_states[0][t] + dh_next
        dh_total[t] = dh
        da = dh * (1 - (h_prev if off_by_one else hs[t]) ** 2)
        grads["weight_ih"] += da.T @ x[t]
        grads["weight_hh"] += da.T @ h_prev
        grads["bias_ih"] += da.sum(axis=0)
        grads["bias_hh"] += da.sum(axis=0)
        dx[t] = da @ params["weight_ih"]
        dh_next = da @ params["weight_hh"]
    return {"x": dx, "h0": dh_next, "h": dh_total, **grads}


def rnn_case(seed=0):
    tr.manual_seed(seed)
    return tr.nn.RNNCell(3, 4), np.random.default_rng(seed).standard_normal((5, 2, 3))


def test_check_bptt_passes_a_right_bptt():
    cell, x = rnn_case()
    check_bptt(cell, rnn_forward, rnn_backward, x)
    no_totals = lambda d, cache: {k: v for k, v in rnn_backward(d, cache).items() if k != "h"}
    check_bptt(cell, rnn_forward, no_totals, x)


@pytest.mark.parametrize(
    "backward, message",
    [
        (lambda d, c: rnn_backward(d, c, off_by_one=True), r"dL/dx at step 4, index \(0, \d\): yours .* vs autograd"),
        (lambda d, c: rnn_backward(d, c, first_step=1), r"dL/dh at step 0, index \(0, 0\): yours 0 vs autograd"),
    ],
    ids=["off-by-one-step", "first-step-dropped"],
)
def test_check_bptt_names_the_first_wrong_gradient_and_step(backward, message):
    cell, x = rnn_case()
    with pytest.raises(CheckError, match=r"check_bptt backward: " + message):
        check_bptt(cell, rnn_forward, backward, x)


def test_check_bptt_without_state_totals_still_names_the_step():
    cell, x = rnn_case()
    dropped = lambda d, c: {k: v for k, v in rnn_backward(d, c, first_step=1).items() if k != "h"}
    with pytest.raises(CheckError, match=r"dL/dx at step 0, index \(0, 0\): yours 0 vs autograd"):
        check_bptt(cell, rnn_forward, dropped, x)


def test_check_bptt_checks_the_forward_and_the_returned_keys():
    cell, x = rnn_case()

    def shifted_forward(params, x, state0):  # h_t computed from x_{t-1}
        (hs,), cache = rnn_forward(params, np.concatenate([x[:1], x[:-1]]), state0)
        return (hs,), cache

    with pytest.raises(CheckError, match=r"check_bptt forward: h at step 1, index \(0, 0\): yours .* vs autograd"):
        check_bptt(cell, shifted_forward, rnn_backward, x)
    with pytest.raises(CheckError, match=r"missing \['h0'\]"):
        check_bptt(cell, rnn_forward, lambda d, c: {k: v for k, v in rnn_backward(d, c).items() if k != "h0"}, x)


# ---- strategies ---------------------------------------------------------------------------------


@settings(max_examples=20)
@given(
    v=trs.floats(-1, 1, away_from=(0.0, 0.5), margin=0.1),
    batch=trs.padded_batches(input_size=2),
    config=trs.layer_configs(),
    t=trs.tensors((2,), dtype=np.float32, requires_grad=True),
    data=st.data(),
)
def test_strategies_draw_what_they_promise(v, batch, config, t, data):
    assert abs(v) >= 0.1 and abs(v - 0.5) >= 0.1
    T, B, size = batch.x.shape
    assert size == 2 and batch.lengths.shape == (B,) and batch.lengths.max() == T and batch.lengths.min() >= 1
    assert set(config) == {"num_layers", "bidirectional", "batch_first"}
    assert t.dtype == np.float32 and t.requires_grad
    first = data.draw(trs.padded_batches(input_size=1, batch_first=True))
    assert first.x.shape[0] == first.lengths.shape[0]
