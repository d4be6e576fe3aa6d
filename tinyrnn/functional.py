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


def cross_entropy(
    logits, targets, reduction: str = "mean", ignore_index: int = -100, weight=None, label_smoothing: float = 0.0
) -> Tensor:
    """Negative log-likelihood of integer `targets` under softmax(`logits`), as torch's.

    Shapes as in torch: logits (C,), (N, C) or (N, C, d1, ...), with the classes
    on axis 1 (axis 0 for 1-D); targets (), (N,) or (N, d1, ...). Entries equal
    to `ignore_index` (padding) add nothing and are not counted by 'mean'.
    weight (C,): a weight per class (a constant); label_smoothing e in [0, 1]
    mixes the target with the uniform distribution over the C classes. With
    log p_i = log_softmax(z_i), w = weight (ones if None), t_i the target:

        loss_i = (1 - e) w[t_i] (-log p_i[t_i]) + (e / C) sum_c w_c (-log p_i[c])     (0 if ignored)
        'sum':  sum_i loss_i      'mean':  sum_i loss_i / sum_i w[t_i] (over targets not ignored)

    so a mean over no targets (all ignored, or an empty batch) is 0/0 = NaN, as in
    torch, and its gradient is 0. One op, because its gradient is the one every
    classifier starts from: with loss_i = -sum_c A_ic log p_i[c],

        dloss_i/dz_i = p_i sum_c A_ic - A_i        (= softmax(z_i) - onehot(t_i) without weight and smoothing)

    Args:
        logits: unnormalised scores, a floating-point Tensor or array with a class axis.
        targets: integer class indices in [0, C), or `ignore_index`.
        reduction: 'mean' (over the weights of the counted targets), 'sum', or
            'none' (one loss per target, of the targets' shape).
        ignore_index: the target value that marks padding.
        weight: (C,), a weight per class, or None for ones.
        label_smoothing: e in [0, 1].

    Returns:
        A 0-d Tensor ('mean', 'sum') or one of the targets' shape ('none'), of
        the logits' dtype.

    Raises:
        TypeError: targets are not integers.
        ValueError: logits are 0-d, targets have the wrong shape, a target is
            outside [0, C), weight has the wrong shape, label_smoothing is
            outside [0, 1], or `reduction` is unknown.

    Examples:
        >>> import numpy as np, tinyrnn as tr
        >>> logits = tr.Tensor(np.zeros((2, 4)), requires_grad=True)
        >>> round(tr.functional.cross_entropy(logits, np.array([1, 3])).item(), 4)   # log 4
        1.3863
    """
    logits = tensor(logits)
    if logits.ndim == 0:
        raise ValueError("cross_entropy: logits must have a class axis, shape (C,), (N, C) or (N, C, d1, ...); got ()")
    targets = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    axis = 1 if logits.ndim >= 2 else 0
    num_classes = logits.shape[axis]
    expected = logits.shape[:axis] + logits.shape[axis + 1 :]
    if targets.dtype.kind not in "iu":  # signed or unsigned integers (not bool)
        raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype {targets.dtype}")
    if targets.shape != expected:
        raise ValueError(f"cross_entropy: logits {logits.shape} need targets of shape {expected}, got {targets.shape}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing!r}")
    z = logits.data
    w = None if weight is None else as_array(weight, z.dtype)
    if w is not None and w.shape != (num_classes,):
        raise ValueError(f"cross_entropy: weight must have one entry per class, ({num_classes},), got {w.shape}")
    keep = np.asarray(targets != ignore_index)  # an array even for 0-d targets
    safe = np.where(keep, targets, 0)  # a copy (the VJP reads it after the caller may reuse targets)
    if safe.size and (safe.min() < 0 or safe.max() >= num_classes):
        bad = safe[(safe < 0) | (safe >= num_classes)][0]
        raise ValueError(f"cross_entropy: target {bad} is outside [0, {num_classes})")
    index = list(np.indices(targets.shape, sparse=True)) if targets.ndim != 1 else [np.arange(targets.size)]
    index.insert(axis, safe)
    at_target = tuple(index)  # logits[at_target]: the target's entry at every position

    shifted = z - z.max(axis=axis, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))  # stable log-softmax
    kept = keep.astype(z.dtype)  # 1, or 0 where ignored
    w_t = kept if w is None else w[safe] * kept  # w[t_i], 0 if ignored
    a_t = (1 - label_smoothing) * w_t if label_smoothing else w_t  # A_i at the target
    losses = -log_p[at_target] * a_t
    classes = z.shape[:axis] + (1,) + z.shape[axis + 1 :]  # per-position values broadcast over the classes
    if label_smoothing:
        w_c = np.ones(num_classes, z.dtype) if w is None else w  # A_ic = (e / C) w_c off the target
        w_c = w_c.reshape((-1,) + (1,) * (z.ndim - axis - 1))
        losses = losses - (log_p * w_c).sum(axis=axis) * (label_smoothing / num_classes * kept)
    scale = 1.0
    if reduction == "mean":
        total = w_t.sum()
        scale = 1 / total if total else 0.0  # the gradient of a mean over nothing is 0
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.asarray(losses.sum() / total)  # NaN over nothing, as in torch
    else:
        value = losses if reduction == "none" else np.asarray(losses.sum())

    def vjp(g):
        g = g * scale if reduction == "mean" else g  # dL/dloss_i: g itself, or the scalar g times 1 / sum w[t_i]
        sum_a = a_t + label_smoothing / num_classes * kept * w_c.sum() if label_smoothing else a_t  # sum_c A_ic
        grad = np.exp(log_p) * (g * sum_a).reshape(classes)  # p_i sum_c A_ic ...
        if label_smoothing:
            grad -= label_smoothing / num_classes * w_c * (g * kept).reshape(classes)  # ... minus A_i
        grad[at_target] -= g * a_t
        return (grad,)

    return make(value, (logits,), vjp)


