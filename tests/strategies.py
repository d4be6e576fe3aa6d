"""Hypothesis strategies shared by the tests: bounded floats, shapes, arrays, axes.

Sizes stay small on purpose: a finite-difference check costs two function
calls per input entry. Edge cases come first in every strategy (hypothesis
tries the first choice of a `one_of` / the smallest value first): 0-d
scalars, size-1 axes, batch 1, length 1.

Import as `from strategies import ...` (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

MAX_SIDE = 4  # largest axis length drawn: keeps finite differences cheap
EDGE_SHAPES = ((), (1,), (1, 1))


def floats(lo: float = -3.0, hi: float = 3.0) -> st.SearchStrategy[float]:
    """Finite float64 values in [lo, hi] (no NaN, no inf, no subnormals)."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


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


def arrays(shape, elements: st.SearchStrategy[float] | None = None) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of `shape` (a tuple or a strategy of tuples)."""
    return hnp.arrays(np.float64, shape, elements=elements if elements is not None else floats())


def broadcastable_shapes(num: int, min_dims: int = 0, max_dims: int = 3) -> st.SearchStrategy[tuple]:
    """`num` shapes that broadcast together, e.g. ((3, 1), (4,)) or ((), (2, 2))."""
    strategy = hnp.mutually_broadcastable_shapes(
        num_shapes=num, min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=MAX_SIDE
    )
    return strategy.map(lambda b: b.input_shapes)


@st.composite
def broadcastable_arrays(draw, elements: tuple, min_dims: int = 0, max_dims: int = 3) -> tuple:
    """One array per strategy in `elements`, of mutually broadcastable shapes."""
    found = draw(broadcastable_shapes(len(elements), min_dims, max_dims))
    return tuple(draw(arrays(shape, e)) for shape, e in zip(found, elements))


def axes(ndim: int, allow_none: bool = True, allow_tuple: bool = True) -> st.SearchStrategy:
    """A reduction axis for an array of `ndim` dims: None, an int or a non-empty tuple
    of distinct axes (each maybe negative). A 0-d array only gets None."""
    choices = [st.none()] if allow_none or ndim == 0 else []
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
