"""tinyrnn.viz.to_dot: the DOT text of a graph, checked by counting what it declares."""

import re

import numpy as np
import pytest

import tinyrnn as tr
from tinyrnn import ops
from tinyrnn.viz import op_name

NODE = re.compile(r'^  (n\d+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$')
EDGE = re.compile(r"^  (n\d+) -> (n\d+);$")


def parse(dot: str) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str]]]:
    """{node id: (label, attributes)} and the list of (tail, head) edges; fails on any other line."""
    lines = dot.splitlines()
    assert lines[0] == "digraph tinyrnn {" and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if m := NODE.match(line):
            nodes[m[1]] = (m[2], m[3])
        elif m := EDGE.match(line):
            edges.append((m[1], m[2]))
        else:
            assert line.startswith(("  rankdir", "  node ")), f"unexpected DOT line {line!r}"
    for tail, head in edges:
        assert tail in nodes and head in nodes
    return nodes, edges


def test_known_expression_has_one_node_per_tensor_and_one_edge_per_use():
    x = tr.Tensor(np.ones((3, 4)), name="x")
    w = tr.Tensor(np.ones((4, 2)), requires_grad=True, name="w")
    b = tr.Tensor(np.zeros(2), requires_grad=True)
    loss = (x @ w + b).tanh().sum()
    nodes, edges = parse(tr.to_dot(loss))
    # x, w, b, matmul, add, tanh, sum; matmul has 2 parents, add 2, tanh 1, sum 1
    assert len(nodes) == 7
    assert len(edges) == 6
    labels = sorted(label for label, _ in nodes.values())
    expected = [
        "add\\n(3, 2)",
        "matmul\\n(3, 2)",
        "param\\n(2,)",
        "sum\\n()",
        "tanh\\n(3, 2)",
        "w\\n(4, 2)",
        "x\\n(3, 4)",
    ]
    assert labels == sorted(expected)
    by_label = {label: nid for nid, (label, _) in nodes.items()}
    assert (by_label["tanh\\n(3, 2)"], by_label["sum\\n()"]) in edges  # arrows follow the data
    assert (by_label["w\\n(4, 2)"], by_label["matmul\\n(3, 2)"]) in edges


def test_leaves_are_boxes_and_ops_are_not():
    a = tr.Tensor(np.ones(2), requires_grad=True)
    nodes, _ = parse(tr.to_dot(a.exp() * tr.Tensor(np.ones(2))))
    leaves = {label for label, attrs in nodes.values() if "shape=box" in attrs}
    ops_ = {label for label, attrs in nodes.values() if "shape=box" not in attrs}
    assert leaves == {"param\\n(2,)", "input\\n(2,)"}
    assert ops_ == {"exp\\n(2,)", "mul\\n(2,)"}


def test_a_reused_node_is_drawn_once_with_two_arrows():
    x = tr.Tensor(np.ones(3), requires_grad=True, name="x")
    nodes, edges = parse(tr.to_dot(x * x))
    assert len(nodes) == 2
    assert len(edges) == 2 and edges[0] == edges[1]


def test_a_shared_subexpression_is_one_node():
    x = tr.Tensor(np.ones(3), requires_grad=True)
    h = x.tanh()
    nodes, edges = parse(tr.to_dot(h + h.sigmoid()))  # x, tanh, sigmoid, add
    assert len(nodes) == 4 and len(edges) == 4


def test_a_tensor_without_graph_is_a_single_leaf():
    nodes, edges = parse(tr.to_dot(tr.Tensor(np.zeros((2, 5)), name="h0")))
    assert list(nodes.values())[0][0] == "h0\\n(2, 5)" and len(nodes) == 1 and edges == []
    with tr.no_grad():
        y = tr.Tensor(np.ones(2), requires_grad=True).tanh()
    assert len(parse(tr.to_dot(y))[0]) == 1


def test_quotes_in_names_are_escaped():
    x = tr.Tensor(np.ones(1), requires_grad=True, name='say "hi"')
    nodes, _ = parse(tr.to_dot(x.exp()))
    assert 'say \\"hi\\"\\n(1,)' in {label for label, _ in nodes.values()}


def test_a_long_chain_needs_no_recursion():
    h = tr.Tensor(np.ones(2), requires_grad=True)
    for _ in range(5000):
        h = h.tanh()
    nodes, edges = parse(tr.to_dot(h))
    assert len(nodes) == 5001 and len(edges) == 5000


X = tr.Tensor(np.full((2, 3), 0.5), requires_grad=True)
Y = tr.Tensor(np.full((2, 3), 2.0), requires_grad=True)
OPS = [
    ("add", lambda: X + Y),
    ("sub", lambda: X - Y),
    ("mul", lambda: X * Y),
    ("div", lambda: X / Y),
    ("neg", lambda: -X),
    ("pow", lambda: X**2),
    ("matmul", lambda: X @ Y.T),
    ("exp", lambda: X.exp()),
    ("log", lambda: X.log()),
    ("tanh", lambda: X.tanh()),
    ("sigmoid", lambda: X.sigmoid()),
    ("relu", lambda: X.relu()),
    ("softplus", lambda: X.softplus()),
    ("where", lambda: tr.where(X.data > 0, X, Y)),
    ("sum", lambda: X.sum(axis=0)),
    ("mean", lambda: X.mean()),
    ("max", lambda: X.max(axis=1)),
    ("reshape", lambda: X.reshape(3, 2)),
    ("transpose", lambda: X.T),
    ("getitem", lambda: X[0]),
    ("getitem", lambda: tr.split(X, 1, axis=1)[0]),  # split and unbind are slices of x
    ("getitem", lambda: tr.unbind(X)[1]),
    ("cat", lambda: tr.cat([X, Y])),
    ("stack", lambda: tr.stack([X, Y])),
    ("softmax", lambda: X.softmax(axis=1)),
    ("log_softmax", lambda: X.log_softmax(axis=1)),
]


@pytest.mark.parametrize("expected, make", OPS, ids=[f"{name}-{i}" for i, (name, _) in enumerate(OPS)])
def test_op_name_is_read_from_the_vjp(expected, make):
    assert op_name(make()) == expected


def test_every_primitive_op_is_named():
    primitives = {"add", "sub", "mul", "div", "neg", "pow", "matmul", "exp", "log", "tanh", "sigmoid", "relu"}
    primitives |= {"softplus", "where", "sum", "mean", "max", "reshape", "transpose", "getitem", "cat", "stack"}
    primitives |= {"softmax", "log_softmax"}
    assert primitives == {name for name, _ in OPS}
    assert all(callable(getattr(ops, name)) for name in primitives)
    assert op_name(X) is None
