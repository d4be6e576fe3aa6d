"""The pieces of python -m tinyrnn.dinos: name lists, batches and masking, the
classic preset against hand-written BPTT and torch, NLL, sampling, checkpoints."""

import importlib.util
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tinyrnn.apps.dinos import PRESETS, train
from tinyrnn.apps.namemodel import (
    NameModel,
    batch_loss,
    course_init,
    load_checkpoint,
    per_char_nll,
    sample,
    save_checkpoint,
)
from tinyrnn.bptt import dinos as bptt_dinos
from tinyrnn.data.names import (
    EOS,
    IGNORE,
    Alphabet,
    bundled_path,
    encode_batch,
    read_names,
    split_names,
)
from tinyrnn.random import manual_seed

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
NAMES = ["rex", "tyrannosaurus", "ab", "velociraptor", "zby"]


def model_for(names, cell="gru", hidden=8, layers=1, dtype="float64", seed=0):
    manual_seed(seed)
    return NameModel(Alphabet.from_names(names), cell, hidden, layers, dtype)


# ---- name lists ------------------------------------------------------------------


def test_bundled_list_is_real_sized_lowercase_and_distinct():
    names = read_names(bundled_path())
    assert len(names) >= 1000
    assert all(n.isascii() and n.isalpha() and n.islower() for n in names)
    assert len(set(names)) == len(names)


