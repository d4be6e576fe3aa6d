"""Lists of names for a character-level name model: reading, the alphabet,
the held-out split, and padded batches.

A name list is a UTF-8 file with one name per line. A name is a sequence of
characters followed by the end-of-name token, written "\\n" (a name can never
contain one). The model reads the name one character at a time, starting from
a *start* input, and predicts each next character and finally the end:

    name "rex":   inputs   <start>  r  e  x
                  targets     r     e  x  \\n

Why not `text.Vocab`: a name model needs an end-of-name token and no <unk>.
A character the model has never seen cannot be scored or typed as a prefix,
so it is an error here, where a text model maps it to <unk>.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from tinyrnn.data.padding import IGNORE, pad
from tinyrnn.data.text import read_text

EOS = "\n"
SPLIT_SEED = 20240611  # the held-out split never depends on --seed, so every run is scored on the same names
HELDOUT_FRACTION = 0.1


def bundled_path() -> Path:
    """The bundled list of dinosaur genus names (lowercase a-z, one per line)."""
    return Path(str(resources.files("tinyrnn") / "data" / "dinos.txt"))


def read_names(path: str | Path) -> list[str]:
    """The distinct non-blank lines of a UTF-8 file (any line ending), stripped, in file order.

    Raises ValueError with a one-line message for a missing, unreadable,
    non-UTF-8 or empty file, and for a file without a single name."""
    lines = read_text(path).split(EOS)
    names = list(dict.fromkeys(stripped for line in lines if (stripped := line.strip())))
    if not names:
        raise ValueError(f"{path}: no names in it (every line is blank)")
    return names


def split_names(names: Sequence[str], fraction: float = HELDOUT_FRACTION) -> tuple[list[str], list[str]]:
    """(train, held-out): a fixed random `fraction` of the names (at least one) is
    held out, chosen with SPLIT_SEED, so it is the same for every run and preset."""
    if len(names) < 2:
        raise ValueError(f"need at least 2 distinct names (one is held out for scoring), got {len(names)}")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(names))
    n_heldout = max(1, round(fraction * len(names)))
    heldout = set(order[:n_heldout].tolist())
    return [n for i, n in enumerate(names) if i not in heldout], [n for i, n in enumerate(names) if i in heldout]


class Alphabet:
    """Symbols <-> ids: id 0 is the end-of-name token, then every character of
    the names in code-point order. Id len(alphabet) is the start input, which
    is never predicted (its one-hot input row is all zeros)."""

    def __init__(self, symbols: str):
        if not isinstance(symbols, str) or not symbols.startswith(EOS) or len(set(symbols)) != len(symbols):
            raise ValueError("Alphabet: the symbols must be the end-of-name token followed by distinct characters")
        self.symbols = symbols
        self.index = {c: i for i, c in enumerate(symbols)}

    @classmethod
    def from_names(cls, names: Iterable[str]) -> Alphabet:
        return cls(EOS + "".join(sorted(set().union(*map(set, names)))))

    def __len__(self) -> int:
        return len(self.symbols)

    def __eq__(self, other) -> bool:
        return isinstance(other, Alphabet) and other.symbols == self.symbols

    @property
    def start(self) -> int:
        return len(self.symbols)

    def unknown(self, text: Iterable[str]) -> list[str]:
        """The distinct characters of `text` outside the alphabet, in order of appearance."""
        return list(dict.fromkeys(c for c in text if c not in self.index))

    def encode(self, text: str) -> list[int]:
        return [self.index[c] for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.symbols[i] for i in ids)


def encode_batch(names: Sequence[str], alphabet: Alphabet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Names as one padded, time-major batch.

    Returns inputs (T, B) (start id, then the characters), targets (T, B) (the
    characters, then EOS; IGNORE where padded) and lengths (B,) = len(name) + 1,
    with T the longest length. Padded inputs hold the start id (a zero input)."""
    start, end = alphabet.start, alphabet.index[EOS]
    encoded = [alphabet.encode(name) for name in names]
    inputs, lengths = pad([[start, *ids] for ids in encoded], start)
    targets, _ = pad([[*ids, end] for ids in encoded], IGNORE)
    return inputs, targets, lengths
