"""Helpers shared by the tests/test_nn_*.py files: torch twins of our modules,
one forward + backward on each side, and gradient checks over a module's parameters.

Both sides get the same loss, sum(output * w_out) + sum(h_n * w_h) [+ sum(c_n * w_c)]
with fixed random weights, so every output entry gets a gradient of its own.
"""

from __future__ import annotations

import numpy as np
import torch

import tinyrnn as tr

# Tolerance for torch parity in float64: both sides do the same float64 arithmetic in
# a different order, which differs by ~1e-15 relative; 1e-8 still catches any wrong term.
RTOL, ATOL = 1e-8, 1e-12


def as_numpy(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().numpy()
    return a.data if isinstance(a, tr.Tensor) else np.asarray(a)


def assert_close(ours, ref, what: str, rtol: float = RTOL, atol: float = ATOL) -> None:
    ours, ref = as_numpy(ours), as_numpy(ref)
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} vs {ref.shape}"
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=atol, err_msg=what)


def loss_weights(rng: np.random.Generator, out_shape: tuple, state_shape: tuple, n_states: int) -> list[np.ndarray]:
    return [rng.standard_normal(out_shape)] + [rng.standard_normal(state_shape) for _ in range(n_states)]


def run_ours(module, x: np.ndarray, h0, weights, lengths=None) -> dict:
    """Forward + backward of our layer; returns outputs, states and every gradient by name."""
    xt = tr.Tensor(x.copy(), requires_grad=True)
    h0t = None if h0 is None else [tr.Tensor(s.copy(), requires_grad=True) for s in h0]
    is_lstm = isinstance(module, tr.nn.LSTM)
    module.zero_grad()
    out, states = module(xt, None if h0t is None else (tuple(h0t) if is_lstm else h0t[0]), lengths=lengths)
    states = list(states) if is_lstm else [states]
    loss = (out * weights[0]).sum()
    for s, w in zip(states, weights[1:]):
        loss = loss + (s * w).sum()
    loss.backward()
    result = {"output": out.data, "x.grad": xt.grad}
    result.update({f"state{i}": s.data for i, s in enumerate(states)})
    if h0t is not None:
        result.update({f"state{i}_0.grad": s.grad for i, s in enumerate(h0t)})
    result.update({f"{n}.grad": p.grad for n, p in module.named_parameters()})
    return result


def run_torch(twin, x: np.ndarray, h0, weights, lengths=None) -> dict:
    """The same as run_ours on the torch twin; with lengths, through pack_padded_sequence."""
    xt = torch.from_numpy(x.copy()).requires_grad_()
    h0t = None if h0 is None else [torch.from_numpy(s.copy()).requires_grad_() for s in h0]
    is_lstm = isinstance(twin, torch.nn.LSTM)
    hx = None if h0t is None else (tuple(h0t) if is_lstm else h0t[0])
    if lengths is None:
        out, states = twin(xt, hx)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            xt, torch.as_tensor(lengths), batch_first=twin.batch_first, enforce_sorted=False
        )
        out, states = twin(packed, hx)
        total = x.shape[1] if twin.batch_first else x.shape[0]
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=twin.batch_first, total_length=total)
    states = list(states) if is_lstm else [states]
    loss = (out * torch.from_numpy(weights[0])).sum()
    for s, w in zip(states, weights[1:]):
        loss = loss + (s * torch.from_numpy(w)).sum()
    loss.backward()
    result = {"output": out, "x.grad": xt.grad}
    result.update({f"state{i}": s for i, s in enumerate(states)})
    if h0t is not None:
        result.update({f"state{i}_0.grad": s.grad for i, s in enumerate(h0t)})
    result.update({f"{n}.grad": p.grad for n, p in twin.named_parameters()})
    return result


def assert_same_results(ours: dict, ref: dict) -> None:
    assert sorted(ours) == sorted(ref)
    for key in ref:
        assert_close(ours[key], ref[key], key)
