"""Where a torch user looks, torch's behaviour: the core (Tensor, ops) run side by side with torch.

Each test builds the same computation in tinyrnn and in torch (float64, or the dtypes under test)
and compares values, gradients, dtypes and the kind of error. Deliberate differences are listed
in docs/differences_from_torch.md; the tests of those check tinyrnn's documented behaviour.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

import tinyrnn as tr

TOL = 1e-12  # the same float64 formulas on both sides: only rounding differs
RNG = np.random.default_rng(19)
X = RNG.normal(size=(3, 4))


def as_np(t) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.data if isinstance(t, tr.Tensor) else t)


def close(ours, theirs) -> None:
    a, e = as_np(ours), as_np(theirs)
    assert a.shape == e.shape, f"shape {a.shape} != {e.shape}"
    np.testing.assert_allclose(a, e, rtol=TOL, atol=TOL)


def pair(array: np.ndarray) -> tuple[tr.Tensor, torch.Tensor]:
    """The same leaf requiring grad in both libraries."""
    return tr.Tensor(array.copy(), requires_grad=True), torch.tensor(array.copy(), requires_grad=True)


def same_values_and_gradients(y, ty, leaves, t_leaves) -> None:
    """y equals torch's ty; after backward() of sum(w * y) for one random w, so does every leaf's gradient."""
    close(y, ty)
    w = RNG.normal(size=ty.shape)
    (y * w).sum().backward()
    (ty * torch.from_numpy(w)).sum().backward()
    for leaf, t_leaf in zip(leaves, t_leaves):
        close(leaf.grad, t_leaf.grad)


@contextlib.contextmanager
def torch_float64_default():
    """torch with tinyrnn's default float (float64), so that the dtype rules can be compared as they are."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


# ---- indexing: repeated indices add up, whatever holds them ------------------------------------

INDEXES = {  # name: (index for tinyrnn, index for torch)
    "tensor": ((slice(None), tr.Tensor(np.array([0, 0, 2]))), (slice(None), torch.tensor([0, 0, 2]))),
    "two_tensors": (
        (tr.Tensor(np.array([0, 0, 1])), tr.Tensor(np.array([3, 3, 1]))),
        (torch.tensor([0, 0, 1]), torch.tensor([3, 3, 1])),
    ),
    "nested_tuple": (((0, 0),), ((0, 0),)),
    "list": ([2, 0, 2], [2, 0, 2]),
    "array_and_slice": ((np.array([1, 1]), slice(1, 3)), (torch.tensor([1, 1]), slice(1, 3))),
    "tensor_and_int": ((1, tr.Tensor(np.array([3, 3, 3]))), (1, torch.tensor([3, 3, 3]))),
    "empty_list": ([], []),
}


@pytest.mark.parametrize("name", INDEXES)
def test_repeated_indices_accumulate_like_torch(name: str) -> None:
    ours_index, torch_index = INDEXES[name]
    x, tx = pair(X)
    y, ty = x[ours_index], tx[torch_index]
    same_values_and_gradients(y, ty, [x], [tx])


def test_a_comparison_masks_like_torch() -> None:
    x, tx = pair(X)
    same_values_and_gradients(x[x > 0], tx[tx > 0], [x], [tx])


def test_float_index_arrays_are_refused_with_a_message() -> None:
    with pytest.raises(IndexError, match="integers or booleans, got dtype float64"):
        tr.Tensor(X)[tr.Tensor([0.0, 1.0])]


# ---- max and min: ties share the gradient, NaN takes it ---------------------------------------


@pytest.mark.parametrize("fn", ["max", "min"])
@pytest.mark.parametrize(
    "values",
    [
        [1.0, np.nan, 3.0, -2.0],  # one NaN: all of the gradient goes to it
        [np.nan, 1.0, np.nan, 0.5],  # two NaNs share it
        [3.0, -1.0, 3.0, -1.0],  # ties share it
    ],
    ids=["nan", "two_nans", "ties"],
)
def test_full_max_and_min_route_the_gradient_like_torch(fn: str, values: list) -> None:
    x, tx = pair(np.array(values))
    y, ty = getattr(x, fn)(), getattr(tx, fn)()
    same_values_and_gradients(y, ty, [x], [tx])


