"""Binary numbers as bit sequences, for the binary-addition task (plain NumPy, no autograd).

A `width`-bit problem has both operands below 2^(width-1) (their top bit is 0,
as in the classic tutorial), so the sum always fits in `width` bits. Numbers
are bit arrays (N, width) of uint8, least significant bit first, or Python
ints: never floats, so any width is exact.
"""

from __future__ import annotations

import numpy as np

EXHAUSTIVE_LIMIT = 1 << 20  # test every operand pair when there are at most this many (widths up to 11)
EVAL_SEED = 20240601  # the random test pairs of a width are the same in every run


def to_bits(numbers: list[int], width: int) -> np.ndarray:
    """Non-negative Python ints of any size -> (N, width) uint8 bits, least significant first."""
    rows = []
    for n in numbers:
        if n < 0 or n >> width:
            raise ValueError(f"to_bits: {n} does not fit in {width} bits")
        rows.append([(n >> i) & 1 for i in range(width)])
    return np.array(rows, dtype=np.uint8).reshape(len(rows), width)


def from_bits(bits: np.ndarray) -> list[int]:
    """(N, width) bits, least significant first -> Python ints (exact at any width)."""
    return [sum(int(bit) << i for i, bit in enumerate(row)) for row in bits]


def add_bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The sum of (N, width) bit arrays, mod 2^width, by ripple carry:
    s_t = (a_t + b_t + c) mod 2, then the carry c becomes (a_t + b_t + c) div 2."""
    s = np.empty_like(a)
    carry = np.zeros(a.shape[0], np.uint8)
    for t in range(a.shape[1]):
        total = a[:, t] + b[:, t] + carry
        s[:, t], carry = total & 1, total >> 1
    return s


def random_pairs(n: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n random operand pairs (a, b), each (n, width) bits, below 2^(width-1): the top bit is 0."""
    bits = rng.integers(0, 2, size=(2, n, width), dtype=np.uint8)
    bits[:, :, -1] = 0
    return bits[0], bits[1]


def all_pairs(width: int) -> tuple[np.ndarray, np.ndarray]:
    """Every operand pair below 2^(width-1): 4^(width-1) rows of (a, b) bits."""
    half = 1 << (width - 1)
    values = np.arange(half, dtype=np.uint64)[:, None]
    bits = ((values >> np.arange(width, dtype=np.uint64)) & 1).astype(np.uint8)  # (half, width)
    return np.repeat(bits, half, axis=0), np.tile(bits, (half, 1))


def sequences(a: np.ndarray, b: np.ndarray, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Operand bits (N, width) -> inputs x (width, N, 2) of `dtype`, target sum bits y (width, N) uint8."""
    return np.stack([a.T, b.T], axis=-1).astype(dtype), add_bits(a, b).T


def evaluation_pairs(width: int, n_random: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(a, b, how) to test a width on: every pair ("all") when there are at most
    EXHAUSTIVE_LIMIT, else `n_random` pairs drawn with the fixed EVAL_SEED ("random")."""
    if 4 ** (width - 1) <= EXHAUSTIVE_LIMIT:
        return *all_pairs(width), "all"
    return *random_pairs(n_random, width, np.random.default_rng([EVAL_SEED, width])), "random"
