"""Training helpers. Gradient clipping, as torch.nn.utils does it: call between backward() and step().

    loss.backward()
    tr.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
    opt.step()

Both clipping functions change `p.grad` in place and skip parameters whose grad is None.
detach_state cuts a recurrent layer's returned state from the graph (truncated BPTT).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from tinyrnn.tensor import Tensor


def _grads(params: Tensor | Iterable[Tensor]) -> list[np.ndarray]:
    params = [params] if isinstance(params, Tensor) else params
    return [p.grad for p in params if p.grad is not None]


def clip_grad_norm_(params: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0) -> float:
    """Scale all gradients together so that their joint norm is at most about `max_norm`.

    total_norm = the `norm_type`-norm of all gradient entries taken as one vector
    (norm_type=inf: the largest |entry|). If max_norm / (total_norm + 1e-6) < 1,
    every gradient is multiplied by it. Returns total_norm from before clipping.
    """
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm!r}")
    if norm_type <= 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 (or inf), got {norm_type!r}")
    grads = _grads(params)
    if not grads:
        return 0.0
    norms = [np.linalg.norm(g.ravel(), ord=norm_type) for g in grads]
    total_norm = float(np.linalg.norm(np.array(norms), ord=norm_type))
    scale = max_norm / (total_norm + 1e-6)
    if scale < 1 or math.isnan(scale):  # a NaN norm makes every gradient NaN, as in torch
        for g in grads:
            g *= scale
    return total_norm


def clip_grad_value_(params: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient entry to [-clip_value, clip_value]."""
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value!r}")
    bound = float(clip_value)  # a Python float keeps each gradient's dtype
    for g in _grads(params):
        g.clip(-bound, bound, out=g)  # the method: a third of np.clip's call overhead on small arrays


def detach_state(state: Tensor | tuple[Tensor, ...]) -> Tensor | tuple[Tensor, ...]:
    """The state's values, cut from the graph: h_n, or a tuple such as an LSTM's (h_n, c_n).
    Carried into the next batch, it lets gradients stop at the batch boundary."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
