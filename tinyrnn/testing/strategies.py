"""Hypothesis strategies for testing ops, cells and layers: values, shapes, arrays, Tensors,
padded sequence batches and recurrent-layer configurations.

Sizes stay small on purpose: a finite-difference check costs two function calls per
input entry. Edge cases come first (hypothesis tries the first choice of a `one_of`
and the smallest value first, and shrinks towards them): 0-d scalars, size-1 axes,
batch 1, length 1.

    from hypothesis import given
    from tinyrnn.testing import strategies as trs

    @given(x=trs.arrays(trs.shapes(max_dims=2), trs.floats(away_from=(0.0,))))
    def test_my_op(x): ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinyrnn.tensor import Tensor

MAX_SIDE = 4  # largest axis length drawn: keeps finite differences cheap
EDGE_SHAPES = ((), (1,), (1, 1))


def floats(
    lo: float = -3.0,
    hi: float = 3.0,
    away_from: tuple[float, ...] = (),
    margin: float = 1e-3,
    width: Literal[16, 32, 64] = 64,
) -> st.SearchStrategy[float]:
    """Finite floats in [lo, hi] (no NaN, no inf, no subnormals).

    away_from: points where the function under test is not differentiable (relu's 0,
    abs's 0, the kinks of a clip); drawn values keep at least `margin` from each, so a
    finite-difference step never straddles a kink. width=32 draws float32 values."""
    values = st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=width)
    return values.filter(lambda v: all(abs(v - p) >= margin for p in away_from)) if away_from else values


def positive(lo: float = 0.1, hi: float = 3.0) -> st.SearchStrategy[float]:
    """Values in [lo, hi] with lo > 0: the domain of log and of fractional powers."""
    return floats(lo, hi)


def away_from_zero(lo: float = 0.5, hi: float = 3.0) -> st.SearchStrategy[float]:
    """|x| in [lo, hi], either sign: denominators, and relu inputs (no kink within eps)."""
    return floats(lo, hi) | floats(-hi, -lo)


def sizes(max_size: int = 3) -> st.SearchStrategy[int]:
    """An axis length (batch, time, hidden) from 1 up; 1 is tried first."""
    return st.integers(1, max_size)


def seeds() -> st.SearchStrategy[int]:
    return st.integers(0, 2**32 - 1)


def shapes(min_dims: int = 0, max_dims: int = 3, max_side: int = MAX_SIDE) -> st.SearchStrategy[tuple]:
    """Array shapes with every side >= 1; the edge shapes (), (1,), (1, 1) first."""
    edges = [s for s in EDGE_SHAPES if min_dims <= len(s) <= max_dims]
    drawn = hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)
    return st.sampled_from(edges) | drawn if edges else drawn


def arrays(shape, elements: st.SearchStrategy[float] | None = None, dtype=np.float64) -> st.SearchStrategy[np.ndarray]:
    """Arrays of `shape` (a tuple or a strategy of tuples) and `dtype` (float64 by default)."""
    width: Literal[32, 64] = 32 if np.dtype(dtype) == np.float32 else 64
    return hnp.arrays(dtype, shape, elements=elements if elements is not None else floats(width=width))


def tensors(
    shape, elements: st.SearchStrategy[float] | None = None, dtype=np.float64, requires_grad: bool = False
) -> st.SearchStrategy[Tensor]:
    """Tensors holding arrays(shape, elements, dtype)."""
    return arrays(shape, elements, dtype).map(lambda a: Tensor(a, requires_grad=requires_grad))


def broadcastable_shapes(num: int, min_dims: int = 0, max_dims: int = 3) -> st.SearchStrategy[tuple]:
    """`num` shapes that broadcast together, e.g. ((3, 1), (4,)) or ((), (2, 2))."""
    strategy = hnp.mutually_broadcastable_shapes(
        num_shapes=num, min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=MAX_SIDE
    )
    return strategy.map(lambda b: b.input_shapes)


@st.composite
def broadcastable_arrays(draw, elements: tuple, min_dims: int = 0, max_dims: int = 3) -> tuple:
    """One float64 array per strategy in `elements`, of mutually broadcastable shapes."""
    found = draw(broadcastable_shapes(len(elements), min_dims, max_dims))
    return tuple(draw(arrays(shape, e)) for shape, e in zip(found, elements))


def axes(ndim: int, allow_none: bool = True, allow_tuple: bool = True) -> st.SearchStrategy:
    """A reduction axis for an array of `ndim` dims: None, an int or a non-empty tuple
    of distinct axes (each maybe negative). A 0-d array only gets None."""
    choices: list[st.SearchStrategy] = [st.none()] if allow_none or ndim == 0 else []
    if ndim:
        choices.append(st.integers(-ndim, ndim - 1))
    if ndim and allow_tuple:
        distinct = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
        signs = st.lists(st.booleans(), min_size=ndim, max_size=ndim)  # also count some from the end
        choices.append(st.tuples(distinct, signs).map(lambda d: tuple(a - ndim * neg for a, neg in zip(*d))))
    return st.one_of(choices)


@st.composite
def distinct_arrays(draw, shape) -> np.ndarray:
    """float64 arrays whose entries differ pairwise by more than 0.3: no ties for max,
    and a +-eps finite-difference step never changes which entry is largest."""
    shape = draw(shape) if isinstance(shape, st.SearchStrategy) else shape
    n = int(np.prod(shape))
    order = np.array(draw(st.permutations(range(n))), dtype=np.float64)
    jitter = draw(arrays((n,), floats(-0.1, 0.1)))
    return (0.5 * order - 0.25 * n + jitter).reshape(shape)


def upstream(shape: tuple, seed: int) -> np.ndarray:
    """A generic dL/dy of `shape` (standard normal, no zeros or ties): a backward()
    seeded with it checks every output entry with its own weight, unlike sum()."""
    return np.random.default_rng(seed).standard_normal(shape)


# ---- sequences and recurrent layers ----------------------------------------------------


@dataclass(frozen=True)
class PaddedBatch:
    """x (T, B, I) (or (B, T, I) when batch_first) with lengths (B,) in [1, T]: sequence b is
    valid for its first lengths[b] steps; the padded steps hold values too (a layer must ignore them)."""

    x: np.ndarray
    lengths: np.ndarray
    batch_first: bool = False


@st.composite
def padded_batches(
    draw, input_size: int | None = None, max_length: int = 4, max_batch: int = 3, batch_first: bool = False
) -> PaddedBatch:
    """A PaddedBatch; one sequence always has the full length T (as torch's padded batches)."""
    T, B = draw(sizes(max_length)), draw(sizes(max_batch))
    size = input_size if input_size is not None else draw(sizes())
    lengths = np.array(draw(st.lists(st.integers(1, T), min_size=B, max_size=B)), dtype=np.int64)
    lengths[draw(st.integers(0, B - 1))] = T
    x = draw(arrays((B, T, size) if batch_first else (T, B, size), floats(-2, 2)))
    return PaddedBatch(x, lengths, batch_first)


def layer_configs(max_layers: int = 2) -> st.SearchStrategy[dict]:
    """Keyword arguments of a recurrent layer: num_layers, bidirectional, batch_first (the
    simplest, 1 layer one way time-major, first)."""
    return st.fixed_dictionaries(
        {"num_layers": st.integers(1, max_layers), "bidirectional": st.booleans(), "batch_first": st.booleans()}
    )


# ---- inputs of an op, with its non-differentiable parameters ----------------------------


@dataclass(frozen=True)
class Case:
    """One drawn input of an op: `arrays` are differentiated, `params` are not."""

    arrays: tuple  # the differentiable float64 inputs
    params: dict = field(default_factory=dict)  # everything else: axis, index, targets, ...


def cases(arrays_strategy, **params) -> st.SearchStrategy:
    """Cases from a strategy of input tuples and one strategy per keyword parameter."""
    return st.builds(Case, arrays_strategy, st.fixed_dictionaries(params))


def one_array(elements=None, min_dims: int = 0) -> st.SearchStrategy:
    """A 1-tuple holding one array of any shape: the input of a unary op."""
    return st.tuples(arrays(shapes(min_dims), elements))


@st.composite
def reduction_cases(draw, distinct: bool = False) -> Case:
    """One array, an axis (None, int or tuple) and keepdims: the inputs of sum, mean, max."""
    shape = draw(shapes())
    x = draw(distinct_arrays(shape) if distinct else arrays(shape))
    return Case((x,), {"axis": draw(axes(len(shape))), "keepdims": draw(st.booleans())})


@st.composite
def axis_cases(draw) -> Case:
    """One array of >= 1 dims and one of its axes (softmax, unbind)."""
    shape = draw(shapes(min_dims=1))
    return Case((draw(arrays(shape)),), {"axis": draw(st.integers(-len(shape), len(shape) - 1))})
