"""The hand-written BPTT of the classic binary-addition RNN against finite differences,
against tinyrnn's autograd on the same weights, and trained side by side with it."""

import numpy as np
import pytest

import tinyrnn as tr
from tinyrnn.apps import binary_add as ba
from tinyrnn.bptt import binary_add as ref
from tinyrnn.data.bits import all_pairs, random_pairs, sequences


def batch(width, n, seed):
    return sequences(*random_pairs(n, width, np.random.default_rng(seed)))


def classic_with(weights):
    """A tinyrnn ClassicRNN holding copies of the reference's weights."""
    model = ba.ClassicRNN(weights["W"].shape[0])
    model.load_state_dict({k: v.copy() for k, v in weights.items()})
    return model


@pytest.mark.parametrize("hidden, width, n", [(1, 2, 1), (5, 8, 3), (16, 12, 4)])
def test_hand_written_gradients_equal_autograd(hidden, width, n):
    weights = ref.init_weights(hidden, np.random.default_rng(hidden))
    x, y = batch(width, n, seed=width)
    h, o = ref.forward(weights, x)
    by_hand = ref.backward(weights, x, y, h, o)

    model = classic_with(weights)
    loss = ba.loss_fn(model(tr.Tensor(x)), y, "mse")
    loss.backward()

    assert loss.item() == pytest.approx(ref.loss(o, y), rel=1e-12)
    for name, p in model.named_parameters():
        # the same float64 arithmetic in a different order: equal to rounding
        np.testing.assert_allclose(p.grad, by_hand[name], rtol=1e-9, atol=1e-13, err_msg=name)


def test_hand_written_gradients_equal_finite_differences():
    weights = ref.init_weights(4, np.random.default_rng(7))
    x, y = batch(6, 3, seed=1)
    h, o = ref.forward(weights, x)
    by_hand = ref.backward(weights, x, y, h, o)

    def loss_of(U, W, V):
        return tr.Tensor(ref.loss(ref.forward({"U": U.data, "W": W.data, "V": V.data}, x)[1], y))

    numeric = tr.numerical_grad(loss_of, weights["U"].copy(), weights["W"].copy(), weights["V"].copy())
    for name, num in zip("UWV", numeric):
        # central differences with eps 1e-6 on a loss of order 1: error ~1e-10
        np.testing.assert_allclose(by_hand[name], num, rtol=1e-6, atol=1e-9, err_msg=name)


def test_forward_equals_classic_rnn_and_hidden_state_starts_at_zero():
    weights = ref.init_weights(3, np.random.default_rng(0))
    x, _ = batch(8, 5, seed=2)
    h, o = ref.forward(weights, x)
    assert h.shape == (9, 5, 3) and o.shape == (8, 5)
    assert not h[0].any()
    with tr.no_grad():
        logits = classic_with(weights)(tr.Tensor(x)).data
    np.testing.assert_allclose(o, 1 / (1 + np.exp(-logits)), rtol=1e-12)


def test_sigmoid_is_finite_and_exact_at_extremes():
    a = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    with np.errstate(over="raise", invalid="raise"):  # exp(-1000) may underflow to 0: harmless
        s = ref.sigmoid(a)
    np.testing.assert_allclose(s[1:4], [1 / (1 + np.exp(30)), 0.5, 1 / (1 + np.exp(-30))], rtol=1e-12)
    assert s[0] == 0.0 and s[-1] == 1.0


def test_training_by_hand_follows_the_same_path_as_tinyrnn():
    """Same seed, same draws (weights, then data), SGD both sides: the same weights after 40 steps."""
    steps, hidden, bits, batch_size, seed = 40, 6, 8, 2, 3
    by_hand, losses = ref.train(steps, hidden=hidden, lr=0.1, bits=bits, batch=batch_size, seed=seed)

    tr.manual_seed(seed)
    model = ba.build_model("sigmoid", hidden)
    cfg = ba.Config(
        "sigmoid", hidden, "mse", "sgd", 0.1, batch_size, steps, bits, seed, check_every=steps, test_pairs=1
    )
    ba.train(model, cfg, log=lambda line: None)

    assert len(losses) == steps and losses[0] != losses[-1]
    for name, p in model.named_parameters():
        # 40 steps of float64 SGD from identical starts; only summation order differs
        np.testing.assert_allclose(p.data, by_hand[name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_classic_training_by_hand_learns_to_add():
    """The tutorial's recipe, by hand: every 8-bit pair right after 10,000 one-pair SGD steps (seed 0)."""
    weights, _ = ref.train(10_000, seed=0)
    x, y = sequences(*all_pairs(8))
    _, o = ref.forward(weights, x)
    assert x.shape == (8, 16384, 2)
    wrong = int(np.any((o > 0.5) != y, axis=0).sum())
    assert wrong == 0