def binary_cross_entropy_with_logits(logits, targets, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy on logits: -[y log s(x) + (1 - y) log(1 - s(x))], s the sigmoid.

    Written as softplus(x) - x y, which stays finite for any logit x.

    Args:
        logits: a floating-point Tensor or array x of any shape.
        targets: labels y in [0, 1] of the same shape (a constant, converted
            to the logits' dtype).
        reduction: 'mean', 'sum' or 'none' (one loss per entry).

    Returns:
        A 0-d Tensor ('mean', 'sum') or one of the logits' shape ('none').

    Raises:
        ValueError: the shapes differ, or `reduction` is unknown.
    """
    logits = tensor(logits)
    targets = Tensor(as_array(targets, logits.dtype))  # constant labels, in the logits' dtype
    if targets.shape != logits.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: logits {logits.shape} and targets {targets.shape} differ")
    return _reduce(ops.softplus(logits) - logits * targets, reduction)


def one_hot(indices, num_classes: int, dtype=np.float64) -> Tensor:
    """Encode integer indices as one-hot vectors: a constant Tensor, with no gradient.

    Args:
        indices: an integer array (or Tensor) of any shape (...), each in [0, num_classes).
        num_classes: the length V of each vector.
        dtype: the dtype of the result.

    Returns:
        A Tensor of shape (..., V) with a 1 at each index and 0 elsewhere.

    Raises:
        TypeError: the indices are not integers.
        ValueError: an index is outside [0, num_classes).
    """
    indices = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"one_hot: indices must be integers, got dtype {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= num_classes):
        raise ValueError(f"one_hot: indices must lie in [0, {num_classes}), got {indices.min()}..{indices.max()}")
    out = np.zeros((*indices.shape, num_classes), dtype=dtype)
    np.put_along_axis(out, indices[..., None], 1, axis=-1)  # out[..., indices[...]] = 1
    return Tensor(out)


def _check_probability(owner: str, name: str, p) -> None:
    """A dropout probability: a number (not a bool) in [0, 1], as torch."""
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.number)) or not 0 <= p <= 1:
        raise ValueError(
            f"{owner}: {name} should be a number in range [0, 1] representing the probability of an element "
            f"being zeroed, got {p!r}"
        )


def dropout(x: Tensor, p: float, training: bool = True, rng: np.random.Generator | None = None) -> Tensor:
    """Zero each entry with probability p and scale the rest by 1/(1-p) (inverted dropout); p = 1 zeroes all.

    Args:
        x: a Tensor of any shape.
        p: the probability of dropping an entry, in [0, 1].
        training: when False (or p is 0), x is returned unchanged.
        rng: the generator for the mask; default tinyrnn's (`tr.manual_seed`).

    Returns:
        A Tensor of x's shape and dtype (x itself when nothing is dropped).

    Raises:
        ValueError: p is not a number in [0, 1].
    """
    _check_probability("dropout", "p", p)
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    rng = rng or get_rng()
    keep = (rng.random(x.shape) >= p).astype(x.dtype) / (1 - p)
    return x * keep
