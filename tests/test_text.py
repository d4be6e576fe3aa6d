"""tinyrnn.data.text: vocabulary, the two BPTT samplers, perplexity, reading files."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinyrnn.data.text import (
    UNK,
    Vocab,
    fixed_random_batches,
    min_length,
    perplexity,
    random_batches,
    read_text,
    sequential_batches,
)

# ---- Vocab ------------------------------------------------------------------


def test_vocab_orders_by_frequency_after_unk_and_reserved():
    vocab = Vocab("abbccc", reserved=["<bos>"])
    assert vocab.tokens == [UNK, "<bos>", "c", "b", "a"]
    assert vocab["c"] == 2 and vocab["<bos>"] == 1 and vocab.unk == 0


def test_vocab_ties_are_in_code_point_order():
    assert Vocab("zyx").tokens == [UNK, "x", "y", "z"]


def test_vocab_encodes_chinese_and_round_trips():
    text = "床前明月光，疑是地上霜。"
    vocab = Vocab(text)
    assert len(vocab) == 1 + len(set(text))
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert vocab.decode(ids) == text


def test_unknown_characters_map_to_unk():
    vocab = Vocab("abc")
    np.testing.assert_array_equal(vocab.encode("axbyy"), [vocab["a"], 0, vocab["b"], 0, 0])
    assert vocab.unknown("axbyyx") == ["x", "y"]
    assert vocab.decode(vocab.encode("ax")) == "a" + UNK


def test_vocab_from_tokens_round_trips_and_rejects_bad_lists():
    vocab = Vocab("hello", reserved=["<pad>"])
    again = Vocab.from_tokens(vocab.tokens)
    assert again.tokens == vocab.tokens and again["l"] == vocab["l"]
    with pytest.raises(ValueError, match="first token"):
        Vocab.from_tokens(["a", UNK])
    with pytest.raises(ValueError, match="repeat"):
        Vocab.from_tokens([UNK, "a", "a"])
    with pytest.raises(ValueError, match="clash"):
        Vocab("ab", reserved=[UNK])


# ---- read_text ----------------------------------------------------------------


def test_read_text_errors_are_one_line(tmp_path):
    cases = {
        tmp_path / "missing.txt": "no such file",
        tmp_path / "empty.txt": "empty",
        tmp_path / "latin1.txt": "not UTF-8",
    }
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    for path, message in cases.items():
        with pytest.raises(ValueError, match=message) as info:
            read_text(path)
        assert "\n" not in str(info.value)


def test_read_text_drops_bom_and_normalises_newlines(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("\ufeff春风\r\n秋雨\n".encode())
    assert read_text(path) == "春风\n秋雨\n"
    path.write_bytes(b"old mac\rline\r\rend")  # CR alone: the classic Mac OS line ending
    assert read_text(path) == "old mac\nline\n\nend"


def test_read_text_refuses_a_file_over_the_limit_without_reading_it_all(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * 101)
    assert read_text(path, limit=101) == "a" * 101
    with pytest.raises(ValueError, match=r"big.txt: larger than 100 bytes, the most tinyrnn reads as text"):
        read_text(path, limit=100)
    with pytest.raises(ValueError, match=r"/dev/zero: larger than 1,000 bytes"):
        read_text("/dev/zero", limit=1000)  # endless: refused after limit + 1 bytes


# ---- samplers -------------------------------------------------------------------
# The corpus arange(n) makes every id equal to its position, so a window's
# contents say exactly where in the text it was cut from.

shapes = st.tuples(st.integers(1, 400), st.integers(1, 6), st.integers(1, 12)).filter(
    lambda s: s[0] >= min_length(s[1], s[2])
)


@given(shapes, st.integers(0, 2**16))
def test_random_batches_are_disjoint_windows_of_the_text(shape, seed):
    n, batch, steps = shape
    batches = list(random_batches(np.arange(n), batch, steps, np.random.default_rng(seed)))
    assert batches, "a text of min_length characters gives at least one batch"
    starts = []
    for x, y in batches:
        assert x.shape == y.shape == (steps, batch)
        np.testing.assert_array_equal(y, x + 1)  # the target is the next character
        np.testing.assert_array_equal(np.diff(x, axis=0), 1)  # each column is a contiguous window
        assert y.max() < n
        starts.extend(x[0])
    offset = starts[0] % steps
    assert offset < steps and all(s % steps == offset for s in starts)  # windows on one grid
    assert len(set(starts)) == len(starts)  # without replacement
    windows = (n - 1 - offset) // steps
    assert len(batches) == windows // batch  # every full batch of windows is used


@given(shapes, st.integers(0, 2**16))
def test_sequential_batches_continue_each_row(shape, seed):
    n, batch, steps = shape
    batches = list(sequential_batches(np.arange(n), batch, steps, np.random.default_rng(seed)))
    assert batches
    for x, y in batches:
        assert x.shape == y.shape == (steps, batch)
        assert x.flags.c_contiguous
        np.testing.assert_array_equal(y, x + 1)
        np.testing.assert_array_equal(np.diff(x, axis=0), 1)
    for (prev, _), (x, _) in zip(batches, batches[1:]):
        np.testing.assert_array_equal(x[0], prev[-1] + 1)  # column b picks up where it stopped
    offset = batches[0][0][0, 0]
    assert offset < steps
    per_row = (n - 1 - offset) // batch
    np.testing.assert_array_equal(batches[0][0][0], offset + per_row * np.arange(batch))
    assert len(batches) == per_row // steps


def test_the_first_editions_sampler_cuts_the_same_windows_every_epoch():
    """d2l's first edition: windows at 0, steps, 2 steps, ... in a new order each epoch."""
    rng = np.random.default_rng(0)
    epochs = [[x for x, _ in fixed_random_batches(np.arange(503), 4, 5, rng)] for _ in range(3)]
    starts = [sorted(np.concatenate([x[0] for x in epoch]).tolist()) for epoch in epochs]
    assert starts[0] == starts[1] == starts[2] == list(range(0, 5 * (502 // 5 // 4 * 4), 5))[: len(starts[0])]
    assert all(s % 5 == 0 for s in starts[0]) and len(starts[0]) == 502 // 5 // 4 * 4
    orders = [np.concatenate([x[0] for x in epoch]).tolist() for epoch in epochs]
    assert orders[0] != orders[1]  # shuffled anew
    for epoch in epochs:
        for x in epoch:
            np.testing.assert_array_equal(np.diff(x, axis=0), 1)


def test_exactly_min_length_gives_one_batch_in_both_modes():
    n = min_length(3, 4)
    assert n == 13
    rng = np.random.default_rng(0)
    for sampler in (random_batches, fixed_random_batches, sequential_batches):
        batches = list(sampler(np.arange(n), 3, 4, rng))
        assert len(batches) == 1


def test_too_short_text_is_a_clear_error():
    for sampler in (random_batches, fixed_random_batches, sequential_batches):
        with pytest.raises(ValueError, match="the text has 12 characters: batch 3 x num_steps 4 needs at least 13"):
            next(sampler(np.arange(12), 3, 4, np.random.default_rng(0)))
        with pytest.raises(ValueError, match=">= 1"):
            next(sampler(np.arange(12), 0, 4, np.random.default_rng(0)))


def test_random_sampling_reshuffles_between_epochs():
    rng = np.random.default_rng(0)
    first = [x[0].tolist() for x, _ in random_batches(np.arange(500), 4, 5, rng)]
    second = [x[0].tolist() for x, _ in random_batches(np.arange(500), 4, 5, rng)]
    assert first != second


# ---- perplexity -------------------------------------------------------------------


def test_perplexity_of_a_uniform_guess_is_the_number_of_choices():
    assert perplexity(10 * math.log(7), 10) == pytest.approx(7)
    assert perplexity(0.0, 5) == 1.0
    assert perplexity(1000.0, 1) == math.inf  # exp overflows a float
    with pytest.raises(ValueError):
        perplexity(1.0, 0)
