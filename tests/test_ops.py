"""Every op, checked three ways by one test factory.

ROWS is the table: one row per op (or per variant of an op), holding a
strategy of inputs, our function, a NumPy reference and a torch reference.
Three parametrised tests run every row:

(a) forward == the NumPy reference (written from the definition, e.g. the
    naive softmax exp(x) / sum(exp(x)), not from our stable kernel);
(b) backward(g) == central finite differences of sum(g * f(x)), with a
    random upstream gradient g so every output entry has its own weight;
(c) forward and backward == torch on the same float64 inputs.

Inputs avoid non-differentiable points by construction: relu never sees
|x| < 1e-3, max never sees two entries closer than 0.3, log and fractional
powers only see x >= 0.1, denominators satisfy |x| >= 0.5.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import (
    DROPOUT_CASES,
    bce_cases,
    cross_entropy_cases,
    index_cases,
    join_cases,
    matmul_cases,
    one_hot_cases,
    pow_cases,
    reshape_cases,
    split_cases,
    transpose_cases,
    where_cases,
)

import tinyrnn as tr
from tinyrnn import functional as F
from tinyrnn import ops
from tinyrnn.testing import check_op
from tinyrnn.testing.strategies import (
    Case,
    away_from_zero,
    axis_cases,
    broadcastable_arrays,
    cases,
    floats,
    one_array,
    positive,
    reduction_cases,
    seeds,
)

pytestmark = pytest.mark.filterwarnings("error")  # an overflow or invalid value in any op fails the test

# The tolerances are tinyrnn.testing's, which every test below runs through (check_op):
# (a) forward 1e-12: our kernels and the references compute the same formula in different
# orders (stable vs naive softmax, pairwise vs sequential sums): a few ulps;
# (b) central differences in float64, 1e-6 relative and 1e-7 absolute;
# (c) torch 1e-10: the same float64 formulas, only rounding differs.


@dataclass(frozen=True)
class Row:
    name: str
    cases: st.SearchStrategy  # of Case
    ours: Callable  # (*Tensors, **params) -> Tensor or list of Tensors
    numpy: Callable  # (*arrays, **params) -> array or list of arrays
    torch: Callable  # (*torch tensors, **params) -> tensor or sequence of tensors
    differentiable: bool = True


def unary(name: str, op, np_fn, torch_fn, elements=None) -> Row:
    return Row(name, cases(one_array(elements)), op, np_fn, torch_fn)


def binary(name: str, op, np_fn, torch_fn, right=None) -> Row:
    pairs = broadcastable_arrays((floats(), right if right is not None else floats()))
    return Row(name, cases(pairs), op, np_fn, torch_fn)


# ---- references: NumPy from the definitions, torch with NumPy's argument names ----------


def le(pair):  # a comparison's bool result as 0.0 / 1.0, which the float tolerances compare exactly
    return ops.compare(*pair, np.less_equal) * 1.0


def np_le(pair):
    return np.less_equal(*pair) * 1.0


def t_le(pair):
    return torch.le(*map(torch.from_numpy, pair)).double()


def power(x, p):
    return x**p


def tensor_power(a, b):  # both operands differentiated (a > 0, so log a is defined)
    return a**b


def np_where(a, b, cond):
    return np.where(cond, a, b)


def t_where(a, b, cond):
    return torch.where(torch.from_numpy(cond), a, b)


def t_reduce(fn):
    """A torch reduction called with NumPy's axis (None, int or tuple) and keepdims."""

    def ref(x, axis, keepdims):
        dims = tuple(range(x.ndim)) if axis is None else axis
        return fn(x) if dims == () else fn(x, dim=dims, keepdim=keepdims)

    return ref


def t_transpose(x, axes):
    return x.permute(tuple(reversed(range(x.ndim))) if axes is None else axes)


INDEX_KINDS = ("slice", "int", "array", "arrays", "mask")


def np_getitem(x, index):
    return x[index]


