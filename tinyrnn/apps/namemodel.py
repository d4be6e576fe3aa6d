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
from tinyrnn.apps.cli import CELLS
from tinyrnn.data.names import EOS, IGNORE, Alphabet, encode_batch
from tinyrnn.io import load, save
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


@no_grad()
def sample(
    model: NameModel, n: int, rng: np.random.Generator, temperature: float = 1.0, prefix: str = "", max_len: int = 50
) -> list[str]:
    """`n` names drawn in parallel, each `prefix` + characters drawn one at a time from
    softmax(logits / temperature) (temperature 0: the likeliest) until the end-of-name
    token or `max_len` characters in all."""
    alphabet, end = model.alphabet, model.alphabet.index[EOS]
    if n == 0:
        return []
    inputs = np.array([alphabet.start, *alphabet.encode(prefix)])[:, None].repeat(n, axis=1)
    logits, state = model(inputs)
    drawn, done = [], np.zeros(n, dtype=bool)
    while len(prefix) + len(drawn) < max_len and not done.all():
        scores = logits.data[-1].astype(np.float64)  # (n, V)
        if temperature == 0:
            ids = scores.argmax(axis=1)
        else:
            p = np.exp((scores - scores.max(axis=1, keepdims=True)) / temperature)
            cdf = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
            ids = np.minimum((cdf < rng.random((n, 1))).sum(axis=1), len(alphabet) - 1)  # inverse-CDF draw
        done |= ids == end
        drawn.append(np.where(done, end, ids))
        logits, state = model(ids[None, :], state)
    columns = np.array(drawn, dtype=np.int64).reshape(-1, n).T
    return [prefix + alphabet.decode(row[row != end]) for row in columns]


def save_checkpoint(path: str, model: NameModel) -> None:
    """Atomic (tr.save writes a temporary file and renames it): a good file is never half-overwritten."""
    save({"model": model.state_dict(), "meta": {"task": TASK, "alphabet": model.alphabet.symbols, **model.arch}}, path)


def load_checkpoint(path: str) -> NameModel:
    """The model of a save_checkpoint file. ValueError (one line) for any other file;
    tinyrnn.io's CheckpointError, a ValueError, for one that is not a tinyrnn checkpoint."""
    state = load(path)
    meta = state.get("meta")
    if not isinstance(meta, dict) or meta.get("task") != TASK:
        raise ValueError(f"{path}: a tinyrnn checkpoint, but not one saved by {TASK}")
    try:
        model = NameModel(Alphabet(meta["alphabet"]), **{k: meta[k] for k in ARCH})
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise ValueError(f"{path}: damaged {TASK} checkpoint ({e})") from None
    return model
