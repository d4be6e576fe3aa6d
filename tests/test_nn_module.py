"""Module (parameter walking, state_dict, train/eval), Linear, Embedding, Dropout, init, float32."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_nn_support import assert_close

import tinyrnn as tr
from tinyrnn.testing import torch_twin


class Tagger(tr.nn.Module):
    """A small nested model: embedding -> LSTM -> list of linear heads."""

    def __init__(self):
        self.embed = tr.nn.Embedding(10, 3)
        self.rnn = tr.nn.LSTM(3, 4, num_layers=2, bidirectional=True, dropout=0.5)
        self.heads = [tr.nn.Linear(8, 2), tr.nn.Linear(8, 5, bias=False)]
        self.drop = tr.nn.Dropout(0.5)

    def forward(self, tokens):
        out, _ = self.rnn(self.embed(tokens))
        return [head(self.drop(out)) for head in self.heads]


class TorchTagger(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(10, 3)
        self.rnn = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, dropout=0.5)
        self.heads = torch.nn.ModuleList([torch.nn.Linear(8, 2), torch.nn.Linear(8, 5, bias=False)])
        self.drop = torch.nn.Dropout(0.5)


def test_named_parameters_names_order_and_shapes_match_torch():
    ours = [(name, p.shape) for name, p in Tagger().named_parameters()]
    ref = [(name, tuple(p.shape)) for name, p in TorchTagger().named_parameters()]
    assert ours == ref
    assert all(isinstance(p, tr.nn.Parameter) and p.requires_grad for p in Tagger().parameters())


@pytest.mark.parametrize(
    "make",
    [
        lambda: tr.nn.RNN(3, 4, num_layers=3, bidirectional=True, bias=False),
        lambda: tr.nn.GRU(3, 4, num_layers=2),
        lambda: tr.nn.LSTM(3, 4, num_layers=2, bidirectional=True),
    ],
)
def test_layer_state_dict_keys_are_torch_keys(make):
    module = make()
    assert list(module.state_dict()) == list(torch_twin(module).state_dict())


def test_shared_parameter_is_listed_once():
    model = tr.nn.Module()
    model.a = tr.nn.Linear(2, 2)
    model.b = model.a
    assert [name for name, _ in model.named_parameters()] == ["a.weight", "a.bias"]


def test_state_dict_round_trip_and_copies():
    tr.manual_seed(0)
    source = Tagger()
    tr.manual_seed(1)
    target = Tagger()
    state = source.state_dict()
    target.load_state_dict(state)
    for (name, a), (_, b) in zip(source.named_parameters(), target.named_parameters()):
        assert_close(a, b, name)
    tokens = np.array([[1, 2], [3, 3], [0, 9]])
    source.eval(), target.eval()
    for a, b in zip(source(tokens), target(tokens)):
        assert_close(a, b, "outputs after load_state_dict")
    state["embed.weight"][:] = 0  # state_dict holds copies, and load copies too
    assert source.embed.weight.data.any() and target.embed.weight.data.any()


def test_load_state_dict_errors_name_every_problem_and_change_nothing():
    model = Tagger()
    before = model.state_dict()
    state = model.state_dict()
    del state["rnn.bias_hh_l1_reverse"]
    state["rnn.weight_ih_l2"] = np.zeros((16, 8))
    state["heads.0.weight"] = np.zeros((8, 2))
    state["heads.1.weight"] = np.ones((5, 8))
    with pytest.raises(RuntimeError) as err:
        model.load_state_dict(state)
    message = str(err.value)
    assert "missing keys ['rnn.bias_hh_l1_reverse']" in message
    assert "unexpected keys ['rnn.weight_ih_l2']" in message
    assert "shape mismatch for 'heads.0.weight': the module has (2, 8), the state has (8, 2)" in message
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=f"{name} changed by a failed load")


def test_load_state_dict_keeps_dtype_and_identity():
    lstm = tr.nn.LSTM(2, 3, dtype=np.float32)
    weight = lstm.weight_ih_l0
    lstm.load_state_dict({k: v.astype(np.float64) + 1 for k, v in lstm.state_dict().items()})
    assert lstm.weight_ih_l0 is weight and weight.dtype == np.float32


def test_zero_grad():
    model = tr.nn.Linear(3, 2)
    model(np.ones((4, 3))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_train_eval_propagates_to_children():
    model = Tagger()
    assert model.training and model.rnn.training and model.heads[1].training
    assert model.eval() is model
    assert not any(m.training for m in [model, model.embed, model.rnn, model.drop, *model.heads])
    model.train()
    assert all(m.training for m in [model, model.embed, model.rnn, model.drop, *model.heads])


def test_dropout_train_and_eval():
    drop = tr.nn.Dropout(0.25)
    x = tr.Tensor(np.ones((200, 50)), requires_grad=True)
    tr.manual_seed(0)
    y = drop(x)
    kept = y.data != 0
    assert set(np.unique(y.data)) == {0.0, 1 / 0.75}
    assert 0.2 < 1 - kept.mean() < 0.3  # about p of 10,000 entries are dropped
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, kept / 0.75)  # dropped entries get no gradient
    drop.eval()
    assert drop(x) is x
    with pytest.raises(ValueError, match=r"Dropout: p should be a number in range \[0, 1\]"):
        tr.nn.Dropout(1.5)
    assert not tr.nn.Dropout(1.0)(x).data.any()  # as torch: p = 1 drops everything


PATHS = pytest.mark.parametrize("fused", [False, True], ids=["cells", "fused"])  # the per-op loop and the fused kernels


@PATHS
def test_layer_dropout_sits_between_layers_only_while_training(fused):
    """A 2-layer LSTM with dropout equals: layer 0, then F.dropout (same random draws), then
    layer 1 without dropout on its output; in eval mode it equals the model without dropout."""
    tr.manual_seed(2)
    lstm = tr.nn.LSTM(3, 4, num_layers=2, dropout=0.5, fused=fused)
    first, second = tr.nn.LSTM(3, 4, fused=fused), tr.nn.LSTM(4, 4, fused=fused)
    state = lstm.state_dict()
    first.load_state_dict({k: v for k, v in state.items() if k.endswith("_l0")})
    second.load_state_dict({k.replace("_l1", "_l0"): v for k, v in state.items() if k.endswith("_l1")})
    x = np.random.default_rng(2).standard_normal((6, 2, 3))

    tr.manual_seed(3)
    out, (h_n, c_n) = lstm(x)
    tr.manual_seed(3)
    mid, (h0, _) = first(x)
    expected, (h1, _) = second(tr.functional.dropout(mid, 0.5))
    assert_close(out, expected, "training output")
    assert_close(h_n.data[0], h0.data[0], "h_n of layer 0 (before dropout)")
    assert_close(h_n.data[1], h1.data[0], "h_n of layer 1")

    lstm.eval()
    no_dropout_out, _ = second(first(x)[0])
    assert_close(lstm(x)[0], no_dropout_out, "eval output")


@PATHS
@pytest.mark.parametrize("cls", [tr.nn.RNN, tr.nn.GRU, tr.nn.LSTM], ids=["rnn", "gru", "lstm"])
def test_float32_module_gives_float32_outputs_and_grads(fused, cls):
    tr.manual_seed(4)
    module64 = cls(3, 4, num_layers=2, bidirectional=True, fused=fused)
    module32 = cls(3, 4, num_layers=2, bidirectional=True, dtype=np.float32, fused=fused)
    module32.load_state_dict(module64.state_dict())
    x = np.random.default_rng(4).standard_normal((5, 2, 3))
    results = []
    for module, dtype in [(module64, np.float64), (module32, np.float32)]:
        xt = tr.Tensor(x.astype(dtype), requires_grad=True)
        out, states = module(xt, lengths=np.array([5, 3]))
        states = list(states) if cls is tr.nn.LSTM else [states]
        (out.sum() + sum(s.sum() for s in states)).backward()
        grads = [xt.grad] + [p.grad for p in module.parameters()]
        assert {a.dtype for a in [out.data, *(s.data for s in states), *grads]} == {np.dtype(dtype)}
        results.append([out.data, *grads])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)  # float32 rounding (eps 6e-8) over a few steps


def test_linear_matches_torch():
    tr.manual_seed(5)
    ours = tr.nn.Linear(3, 2)
    twin = torch.nn.Linear(3, 2).double()
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(5).standard_normal((4, 7, 3))
    xt, xr = tr.Tensor(x, requires_grad=True), torch.from_numpy(x).requires_grad_()
    y, yr = ours(xt), twin(xr)
    assert_close(y, yr, "Linear output")
    (y * y).sum().backward()
    (yr * yr).sum().backward()
    assert_close(xt.grad, xr.grad, "dL/dx")
    for name, p in twin.named_parameters():
        assert_close(getattr(ours, name).grad, p.grad, f"{name}.grad")
    with pytest.raises(ValueError, match=r"expected input of shape \(\.\.\., 3\), got \(4, 2\)"):
        ours(np.zeros((4, 2)))


def test_embedding_repeated_indices_accumulate():
    emb = tr.nn.Embedding(5, 3)
    tokens = np.array([[1, 4, 1], [1, 0, 4]])
    out = emb(tokens)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.data, emb.weight.data[tokens])
    out.sum().backward()
    expected = np.array([1, 3, 0, 0, 2])[:, None] * np.ones((1, 3))  # each row's count
    np.testing.assert_array_equal(emb.weight.grad, expected)
    with pytest.raises(IndexError, match=r"indices must lie in \[0, 5\), got 0..5"):
        emb(np.array([0, 5]))
    with pytest.raises(TypeError, match="indices must be integers"):
        emb(np.array([0.0]))


@pytest.mark.parametrize(
    "make, bound",
    [
        (lambda: tr.nn.Linear(16, 100), 1 / 4),
        (lambda: tr.nn.LSTMCell(5, 25), 1 / 5),
        (lambda: tr.nn.GRU(5, 16, num_layers=2, bidirectional=True), 1 / 4),
    ],
)
def test_init_is_torch_uniform_and_reproducible(make, bound):
    """Every weight is uniform in +-bound (torch's 1/sqrt(fan)): inside it, and spread over it."""
    tr.manual_seed(6)
    module = make()
    for name, p in module.named_parameters():
        assert np.abs(p.data).max() <= bound, name
        if p.size >= 100:  # a uniform sample of 100+ reaches past 80% of its bound
            assert np.abs(p.data).max() > 0.8 * bound, name
            assert abs(p.data.std() - bound / np.sqrt(3)) < 0.2 * bound, name
    tr.manual_seed(6)
    again = make()
    for (name, a), (_, b) in zip(module.named_parameters(), again.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=f"{name}: same seed, different init")


def test_embedding_init_is_standard_normal():
    tr.manual_seed(7)
    weight = tr.nn.Embedding(1000, 20).weight.data
    assert abs(weight.mean()) < 0.03 and abs(weight.std() - 1) < 0.03  # 20,000 N(0, 1) draws


@pytest.mark.parametrize("make_layer", [lambda: tr.nn.Linear(3, 2), lambda: tr.nn.LSTM(3, 2), lambda: tr.nn.GRU(3, 2)])
def test_a_float32_layer_refuses_float64_input_by_name(make_layer) -> None:
    layer = make_layer()
    layer_32 = type(layer)(3, 2, dtype=np.float32)
    with pytest.raises(TypeError, match=r"input dtype float64, but \w+'s weights are float32"):
        layer_32(np.ones((4, 1, 3)))


def test_checkpointing_is_refused_on_the_per_op_path() -> None:
    with pytest.raises(ValueError, match="checkpoint=4 needs fused=True"):
        tr.nn.LSTM(3, 2, fused=False, checkpoint=4)
