"""Training helpers. Gradient clipping, as torch.nn.utils does it: call between backward() and step().

    loss.backward()
    tr.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
    opt.step()

Both clipping functions change `p.grad` in place and skip parameters whose grad is None.
detach_state cuts a recurrent layer's returned state from the graph (truncated BPTT);
pad_sequence turns a list of sequences of different lengths into one padded batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from tinyrnn.tensor import Tensor, make, tensor


def _grads(params: Tensor | Iterable[Tensor]) -> list[np.ndarray]:
    """The gradients to change in place; one held as a NumPy scalar (a 0-d parameter's) becomes a 0-d array."""
    params = [params] if isinstance(params, Tensor) else params
    grads = []
    for p in params:
        if p.grad is not None and not isinstance(p.grad, np.ndarray):
            p.grad = np.asarray(p.grad)
        if p.grad is not None:
            grads.append(p.grad)
    return grads


def clip_grad_norm_(
    params: Tensor | Iterable[Tensor], max_norm: float, norm_type: float | str = 2.0, error_if_nonfinite: bool = False
) -> float:
    """Scale all gradients together so that their joint norm is at most about `max_norm`.

    total_norm = the `norm_type`-norm of all gradient entries taken as one vector
    (norm_type=inf, float("inf") or "inf": the largest |entry|; as torch, a string
    is read with float()). If max_norm / (total_norm + 1e-6) < 1, every gradient
    is multiplied by it, in place, exactly as torch does.

    Args:
        params: a Tensor or an iterable of Tensors; those whose grad is None are skipped.
        max_norm: the largest joint norm allowed, >= 0.
        norm_type: the p of the p-norm, > 0, or inf.
        error_if_nonfinite: raise instead of clipping when total_norm is NaN or infinite.

    Returns:
        total_norm before clipping (0.0 when no parameter has a gradient).

    Raises:
        ValueError: max_norm < 0, or norm_type is not a number > 0.
        RuntimeError: total_norm is not finite and error_if_nonfinite is True.
    """
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm!r}")
    try:
        norm_type = float(norm_type)
    except (TypeError, ValueError):
        raise ValueError(f"clip_grad_norm_: norm_type must be a number or 'inf', got {norm_type!r}") from None
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 (or inf), got {norm_type!r}")
    grads = _grads(params)
    if not grads:
        return 0.0
    norms = [np.linalg.norm(g.ravel(), ord=norm_type) for g in grads]
    total_norm = float(np.linalg.norm(np.array(norms), ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total_norm):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total_norm}, "
            "so they cannot be clipped (error_if_nonfinite=True)"
        )
    scale = max_norm / (total_norm + 1e-6)
    if scale < 1 or math.isnan(scale):  # a NaN norm makes every gradient NaN, as in torch
        for g in grads:
            g *= scale
    return total_norm


def clip_grad_value_(params: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient entry to [-clip_value, clip_value], in place, as torch does.

    Args:
        params: a Tensor or an iterable of Tensors; those whose grad is None are skipped.
        clip_value: the bound, >= 0.

    Raises:
        ValueError: clip_value < 0.
    """
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value!r}")
    bound = float(clip_value)  # a Python float keeps each gradient's dtype
    for g in _grads(params):  # min then max: two ufunc calls, where clip goes through a Python wrapper
        np.minimum(g, bound, out=g)
        np.maximum(g, -bound, out=g)


def detach_state(state: Tensor | tuple[Tensor, ...]) -> Tensor | tuple[Tensor, ...]:
    """The state's values, cut from the graph: carried into the next batch, it stops gradients at the boundary.

    This is truncated BPTT with carried state: the next batch starts from these
    values, but its backward ends here, so the graph never grows across batches.

    Args:
        state: h_n, or a tuple such as an LSTM's (h_n, c_n).

    Returns:
        The same structure of Tensors that require no gradient.
    """
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def pad_sequence(
    sequences: Iterable, batch_first: bool = False, padding_value: float = 0.0
) -> tuple[Tensor, np.ndarray]:
    """B sequences of shapes (L_b, *F) -> (padded, lengths), as torch.nn.utils.rnn.pad_sequence
    plus the lengths.

    padded: (T, B, *F) with T = max L_b ((B, T, *F) with batch_first), sequence b in
    padded[:L_b, b] and `padding_value` after it, in the sequences' common dtype.
    lengths: (B,) int64, L_b; pass it as a recurrent layer's `lengths=` (tinyrnn's
    stand-in for torch's pack_padded_sequence). Gradients reach every sequence that
    requires one; the padding is a constant.

    Args:
        sequences: B Tensors (or arrays) of shapes (L_b, *F), the same F.
        batch_first: return (B, T, *F) instead of (T, B, *F).
        padding_value: the value after each sequence's end.

    Returns:
        (padded, lengths) as above.

    Raises:
        ValueError: no sequences, a 0-d one, or trailing shapes F or dtypes that differ.
    """
    seqs = [tensor(s) for s in sequences]
    if not seqs:
        raise ValueError("pad_sequence: received an empty list of sequences")
    for b, s in enumerate(seqs):
        if s.ndim == 0 or s.shape[1:] != seqs[0].shape[1:] or s.dtype != seqs[0].dtype:
            raise ValueError(
                f"pad_sequence: every sequence must be (L, *F) with the F and dtype of the first, "
                f"{seqs[0].shape[1:]} {seqs[0].dtype}; sequence {b} is {s.shape} {s.dtype}"
            )
    lengths = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    out = np.full((lengths.max(), len(seqs), *seqs[0].shape[1:]), padding_value, dtype=seqs[0].dtype)
    for b, s in enumerate(seqs):
        out[: len(s.data), b] = s.data

    def vjp(g):  # each sequence gets its own rows of g back
        return tuple(g[:n, b] for b, n in enumerate(lengths))

    padded = make(out, tuple(seqs), vjp)
    return (padded.transpose(1, 0, *range(2, padded.ndim)) if batch_first else padded), lengths
