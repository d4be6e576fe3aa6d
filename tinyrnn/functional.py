"""Losses, one_hot and dropout, built on the primitive ops.

Their gradients come from the ops they are made of, except cross_entropy's:
it runs on every training step of every task, and its VJP, softmax minus
one-hot, is worth seeing written out (it also replaces five graph nodes).
"""

from __future__ import annotations

import numpy as np

from tinyrnn import ops
from tinyrnn.random import get_rng
from tinyrnn.tensor import Tensor, as_array, make, tensor

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

    One op, because its gradient is the one every classifier starts from:
        loss_i = -log softmax(z_i)[t_i]       dloss_i/dz_i = softmax(z_i) - onehot(t_i)
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
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    keep = np.asarray(targets != ignore_index)  # an array even for 0-d targets, so /= stays in place
    outside = keep & ((targets < 0) | (targets >= num_classes))
    if outside.any():
        raise ValueError(f"cross_entropy: target {targets[outside].flat[0]} is outside [0, {num_classes})")
    index = list(np.indices(targets.shape, sparse=True)) if targets.ndim != 1 else [np.arange(targets.size)]
    index.insert(axis, np.where(keep, targets, 0))
    index = tuple(index)  # logits[index]: the target's entry at every position

    z = logits.data
    shifted = z - z.max(axis=axis, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))  # stable log-softmax
    weight = keep.astype(z.dtype)  # 0 at ignored positions
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            weight /= keep.sum()  # NaN when every target is ignored, as in torch
    losses = -log_p[index] * weight  # weighted -log p(target), shape of targets

    classes_as_1 = z.shape[:axis] + (1,) + z.shape[axis + 1 :]  # g_i broadcast over the classes

    def vjp(g):
        g_i = g * weight  # dL/dloss_i: g itself ('none'), or the scalar g times i's weight
        grad = np.exp(log_p) * g_i.reshape(classes_as_1)  # softmax(z_i) g_i ...
        grad[index] -= g_i  # ... minus onehot(t_i) g_i
        return (grad,)

    return make(losses if reduction == "none" else np.asarray(losses.sum()), (logits,), vjp)


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
    if not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"one_hot: indices must be integers, got dtype {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= num_classes):
        raise ValueError(f"one_hot: indices must lie in [0, {num_classes}), got {indices.min()}..{indices.max()}")
    out = np.zeros((*indices.shape, num_classes), dtype=dtype)
    np.put_along_axis(out, indices[..., None], 1, axis=-1)  # out[..., indices[...]] = 1
    return Tensor(out)


def check_probability(owner: str, name: str, p) -> None:
    """A dropout probability: a number (not a bool) in [0, 1], as torch."""
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.number)) or not 0 <= p <= 1:
        raise ValueError(
            f"{owner}: {name} should be a number in range [0, 1] representing the probability of an element "
            f"being zeroed, got {p!r}"
        )


def dropout(x: Tensor, p: float, training: bool = True, rng: np.random.Generator | None = None) -> Tensor:
    """Zero each entry with probability p and scale the rest by 1/(1-p) (inverted dropout); p = 1 zeroes all."""
    check_probability("dropout", "p", p)
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    rng = rng or get_rng()
    keep = (rng.random(x.shape) >= p).astype(x.dtype) / (1 - p)
    return x * keep
