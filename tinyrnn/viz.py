"""Draw the graph that produced a Tensor: Graphviz DOT text, for teaching.

    print(tr.to_dot(loss))          # paste into https://dreampuf.github.io/GraphvizOnline
    dot -Tsvg graph.dot > graph.svg # or render it with Graphviz

Each op result is an ellipse labelled with the op's name (`tanh`, `matmul`, a
tr.Function's class name) and shape; each leaf is a box labelled with its
`name` (if set), else its name in the modules passed as `modules=` (e.g.
`weight_hh_l0`), else `param` (requires grad) or `input` (does not), and its
shape. Arrows point the way data flows, from a parent to the op that used it:
the reverse of the order backward() visits them.
"""

from __future__ import annotations

from collections.abc import Iterable

from tinyrnn.nn.module import Module
from tinyrnn.tensor import Tensor


def op_name(t: Tensor) -> str | None:
    """The name of the op that made `t`, read off its VJP; None for a leaf.

    Nothing is stored per node: every op in ops.py builds its VJP inside the op
    function, so the VJP's __qualname__ starts with the op's name
    ('tanh.<locals>.<lambda>' -> 'tanh'); a VJP built elsewhere (tr.Function,
    the fused layers' make_many) carries the name as its `op` attribute."""
    if t._vjp is None:
        return None
    return getattr(t._vjp, "op", None) or t._vjp.__qualname__.split(".<locals>")[0]


def _label(t: Tensor, param_names: dict[int, str]) -> str:
    shape = str(tuple(t.shape))
    op = op_name(t)
    if op is not None:
        return f"{op}\\n{shape}"
    name = t.name or param_names.get(id(t)) or ("param" if t.requires_grad else "input")
    return f"{name}\\n{shape}".replace('"', '\\"')


def to_dot(tensor: Tensor, modules: Module | Iterable[Module] | None = None) -> str:
    """Graphviz DOT text of every node `tensor` was computed from, `tensor` included.

    A node used twice (x * x) has two arrows into the op. A tensor computed with
    no input requiring gradients recorded no graph and is drawn as a single leaf.

    Args:
        tensor: the Tensor whose graph to draw; op nodes are labelled with the
            op's name and shape, leaves with their `name` (or 'param' / 'input').
        modules: a Module or a list of Modules whose parameters are labelled
            with their names from `named_parameters()` (a tensor's own `name`
            comes first).

    Returns:
        The text of a `digraph`, for Graphviz (`dot -Tsvg`) or any DOT viewer.

    Examples:
        >>> import numpy as np, tinyrnn as tr
        >>> w = tr.Tensor(np.ones(2), requires_grad=True, name="w")
        >>> print(tr.to_dot((w * w).sum()).splitlines()[0])
        digraph tinyrnn {
    """
    param_names: dict[int, str] = {}
    for module in [modules] if isinstance(modules, Module) else modules or []:
        param_names.update((id(p), name) for name, p in module.named_parameters())
    ids: dict[int, str] = {}
    nodes: list[Tensor] = []
    edges: list[str] = []
    stack = [tensor]
    while stack:
        t = stack.pop()
        if id(t) in ids:
            continue
        ids[id(t)] = f"n{len(ids)}"
        nodes.append(t)
        stack.extend(p for p in reversed(t._parents) if id(p) not in ids)  # first parent visited first
    lines = ["digraph tinyrnn {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=11];']
    for t in nodes:
        leaf = t._vjp is None
        style = ", shape=box, style=filled, fillcolor=" + ('"#ffe8b0"' if t.requires_grad else '"#e8e8e8"')
        lines.append(f'  {ids[id(t)]} [label="{_label(t, param_names)}"{style if leaf else ""}];')
        edges.extend(f"  {ids[id(p)]} -> {ids[id(t)]};" for p in t._parents)
    lines += edges
    lines.append("}")
    return "\n".join(lines) + "\n"
