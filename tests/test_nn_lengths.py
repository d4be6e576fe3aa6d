"""Variable-length batches (`lengths=`): a padded batch gives every sequence exactly what
running it alone gives (output, h_n, c_n and every gradient), and equals torch's
pack_padded_sequence results."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_nn_support import assert_close, assert_same_results, loss_weights, run_ours, run_torch

import tinyrnn as tr
from tinyrnn.testing import torch_twin

LAYERS = {"rnn": tr.nn.RNN, "gru": tr.nn.GRU, "lstm": tr.nn.LSTM}
LENGTHS = np.array([5, 2, 1, 4])  # unsorted, with the full length, a length-1 sequence and padding
T, B, IN, H = 5, 4, 3, 2


PATHS = pytest.mark.parametrize("fused", [False, True], ids=["cells", "fused"])  # the per-op loop and the fused kernels


def make_case(kind, num_layers, bidirectional, batch_first=False, seed=0, fused=False):
    tr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    module = LAYERS[kind](
        IN, H, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, fused=fused
    )
    LD = num_layers * (2 if bidirectional else 1)
    n_states = 2 if kind == "lstm" else 1
    x = rng.standard_normal((T, B, IN))
    x[np.arange(T)[:, None] >= LENGTHS] = 1e3  # padding garbage: must not leak anywhere
    h0 = [rng.standard_normal((LD, B, H)) for _ in range(n_states)]
    weights = loss_weights(rng, (T, B, H * LD // num_layers), (LD, B, H), n_states)
    if batch_first:
        x, weights[0] = x.transpose(1, 0, 2).copy(), weights[0].transpose(1, 0, 2).copy()
    return module, x, h0, weights


@PATHS
@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_padded_batch_equals_each_sequence_alone(fused, kind, bidirectional, num_layers):
    module, x, h0, weights = make_case(kind, num_layers, bidirectional, fused=fused)
    batch = run_ours(module, x, h0, weights, lengths=LENGTHS)
    param_grads = {key: 0 for key in batch if key.endswith(".grad") and not key.startswith(("x", "state"))}
    for b, n in enumerate(LENGTHS):
        alone = run_ours(
            module,
            x[:n, b : b + 1],
            [s[:, b : b + 1] for s in h0],
            [weights[0][:n, b : b + 1]] + [w[:, b : b + 1] for w in weights[1:]],
        )
        assert_close(batch["output"][:n, b : b + 1], alone["output"], f"output of sequence {b}")
        assert not batch["output"][n:, b].any(), f"padded outputs of sequence {b} must be zero"
        assert_close(batch["x.grad"][:n, b : b + 1], alone["x.grad"], f"dL/dx of sequence {b}")
        assert not batch["x.grad"][n:, b].any(), f"padded steps of sequence {b} must get no gradient"
        for key in alone:
            if key.startswith("state"):
                assert_close(batch[key][:, b : b + 1], alone[key], f"{key} of sequence {b}")
        for key in param_grads:
            param_grads[key] = param_grads[key] + alone[key]
    for key, total in param_grads.items():
        assert_close(batch[key], total, f"{key} = sum over the sequences")


@PATHS
@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["tbf", "btf"])
def test_padded_batch_matches_torch_packed_sequence(fused, kind, bidirectional, batch_first):
    """Outputs (zeros at padding), h_n, c_n and all gradients equal torch's pack_padded_sequence path."""
    module, x, h0, weights = make_case(kind, 2, bidirectional, batch_first, seed=1, fused=fused)
    ours = run_ours(module, x, h0, weights, lengths=LENGTHS)
    assert_same_results(ours, run_torch(torch_twin(module), x, h0, weights, lengths=LENGTHS))


@PATHS
@pytest.mark.parametrize("kind", list(LAYERS))
def test_full_lengths_change_nothing(fused, kind):
    module, x, h0, weights = make_case(kind, 2, True, fused=fused)
    assert_same_results(run_ours(module, x, h0, weights, lengths=np.full(B, T)), run_ours(module, x, h0, weights))


@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_sequence_matches_torch_and_its_lengths_drive_a_layer(batch_first):
    """Values and gradients as torch.nn.utils.rnn.pad_sequence; the lengths make a layer run each sequence alone."""
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((n, IN)) for n in LENGTHS]
    seqs = [tr.Tensor(a, requires_grad=True) for a in arrays]
    padded, lengths = tr.nn.utils.pad_sequence(seqs, batch_first=batch_first, padding_value=-2.0)
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    expected = torch.nn.utils.rnn.pad_sequence(theirs, batch_first=batch_first, padding_value=-2.0)
    assert_close(padded, expected, "padded")
    assert lengths.dtype == np.int64 and lengths.tolist() == LENGTHS.tolist()
    w = rng.standard_normal(padded.shape)
    (padded * w).sum().backward()
    (expected * torch.from_numpy(w)).sum().backward()
    for b in range(B):
        assert_close(seqs[b].grad, theirs[b].grad, f"grad of sequence {b}")

    layer = tr.nn.GRU(IN, H, batch_first=batch_first)
    out, h_n = layer(padded, lengths=lengths)
    for b in range(B):
        _, alone = layer(arrays[b][:, None] if not batch_first else arrays[b][None])
        assert_close(h_n[:, b], alone[:, 0], f"h_n of sequence {b}")


def test_pad_sequence_refuses_empty_and_mismatched_sequences():
    with pytest.raises(ValueError, match="empty list of sequences"):
        tr.nn.utils.pad_sequence([])
    with pytest.raises(ValueError, match=r"sequence 1 is \(2, 4\) float64"):
        tr.nn.utils.pad_sequence([np.zeros((3, 3)), np.zeros((2, 4))])
    with pytest.raises(ValueError, match=r"sequence 0 is \(\)"):
        tr.nn.utils.pad_sequence([np.zeros(())])