@pytest.mark.parametrize("fn", ["max", "min"])
def test_max_and_min_along_an_axis_share_ties_like_amax(fn: str) -> None:
    data = np.array([[1.0, 5.0, 5.0], [2.0, 2.0, 2.0], [-1.0, 0.0, 4.0]])
    x, tx = pair(data)
    y = getattr(tr, fn)(x, 1)
    ty = getattr(torch, f"a{fn}")(tx, 1)
    same_values_and_gradients(y, ty, [x], [tx])


def test_a_nan_along_an_axis_takes_the_gradient_like_torch_max_dim() -> None:
    data = np.array([[1.0, np.nan, 2.0], [4.0, 3.0, 0.0]])
    x, tx = pair(data)
    y, ty = x.max(axis=1), torch.max(tx, dim=1).values
    same_values_and_gradients(y, ty, [x], [tx])


# ---- in-place updates ------------------------------------------------------------------------


def loss_of(w, x):
    return ((x @ w).tanh() ** 2).sum()


def test_the_d2l_update_keeps_a_leaf_and_matches_torch() -> None:
    w, tw = pair(RNG.normal(size=(4, 2)))
    for _ in range(3):
        loss_of(w, tr.Tensor(X)).backward()
        loss_of(tw, torch.from_numpy(X)).backward()
        with tr.no_grad():
            w -= 0.1 * w.grad
            w *= 0.99
            w /= 1.01
            w += 0.001
        with torch.no_grad():
            tw -= 0.1 * tw.grad
            tw *= 0.99
            tw /= 1.01
            tw += 0.001
        assert w.is_leaf and w.requires_grad and isinstance(w.data, np.ndarray)
        close(w, tw)
        w.grad = None
        tw.grad = None


def test_an_update_changes_the_array_in_place() -> None:
    data = X.copy()
    w = tr.Tensor(data, requires_grad=True)
    same = w
    with tr.no_grad():
        w -= 1.0
    assert same is w and w.data is data
    np.testing.assert_array_equal(data, X - 1.0)


def test_in_place_on_a_leaf_that_requires_grad_is_refused_like_torch() -> None:
    w, tw = pair(X)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        tw += 1
    with pytest.raises(RuntimeError, match=r"\+= on a leaf tensor that requires grad.*no_grad"):
        w += 1
    close(w, X)


def test_in_place_on_a_non_leaf_gives_torch_gradients() -> None:
    x, tx = pair(X)
    h, th = x * 2, tx * 2
    h += x
    th += tx
    h *= 3.0
    th *= 3.0
    h -= x * x
    th -= tx * tx
    same_values_and_gradients(h, th, [x], [tx])


def test_in_place_on_a_tensor_without_grad_changes_it_for_every_name() -> None:
    a = tr.Tensor(X.copy())
    alias = a
    a += tr.Tensor(np.ones(4))
    close(alias, X + 1)


def test_an_in_place_result_must_fit_the_tensor_like_torch() -> None:
    with pytest.raises(RuntimeError):
        t = torch.arange(3)
        t /= 2
    with pytest.raises(RuntimeError, match=r"/= in place on a tensor of shape \(3,\), dtype int64"):
        a = tr.Tensor(np.arange(3))
        a /= 2
    with pytest.raises(RuntimeError, match=r"shape \(4,\)"):
        a = tr.Tensor(np.zeros(4))
        a += np.ones((3, 4))


def test_gradients_clear_with_none_and_zero_grad() -> None:
    w = tr.Tensor(X.copy(), requires_grad=True)
    loss_of(w, tr.Tensor(np.ones((2, 3)))).backward()
    first = w.grad.copy()
    w.grad = None
    loss_of(w, tr.Tensor(np.ones((2, 3)))).backward()
    np.testing.assert_array_equal(w.grad, first)
    w.zero_grad()
    assert w.grad is None


