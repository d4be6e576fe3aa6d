"""The graph and backward(): invariants every op must keep, and the engine's own promises.

Per op (every row of the factory in test_ops.py): inputs are never mutated,
float32 stays float32. Then random composite programs with re-used nodes and
broadcasting (vs finite differences and vs torch), accumulation, retain_grad,
detach, no_grad, errors, long chains, linear-time backward, make_many.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from test_ops import GRAD_ROWS, backward, run_ours

import tinyrnn as tr
from tinyrnn import ops
from tinyrnn import tensor as tensor_module
from tinyrnn.nn.layers import linear
from tinyrnn.tensor import make, make_many
from tinyrnn.testing.checks import FD_ATOL, FD_RTOL, TORCH_TOL
from tinyrnn.testing.strategies import Case, arrays, broadcastable_shapes, floats, seeds, upstream

pytestmark = pytest.mark.filterwarnings("error")
grad_by_name = pytest.mark.parametrize("row", GRAD_ROWS, ids=lambda row: row.name)


# ---- per-op invariants ---------------------------------------------------------------


def _equal(a, b) -> bool:
    """Deep equality of drawn parameters (arrays, tuples of slices and arrays, numbers)."""
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_equal, a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return a == b


@settings(max_examples=10)
@grad_by_name
@given(data=st.data(), seed=seeds())
def test_forward_and_backward_mutate_nothing(row, data, seed: int) -> None:
    case = data.draw(row.cases)
    before = copy.deepcopy(case)
    leaves, outs = run_ours(row, case, requires_grad=True)
    inputs_before = [leaf.data.copy() for leaf in leaves]
    grads = [upstream(y.shape, seed + i) for i, y in enumerate(outs)]
    grads_before = [g.copy() for g in grads]
    backward(outs, grads)
    assert _equal(case.arrays, before.arrays) and _equal(case.params, before.params)
    assert all(np.array_equal(leaf.data, x) for leaf, x in zip(leaves, inputs_before))
    assert all(np.array_equal(g, g0) for g, g0 in zip(grads, grads_before))
    for leaf in leaves:  # a leaf's .grad is its own array, never a view of an input or of g
        assert leaf.grad.shape == leaf.shape
        assert not any(np.shares_memory(leaf.grad, a) for a in [*grads, *(x.data for x in leaves)])


def _float32(value):
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        return value.astype(np.float32)
    return value


@settings(max_examples=10)
@grad_by_name
@given(data=st.data(), seed=seeds())
def test_float32_stays_float32(row, data, seed: int) -> None:
    case = data.draw(row.cases)
    case = Case(tuple(map(_float32, case.arrays)), {k: _float32(v) for k, v in case.params.items()})
    leaves, outs = run_ours(row, case, requires_grad=True)
    assert all(y.dtype == np.float32 for y in outs), [y.dtype for y in outs]
    upcast = []  # every VJP result as it leaves the op, before the engine would cast it back

    def check(grads, owned, key, data, g):
        value = g.value if isinstance(g, tensor_module.IndexGrad) else g
        if np.asarray(value).dtype != np.float32:
            upcast.append((data.shape, np.asarray(value).dtype))
        accumulate(grads, owned, key, data, g)

    def add_product(products, g):  # a parameter's matmul gradient, kept as factors
        if g.a.dtype != np.float32 or g.b.dtype != np.float32:
            upcast.append((g.shape, g.a.dtype, g.b.dtype))
        add(products, g)

    accumulate, tensor_module._accumulate = tensor_module._accumulate, check
    add, tensor_module.Products.add = tensor_module.Products.add, add_product
    try:
        backward(outs, [upstream(y.shape, seed + i).astype(np.float32) for i, y in enumerate(outs)])
    finally:
        tensor_module._accumulate, tensor_module.Products.add = accumulate, add
    assert upcast == [], f"{row.name}: VJPs returned {upcast} for float32 inputs (float64 work, then a cast)"
    for leaf in leaves:
        assert leaf.grad.dtype == np.float32 and leaf.grad.shape == leaf.shape


def test_python_numbers_take_the_tensor_dtype() -> None:
    x = tr.Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    for y in (x + 1.5, 2 - x, x * 2, 3 / x, x / 2, x**2, np.float32(2) * x, ops.where(x.data > 0, x, 0.0)):
        assert isinstance(y, tr.Tensor) and y.dtype == np.float32
    assert tr.Tensor([1, 2]).dtype == np.float64 and tr.Tensor(3.0).dtype == np.float64


# ---- random composite programs -------------------------------------------------------

UNARY = ["tanh", "sigmoid", "softplus", "neg", "square", "exp"]
BINARY = ["add", "sub", "mul"]
REDUCE = ["sum", "mean"]  # over one axis, keepdims=True: every node stays broadcastable with the rest

OURS = {
    "tanh": ops.tanh, "sigmoid": ops.sigmoid, "softplus": ops.softplus, "neg": ops.neg, "exp": ops.exp,
    "square": lambda x: x**2, "add": ops.add, "sub": ops.sub, "mul": ops.mul,
    "sum": lambda x, axis: x.sum(axis, keepdims=True), "mean": lambda x, axis: x.mean(axis, keepdims=True),
}  # fmt: skip
TORCH = {
    "tanh": torch.tanh, "sigmoid": torch.sigmoid, "softplus": TF.softplus, "neg": torch.neg, "exp": torch.exp,
    "square": lambda x: x**2, "add": torch.add, "sub": torch.sub, "mul": torch.mul,
    "sum": lambda x, axis: x.sum(axis, keepdim=True), "mean": lambda x, axis: x.mean(axis, keepdim=True),
}  # fmt: skip


@st.composite
def programs(draw) -> tuple:
    """(leaves, steps): 1-3 input arrays of broadcastable shapes, then 1-8 steps
    (op, operand node ids, kwargs). Operands are drawn with replacement from all
    earlier nodes, so nodes are re-used (x * x, or one node feeding several)."""
    found = draw(broadcastable_shapes(draw(st.integers(1, 3)), max_dims=3))
    leaves = tuple(draw(arrays(shape, floats(-2, 2))) for shape in found)
    node_shapes, steps = list(found), []
    for _ in range(draw(st.integers(1, 8))):
        node = st.integers(0, len(node_shapes) - 1)
        kind = draw(st.sampled_from(["binary", "unary", "reduce"]))
        if kind == "binary":
            i, j = draw(node), draw(node)
            steps.append((draw(st.sampled_from(BINARY)), (i, j), {}))
            node_shapes.append(np.broadcast_shapes(node_shapes[i], node_shapes[j]))
            continue
        i = draw(node)
        if kind == "reduce" and node_shapes[i]:
            axis = draw(st.integers(0, len(node_shapes[i]) - 1))
            steps.append((draw(st.sampled_from(REDUCE)), (i,), {"axis": axis}))
            node_shapes.append(tuple(1 if k == axis else n for k, n in enumerate(node_shapes[i])))
        else:
            steps.append((draw(st.sampled_from(UNARY)), (i,), {}))
            node_shapes.append(node_shapes[i])
    return leaves, steps


def run_program(steps, leaves, lib, weights) -> object:
    """Every node computed by `lib`; the loss sum_k sum(w_k * node_k) over the computed
    nodes, so each node reaches the loss directly as well as through later nodes."""
    nodes = list(leaves)
    for op, operands, kwargs in steps:
        nodes.append(lib[op](*(nodes[i] for i in operands), **kwargs))
    return sum((node * w).sum() for node, w in zip(nodes[len(leaves) :], weights))


@settings(max_examples=100)
@given(program=programs(), seed=seeds())
def test_random_programs_match_finite_differences_and_torch(program, seed: int) -> None:
    leaves, steps = program
    uses = np.bincount([i for _, operands, _ in steps for i in operands], minlength=len(leaves) + len(steps))
    uses[len(leaves) :] += 1  # every computed node also feeds the loss directly
    event(f"a node is used {'twice or more' if uses.max() > 1 else 'once'}")
    event(f"broadcasting: {'yes' if len({x.shape for x in leaves}) > 1 else 'no'}")
    with tr.no_grad():  # the weights need the node shapes: one forward pass to find them
        nodes = list(map(tr.Tensor, leaves))
        for op, operands, kwargs in steps:
            nodes.append(OURS[op](*(nodes[i] for i in operands), **kwargs))
    assume(all(np.abs(node.data).max() < 1e3 for node in nodes))  # keep exp/square chains in range
    weights = [upstream(node.shape, seed + k) for k, node in enumerate(nodes[len(leaves) :])]

    xs = [tr.Tensor(x.copy(), requires_grad=True) for x in leaves]
    run_program(steps, xs, OURS, weights).backward()
    numeric = tr.numerical_grad(lambda *ys: run_program(steps, ys, OURS, weights), *leaves)
    t_xs = [torch.tensor(x, requires_grad=True) for x in leaves]
    t_loss = run_program(steps, t_xs, TORCH, [torch.from_numpy(w) for w in weights])
    t_grads = torch.autograd.grad(t_loss, t_xs, allow_unused=True)
    for x, num, t_grad in zip(xs, numeric, t_grads):
        ours = np.zeros(x.shape) if x.grad is None else x.grad  # a leaf the program never used
        assert ours.shape == x.shape
        np.testing.assert_allclose(ours, num, rtol=FD_RTOL, atol=FD_ATOL)
        np.testing.assert_allclose(
            ours, np.zeros(x.shape) if t_grad is None else t_grad, rtol=TORCH_TOL, atol=TORCH_TOL
        )


# ---- accumulation, retain_grad, detach, no_grad --------------------------------------------

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))


def test_gradients_accumulate_across_backward_calls_like_torch() -> None:
    x, t_x = tr.Tensor(X.copy(), requires_grad=True), torch.tensor(X, requires_grad=True)
    (x * x).sum().backward()
    x.tanh().sum().backward()
    (t_x * t_x).sum().backward()
    t_x.tanh().sum().backward()
    np.testing.assert_allclose(x.grad, t_x.grad.numpy(), rtol=TORCH_TOL, atol=TORCH_TOL)
    np.testing.assert_allclose(x.grad, 2 * X + 1 - np.tanh(X) ** 2, rtol=1e-14)
    x.zero_grad()
    assert x.grad is None


def test_backward_twice_through_the_same_graph_doubles_the_gradient() -> None:
    x = tr.Tensor(X.copy(), requires_grad=True)
    y = (x.sigmoid() * x).sum()
    y.backward()
    once = x.grad.copy()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * once, rtol=1e-15)


def test_retain_grad_keeps_the_gradient_of_a_non_leaf() -> None:
    x = tr.Tensor(X.copy(), requires_grad=True)
    h = x.tanh().retain_grad()
    hh = h * h
    (hh + h).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * np.tanh(X) + 1, rtol=1e-14)
    assert hh.grad is None  # not retained
    np.testing.assert_allclose(x.grad, (2 * np.tanh(X) + 1) * (1 - np.tanh(X) ** 2), rtol=1e-14)


def test_detach_cuts_the_graph() -> None:
    x = tr.Tensor(X.copy(), requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    np.testing.assert_array_equal(d.data, X)
    (x * d).sum().backward()
    np.testing.assert_array_equal(x.grad, X)  # d/dx x * const, not 2x


def test_no_grad_builds_no_graph_and_restores() -> None:
    x = tr.Tensor(X.copy(), requires_grad=True)
    with tr.no_grad():
        assert not tr.is_grad_enabled()
        with tr.no_grad():
            pass
        assert not tr.is_grad_enabled()  # the inner block restored the outer state
        y = (x * 2).tanh()
    assert tr.is_grad_enabled() and not y.requires_grad and y.is_leaf
    with pytest.raises(KeyError), tr.no_grad():
        raise KeyError("inside no_grad")
    assert tr.is_grad_enabled()  # restored after an exception
    assert (x * 2).requires_grad


def test_no_grad_as_decorator() -> None:
    @tr.no_grad()
    def double(t):
        assert not tr.is_grad_enabled()
        return t * 2

    y = double(tr.Tensor(X, requires_grad=True))
    assert not y.requires_grad and tr.is_grad_enabled()


# ---- errors ----------------------------------------------------------------------------------


def test_backward_errors_are_clear() -> None:
    x = tr.Tensor(X.copy(), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"non-scalar.*\(3, 4\)"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"\(4,\).*\(3, 4\)"):
        (x * 2).backward(np.ones(4))
    with pytest.raises(RuntimeError, match="does not require grad"):
        tr.Tensor(X).sum().backward()
    with pytest.raises(RuntimeError, match="floating-point"):
        tr.Tensor(np.arange(3), requires_grad=True)


@pytest.mark.parametrize(
    "fn, a_shape, b_shape",
    [
        (ops.matmul, (3, 4), (5, 2)),
        (ops.matmul, (2, 3, 4), (3, 4, 5)),
        (ops.add, (3, 4), (5,)),
        (ops.mul, (2, 3), (3, 2)),
    ],
)
def test_shape_errors_name_both_shapes(fn, a_shape, b_shape) -> None:
    with pytest.raises(ValueError) as info:
        fn(tr.Tensor(np.ones(a_shape)), tr.Tensor(np.ones(b_shape)))
    assert str(a_shape) in str(info.value) and str(b_shape) in str(info.value), str(info.value)


@pytest.mark.parametrize(
    "a_shape, b_shape", [((4, 1), (1, 3)), ((1, 4), (4, 3)), ((3, 4), (4, 1)), ((2, 4, 1), (1, 3))]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_and_linear_with_an_inner_dimension_of_one(a_shape, b_shape, dtype) -> None:
    """Forward or VJP products whose inner dimension is 1 (a batch of one: dL/dW = x^T g) go
    through tensor.mm's outer-product path; same bits as NumPy's matmul, gradients as torch's."""
    rng = np.random.default_rng(0)
    a, b, g = (rng.standard_normal(s).astype(dtype) for s in (a_shape, b_shape, a_shape[:-1] + b_shape[-1:]))
    np.testing.assert_array_equal(tr.tensor.mm(a, b), a @ b)
    x, w = tr.Tensor(a, requires_grad=True), tr.Tensor(b, requires_grad=True)
    (x @ w).backward(g)
    tx, tw = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (tx @ tw).backward(torch.tensor(g))
    tol = 1e-6 if dtype == np.float32 else 1e-12  # sums of at most 4 products
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=tol, atol=tol)
    if len(a_shape) == 2:  # the Linear op, y = x W^T with W = b^T, has the same three products
        x2, w2 = tr.Tensor(a, requires_grad=True), tr.Tensor(b.T.copy(), requires_grad=True)
        linear(x2, w2).backward(g)
        np.testing.assert_allclose(x2.grad, tx.grad.numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(w2.grad, tw.grad.numpy().T, rtol=tol, atol=tol)


def test_matmul_error_names_the_inner_dimensions() -> None:
    with pytest.raises(ValueError, match=r"\(3, 4\) @ \(5, 2\).*4 and 5"):
        tr.Tensor(np.ones((3, 4))) @ tr.Tensor(np.ones((5, 2)))


def test_other_shape_errors_name_the_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)"):
        tr.cat([tr.Tensor(np.ones((2, 3))), tr.Tensor(np.ones((2, 4)))], axis=0)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 2\)"):
        tr.Tensor(np.ones((2, 3))).reshape(4, 2)
    with pytest.raises(ValueError, match=r"\[2, 2\].*5"):
        tr.split(tr.Tensor(np.ones((5, 2))), [2, 2])