def test_read_names_strips_skips_blanks_and_keeps_first_of_duplicates(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("  rex\r\n\n\nTyran nosaurus \nrex\n\t\nécho\n", encoding="utf-8")
    assert read_names(path) == ["rex", "Tyran nosaurus", "écho"]


@pytest.mark.parametrize(
    "content, message",
    [(None, "no such file"), (b"", "empty"), (b"rex\n\xff\xfe\n", "not UTF-8"), (b" \n\n\t\n", "no names")],
)
def test_read_names_errors_are_one_line_value_errors(tmp_path, content, message):
    path = tmp_path / "names.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as err:
        read_names(path)
    assert "\n" not in str(err.value)


def test_split_is_fixed_disjoint_and_about_a_tenth():
    names = [f"name{i}" for i in range(200)]
    train_a, held_a = split_names(names)
    train_b, held_b = split_names(list(names))
    assert (train_a, held_a) == (train_b, held_b)
    assert len(held_a) == 20 and set(train_a) | set(held_a) == set(names) and not set(train_a) & set(held_a)
    assert split_names(["a", "b"])[1] in (["a"], ["b"])
    with pytest.raises(ValueError, match="at least 2"):
        split_names(["a"])


def test_alphabet_puts_the_end_token_first_then_sorted_characters():
    alphabet = Alphabet.from_names(["cab", "bé"])
    assert alphabet.symbols == EOS + "abcé"
    assert alphabet.start == 5 and len(alphabet) == 5
    assert alphabet.encode("béc") == [2, 4, 3] and alphabet.decode([2, 4, 3]) == "béc"
    assert alphabet.unknown("xbyx") == ["x", "y"]


def test_encode_batch_layout():
    alphabet = Alphabet.from_names(["ab", "c"])  # ids: \n 0, a 1, b 2, c 3; start 4
    inputs, targets, lengths = encode_batch(["ab", "c"], alphabet)
    np.testing.assert_array_equal(inputs, [[4, 4], [1, 3], [2, 4]])
    np.testing.assert_array_equal(targets, [[1, 3], [2, 0], [0, IGNORE]])
    np.testing.assert_array_equal(lengths, [3, 2])


# ---- masking ---------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_padding_changes_neither_the_loss_nor_the_gradients(cell):
    """A padded batch gives the sum of the names' losses alone, and the same gradients."""
    model = model_for(NAMES, cell)
    alone, grads_alone = 0.0, None
    for name in NAMES:
        model.zero_grad()
        loss, count, _ = batch_loss(model, [name])
        assert count == len(name) + 1
        loss.backward()
        alone += loss.item()
        grads = [p.grad.copy() for p in model.parameters()]
        grads_alone = grads if grads_alone is None else [a + g for a, g in zip(grads_alone, grads)]
    model.zero_grad()
    loss, count, _ = batch_loss(model, NAMES)
    loss.backward()
    assert count == sum(len(n) + 1 for n in NAMES)
    assert loss.item() == pytest.approx(alone, rel=1e-12)
    for p, g in zip(model.parameters(), grads_alone):
        np.testing.assert_allclose(p.grad, g, rtol=1e-10, atol=1e-12)


def test_with_lengths_each_final_state_is_that_of_the_name_alone():
    model = model_for(NAMES, "lstm")
    _, _, (h, c) = batch_loss(model, NAMES, lengths=True)
    for b, name in enumerate(NAMES):
        _, _, (h1, c1) = batch_loss(model, [name])
        np.testing.assert_allclose(h.data[:, b], h1.data[:, 0], rtol=1e-12)
        np.testing.assert_allclose(c.data[:, b], c1.data[:, 0], rtol=1e-12)


# ---- the classic preset is the course's model, trained exactly as by hand ------------


def load_benchmark(name):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


def classic_run(steps, seed=3):
    """tinyrnn's classic preset for `steps` steps, set up as dinos.run sets it up."""
    names = read_names(bundled_path())
    train_names, heldout = split_names(names)
    cfg = PRESETS["classic"]
    rng = np.random.default_rng(seed)
    model = NameModel(Alphabet.from_names(names), cfg.cell, cfg.hidden, cfg.layers, cfg.dtype)
    course_init(model, rng)
    lines = []
    train(model, replace(cfg, steps=steps, report_every=100), train_names, rng, seed, lines.append)
    return names, model, lines


def test_classic_preset_equals_handwritten_bptt_and_torch():
    names, model, lines = classic_run(300)
    log = []
    by_hand = bptt_dinos.train(names, 300, seed=3, log=log.append)
    by_torch = load_benchmark("torch_dinos").train(names, 300, seed=3, log=log.append)
    train_names, heldout = split_names(names)
    ours = {"train_nll": per_char_nll(model, train_names), "heldout_nll": per_char_nll(model, heldout)}
    for key, value in ours.items():
        # float64 throughout; the three differ only in the order of floating-point sums
        assert value == pytest.approx(by_hand[key], rel=1e-9)
        assert value == pytest.approx(by_torch[key], rel=1e-9)
    assert value < math.log(27)  # it learned something: below the uniform guess
    assert len(lines) == 3 and "loss" in lines[0]


# ---- NLL and sampling ------------------------------------------------------------


def test_a_model_with_zero_weights_scores_log_of_the_alphabet_size():
    model = model_for(NAMES)
    for p in model.parameters():
        p.data[...] = 0
    assert per_char_nll(model, NAMES) == pytest.approx(math.log(len(model.alphabet)), rel=1e-12)


def fixed_distribution_model(probs):
    """A model whose every prediction is softmax(log probs): the head's weights are zero."""
    model = model_for(["ab"], "rnn", hidden=4)  # alphabet: \n, a, b
    model.head.weight.data[...] = 0
    model.head.bias.data[...] = np.log(probs)
    return model


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_sampling_draws_from_softmax_of_logits_over_temperature(temperature):
    probs = np.array([0.5, 0.3, 0.2])
    model = fixed_distribution_model(probs)
    names = sample(model, 4000, np.random.default_rng(0), temperature=temperature)
    expected = probs ** (1 / temperature) / (probs ** (1 / temperature)).sum()
    first = np.array([sum(n[:1] == c for n in names) for c in ["", "a", "b"]]) / len(names)
    # 4000 draws: the standard error of each frequency is below 0.008
    np.testing.assert_allclose(first, expected, atol=0.03)
    lengths = np.array([len(n) for n in names])
    assert lengths.mean() == pytest.approx((1 - expected[0]) / expected[0], abs=0.1)  # geometric


def test_sampling_is_reproducible_and_respects_prefix_and_max_len():
    model = model_for(NAMES, "lstm", hidden=16)
    a = sample(model, 20, np.random.default_rng(5))
    assert a == sample(model, 20, np.random.default_rng(5))
    assert a != sample(model, 20, np.random.default_rng(6))
    long = sample(model, 20, np.random.default_rng(5), prefix="tyr", max_len=6)
    assert all(n.startswith("tyr") and len(n) <= 6 for n in long)
    assert max(len(n) for n in long) == 6  # an untrained model rarely stops within 3 characters
    assert sample(model, 0, np.random.default_rng(5)) == []


def test_temperature_zero_takes_the_likeliest_character():
    model = fixed_distribution_model(np.array([0.1, 0.3, 0.6]))  # "b" forever, until max_len
    assert sample(model, 3, np.random.default_rng(0), temperature=0, max_len=7) == ["bbbbbbb"] * 3


# ---- checkpoints -----------------------------------------------------------------


def test_checkpoint_round_trip_gives_the_same_model(tmp_path):
    model = model_for(NAMES, "lstm", hidden=6, layers=2, dtype="float32")
    save_checkpoint(tmp_path / "m.npz", model)
    loaded = load_checkpoint(tmp_path / "m.npz")
    assert loaded.alphabet == model.alphabet and loaded.arch == model.arch
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert sample(loaded, 5, np.random.default_rng(1)) == sample(model, 5, np.random.default_rng(1))