def t_getitem(x, index):
    to_torch = lambda i: torch.from_numpy(i) if isinstance(i, np.ndarray) else i
    return x[tuple(map(to_torch, index)) if isinstance(index, tuple) else to_torch(index)]


def np_cat(*xs, axis):
    return np.concatenate(xs, axis)


def t_cat(*xs, axis):
    return torch.cat(xs, axis)


def np_stack(*xs, axis):
    return np.stack(xs, axis)


def t_stack(*xs, axis):
    return torch.stack(xs, axis)


def np_split(x, sections, axis):
    n = x.shape[axis]
    if isinstance(sections, int):
        return [np.take(x, np.arange(i, min(i + sections, n)), axis) for i in range(0, n, sections)]
    return np.split(x, np.cumsum(sections)[:-1], axis)


def t_split(x, sections, axis):
    return torch.split(x, sections, axis)


def np_unbind(x, axis):
    return [np.take(x, i, axis) for i in range(x.shape[axis])]


def t_unbind(x, axis):
    return torch.unbind(x, axis)


def np_softmax(x, axis):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def t_softmax(x, axis):
    return torch.softmax(x, axis)


def np_log_softmax(x, axis):
    return np.log(np_softmax(x, axis))


def t_log_softmax(x, axis):
    return torch.log_softmax(x, axis)


def np_cross_entropy(logits, targets, reduction, ignore_index):
    axis = 1 if logits.ndim >= 2 else 0
    log_p = np_log_softmax(logits, axis)
    keep = targets != ignore_index
    picked = np.take_along_axis(log_p, np.expand_dims(np.where(keep, targets, 0), axis), axis).squeeze(axis)
    loss = np.where(keep, -picked, 0.0)
    return loss if reduction == "none" else loss.sum() / (keep.sum() if reduction == "mean" else 1)


def t_cross_entropy(logits, targets, reduction, ignore_index):
    return TF.cross_entropy(logits, torch.from_numpy(targets), reduction=reduction, ignore_index=ignore_index)


def np_bce(x, targets, reduction):
    s = 1 / (1 + np.exp(-x))
    loss = -(targets * np.log(s) + (1 - targets) * np.log(1 - s))
    return loss if reduction == "none" else loss.sum() / (loss.size if reduction == "mean" else 1)


def t_bce(x, targets, reduction):
    return TF.binary_cross_entropy_with_logits(x, torch.from_numpy(targets), reduction=reduction)


def np_one_hot(indices, num_classes):
    return (indices[..., None] == np.arange(num_classes)).astype(np.float64)


def t_one_hot(indices, num_classes):
    return TF.one_hot(torch.from_numpy(indices), num_classes)


def dropout_mask(shape, p, training, seed):
    """Inverted dropout as documented: keep where a uniform draw from default_rng(seed) is >= p, scale by 1/(1-p)."""
    if not training:
        return np.ones(shape)
    return np.asarray((np.random.default_rng(seed).random(shape) >= p) / (1 - p))


def dropout(x, p, training, seed):
    return F.dropout(x, p, training, np.random.default_rng(seed))


def np_dropout(x, p, training, seed):
    return x * dropout_mask(x.shape, p, training, seed)


def t_dropout(x, p, training, seed):
    return x * torch.from_numpy(dropout_mask(x.shape, p, training, seed))


# ---- the table ---------------------------------------------------------------