# ---- long chains and linear-time backward ----------------------------------------------------


def test_10k_step_tanh_chain_has_the_closed_form_gradient() -> None:
    """No RecursionError at 10x Python's recursion limit, and dL/dx = g * prod_k (1 - y_k^2)."""
    x0 = np.array([-1.5, 0.3, 2.0])
    x = tr.Tensor(x0.copy(), requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y.tanh()
    g = np.array([0.5, -2.0, 1.0])
    y.backward(g)
    expected, v = g.copy(), x0.copy()
    for _ in range(10_000):
        v = np.tanh(v)
        expected *= 1 - v * v
    np.testing.assert_allclose(y.data, v, rtol=1e-15)
    # 10,000 factors multiplied in opposite orders, each rounding by <= 1.1e-16: <= ~2e-12 apart
    np.testing.assert_allclose(x.grad, expected, rtol=1e-10)


def _count_vjp_calls(root: tr.Tensor) -> list:
    """Wrap the VJP of every node under root with a counter; returns the counter (a 1-item list)."""
    calls, stack, seen = [0], [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen or node._vjp is None:
            continue
        seen.add(id(node))

        def counted(g, vjp=node._vjp):
            calls[0] += 1
            return vjp(g)

        node._vjp = counted
        stack.extend(node._parents)
    return calls


def test_backward_visits_each_node_once_despite_exponentially_many_paths() -> None:
    """h <- tanh(h + h), 60 times: 2^60 paths from x to the loss, 120 nodes. A backward that
    walked paths would never finish; ours calls each node's VJP exactly once."""
    x = tr.Tensor(np.array([0.1, -0.2]), requires_grad=True)
    h, ys = x, [x.data]
    for _ in range(60):
        h = (h + h).tanh()
        ys.append(h.data)
    calls = _count_vjp_calls(h)
    h.backward(np.ones(2))
    assert calls[0] == 120
    np.testing.assert_allclose(x.grad, np.prod([2 * (1 - y * y) for y in ys[1:]], axis=0), rtol=1e-12)


@pytest.mark.parametrize("steps", [1, 64])
def test_unbind_backward_allocates_one_full_size_buffer(monkeypatch, steps: int) -> None:
    """Indexing every time step: the slice gradients go into ONE zero buffer of x's shape
    (counted through np.zeros / np.zeros_like), not T of them: backward is O(T), not O(T^2)."""
    x = tr.Tensor(RNG.standard_normal((steps, 2, 3)), requires_grad=True)
    w = tr.Tensor(RNG.standard_normal((3, 3)))
    h = tr.Tensor(np.zeros((2, 3)))
    for x_t in tr.unbind(x):
        h = (x_t + h @ w).tanh()
    allocated = []  # the shape of every array made by np.zeros / np.zeros_like during backward
    real_zeros, real_zeros_like = np.zeros, np.zeros_like

    def zeros(shape, *args, **kwargs):
        allocated.append(tuple(np.atleast_1d(shape)))
        return real_zeros(shape, *args, **kwargs)

    def zeros_like(a, *args, **kwargs):
        allocated.append(np.shape(a))
        return real_zeros_like(a, *args, **kwargs)

    monkeypatch.setattr(np, "zeros", zeros)
    monkeypatch.setattr(np, "zeros_like", zeros_like)
    h.sum().backward()
    monkeypatch.undo()
    assert allocated.count(x.shape) == 1
    t_x = torch.tensor(x.data, requires_grad=True)
    t_h = torch.zeros(2, 3, dtype=torch.float64)
    for t_xt in torch.unbind(t_x):
        t_h = (t_xt + t_h @ torch.from_numpy(w.data)).tanh()
    t_h.sum().backward()
    np.testing.assert_allclose(x.grad, t_x.grad.numpy(), rtol=TORCH_TOL, atol=TORCH_TOL)


def test_repeated_indices_accumulate() -> None:
    x = tr.Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    rows, cols = np.array([0, 2, 0, 0]), np.array([1, 3, 1, 2])
    g = np.array([1.0, 10.0, 100.0, 1000.0])
    x[rows, cols].backward(g)
    expected = np.zeros((3, 4))
    expected[0, 1] = 1.0 + 100.0
    expected[2, 3] = 10.0
    expected[0, 2] = 1000.0
    np.testing.assert_array_equal(x.grad, expected)
    y = tr.Tensor(np.arange(3.0), requires_grad=True)
    y[[1, 1, 1]].sum().backward()
    np.testing.assert_array_equal(y.grad, [0.0, 3.0, 0.0])


# ---- make_many -------------------------------------------------------------------------------


def _sum_diff_prod(a: tr.Tensor, b: tr.Tensor, calls: list) -> list:
    """One node, three outputs: a + b, a - b, a * b."""

    def vjp(grads):
        calls.append(1)
        g_sum, g_diff, g_prod = grads
        return g_sum + g_diff + g_prod * b.data, g_sum - g_diff + g_prod * a.data

    return make_many([a.data + b.data, a.data - b.data, a.data * b.data], (a, b), vjp, "three")


def test_make_many_with_only_some_outputs_used() -> None:
    a0, b0 = RNG.standard_normal(3), RNG.standard_normal(3)
    a, b, calls = tr.Tensor(a0.copy(), requires_grad=True), tr.Tensor(b0.copy(), requires_grad=True), []
    total, _, prod = _sum_diff_prod(a, b, calls)
    (prod * 2).sum().backward()  # only a * b
    np.testing.assert_allclose(a.grad, 2 * b0, rtol=1e-15)
    np.testing.assert_allclose(b.grad, 2 * a0, rtol=1e-15)
    assert len(calls) == 1
    a.zero_grad(), b.zero_grad()
    (total * prod).sum().backward()  # two outputs, and the graph used a second time
    np.testing.assert_allclose(a.grad, a0 * b0 + (a0 + b0) * b0, rtol=1e-14)
    np.testing.assert_allclose(b.grad, a0 * b0 + (a0 + b0) * a0, rtol=1e-14)
    assert len(calls) == 2  # one call of the fused VJP per backward, however many outputs


def test_make_many_outputs_in_separate_backward_calls_accumulate() -> None:
    a0, b0 = RNG.standard_normal(3), RNG.standard_normal(3)
    a, b, calls = tr.Tensor(a0.copy(), requires_grad=True), tr.Tensor(b0.copy(), requires_grad=True), []
    total, diff, _ = _sum_diff_prod(a, b, calls)
    total.sum().backward()
    diff.sum().backward()  # must not see the first call's gradient of `total` again
    np.testing.assert_allclose(a.grad, np.full(3, 2.0), rtol=1e-15)
    np.testing.assert_allclose(b.grad, np.zeros(3), atol=1e-15)


def test_make_records_nothing_when_no_parent_needs_grad() -> None:
    x = tr.Tensor(X)
    y = make(X * 2, (x,), lambda g: (2 * g,))
    assert not y.requires_grad and y.is_leaf


def test_a_tensor_goes_where_arrays_go() -> None:
    t = tr.Tensor(np.array([0, 2]))
    np.testing.assert_array_equal(np.asarray(t), [0, 2])
    np.testing.assert_array_equal(tr.functional.one_hot(t, 3).data, np.eye(3)[[0, 2]])
    assert np.asarray(tr.Tensor(np.ones(2, np.float32)), dtype=np.float64).dtype == np.float64


def test_no_grad_as_a_decorator_keeps_the_name_and_docstring() -> None:
    @tr.no_grad()
    def double(x):
        """Twice x."""
        return x * 2

    assert (double.__name__, double.__doc__) == ("double", "Twice x.")
    assert not double(tr.Tensor(np.ones(2), requires_grad=True)).requires_grad


def test_matmul_skips_the_product_for_a_constant_operand() -> None:
    """x_t @ W with a constant input x_t: the VJP computes dL/dW only (G B^T would be thrown away)."""
    x, w = tr.Tensor(np.ones((2, 3))), tr.Tensor(np.ones((3, 4)), requires_grad=True)
    gx, gw = (x @ w)._vjp(np.ones((2, 4)))
    assert gx is None and gw.shape == (3, 4)
    gx, gw = (w.T @ x.T)._vjp(np.ones((4, 2)))
    assert gw is None and gx.shape == (4, 3)


@pytest.mark.parametrize("op", ["mul", "sub", "div"])
def test_elementwise_vjps_skip_the_product_for_a_constant_operand(op) -> None:
    """x * mask with a constant mask (dropout, padding): only dL/dx is computed; and the other way round."""
    fn = getattr(ops, op)
    x, c = tr.Tensor(np.full((2, 3), 2.0), requires_grad=True), tr.Tensor(np.full((2, 3), 4.0))
    gx, gc = fn(x, c)._vjp(np.ones((2, 3)))
    assert gc is None and gx.shape == (2, 3)
    gc, gx = fn(c, x)._vjp(np.ones((2, 3)))
    assert (gc is None or op == "sub") and gx.shape == (2, 3)  # a - b sends g itself to a: nothing to skip


def _weight_used_everywhere(lib, W, xs, how: str):
    """A weight met at every step as a right operand x_t @ W, a left one W @ x_t^T, or through
    linear(x_t, W), beside an elementwise use and an index: products, dense and index gradients
    all reach W."""
    h = 0
    for x in xs:
        y = {"x @ W": lambda: x @ W, "W @ x": lambda: W @ x.T, "linear": lambda: lib.linear(x, W)}[how]()
        h = h + lib.tanh(y).sum()
    return h + (W * W).sum() + W[1].sum() * 3


@pytest.mark.parametrize("how", ["x @ W", "W @ x", "linear"])
@pytest.mark.parametrize("held", [0, 30, 1 << 20], ids=["limit W.size", "limit 30", "default limit"])
@pytest.mark.parametrize("batch", [1, 5])
def test_a_weight_used_at_every_step_gets_the_sum_of_its_products(monkeypatch, how, held, batch) -> None:
    """Its products are multiplied out together (tensor.Products), folded when they outgrow
    PRODUCTS_HELD entries, and added to the other kinds of gradient: the result is torch's."""
    monkeypatch.setattr(tensor_module, "PRODUCTS_HELD", held)
    W0 = RNG.standard_normal((4, 4))
    xs0 = [RNG.standard_normal((batch, 4)) for _ in range(7)]
    W = tr.Tensor(W0, requires_grad=True)
    ours = SimpleNamespace(tanh=tr.tanh, linear=linear)
    _weight_used_everywhere(ours, W, [tr.Tensor(x) for x in xs0], how).backward()
    t_W = torch.tensor(W0, requires_grad=True)
    theirs = SimpleNamespace(tanh=torch.tanh, linear=TF.linear)
    _weight_used_everywhere(theirs, t_W, [torch.from_numpy(x) for x in xs0], how).backward()
    np.testing.assert_allclose(W.grad, t_W.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_the_products_of_a_weight_are_one_matrix_product(monkeypatch) -> None:
    """T uses of W as x_t @ W at batch 1: dL/dW is one product of the T factors side by side,
    not T outer products (the products of W's shape, counted through tensor.mm; the others are dL/dh_t)."""
    T, H = 35, 6
    W = tr.Tensor(RNG.standard_normal((H, H)), requires_grad=True)
    h = tr.Tensor(np.zeros((1, H)))
    for x in RNG.standard_normal((T, 1, H)):
        h = (tr.Tensor(x) + h @ W).tanh()
    shapes, real_mm = [], tensor_module.mm
    monkeypatch.setattr(tensor_module, "mm", lambda a, b: shapes.append((a.shape, b.shape)) or real_mm(a, b))
    h.sum().backward()
    monkeypatch.undo()
    assert [(a, b) for a, b in shapes if (a[0], b[1]) == W.shape] == [((H, T), (T, H))]


def test_a_product_gradient_reads_as_its_array() -> None:
    """What the matmul VJP returns for a parameter works as the array it stands for."""
    a, b = RNG.standard_normal((3, 2)), RNG.standard_normal((2, 5))
    g = tensor_module.ProductGrad(a, b)
    assert g.shape == (3, 5) and g.dtype == np.float64
    np.testing.assert_array_equal(np.asarray(g), a @ b)
    assert np.asarray(tensor_module.ProductGrad(a.astype(np.float32), b.astype(np.float32))).dtype == np.float32
