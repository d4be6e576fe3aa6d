"""The inputs of each op of the table in test_ops.py, as strategies of `Case`s.

The general strategies (floats, shapes, arrays, broadcastable shapes, axes, Case, ...)
live in the public kit, tinyrnn.testing.strategies; this file holds only the cases of
this project's own ops (index kinds, joins, losses). Import as `from strategies import
...` (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinyrnn.testing.strategies import (
    Case,
    arrays,
    broadcastable_shapes,
    cases,
    floats,
    one_array,
    seeds,
    shapes,
    sizes,
)

# Every kind of operand first (1-D on either side, 1-D against a batch, broadcast batches),
# then any shapes NumPy's matmul signature allows.
MATMUL_EDGES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 2)),
    ((2, 2, 3), (3,)),
    ((3,), (2, 3, 2)),
    ((2, 1, 2, 3), (3, 3, 1)),
    ((2, 1), (1, 3)),  # inner dimension 1 (ops.mm's outer-product path), forward
    ((1, 3), (3, 2)),  # and in the VJP: dL/db = a^T g has inner dimension 1
    ((2, 3), (3, 1)),  # dL/da = g b^T has inner dimension 1
]
MATMUL_SHAPES = st.sampled_from(MATMUL_EDGES) | hnp.mutually_broadcastable_shapes(
    signature=np.matmul.signature, max_dims=2, max_side=3
).map(lambda b: b.input_shapes)


@st.composite
def matmul_cases(draw) -> Case:
    a_shape, b_shape = draw(MATMUL_SHAPES)
    return Case((draw(arrays(a_shape)), draw(arrays(b_shape))))


@st.composite
def where_cases(draw) -> Case:
    cond_shape, a_shape, b_shape = draw(broadcastable_shapes(3))
    cond = draw(hnp.arrays(np.bool_, cond_shape))
    return Case((draw(arrays(a_shape)), draw(arrays(b_shape))), {"cond": cond})


@st.composite
def pow_cases(draw, elements, exponents) -> Case:
    return Case((draw(arrays(shapes(), elements)),), {"p": draw(st.sampled_from(exponents))})


@st.composite
def reshape_cases(draw) -> Case:
    shape = draw(shapes())
    size = int(np.prod(shape))
    targets = [(-1,), shape[::-1], (1, *shape), (size, 1)] + [()] * (size == 1)
    target = draw(st.sampled_from(targets))
    return Case((draw(arrays(shape)),), {"shape": target})


@st.composite
def transpose_cases(draw) -> Case:
    """A 3-cycle first: the VJP must apply the inverse permutation, which only differs from
    the permutation itself when it is not its own inverse."""
    shape = draw(st.just((2, 3, 4)) | shapes(max_dims=4))
    cycle = st.just((1, 2, 0)) if len(shape) == 3 else st.nothing()
    order = draw(cycle | st.none() | st.permutations(range(len(shape))).map(tuple))
    if order is not None and draw(st.booleans()):  # the same permutation, some axes counted from the end
        order = tuple(a - len(shape) if draw(st.booleans()) else a for a in order)
    return Case((draw(arrays(shape)),), {"axes": order})


def _slices(n: int) -> st.SearchStrategy:
    bound = st.none() | st.integers(-n - 1, n + 1)
    return st.builds(slice, bound, bound, st.sampled_from([None, 1, 2]))  # torch has no negative steps


@st.composite
def index_cases(draw, kind: str) -> Case:
    shape = draw(shapes(min_dims=1))
    x = draw(arrays(shape))
    k = draw(st.integers(1, len(shape)))  # how many leading axes the index addresses
    if kind == "slice":
        index = tuple(draw(_slices(n)) for n in shape[:k])
    elif kind == "int":
        index = (draw(st.integers(-shape[0], shape[0] - 1)),) + tuple(draw(_slices(n)) for n in shape[1:k])
    elif kind == "array":  # an integer array (repeats welcome) along one axis
        axis = draw(st.integers(0, len(shape) - 1))
        n = shape[axis]
        picks = draw(hnp.arrays(np.int64, draw(st.integers(1, 6)), elements=st.integers(-n, n - 1)))
        index = (slice(None),) * axis + (picks,)
    elif kind == "arrays":  # integer arrays on two axes (paired entries, repeats welcome), with None or ...
        assume(len(shape) >= 2)
        form = draw(st.sampled_from(["a, b", "None, a, b", "a, b, ...", "..., a, b"]))
        sizes = shape[-2:] if form.startswith("...") else shape[:2]  # the two axes the arrays address
        size = draw(st.integers(1, 5))
        a, b = (draw(hnp.arrays(np.int64, size, elements=st.integers(-n, n - 1))) for n in sizes)
        index = {"a, b": (a, b), "None, a, b": (None, a, b), "a, b, ...": (a, b, ...), "..., a, b": (..., a, b)}[form]
    else:  # boolean mask over the first k axes
        index = draw(hnp.arrays(np.bool_, shape[:k]))
    return Case((x,), {"index": index})


@st.composite
def join_cases(draw, new_axis: bool) -> Case:
    """2-3 arrays for cat (sides may differ along `axis`) or stack (equal shapes)."""
    shape = draw(shapes(min_dims=0 if new_axis else 1))
    ndim = len(shape) + new_axis
    axis = draw(st.integers(-ndim, ndim - 1))
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        part = list(shape)
        if not new_axis:
            part[axis] = draw(sizes())
        parts.append(draw(arrays(tuple(part))))
    return Case(tuple(parts), {"axis": axis})


@st.composite
def split_cases(draw) -> Case:
    """An int piece size, or a list of sizes cut at distinct points (they add up to the axis length)."""
    shape = draw(shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    cuts = st.sets(st.integers(1, n - 1)).map(lambda c: np.diff([0, *sorted(c), n]).tolist()) if n > 1 else st.just([n])
    sections = draw(st.integers(1, n) | cuts)
    return Case((draw(arrays(shape)),), {"sections": sections, "axis": axis})


@st.composite
def cross_entropy_cases(draw, spatial: bool) -> Case:
    """logits (C,), (N, C) or (N, C, d1[, d2]) and integer targets, some ignored."""
    c = draw(sizes(4))
    if spatial:
        lead, rest = (draw(sizes()),), tuple(draw(st.lists(sizes(), min_size=1, max_size=2)))
    else:
        lead, rest = draw(st.sampled_from([(), (1,)]) | st.tuples(sizes())), ()
    target_shape = lead + rest
    logits = draw(arrays(lead + (c,) + rest))
    targets = draw(hnp.arrays(np.int64, target_shape, elements=st.integers(0, c - 1)))
    ignore_index = draw(st.sampled_from([-100, 0]))
    targets[draw(hnp.arrays(np.bool_, target_shape))] = ignore_index
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    if reduction == "mean" and np.all(targets == ignore_index):
        reduction = "sum"  # a mean over no targets is 0/0, in torch too
    return Case((logits,), {"targets": targets, "reduction": reduction, "ignore_index": ignore_index})


@st.composite
def bce_cases(draw) -> Case:
    shape = draw(shapes())
    targets = draw(arrays(shape, floats(0.0, 1.0)))
    return Case(
        (draw(arrays(shape)),), {"targets": targets, "reduction": draw(st.sampled_from(["mean", "sum", "none"]))}
    )


@st.composite
def one_hot_cases(draw) -> Case:
    c = draw(sizes(4))
    indices = draw(hnp.arrays(np.int64, shapes(max_dims=2), elements=st.integers(0, c - 1)))
    return Case((), {"indices": indices, "num_classes": c})


DROPOUT_CASES = cases(one_array(), p=st.sampled_from([0.0, 0.25, 0.5, 0.9]), training=st.booleans(), seed=seeds())