ROWS = [
    binary("add", ops.add, np.add, torch.add),
    binary("sub", ops.sub, np.subtract, torch.sub),
    binary("mul", ops.mul, np.multiply, torch.mul),
    binary("div", ops.div, np.divide, torch.div, right=away_from_zero()),
    unary("neg", ops.neg, np.negative, torch.neg),
    Row("compare", cases(st.just(()), pair=broadcastable_arrays((floats(), floats()))), le, np_le, t_le, False),
    Row("pow_real", pow_cases(positive(), [-1.5, -1, 0, 0.5, 1, 2, 3]), power, power, power),
    Row("pow_int", pow_cases(floats(), [0, 1, 2, 3]), power, power, power),
    Row("pow_tensor", cases(broadcastable_arrays((positive(), floats()))), ops.pow, tensor_power, tensor_power),
    Row("rpow", pow_cases(floats(), [0.5, 2.0, 3.0]), lambda x, p: p**x, lambda x, p: p**x, lambda x, p: p**x),
    Row("matmul", matmul_cases(), ops.matmul, np.matmul, torch.matmul),
    unary("exp", ops.exp, np.exp, torch.exp),
    unary("log", ops.log, np.log, torch.log, elements=positive()),
    unary("tanh", ops.tanh, np.tanh, torch.tanh),
    unary("sigmoid", ops.sigmoid, lambda x: 1 / (1 + np.exp(-x)), torch.sigmoid),
    unary("relu", ops.relu, lambda x: x * (x > 0), torch.relu, elements=away_from_zero(1e-3)),
    unary("softplus", ops.softplus, lambda x: np.log(1 + np.exp(x)), TF.softplus),
    Row("where", where_cases(), lambda a, b, cond: ops.where(cond, a, b), np_where, t_where),
    Row("sum", reduction_cases(), ops.sum, np.sum, t_reduce(torch.sum)),
    Row("mean", reduction_cases(), ops.mean, np.mean, t_reduce(torch.mean)),
    Row("max", reduction_cases(distinct=True), ops.max, np.max, t_reduce(torch.amax)),
    Row("min", reduction_cases(distinct=True), ops.min, np.min, t_reduce(torch.amin)),
    Row("reshape", reshape_cases(), lambda x, shape: ops.reshape(x, shape), np.reshape, torch.reshape),
    Row("transpose", transpose_cases(), lambda x, axes: ops.transpose(x, axes or ()), np.transpose, t_transpose),
    *[Row(f"getitem_{kind}", index_cases(kind), ops.getitem, np_getitem, t_getitem) for kind in INDEX_KINDS],
    Row("cat", join_cases(new_axis=False), lambda *xs, axis: ops.cat(xs, axis), np_cat, t_cat),
    Row("stack", join_cases(new_axis=True), lambda *xs, axis: ops.stack(xs, axis), np_stack, t_stack),
    Row("split", split_cases(), lambda x, sections, axis: ops.split(x, sections, axis), np_split, t_split),
    Row("unbind", axis_cases(), ops.unbind, np_unbind, t_unbind),
    Row("softmax", axis_cases(), ops.softmax, np_softmax, t_softmax),
    Row("log_softmax", axis_cases(), ops.log_softmax, np_log_softmax, t_log_softmax),
    Row("cross_entropy", cross_entropy_cases(spatial=False), F.cross_entropy, np_cross_entropy, t_cross_entropy),
    Row("cross_entropy_NCd", cross_entropy_cases(spatial=True), F.cross_entropy, np_cross_entropy, t_cross_entropy),
    Row("bce_with_logits", bce_cases(), F.binary_cross_entropy_with_logits, np_bce, t_bce),
    Row("one_hot", one_hot_cases(), F.one_hot, np_one_hot, t_one_hot, differentiable=False),
    Row("dropout", DROPOUT_CASES, dropout, np_dropout, t_dropout),
]
GRAD_ROWS = [row for row in ROWS if row.differentiable]
by_name = pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
grad_by_name = pytest.mark.parametrize("row", GRAD_ROWS, ids=lambda row: row.name)


# ---- running a row ---------------------------------------------------------------


def as_list(out) -> list:
    return list(out) if isinstance(out, (list, tuple)) else [out]


def run_ours(row: Row, case: Case, requires_grad: bool = False) -> tuple[list, list]:
    leaves = [tr.Tensor(a.copy(), requires_grad=requires_grad) for a in case.arrays]
    return leaves, as_list(row.ours(*leaves, **case.params))


def backward(outs: list, grads: list) -> None:
    """One backward() through all outputs: of sum_i sum(g_i * y_i) when there are several."""
    if len(outs) == 1:
        outs[0].backward(grads[0])
    else:
        sum((y * g).sum() for y, g in zip(outs, grads)).backward()