def test_only_float_tensors_may_require_grad_like_torch() -> None:
    ints = np.arange(3)
    with pytest.raises(RuntimeError, match="floating point"):
        torch.from_numpy(ints).requires_grad = True
    with pytest.raises(RuntimeError, match="floating-point tensors can require gradients, got dtype int64"):
        tr.Tensor(ints).requires_grad = True
    with pytest.raises(RuntimeError, match="floating-point"):
        tr.Tensor(ints, requires_grad=True)
    with pytest.raises(RuntimeError, match="floating-point"):
        tr.Tensor(ints).requires_grad_()
    assert tr.Tensor(X).requires_grad_().requires_grad


def test_requires_grad_turns_off_only_on_leaves_like_torch() -> None:
    x, tx = pair(X)
    with pytest.raises(RuntimeError, match="leaf"):
        (tx * 2).requires_grad = False
    with pytest.raises(RuntimeError, match="leaf"):
        (x * 2).requires_grad = False
    x.requires_grad = False
    assert not (x * 2).requires_grad


# ---- comparisons and Python conversions ----------------------------------------------------------

COMPARISONS = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@pytest.mark.parametrize("symbol", COMPARISONS)
def test_comparisons_are_elementwise_bool_tensors_like_torch(symbol: str) -> None:
    compare = COMPARISONS[symbol]
    data = np.array([[0.0, 1.0, -1.0], [2.0, 0.0, 1.0]])
    other = np.array([0.0, 1.0, 2.0])
    x, tx = pair(data)
    for ours, theirs in [
        (compare(x, 0.0), compare(tx, 0.0)),
        (compare(x, tr.Tensor(other)), compare(tx, torch.from_numpy(other))),
        (compare(other, x), compare(torch.from_numpy(other), tx)),  # ndarray on the left
        (compare(1, x), compare(1, tx)),
    ]:
        assert isinstance(ours, tr.Tensor) and ours.dtype == np.bool_ and not ours.requires_grad
        np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_where_with_a_comparison_like_torch() -> None:
    x, tx = pair(np.array([0.0, 2.0, 0.0, -3.0]))
    y = tr.where(x == 0, x + 1, x * 3)
    ty = torch.where(tx == 0, tx + 1, tx * 3)
    same_values_and_gradients(y, ty, [x], [tx])


def test_tensors_stay_hashable_by_identity() -> None:
    a, b = tr.Tensor(X), tr.Tensor(X)
    assert len({a, b, a}) == 2 and {a: 1, b: 2}[b] == 2
    assert (a == None) is False and (a != None) is True  # noqa: E711 (what torch gives)
    assert (a == "x") is False


@pytest.mark.parametrize(
    "data", [np.array(0.0), np.array([0.0]), np.array([[2.5]]), np.array(-1.75), np.array([1.0, 2.0]), np.zeros(0)]
)
def test_bool_float_int_and_format_like_torch(data: np.ndarray) -> None:
    ours, theirs = tr.Tensor(data), torch.from_numpy(data)
    for convert in (bool, float, int, lambda t: f"{t:.3f}", lambda t: f"{t:>8.2e}"):
        try:
            expected = convert(theirs)
        except (RuntimeError, ValueError, TypeError) as e:
            with pytest.raises(type(e)):
                convert(ours)
        else:
            assert convert(ours) == expected


def test_bool_of_many_values_says_why() -> None:
    with pytest.raises(RuntimeError, match=r"ambiguous: it has 2 values"):
        bool(tr.Tensor([1.0, 2.0]))


# ---- dtypes: torch's promotion rule (with float64 as the default float) ------------------------

F32, F64, I32, I64 = np.ones(3, np.float32), np.ones(3), np.ones(3, np.int32), np.ones(3, np.int64)
OPERANDS = {  # name: (left, right), each an array (a Tensor in both libraries) or a Python number
    "f32 + 0-d f64": (F32, np.array(2.0)),
    "f32 + 0-d f64 array": (F32, "0-d array"),
    "f32 + float": (F32, 0.5),
    "f32 + int": (F32, 2),
    "f32 + f64": (F32, F64),
    "i64 + int": (I64, 3),
    "i32 + int": (I32, 3),
    "i32 + float": (I32, 0.5),
    "i32 * f32": (I32, F32),
    "i64 * f32": (I64, F32),
    "i32 + 0-d f64": (I32, np.array(2.5)),
    "i32 + 0-d i64": (I32, np.array(2)),
    "bool + int": (np.ones(3, bool), 2),
    "bool + f32": (np.ones(3, bool), F32),
    "0-d f32 + float": (np.array(1.5, np.float32), 0.5),
    "0-d f32 + 0-d f64": (np.array(1.5, np.float32), np.array(2.0)),
    "0-d i32 + int": (np.array(4, np.int32), 3),
    "u8 + i8": (np.ones(3, np.uint8), np.ones(3, np.int8)),
    "f32 + np.float32": (F32, np.float32(2.0)),
}
BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b}


