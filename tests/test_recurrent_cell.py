"""User-defined cells: tr.nn.RecurrentCell and tr.nn.Recurrent, with a cell torch does not have.

The worked example is the minimal gated unit (MGU, Zhou et al. 2016): a GRU with one
gate. It runs stacked, bidirectional, on padded batches; it is gradient-checked with
central differences and the complex step, and it learns a small task. Recurrent of the
built-in cells matches torch, which checks the layer machinery itself.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from test_nn_support import assert_close, assert_same_results, loss_weights, run_ours, run_torch

import tinyrnn as tr
from tinyrnn.random import get_rng
from tinyrnn.testing import check_complex_step, check_module, torch_twin
from tinyrnn.testing import strategies as trs


class MGUCell(tr.nn.RecurrentCell):
    """Minimal gated unit: one forget gate f decides both what to forget and what to write.

    f  = sigmoid(x W_f^T + h U_f^T + b_f)
    n  = tanh(x W_n^T + (f * h) U_n^T + b_n)
    h' = (1 - f) * h + f * n

    weight_ih (2H, I) holds [W_f; W_n], weight_hh (2H, H) [U_f; U_n], bias (2H,) [b_f; b_n]."""

    def __init__(self, input_size: int, hidden_size: int, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        bound = 1 / np.sqrt(hidden_size)
        draw = lambda *shape: tr.nn.Parameter(get_rng().uniform(-bound, bound, shape).astype(dtype))
        self.weight_ih = draw(2 * hidden_size, input_size)
        self.weight_hh = draw(2 * hidden_size, hidden_size)
        self.bias = draw(2 * hidden_size)

    def forward(self, x, h):
        H = self.hidden_size
        xi = x @ self.weight_ih.T + self.bias
        f = (xi[:, :H] + h @ self.weight_hh[:H].T).sigmoid()
        n = (xi[:, H:] + (f * h) @ self.weight_hh[H:].T).tanh()
        return (1 - f) * h + f * n


def mgu_layer(seed: int = 0, **kwargs) -> tr.nn.Recurrent:
    tr.manual_seed(seed)
    return tr.nn.Recurrent(MGUCell, 2, 3, **kwargs)


def test_state_dict_names_follow_torch_suffixes():
    layer = mgu_layer(num_layers=2, bidirectional=True)
    names = [f"{w}_l{k}{r}" for k in range(2) for r in ("", "_reverse") for w in ("weight_ih", "weight_hh", "bias")]
    assert list(layer.state_dict()) == names
    assert layer.weight_hh_l1_reverse is layer.cells[3].weight_hh  # one Parameter, two names
    assert layer.state_dict()["weight_ih_l1"].shape == (6, 6)  # layer 1 reads both directions of layer 0
    other = mgu_layer(seed=1, num_layers=2, bidirectional=True)
    other.load_state_dict(layer.state_dict())
    x = np.random.default_rng(0).standard_normal((4, 2, 2))
    assert_close(other(x)[0], layer(x)[0], "output after load_state_dict")
    lstm = tr.nn.Recurrent(tr.nn.LSTMCell, 2, 3, num_layers=2, bidirectional=True)
    assert list(lstm.state_dict()) == list(tr.nn.LSTM(2, 3, num_layers=2, bidirectional=True).state_dict())


@settings(max_examples=15)
@given(batch=trs.padded_batches(input_size=2), config=trs.layer_configs())
def test_padded_steps_are_ignored(batch, config):
    """With lengths, sequence b's output and h_n equal those of b alone, cut to its length
    (the reverse direction starts at its own last step), and padded outputs are zeros."""
    layer = mgu_layer(**{**config, "batch_first": batch.batch_first})
    out, h_n = layer(batch.x, lengths=batch.lengths)
    for b, n in enumerate(batch.lengths):
        alone, h_alone = layer(batch.x[b : b + 1, :n] if batch.batch_first else batch.x[:n, b : b + 1])
        mine = out.data[b : b + 1] if batch.batch_first else out.data[:, b : b + 1]
        assert_close(mine[:, :n] if batch.batch_first else mine[:n], alone, f"output of sequence {b}")
        assert not (mine[:, n:] if batch.batch_first else mine[n:]).any()
        assert_close(h_n.data[:, b : b + 1], h_alone, f"h_n of sequence {b}")


def test_h0_dropout_and_shapes():
    layer = mgu_layer(num_layers=2, bidirectional=True, batch_first=True, dropout=0.5)
    x, h0 = np.random.default_rng(1).standard_normal((2, 5, 2)), np.ones((4, 2, 3))
    out, h_n = layer.eval()(x, h0)
    assert out.shape == (2, 5, 6) and h_n.shape == (4, 2, 3)
    assert not np.allclose(layer(x)[0].data, out.data)  # h0 is used
    assert_close(layer(x, h0)[0], out, "eval: no dropout")
    assert not np.allclose(layer.train()(x, h0)[0].data, out.data)  # dropout between the layers
    with pytest.raises(ValueError, match=r"expected h0 of shape \(4, 2, 3\), got \(1, 2, 3\)"):
        layer(x, np.ones((1, 2, 3)))


def run_layer(layer, x, h0):
    out, h_n = layer(x, h0, lengths=np.array([3, 1]))
    return [out, h_n]


def test_mgu_layer_gradcheck_and_complex_step():
    """Every parameter, x and h0 of a stacked bidirectional MGU on a padded batch against central
    differences; every parameter against the complex step (x and h0 must keep the layer's dtype).
    The complex step is exact; what differs is autograd's own rounding, summed over ~200 ops
    and 6 steps: ~2e-13 relative on the smallest entries, so 1e-12 here (1e-13 for short chains)."""
    layer = mgu_layer(num_layers=2, bidirectional=True, batch_first=True)
    rng = np.random.default_rng(2)
    x, h0 = rng.standard_normal((2, 3, 2)), rng.standard_normal((4, 2, 3))
    check_module(layer, run_layer, x, h0, rtol=1e-6, atol=1e-8)
    worst = check_complex_step(lambda m: run_layer(m, x, h0), module=layer, rtol=1e-12)
    assert worst < 1e-12


def test_mgu_learns_to_remember_the_first_sign():
    """The target at every step is the sign of the first input: the gate must learn to keep it."""
    tr.manual_seed(0)
    rng = np.random.default_rng(0)
    layer, head = tr.nn.Recurrent(MGUCell, 1, 8), tr.nn.Linear(8, 1)
    opt = tr.optim.Adam(layer.parameters() + head.parameters(), lr=0.05)
    losses = []
    for _ in range(150):
        x = rng.standard_normal((8, 16, 1))
        target = np.broadcast_to(np.sign(x[:1]), (8, 16, 1))
        out, _ = layer(x)
        loss = ((head(out).tanh() - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[:10]) > 0.5 and np.mean(losses[-10:]) < 0.1, losses[::15]


@pytest.mark.parametrize("cell", [tr.nn.RNNCell, tr.nn.GRUCell])
@pytest.mark.parametrize("lengths", [None, np.array([4, 2, 1])])
def test_recurrent_of_builtin_cells_matches_torch(cell, lengths):
    """The layer machinery with a user-style cell (per op, no fused kernel) against torch:
    2 layers, bidirectional, batch_first, h0, padded batch; every gradient."""
    tr.manual_seed(3)
    rng = np.random.default_rng(3)
    layer = tr.nn.Recurrent(cell, 2, 3, num_layers=2, bidirectional=True, batch_first=True)
    x, h0 = rng.standard_normal((3, 4, 2)), [rng.standard_normal((4, 3, 3))]
    weights = loss_weights(rng, (3, 4, 6), (4, 3, 3), 1)
    assert_same_results(run_ours(layer, x, h0, weights, lengths), run_torch(torch_twin(layer), x, h0, weights, lengths))


def test_recurrent_lstm_cell_equals_the_lstm_layer():
    tr.manual_seed(4)
    layer = tr.nn.Recurrent(tr.nn.LSTMCell, 2, 3, num_layers=2, bidirectional=True)
    lstm = tr.nn.LSTM(2, 3, num_layers=2, bidirectional=True)
    lstm.load_state_dict(layer.state_dict())
    x, lengths = np.random.default_rng(4).standard_normal((4, 3, 2)), np.array([4, 1, 3])
    state0 = tuple(np.random.default_rng(5).standard_normal((2, 4, 3, 3)))
    (out, (h, c)), (ref, (h_ref, c_ref)) = layer(x, state0, lengths), lstm(x, state0, lengths)
    for ours, theirs, what in [(out, ref, "output"), (h, h_ref, "h_n"), (c, c_ref, "c_n")]:
        assert_close(ours, theirs, what)
    with pytest.raises(TypeError, match=r"Recurrent: h0 must be a tuple \(h0, c0\) or None, got ndarray"):
        layer(x, np.zeros((4, 3, 3)))


def test_a_layer_without_a_fused_kernel_runs_per_op():
    """A _Recurrent subclass with only a _step (no _fused) takes the per-op path even with fused=True."""
    from tinyrnn.nn.cells import rnn_step
    from tinyrnn.nn.recurrent import _Recurrent

    class PlainRNN(_Recurrent):
        def _step(self, xi, state, w_hh, b_hh):
            return (rnn_step(xi, state[0], w_hh, b_hh),)

    tr.manual_seed(6)
    plain = PlainRNN(2, 3, num_layers=2, bidirectional=True)
    rnn = tr.nn.RNN(2, 3, num_layers=2, bidirectional=True)
    rnn.load_state_dict(plain.state_dict())
    x = np.random.default_rng(6).standard_normal((4, 2, 2))
    assert_close(plain(x)[0], rnn(x)[0], "output")


def test_bad_cell_factories_are_refused():
    with pytest.raises(ValueError, match=r"Recurrent: num_layers must be greater than zero, got 0"):
        tr.nn.Recurrent(MGUCell, 2, 3, num_layers=0)
    with pytest.raises(TypeError, match=r"must return a tr.nn.RecurrentCell, got Linear"):
        tr.nn.Recurrent(tr.nn.Linear, 2, 3)
    with pytest.raises(ValueError, match=r"expected a cell with \(input_size, hidden_size\) = \(2, 3\), got MGUCell"):
        tr.nn.Recurrent(lambda i, h: MGUCell(i, h + 1), 2, 3)
    with pytest.raises(TypeError, match=r"share one dtype, got \['float32', 'float64'\]"):
        tr.nn.Recurrent(lambda i, h: MGUCell(i, h, np.float32 if i == 2 else np.float64), 2, 3, num_layers=2)
    with pytest.raises(NotImplementedError, match="Empty must define forward"):

        class Empty(tr.nn.RecurrentCell):
            input_size, hidden_size = 1, 1

        tr.nn.Recurrent(lambda i, h: Empty(), 1, 1)(np.zeros((1, 1, 1)))