def op_of(row: Row, case: Case):
    """The row's function of its differentiable inputs only, as check_op takes it."""
    return lambda *xs: row.ours(*xs, **case.params)


# ---- the three generated tests, each through tinyrnn.testing.check_op -------------------------


@by_name
@given(data=st.data())
def test_forward_matches_numpy(row: Row, data) -> None:
    case = data.draw(row.cases)
    if not row.differentiable:  # no input to differentiate: the forward alone
        np.testing.assert_allclose(
            run_ours(row, case)[1][0].data, row.numpy(*case.arrays, **case.params), rtol=1e-12, atol=1e-12
        )
        return
    check_op(op_of(row, case), *case.arrays, reference=lambda *xs: row.numpy(*xs, **case.params), gradients=False)


@grad_by_name
@given(data=st.data(), seed=seeds())
def test_backward_matches_finite_differences(row: Row, data, seed: int) -> None:
    case = data.draw(row.cases)
    check_op(op_of(row, case), *case.arrays, seed=seed)


@by_name
@given(data=st.data(), seed=seeds())
def test_matches_torch(row: Row, data, seed: int) -> None:
    case = data.draw(row.cases)
    if not row.differentiable:
        ref = row.torch(*(torch.from_numpy(a) for a in case.arrays), **case.params).numpy()
        np.testing.assert_allclose(run_ours(row, case)[1][0].data, ref, rtol=1e-10, atol=1e-10)
        return
    torch_fn = lambda *xs: row.torch(*xs, **case.params)
    check_op(op_of(row, case), *case.arrays, torch_fn=torch_fn, gradients=False, seed=seed)


# ---- the table covers every public op ---------------------------------------------------


def public_functions(module) -> dict:
    """The functions a module defines (not imports) under a public name."""
    defined = lambda name, fn: getattr(fn, "__module__", None) == module.__name__ and not isinstance(fn, type)
    return {
        name: fn for name, fn in vars(module).items() if callable(fn) and not name.startswith("_") and defined(name, fn)
    }


@settings(max_examples=1)
@given(data=st.data())
def test_table_calls_every_public_op(data) -> None:
    """Run every row once, recording which public functions of tinyrnn.ops and
    tinyrnn.functional this file calls directly: a new op without a row fails."""
    wanted = {**public_functions(ops), **public_functions(F)}
    by_code = {fn.__code__: name for name, fn in wanted.items()}
    called = set()

    def profile(frame, event, _arg):
        if event == "call" and frame.f_code in by_code and frame.f_back.f_code.co_filename == __file__:
            called.add(by_code[frame.f_code])

    cases = [data.draw(row.cases) for row in ROWS]
    sys.setprofile(profile)
    try:
        for row, case in zip(ROWS, cases):
            run_ours(row, case)
    finally:
        sys.setprofile(None)
    assert {"add", "matmul", "getitem", "cross_entropy", "dropout"} <= set(wanted)  # the finder finds
    assert sorted(set(wanted) - called) == []
    print(f"factory: {len(ROWS)} rows cover {len(called)} public ops: {', '.join(sorted(called))}")


# ---- fast forms against their plain definitions --------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_through_tanh_is_the_logistic_function(dtype) -> None:
    """ops.sigmoid computes 0.5 tanh(x / 2) + 0.5; the definition 1 / (1 + e^-x), in float64 and
    allowed to overflow, agrees within one machine epsilon of the dtype, absolute (far below 0 the
    fast form gives 0 or a multiple of eps / 2 where the definition gives a tiny positive number)."""
    x = np.concatenate([np.linspace(-50, 50, 2001), [-1e4, -750.0, 750.0, 1e4, 0.0]]).astype(dtype)
    with np.errstate(over="ignore"):
        plain = 1 / (1 + np.exp(-x.astype(np.float64)))
    y = ops.sigmoid(tr.Tensor(x)).data
    assert y.dtype == dtype and np.all((y >= 0) & (y <= 1))
    np.testing.assert_allclose(y, plain, rtol=0, atol=np.finfo(dtype).eps)