def both(value):
    """(tinyrnn operand, torch operand) for an OPERANDS entry; arrays become Tensors in both."""
    if isinstance(value, str):  # a 0-d ndarray given as it is to tinyrnn; torch takes it as a 0-d tensor
        return np.array(3.0), torch.tensor(np.array(3.0))
    if isinstance(value, np.generic):
        return value, torch.tensor(value)
    if isinstance(value, np.ndarray):
        return tr.Tensor(value), torch.from_numpy(value)
    return value, value


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("name", OPERANDS)
def test_result_dtypes_follow_torch(name: str, op: str) -> None:
    (a, ta), (b, tb) = map(both, OPERANDS[name])
    if name.startswith("bool") and op == "-":  # torch refuses; tinyrnn computes it as NumPy does (a listed difference)
        with pytest.raises(RuntimeError, match="bool tensor is not supported"):
            BINARY[op](ta, tb)
        raw = [np.asarray(getattr(v, "data", v)) for v in (a, b)]
        np.testing.assert_array_equal(BINARY[op](a, b).data, raw[0].astype(np.int64) - raw[1])
        return
    with torch_float64_default():
        for ours, theirs in [(BINARY[op](a, b), BINARY[op](ta, tb)), (BINARY[op](b, a), BINARY[op](tb, ta))]:
            assert ours.dtype == theirs.numpy().dtype, f"{name} ({op}): {ours.dtype}, torch {theirs.dtype}"
            np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)


def test_where_keeps_float32_beside_a_number() -> None:
    assert tr.where(np.array([True, False, True]), tr.Tensor(F32), 0.0).dtype == np.float32


def test_numpy_scalars_keep_their_dtype_like_torch() -> None:
    for value in (np.float32(2.0), np.int32(3), np.float64(1.0)):
        assert tr.Tensor(value).dtype == torch.tensor(value).numpy().dtype
    assert tr.Tensor(2.0).dtype == np.float64 and tr.Tensor([1, 2]).dtype == np.float64  # the default float


def test_a_float32_model_stays_float32_through_constants() -> None:
    w = tr.Tensor(RNG.normal(size=(4, 2)).astype(np.float32), requires_grad=True)
    scale = tr.Tensor(np.array(0.5), requires_grad=True)  # a 0-d float64 parameter
    x = tr.Tensor(X.astype(np.float32))
    y = ((x @ w) * scale + np.float64(1.0) - np.array(2.0)) / 3
    loss = (y**2).mean() * 0.5
    assert y.dtype == np.float32 and loss.dtype == np.float32
    loss.backward()
    assert w.grad.dtype == np.float32 and scale.grad.dtype == np.float64 and scale.grad.shape == ()
    tw = torch.tensor(w.data, requires_grad=True)
    tscale = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    ty = ((torch.from_numpy(x.data) @ tw) * tscale + 1.0 - torch.tensor(2.0, dtype=torch.float64)) / 3
    tloss = (ty**2).mean() * 0.5
    assert ty.dtype == torch.float32
    tloss.backward()
    np.testing.assert_allclose(loss.data, tloss.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scale.grad, tscale.grad.numpy(), rtol=1e-5)


# ---- 0-d gradients are 0-d arrays -----------------------------------------------------------------

SCALAR_PROGRAMS = {
    "neg": lambda s, v: -s,
    "broadcast_mul": lambda s, v: (s * v).sum(),
    "tanh_exp": lambda s, v: (s.tanh() * s.exp()) + s * s,
    "pow_and_rpow": lambda s, v: s**3 + 2**s,
    "reused_twice": lambda s, v: (s + s) * (v * s).sum(),
    "sum_of_0d": lambda s, v: s.sum(),
}


