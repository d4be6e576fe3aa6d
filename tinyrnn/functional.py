"""Composite functions built from primitive ops: losses, one_hot, dropout.

Their gradients come from the ops they are made of; nothing here has a VJP
of its own.
"""

from __future__ import annotations

import numpy as np

from tinyrnn import ops
from tinyrnn.random import get_rng
from tinyrnn.tensor import Tensor, as_array, tensor

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str, count=None) -> Tensor:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if reduction == "none":
        return loss
    total = loss.sum()
    return total if reduction == "sum" else total / (loss.size if count is None else count)


def cross_entropy(logits, targets, reduction: str = "mean", ignore_index: int = -100) -> Tensor:
    """Negative log-likelihood of integer `targets` under softmax(`logits`).

    Shapes as in torch: logits (C,), (N, C) or (N, C, d1, ...), with the classes
    on axis 1 (axis 0 for 1-D); targets (), (N,) or (N, d1, ...). Entries equal
    to `ignore_index` (padding) add nothing and are not counted by 'mean'.
    """
    logits = tensor(logits)
    targets = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    axis = 1 if logits.ndim >= 2 else 0
    num_classes = logits.shape[axis]
    expected = logits.shape[:axis] + logits.shape[axis + 1 :]
    if not np.issubdtype(targets.dtype, np.integer):
        raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype {targets.dtype}")
    if targets.shape != expected:
        raise ValueError(f"cross_entropy: logits {logits.shape} need targets of shape {expected}, got {targets.shape}")
    keep = targets != ignore_index
    outside = keep & ((targets < 0) | (targets >= num_classes))
    if outside.any():
        raise ValueError(f"cross_entropy: target {targets[outside].flat[0]} is outside [0, {num_classes})")
    padded = not keep.all()
    index = list(np.indices(targets.shape, sparse=True)) if targets.ndim != 1 else [np.arange(targets.size)]
    index.insert(axis, np.where(keep, targets, 0) if padded else targets)
    loss = -ops.log_softmax(logits, axis)[tuple(index)]  # -log p(target), shape of targets
    if padded:
        loss = loss * keep.astype(logits.dtype)
    return _reduce(loss, reduction, count=keep.sum())


def binary_cross_entropy_with_logits(logits, targets, reduction: str = "mean") -> Tensor:
    """-[y log s(x) + (1 - y) log(1 - s(x))] with s the sigmoid, written as
    softplus(x) - x y, which stays finite for any logit x."""
    logits = tensor(logits)
    targets = Tensor(as_array(targets, logits.dtype))  # constant labels, in the logits' dtype
    if targets.shape != logits.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: logits {logits.shape} and targets {targets.shape} differ")
    return _reduce(ops.softplus(logits) - logits * targets, reduction)


def one_hot(indices, num_classes: int, dtype=np.float64) -> Tensor:
    """(..., num_classes) array with a 1 at each index: a constant, no gradient."""
    indices = np.asarray(indices)
    if indices.size and (indices.min() < 0 or indices.max() >= num_classes):
        raise ValueError(f"one_hot: indices must lie in [0, {num_classes}), got {indices.min()}..{indices.max()}")
    return Tensor(np.eye(num_classes, dtype=dtype)[indices])


def dropout(x: Tensor, p: float, training: bool = True, rng: np.random.Generator | None = None) -> Tensor:
    """Zero each entry with probability p and scale the rest by 1/(1-p) (inverted dropout)."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    if not training or p == 0:
        return x
    rng = rng or get_rng()
    keep = (rng.random(x.shape) >= p).astype(x.dtype) / (1 - p)
    return x * keep
