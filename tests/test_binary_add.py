"""Binary addition: the bit encoding (checked against Python's own integers), the
test sets, exact-match counting, the losses, and the models' shapes."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyrnn as tr
from tinyrnn.apps import binary_add as ba
from tinyrnn.data.bits import (
    EXHAUSTIVE_LIMIT,
    add_bits,
    all_pairs,
    evaluation_pairs,
    from_bits,
    random_pairs,
    sequences,
    to_bits,
)


# ---- encoding ------------------------------------------------------------------------
@given(st.integers(1, 200).flatmap(lambda w: st.tuples(st.just(w), st.lists(st.integers(0, 2**w - 1), max_size=5))))
def test_bits_round_trip_at_any_width(case):
    width, numbers = case
    bits = to_bits(numbers, width)
    assert bits.shape == (len(numbers), width) and bits.dtype == np.uint8
    assert from_bits(bits) == numbers


def test_bits_are_least_significant_first():
    np.testing.assert_array_equal(to_bits([6, 1], 4), [[0, 1, 1, 0], [1, 0, 0, 0]])


@pytest.mark.parametrize("n, width", [(-1, 8), (256, 8), (2**64, 64)])
def test_to_bits_rejects_numbers_that_do_not_fit(n, width):
    with pytest.raises(ValueError, match=f"does not fit in {width} bits"):
        to_bits([n], width)


@given(st.integers(2, 130).flatmap(lambda w: st.tuples(st.just(w), st.integers(0, 2**w - 1), st.integers(0, 2**w - 1))))
def test_add_bits_is_addition_mod_two_to_the_width(case):
    width, a, b = case
    s = add_bits(to_bits([a], width), to_bits([b], width))
    assert from_bits(s) == [(a + b) % 2**width]


@pytest.mark.parametrize("width", [2, 8, 64, 300])
def test_random_pairs_fit_and_their_sums_fit(width):
    a, b = random_pairs(500, width, np.random.default_rng(0))
    assert a.shape == b.shape == (500, width) and a.dtype == np.uint8
    assert not a[:, -1].any() and not b[:, -1].any()
    for x, y, s in zip(from_bits(a), from_bits(b), from_bits(add_bits(a, b))):
        assert x < 2 ** (width - 1) and y < 2 ** (width - 1) and s == x + y


def test_random_pairs_are_random_and_reproducible():
    first = random_pairs(100, 16, np.random.default_rng(1))
    again = random_pairs(100, 16, np.random.default_rng(1))
    np.testing.assert_array_equal(first[0], again[0])
    assert len(set(from_bits(first[0]))) > 90  # 100 draws from 32,768 values


@pytest.mark.parametrize("width", [2, 4, 8])
def test_all_pairs_is_every_pair_once(width):
    a, b = all_pairs(width)
    half = 2 ** (width - 1)
    assert list(zip(from_bits(a), from_bits(b))) == list(itertools.product(range(half), repeat=2))


def test_sequences_are_time_major_bit_pairs():
    a, b = to_bits([5, 3], 4), to_bits([6, 2], 4)
    x, y = sequences(a, b)
    assert x.shape == (4, 2, 2) and x.dtype == np.float64 and y.shape == (4, 2)
    np.testing.assert_array_equal(x[:, 0, 0], [1, 0, 1, 0])  # 5, least significant bit first
    np.testing.assert_array_equal(x[:, 1, 1], [0, 1, 0, 0])  # 2
    assert from_bits(y.T) == [11, 5]


def test_training_width_is_tested_exhaustively_wider_ones_on_fixed_random_pairs():
    a, b, how = evaluation_pairs(8, 10_000)
    assert how == "all" and len(a) == 16_384
    assert evaluation_pairs(11, 10)[2] == "all" and 4**10 == EXHAUSTIVE_LIMIT
    a, b, how = evaluation_pairs(12, 1234)
    assert how == "random" and len(a) == 1234
    again = evaluation_pairs(64, 50)
    np.testing.assert_array_equal(again[0], evaluation_pairs(64, 50)[0])  # the same pairs in every run


# ---- exact match, losses, models ------------------------------------------------------
class Oracle(tr.nn.Module):
    """A 'model' that knows the answer: logit +1 for a true sum bit, -1 otherwise,
    except for the pairs whose first operand is in `wrong_on` (there it flips the top bit)."""

    hidden = 1

    def __init__(self, wrong_on=()):
        self.wrong_on = set(wrong_on)

    def forward(self, x):
        a, b = x.data[..., 0].T.astype(np.uint8), x.data[..., 1].T.astype(np.uint8)
        s = add_bits(a, b)
        for i, value in enumerate(from_bits(a)):
            if value in self.wrong_on:
                s[i, -1] ^= 1
        return tr.Tensor(np.where(s.T == 1, 1.0, -1.0))


def test_count_exact_counts_numbers_with_every_bit_right():
    a, b = all_pairs(6)  # 1,024 pairs, first operands 0..31 (32 pairs each)
    assert ba.count_exact(Oracle(), a, b) == 1024
    assert ba.count_exact(Oracle(wrong_on={0, 7, 31}), a, b) == 1024 - 3 * 32


def test_count_exact_in_chunks_sees_every_pair(monkeypatch):
    monkeypatch.setattr(ba, "EVAL_ELEMENTS", 6 * 7)  # 7 pairs per chunk at 6 bits
    a, b = all_pairs(6)
    assert ba.count_exact(Oracle(wrong_on={3}), a, b) == 1024 - 32


def test_bce_loss_is_summed_over_bits_and_averaged_over_numbers():
    logits = np.array([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]])  # (T=2, B=3)
    y = np.array([[1, 0, 0], [1, 1, 0]], dtype=np.uint8)
    p = 1 / (1 + np.exp(-logits))
    expected = -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum() / 3
    assert ba.loss_fn(tr.Tensor(logits), y, "bce").item() == pytest.approx(expected, rel=1e-12)
    assert ba.loss_fn(tr.Tensor(logits), y, "mse").item() == pytest.approx(0.5 * ((p - y) ** 2).sum() / 3, rel=1e-12)


@pytest.mark.parametrize("cell", ba.CELLS)
def test_every_cell_maps_bits_to_one_logit_per_step_with_gradients(cell):
    tr.manual_seed(0)
    model = ba.build_model(cell, 5)
    x, y = sequences(*random_pairs(3, 7, np.random.default_rng(0)))
    logits = model(tr.Tensor(x))
    assert logits.shape == (7, 3)
    ba.loss_fn(logits, y, "bce").backward()
    assert all(p.grad is not None and p.grad.shape == p.shape and np.any(p.grad) for p in model.parameters())


def test_build_model_rejects_an_unknown_cell():
    with pytest.raises(ValueError, match="cell must be one of"):
        ba.build_model("transformer", 4)


def test_classic_rnn_has_the_tutorials_shapes_and_no_biases():
    tr.manual_seed(0)
    model = ba.build_model("sigmoid", 16)
    shapes = {name: p.shape for name, p in model.named_parameters()}
    assert shapes == {"U": (2, 16), "W": (16, 16), "V": (16, 1)}
    assert all(np.abs(p.data).max() <= 1 for p in model.parameters())
