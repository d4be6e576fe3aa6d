"""python -m tinyrnn.tagging: where bidirectional layers belong.

A tagger labels every position of an input it has read in full, so each label
may depend on what comes after it. Here: strings of digits 0-4, and the tag
of each digit is 1 when the *next* digit is larger (the last digit has no tag).

    digits  3 1 4 1 0 2
    tags    0 1 0 0 1 -

A left-to-right GRU cannot know the next digit; the best it can do is guess
from the current one, which is right 76% of the time (the mean over d of
max(P(next > d), P(next <= d)) for uniform digits). A bidirectional GRU also
reads the string from its end, so at every position it has seen the next
digit and tags almost perfectly. The strings have different lengths: the
padded batch carries `lengths`, so the backward direction starts at each
string's own last digit.

A language model is the opposite case: it must predict the next character
before it exists, which is why python -m tinyrnn.charlm refuses --bidirectional.
"""

from __future__ import annotations

import sys

import numpy as np

from tinyrnn import functional as F
from tinyrnn import nn
from tinyrnn.apps.cli import EXIT_CODES, ArgumentParser, non_negative, positive, run_cli
from tinyrnn.apps.outputs import Outputs
from tinyrnn.apps.training import Trainer
from tinyrnn.data.padding import IGNORE
from tinyrnn.random import manual_seed
from tinyrnn.tensor import no_grad

DIGITS = 5


def make_strings(count: int, rng: np.random.Generator, shortest: int = 4, longest: int = 12):
    """`count` strings of uniform digits, padded time-major: digits (T, B), tags (T, B)
    (IGNORE on padding and on each last digit), lengths (B,)."""
    lengths = rng.integers(shortest, longest + 1, size=count)
    digits = rng.integers(0, DIGITS, size=(longest, count))
    tags = np.where(digits[1:] > digits[:-1], 1, 0)
    tags = np.concatenate([tags, np.zeros((1, count), dtype=tags.dtype)])
    steps = np.arange(longest)[:, None]
    tags[steps >= lengths - 1] = IGNORE
    digits[steps >= lengths] = 0
    return digits, tags, lengths


class Tagger(nn.Module):
    """Embedding -> GRU (one or two directions) -> Linear to 2 tags at every position."""

    def __init__(self, hidden: int, bidirectional: bool):
        self.embedding = nn.Embedding(DIGITS, 8)
        self.gru = nn.GRU(8, hidden, bidirectional=bidirectional)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), 2)

    def forward(self, digits: np.ndarray, lengths: np.ndarray):
        """digits (T, B), lengths (B,) -> logits (T, B, 2)."""
        out, _ = self.gru(self.embedding(digits), lengths=lengths)
        return self.head(out)


def loss_fn(model: Tagger, digits, tags, lengths):
    logits = model(digits, lengths)
    return F.cross_entropy(logits.reshape(-1, 2), tags.reshape(-1), ignore_index=IGNORE)


@no_grad()
def accuracy(model: Tagger, digits, tags, lengths) -> float:
    """Fraction of tagged positions (not padding, not last digits) tagged right."""
    predicted = model(digits, lengths).data.argmax(axis=-1)
    tagged = tags != IGNORE
    return float((predicted == tags)[tagged].mean())


def train(model: Tagger, data, epochs: int, batch: int, lr: float, rng: np.random.Generator) -> Tagger:
    """Adam on minibatches of `data` (digits, tags, lengths); TrainingError if training
    diverges (tinyrnn.apps.cli.DivergenceCheck's rule)."""
    digits, tags, lengths = data
    trainer = Trainer(model.parameters(), "adam", lr)
    for _ in range(epochs):
        order = rng.permutation(len(lengths))
        for i in range(0, len(order), batch):
            b = order[i : i + batch]
            trainer.step(loss_fn(model, digits[:, b], tags[:, b], lengths[b]))
    trainer.finish()
    return model


def forward_only_ceiling() -> float:
    """Best accuracy from the current digit alone: mean over d of max(P(next > d), P(next <= d))."""
    return float(np.mean([max(DIGITS - 1 - d, d + 1) / DIGITS for d in range(DIGITS)]))


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="python -m tinyrnn.tagging",
        description="Tag each digit with 'is the next digit larger?': a forward-only GRU against a "
        "bidirectional one, scored on strings neither has seen. A tagger reads the whole string before it "
        "tags, so a tag may depend on what comes later: that is what a bidirectional layer is for, and why "
        "a language model, which must predict what comes later, cannot use one.",
        epilog=EXIT_CODES,
    )
    p.add_argument("--train", metavar="N", type=positive(int), default=2000, help="training strings")
    p.add_argument("--test", metavar="N", type=positive(int), default=500, help="held-out strings")
    p.add_argument("--hidden", metavar="N", type=positive(int), default=32, help="hidden units per direction")
    p.add_argument("--epochs", metavar="N", type=positive(int), default=10, help="passes over the training strings")
    p.add_argument("--batch", metavar="N", type=positive(int), default=32, help="strings per minibatch")
    p.add_argument("--lr", metavar="X", type=positive(float), default=0.01, help="Adam learning rate")
    p.add_argument("--seed", metavar="N", type=non_negative(int), default=0, help="random seed")
    p.add_argument("--metrics", metavar="FILE", help="write JSON with both held-out accuracies")
    return p


def run(args, outputs: Outputs) -> dict:
    """Train and score both taggers; return the metrics (run_cli writes --metrics)."""
    rng = np.random.default_rng(args.seed)
    train_data, test_data = make_strings(args.train, rng), make_strings(args.test, rng)
    metrics = {"forward_only_ceiling": forward_only_ceiling()}
    digits, tags, lengths = test_data[0][:, :1], test_data[1][:, :1], test_data[2][:1]  # one example string
    n = int(lengths[0])
    print("digits       ", " ".join(str(d) for d in digits[:n, 0]))
    print("tags         ", " ".join("-" if t == IGNORE else str(t) for t in tags[:n, 0]))
    for name, bidirectional in (("forward_only", False), ("bidirectional", True)):
        manual_seed(args.seed)
        model = train(Tagger(args.hidden, bidirectional), train_data, args.epochs, args.batch, args.lr, rng)
        metrics[name] = accuracy(model, *test_data)
        with no_grad():
            tagged = model(digits, lengths).data.argmax(axis=-1)[: n - 1, 0]
        print(f"{name:13s}", " ".join(str(t) for t in tagged), "-")
    print(
        f"held-out accuracy: forward-only {metrics['forward_only']:.1%} (the best a left-to-right reader can do "
        f"is {metrics['forward_only_ceiling']:.1%}), bidirectional {metrics['bidirectional']:.1%}"
    )
    return metrics


def main(argv: list[str] | None = None) -> int:
    return run_cli(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