@pytest.mark.parametrize("name", SCALAR_PROGRAMS)
def test_gradients_of_0d_leaves_are_0d_arrays(name: str) -> None:
    program = SCALAR_PROGRAMS[name]
    v = np.array([0.5, -1.0, 2.0])
    s, ts = pair(np.array(0.7))
    for _ in range(2):  # the second backward accumulates
        program(s, tr.Tensor(v)).backward()
        program(ts, torch.from_numpy(v)).backward()
        assert type(s.grad) is np.ndarray and s.grad.shape == () and s.grad.dtype == np.float64
        close(s.grad, ts.grad)


def test_a_retained_0d_gradient_is_an_array() -> None:
    s = tr.Tensor(np.array(0.3), requires_grad=True)
    h = (-s).retain_grad()
    (h * 2).backward()
    assert type(h.grad) is np.ndarray and h.grad.shape == ()


# ---- edge cases that raised from deep inside ------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.sum(0),
        lambda x: x.sum(-1, keepdim=True),
        lambda x: x.mean(-1),
        lambda x: x.sum((0,)),
        lambda x: x.amax(0) if isinstance(x, torch.Tensor) else x.max(0),
        lambda x: x.amin(-1) if isinstance(x, torch.Tensor) else x.min(-1),
        lambda x: x.softmax(0),
        lambda x: x.log_softmax(-1),
    ],
)
def test_0d_tensors_take_axis_0_and_minus_1_like_torch(call) -> None:
    x, tx = pair(np.array(1.25))
    y, ty = call(x), call(tx)
    same_values_and_gradients(y, ty, [x], [tx])


def test_0d_tensors_refuse_other_axes_like_torch() -> None:
    with pytest.raises(IndexError):
        torch.tensor(1.0).sum(1)
    with pytest.raises(IndexError, match=r"sum: axis 1 is out of range for 0 dimensions \(expected -1 to 0\)"):
        tr.Tensor(1.0).sum(1)
    with pytest.raises(IndexError, match=r"max: axis -3 is out of range for 2 dimensions \(expected -2 to 1\)"):
        tr.Tensor(X).max(-3)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, axis", [((3, 0), 1), ((0,), 0), ((0, 4), -1)])
def test_softmax_of_nothing_is_empty_like_torch(fn: str, shape: tuple, axis: int) -> None:
    x, tx = pair(np.zeros(shape))
    y, ty = getattr(x, fn)(axis), getattr(tx, fn)(axis)
    same_values_and_gradients(y, ty, [x], [tx])


def test_max_over_an_empty_axis_says_so() -> None:
    with pytest.raises(ValueError, match=r"max: a tensor of shape \(0, 3\) has an empty axis"):
        tr.Tensor(np.zeros((0, 3))).max(0)


