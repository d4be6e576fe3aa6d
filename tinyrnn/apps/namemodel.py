"""A character-level model of names: its loss, per-character NLL, sampling, checkpoints.

    inputs (T, B) ids -> one-hot (T, B, V), zero at the start -> RNN/GRU/LSTM (T, B, H)
    -> Linear (T, B, V) logits -> cross-entropy against the next characters

The alphabet, the held-out split and the padded batches are in data/names.py;
the command line that trains it is dinos.py.
"""

from __future__ import annotations

import numpy as np

from tinyrnn import functional as F
from tinyrnn import nn
from tinyrnn.apps import sampling
from tinyrnn.apps.checkpoint import checkpoint
from tinyrnn.apps.checkpoint import load_checkpoint as read_checkpoint
from tinyrnn.apps.cli import CELLS
from tinyrnn.data.names import EOS, Alphabet, encode_batch
from tinyrnn.data.padding import IGNORE
from tinyrnn.io import save
from tinyrnn.tensor import Tensor, no_grad

TASK = "tinyrnn.dinos"
ARCH = ("cell", "hidden", "layers", "dtype")


class NameModel(nn.Module):
    """One-hot characters -> recurrent layers -> a Linear over the alphabet."""

    def __init__(self, alphabet: Alphabet, cell: str, hidden: int, layers: int, dtype: str = "float64"):
        V = len(alphabet)
        self.alphabet = alphabet
        self.arch = {"cell": cell, "hidden": hidden, "layers": layers, "dtype": dtype}
        self.rnn = CELLS[cell](V, hidden, layers, dtype=np.dtype(dtype))
        self.head = nn.Linear(hidden, V, dtype=np.dtype(dtype))
        self.one_hot = np.eye(V + 1, V, dtype=dtype)  # row V, the start input, is all zeros

    def forward(self, inputs: np.ndarray, state=None, lengths: np.ndarray | None = None):
        """inputs (T, B) ids, state as the layer returns it (None: zeros) -> (logits (T, B, V), state)."""
        out, state = self.rnn(Tensor(self.one_hot[inputs]), state, lengths)
        return self.head(out), state


def course_init(model: NameModel, rng: np.random.Generator) -> None:
    """The course's start: every weight matrix N(0, 0.01^2), drawn in parameter order
    (W_ih, W_hh, ..., W_out), every bias zero, and bias_hh frozen at zero so the
    hidden layer has one bias, b, as in h_t = tanh(W_ih x_t + W_hh h_{t-1} + b)."""
    for name, p in model.named_parameters():
        if "bias" in name:
            p.data[...] = 0
            p.requires_grad = not name.startswith("rnn.bias_hh")
        else:
            p.data[...] = rng.standard_normal(p.shape) * 0.01


def batch_loss(model: NameModel, names: list[str], state=None, lengths: bool = False):
    """(summed cross-entropy over every character of `names`, their count, final state).

    Padded positions have target IGNORE, so they add nothing to the loss. A
    padded step comes after every real step of its name, so it cannot change
    them either; `lengths` is only needed when the final state is used."""
    inputs, targets, lens = encode_batch(names, model.alphabet)
    logits, state = model(inputs, state, lens if lengths else None)
    V = len(model.alphabet)
    loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), reduction="sum", ignore_index=IGNORE)
    return loss, int(lens.sum()), state


@no_grad()
def per_char_nll(model: NameModel, names: list[str], batch: int = 256) -> float:
    """Mean negative log-likelihood per character, in nats; the end of each name counts
    as a character. Every name starts from a zero state; names are batched by length."""
    names = sorted(names, key=len)
    total, count = 0.0, 0
    for i in range(0, len(names), batch):
        loss, n, _ = batch_loss(model, names[i : i + batch])
        total, count = total + loss.item(), count + n
    return total / count


def sample(
    model: NameModel, n: int, rng: np.random.Generator, temperature: float = 1.0, prefix: str = "", max_len: int = 50
) -> list[str]:
    """`n` names drawn in parallel, each `prefix` + characters drawn one at a time from
    softmax(logits / temperature) (temperature 0: the likeliest) until the end-of-name
    token or `max_len` characters in all (tinyrnn.apps.sampling)."""
    alphabet, end = model.alphabet, model.alphabet.index[EOS]
    if n == 0:
        return []
    context = [alphabet.start, *alphabet.encode(prefix)]
    drawn = sampling.sample(model, context, n, max_len - len(prefix), rng, temperature, end)
    return [prefix + alphabet.decode(row[row != end]) for row in drawn]


def save_checkpoint(path: str, model: NameModel) -> None:
    save(checkpoint(TASK, model, model.arch, model.alphabet.symbols), path)


def load_checkpoint(path: str, option: str = "--load") -> NameModel:
    """The model of a save_checkpoint file; ValueError (one line, naming `option`) for any other file."""
    model, _, _ = read_checkpoint(
        path, TASK, lambda config, vocab: NameModel(Alphabet(vocab), **{k: config[k] for k in ARCH}), option
    )
    assert isinstance(model, NameModel)
    return model
