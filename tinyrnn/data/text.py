"""Character-level text helpers: read a UTF-8 file, a character vocabulary with
<unk>, the two minibatch samplers of truncated BPTT, and perplexity.

A corpus is a 1-D int array of character ids. Both samplers cut it into
windows of `num_steps` characters and yield (X, Y) pairs, time-major like the
recurrent layers: X, Y of shape (num_steps, batch) with Y[t, b] = the
character after X[t, b].

- random sampling: each batch gathers windows from random places in the text,
  so consecutive batches are unrelated and each starts from a fresh state
  ("random-fixed": the same windows every epoch, d2l's first edition);
- sequential sampling: the text is split into `batch` long rows and batch i+1
  continues row b exactly where batch i stopped, so the final hidden state of
  one batch is the right initial state of the next (carried, but detached so
  that backpropagation stops at the batch boundary: truncated BPTT).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

UNK = "<unk>"


MAX_TEXT_BYTES = 100_000_000  # a text this size takes days to train on here; a bigger "text" is a mistake


def read_text(path: str | Path, limit: int = MAX_TEXT_BYTES) -> str:
    """The text of a UTF-8 file of at most `limit` bytes (a BOM is dropped; CRLF and a lone
    CR, the old Mac line ending, become LF).

    Raises ValueError with a one-line message for a missing, unreadable,
    non-UTF-8, empty or too large file (reading stops after `limit` + 1 bytes,
    so an endless file such as /dev/zero is refused too)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e.strerror or e})") from None
    if len(raw) > limit:
        raise ValueError(f"{path}: larger than {limit:,} bytes, the most tinyrnn reads as text: use a part of it")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text (invalid byte 0x{raw[e.start]:02x} at offset {e.start})") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text:
        raise ValueError(f"{path}: the file is empty")
    return text


class Vocab:
    """Characters <-> integer ids.

    Id 0 is <unk>, which every character outside the vocabulary maps to; then
    the `reserved` tokens (e.g. "<pad>", "<bos>", "<eos>"); then the distinct
    characters of `text`, most frequent first (ties in code-point order).
    """

    unk = 0

    def __init__(self, text: Iterable[str] = "", reserved: Sequence[str] = ()):
        counts = Counter(text)
        chars = sorted(counts, key=lambda c: (-counts[c], c))
        self.tokens: list[str] = [UNK, *reserved, *chars]
        self.index: dict[str, int] = {tok: i for i, tok in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise ValueError(f"Vocab: reserved tokens {list(reserved)} repeat or clash with <unk>")

    @classmethod
    def from_tokens(cls, tokens: Sequence[str]) -> Vocab:
        """Rebuild a vocabulary from its `tokens` list (as stored in a checkpoint)."""
        if not tokens or tokens[0] != UNK:
            raise ValueError(f"Vocab.from_tokens: the first token must be {UNK!r}")
        vocab = cls.__new__(cls)
        vocab.tokens = list(tokens)
        vocab.index = {tok: i for i, tok in enumerate(vocab.tokens)}
        if len(vocab.index) != len(vocab.tokens):
            raise ValueError("Vocab.from_tokens: tokens repeat")
        return vocab

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def __getitem__(self, token: str) -> int:
        return self.index.get(token, self.unk)

    def encode(self, text: Iterable[str]) -> np.ndarray:
        """(len(text),) int64 ids; unknown characters become <unk> (id 0)."""
        return np.array([self.index.get(c, self.unk) for c in text], dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.tokens[i] for i in ids)

    def unknown(self, text: Iterable[str]) -> list[str]:
        """The distinct characters of `text` that are not in the vocabulary, in order of appearance."""
        return list(dict.fromkeys(c for c in text if c not in self.index))


def min_length(batch_size: int, num_steps: int) -> int:
    """Fewest characters that give one batch: batch_size windows of num_steps, plus one target."""
    return batch_size * num_steps + 1


def _check_size(n: int, batch_size: int, num_steps: int) -> None:
    if batch_size < 1 or num_steps < 1:
        raise ValueError(f"batch size and num_steps must be >= 1, got {batch_size} and {num_steps}")
    if n < min_length(batch_size, num_steps):
        raise ValueError(
            f"the text has {n} characters: batch {batch_size} x num_steps {num_steps} needs at least "
            f"{min_length(batch_size, num_steps)}"
        )


def _offset(n: int, batch_size: int, num_steps: int, rng: np.random.Generator) -> int:
    """A random start in [0, num_steps), so every epoch sees differently cut windows,
    kept small enough that at least one full batch remains."""
    _check_size(n, batch_size, num_steps)
    slack = n - min_length(batch_size, num_steps)
    return int(rng.integers(0, min(num_steps - 1, slack) + 1))


def random_batches(
    corpus: np.ndarray, batch_size: int, num_steps: int, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Random sampling: (X, Y) of shape (num_steps, batch_size), windows drawn
    without replacement from random positions; no batch continues another.
    The windows start at a random offset drawn anew every epoch (d2l's second edition)."""
    yield from _random_windows(corpus, batch_size, num_steps, rng, _offset(len(corpus), batch_size, num_steps, rng))


def fixed_random_batches(
    corpus: np.ndarray, batch_size: int, num_steps: int, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Random sampling as d2l's first edition does it: the same windows every epoch (starting
    at 0, num_steps, 2 num_steps, ...), only their order shuffled. A model sees the same
    35-character pieces 250 times over, and its training perplexity falls lower partly
    because it learns those pieces by heart."""
    _check_size(len(corpus), batch_size, num_steps)
    yield from _random_windows(corpus, batch_size, num_steps, rng, 0)


def _random_windows(
    corpus: np.ndarray, batch_size: int, num_steps: int, rng: np.random.Generator, offset: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    starts = offset + num_steps * rng.permutation((len(corpus) - 1 - offset) // num_steps)
    steps = np.arange(num_steps)[:, None]
    for i in range(len(starts) // batch_size):
        index = starts[i * batch_size : (i + 1) * batch_size][None, :] + steps  # (num_steps, batch)
        yield corpus[index], corpus[index + 1]


def sequential_batches(
    corpus: np.ndarray, batch_size: int, num_steps: int, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Sequential sampling: (X, Y) of shape (num_steps, batch_size) where column b
    of each batch continues column b of the previous one."""
    offset = _offset(len(corpus), batch_size, num_steps, rng)
    per_row = (len(corpus) - 1 - offset) // batch_size
    xs = corpus[offset : offset + batch_size * per_row].reshape(batch_size, per_row)
    ys = corpus[offset + 1 : offset + 1 + batch_size * per_row].reshape(batch_size, per_row)
    for i in range(per_row // num_steps):
        window = slice(i * num_steps, (i + 1) * num_steps)
        yield np.ascontiguousarray(xs[:, window].T), np.ascontiguousarray(ys[:, window].T)


SAMPLERS = {"random": random_batches, "random-fixed": fixed_random_batches, "sequential": sequential_batches}


def perplexity(total_nll: float, num_tokens: int) -> float:
    """exp(mean negative log-likelihood in nats): the number of equally likely
    characters the model is, on average, choosing between (1 = certain)."""
    if num_tokens < 1:
        raise ValueError("perplexity: no tokens")
    try:
        return math.exp(total_nll / num_tokens)
    except OverflowError:  # a mean NLL above ~709 nats
        return math.inf