def test_stack_of_0d_tensors_like_torch() -> None:
    a, ta = pair(np.array(1.0))
    b, tb = pair(np.array(-2.0))
    same_values_and_gradients(tr.stack([a, b]), torch.stack([ta, tb]), [a, b], [ta, tb])


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: tr.cat([tr.Tensor(1.0), tr.Tensor(2.0)]), ValueError, "tensor 0 is 0-d"),
        (lambda: tr.cat([]), ValueError, "non-empty list of tensors"),
        (lambda: tr.stack([]), ValueError, "non-empty list of tensors"),
        (lambda: tr.cat([tr.Tensor(X)], axis=2), IndexError, r"axis 2 is out of range for 2 dimensions"),
        (lambda: tr.stack([tr.Tensor(X)], axis=3), IndexError, r"axis 3 is out of range for 3 dimensions"),
        (lambda: tr.cat(tr.Tensor(X)), TypeError, "list or tuple of tensors, got a single Tensor"),
        (lambda: tr.unbind(tr.Tensor(1.0)), ValueError, "0-d tensor has no axis"),
        (lambda: tr.split(tr.Tensor(X), 2, axis=-3), IndexError, "out of range"),
        (lambda: tr.split(tr.Tensor(X), 0), ValueError, "at least 1"),
        (lambda: tr.Tensor(X).sum(axis=0, dim=1), TypeError, "both axis=0 and dim=1"),
        (lambda: tr.Tensor(X).sum(1, True, keepdim=True), TypeError, "both keepdims and keepdim"),
        (lambda: tr.softmax(tr.Tensor(X), 1, dim=1), TypeError, "both axis=1 and dim=1"),
        (lambda: tr.Tensor(X).sum(1.5), TypeError, "int or a tuple of ints, got 1.5"),
        (lambda: tr.Tensor(X).sum((1, -1)), ValueError, "names an axis twice"),
    ],
)
def test_bad_arguments_get_messages(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


def test_the_same_bad_joins_fail_in_torch() -> None:
    for call in [
        lambda: torch.cat([torch.tensor(1.0), torch.tensor(2.0)]),
        lambda: torch.cat([]),
        lambda: torch.stack([]),
        lambda: torch.cat([torch.ones(3, 4)], dim=2),
        lambda: torch.stack([torch.ones(3, 4)], dim=3),
        lambda: torch.unbind(torch.tensor(1.0)),
    ]:
        with pytest.raises((RuntimeError, ValueError, IndexError)):
            call()


# ---- dim= beside axis=, grad-mode switches -----------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.sum(dim=1),
        lambda x: x.sum(dim=(0, 1), keepdim=True),
        lambda x: x.mean(dim=0, keepdim=True),
        lambda x: x.amax(dim=1) if isinstance(x, torch.Tensor) else x.max(dim=1),
        lambda x: x.amin(dim=0, keepdim=True) if isinstance(x, torch.Tensor) else x.min(dim=0, keepdim=True),
        lambda x: x.softmax(dim=0),
        lambda x: x.log_softmax(dim=1),
        lambda x: (tr if isinstance(x, tr.Tensor) else torch).softmax(x, dim=0),
        lambda x: (tr if isinstance(x, tr.Tensor) else torch).cat([x, x * 2], dim=1),
        lambda x: (tr if isinstance(x, tr.Tensor) else torch).stack([x, x * 2], dim=2),
        lambda x: (tr if isinstance(x, tr.Tensor) else torch).split(x, 3, dim=1)[1],
        lambda x: (tr if isinstance(x, tr.Tensor) else torch).unbind(x, dim=1)[2],
    ],
)
def test_dim_is_accepted_beside_axis(call) -> None:
    x, tx = pair(X)
    y, ty = call(x), call(tx)
    same_values_and_gradients(y, ty, [x], [tx])


def test_grad_mode_switches_like_torch() -> None:
    for lib in (tr, torch):
        x = lib.ones(2, requires_grad=True) if lib is torch else tr.Tensor(np.ones(2), requires_grad=True)
        with lib.no_grad():
            assert not (x * 2).requires_grad
            with lib.enable_grad():
                assert (x * 2).requires_grad
        with lib.set_grad_enabled(False):
            assert not lib.is_grad_enabled()
        assert lib.is_grad_enabled()
        lib.set_grad_enabled(False)  # called alone: from now on
        try:
            assert not (x * 2).requires_grad
        finally:
            lib.set_grad_enabled(True)
        assert (x * 2).requires_grad
        double = lib.enable_grad()(lambda t: t * 2)
        with lib.no_grad():
            assert double(x).requires_grad


# ---- powers and unsupported operands ------------------------------------------------------------------


def test_rpow_and_a_tensor_exponent_like_torch() -> None:
    x, tx = pair(np.array([0.5, 1.0, 2.0]))
    p, tp = pair(np.array([2.0, -1.0, 0.5]))
    y, ty = 2**x + x**p + 3.0**p, 2**tx + tx**tp + 3.0**tp
    same_values_and_gradients(y, ty, [x], [tx])
    close(p.grad, tp.grad)


@pytest.mark.parametrize(
    "call", [lambda t: t + "a", lambda t: t ** {"p": 2}, lambda t: "a" * t, lambda t: t < None, lambda t: t @ object()]
)
def test_unsupported_operands_say_what_is_supported(call) -> None:
    with pytest.raises(TypeError, match=r"^\w+: expected a Tensor, a NumPy array, a number or a list of numbers, got"):
        call(tr.Tensor(X))
