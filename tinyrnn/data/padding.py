"""Padded batches: sequences of different lengths in one time-major array.

IGNORE is the target of a padded position (and of any position without a label):
tinyrnn.functional.cross_entropy(..., ignore_index=IGNORE) leaves it out of the loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

IGNORE = -100


def pad(seqs: Sequence[Sequence[int] | np.ndarray], value: int) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of ids -> ((T, B) int64 array, time-major, filled with `value` after each
    sequence's end; lengths (B,) int64), T the longest length."""
    lengths = [len(s) for s in seqs]
    if not lengths:
        raise ValueError("pad: no sequences to pad (an empty batch)")
    out = np.full((max(lengths), len(seqs)), value, dtype=np.int64)
    for b, s in enumerate(seqs):
        out[: lengths[b], b] = s
    return out, np.array(lengths, dtype=np.int64)
