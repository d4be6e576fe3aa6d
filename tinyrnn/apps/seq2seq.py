"""python -m tinyrnn.seq2seq: an encoder-decoder that maps one sequence to another.

    source "hello" -> encoder GRU -> final state h -> decoder GRU, started from h
                   -> "olleh" <eos>, one character at a time

Training uses teacher forcing: the decoder reads <bos> followed by the correct
target and learns to predict each next character, so every step gets the
right history even while the model is still bad. Decoding is greedy: start
from <bos>, take the likeliest character, feed it back in, stop at <eos>.

The whole source reaches the decoder through one state vector of --hidden
numbers: enough to memorise the training pairs, but a bottleneck for
generalising to new strings (what attention was invented to remove).

Built-in toy tasks: `reverse` (random letter strings -> the same string
reversed; it also reports accuracy on strings it never saw) and `opposite`
(English word -> its opposite, to be memorised). --pairs FILE maps any
tab-separated `source<TAB>target` lines.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from tinyrnn import functional as F
from tinyrnn import nn
from tinyrnn.apps.cli import CELLS, EXIT_CODES, ArgumentParser, input_error, non_negative, positive, run_cli
from tinyrnn.apps.outputs import Outputs
from tinyrnn.apps.training import Trainer, due
from tinyrnn.data.padding import IGNORE, pad
from tinyrnn.data.text import Vocab, read_text
from tinyrnn.random import manual_seed
from tinyrnn.tensor import no_grad

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
OPPOSITES = (
    "hot cold, big small, up down, left right, open closed, fast slow, old new, happy sad, light dark, early late, "
    "full empty, high low, in out, hard soft, long short, rich poor, strong weak, thick thin, wet dry, win lose, "
    "day night, black white, push pull, buy sell, true false, first last, above below, before after, "
    "inside outside, near far"
)


def opposite_pairs() -> list[tuple[str, str]]:
    """Each word of OPPOSITES -> its opposite, both ways (60 pairs)."""
    pairs = [(a, b) for a, b in (item.split() for item in OPPOSITES.split(", "))]
    return pairs + [(b, a) for a, b in pairs]


def reverse_pairs(count: int, seed: int) -> list[tuple[str, str]]:
    """`count` distinct random strings of 3 to 8 letters a-h, each -> itself reversed."""
    rng = np.random.default_rng(seed)
    words: dict[str, None] = {}
    while len(words) < count:
        words["".join(rng.choice(list("abcdefgh"), size=rng.integers(3, 9)))] = None
    return [(w, w[::-1]) for w in words]


def read_pairs(path: str) -> list[tuple[str, str]]:
    """`source<TAB>target` lines of a UTF-8 file (blank lines skipped)."""
    pairs: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for n, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise ValueError(f"{path} line {n}: expected 'source<TAB>target', got {line!r}")
        if seen.setdefault(parts[0], parts[1]) != parts[1]:
            raise ValueError(f"{path} line {n}: {parts[0]!r} already maps to {seen[parts[0]]!r}")
        pairs.append((parts[0], parts[1]))
    if not pairs:
        raise ValueError(f"{path}: no pairs")
    return pairs


class Seq2Seq(nn.Module):
    """Embedding + encoder RNN; embedding + decoder RNN started from the encoder's
    final state; Linear over the vocabulary."""

    def __init__(self, vocab_size: int, cell: str, embed: int, hidden: int, layers: int):
        self.vocab_size = vocab_size
        self.src_embedding = nn.Embedding(vocab_size, embed)
        self.encoder = CELLS[cell](embed, hidden, layers)
        self.tgt_embedding = nn.Embedding(vocab_size, embed)
        self.decoder = CELLS[cell](embed, hidden, layers)
        self.head = nn.Linear(hidden, vocab_size)

    def encode(self, src: np.ndarray, lengths: np.ndarray):
        """src (S, B) padded ids, lengths (B,) -> final state, taken at each source's own last step."""
        _, state = self.encoder(self.src_embedding(src), lengths=lengths)
        return state

    def decode(self, tgt_in: np.ndarray, state):
        """tgt_in (T, B) ids, state -> (logits (T, B, V), state)."""
        out, state = self.decoder(self.tgt_embedding(tgt_in), state)
        return self.head(out), state


class Task:
    """Pairs of strings as id arrays over one shared vocabulary with <pad>, <bos>, <eos>."""

    def __init__(self, pairs: list[tuple[str, str]], vocab: Vocab | None = None):
        self.vocab = vocab or Vocab("".join(s + t for s, t in pairs), reserved=(PAD, BOS, EOS))
        self.pad, self.bos, self.eos = (self.vocab[tok] for tok in (PAD, BOS, EOS))

    def batch(self, pairs: list[tuple[str, str]]):
        """-> src (S, B), lengths (B,), decoder input <bos>+target (T, B), decoder target target+<eos> (T, B),
        padded with <pad> (inputs) and IGNORE (targets)."""
        src, lengths = pad([self.vocab.encode(s) for s, _ in pairs], self.pad)
        tgt = [self.vocab.encode(t) for _, t in pairs]
        tgt_in, _ = pad([np.r_[self.bos, t] for t in tgt], self.pad)
        tgt_out, _ = pad([np.r_[t, self.eos] for t in tgt], IGNORE)
        return src, lengths, tgt_in, tgt_out

    def loss(self, model: Seq2Seq, pairs: list[tuple[str, str]]):
        """Mean cross-entropy per target character (padding ignored), with teacher forcing."""
        src, lengths, tgt_in, tgt_out = self.batch(pairs)
        logits, _ = model.decode(tgt_in, model.encode(src, lengths))
        return F.cross_entropy(logits.reshape(-1, model.vocab_size), tgt_out.reshape(-1), ignore_index=IGNORE)

    @no_grad()
    def translate(self, model: Seq2Seq, sources: list[str], max_len: int) -> list[str]:
        """Greedy decoding of a batch of sources, up to max_len characters each."""
        model.eval()
        src, lengths = pad([self.vocab.encode(s) for s in sources], self.pad)
        state = model.encode(src, lengths)
        token = np.full((1, len(sources)), self.bos)
        steps: list[np.ndarray] = []
        done = np.zeros(len(sources), dtype=bool)
        while len(steps) < max_len and not done.all():
            logits, state = model.decode(token, state)
            token = logits.data.argmax(axis=-1)  # (1, B)
            steps.append(token[0])
            done |= token[0] == self.eos
        out = np.array(steps).T if steps else np.zeros((len(sources), 0), dtype=np.int64)
        return [self.vocab.decode(row[: list(row).index(self.eos)] if self.eos in row else row) for row in out]

    def accuracy(self, model: Seq2Seq, pairs: list[tuple[str, str]]) -> float:
        """Fraction of pairs whose greedy translation equals the target exactly."""
        max_len = max(len(t) for _, t in pairs) + 2
        got = self.translate(model, [s for s, _ in pairs], max_len)
        return float(np.mean([g == t for g, (_, t) in zip(got, pairs)]))


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="python -m tinyrnn.seq2seq",
        description="Train a small encoder-decoder (teacher forcing, greedy decoding) on pairs of strings "
        "until it gets every training pair exactly right or --epochs run out.",
        epilog=EXIT_CODES,
    )
    p.add_argument(
        "--task",
        choices=["reverse", "opposite"],
        default="reverse",
        help="built-in pairs: random strings -> "
        "reversed (plus held-out strings to test on), or English words -> their opposites",
    )
    p.add_argument("--pairs", metavar="FILE", help="UTF-8 file of source<TAB>target lines (replaces --task)")
    p.add_argument("--count", metavar="N", type=positive(int), default=200, help="training strings for --task reverse")
    p.add_argument("--cell", choices=sorted(CELLS), default="gru", help="encoder and decoder cell")
    p.add_argument("--embed", metavar="N", type=positive(int), default=32, help="embedding size")
    p.add_argument("--hidden", metavar="N", type=positive(int), default=128, help="hidden units per layer")
    p.add_argument("--layers", metavar="N", type=positive(int), default=1, help="layers of encoder and of decoder")
    p.add_argument("--epochs", metavar="N", type=non_negative(int), default=300, help="most passes over the pairs")
    p.add_argument("--batch", metavar="N", type=positive(int), default=32, help="pairs per minibatch")
    p.add_argument("--lr", metavar="X", type=positive(float), default=0.01, help="Adam learning rate")
    p.add_argument("--clip", metavar="X", type=non_negative(float), default=1.0, help="gradient norm clip (0: none)")
    p.add_argument("--print-every", metavar="N", type=positive(int), default=10, help="epochs between accuracy checks")
    p.add_argument(
        "--translate",
        action="append",
        metavar="TEXT",
        help="decode this source after training (repeatable; default: the first 3 training sources)",
    )
    p.add_argument(
        "--seed", metavar="N", type=non_negative(int), default=0, help="random seed (data, initialisation, shuffling)"
    )
    p.add_argument("--metrics", metavar="FILE", help="write JSON: accuracies, loss history, translations")
    return p


MAX_COUNT = 1_000_000  # random strings of 3-8 letters a-h: 19 million exist; a million trains for days here


def run(args, outputs: Outputs) -> dict:
    """Train until every training pair is right, then translate; return the metrics (run_cli writes --metrics)."""
    if args.count > MAX_COUNT:
        raise ValueError(f"--count {args.count:,}: at most {MAX_COUNT:,} training strings")
    if any(not text for text in args.translate or []):
        raise ValueError("--translate: a source to translate must not be empty")
    manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    held_out = []
    if args.pairs:
        try:
            pairs = read_pairs(args.pairs)
        except ValueError as e:
            raise input_error("--pairs", args.pairs, e) from None
    elif args.task == "opposite":
        pairs = opposite_pairs()
    else:
        both = reverse_pairs(args.count + 100, args.seed)
        pairs, held_out = both[: args.count], both[args.count :]
    task = Task(pairs)
    for text in args.translate or []:
        unknown = task.vocab.unknown(text)
        if unknown:
            print(f"warning: --translate {text!r}: unseen characters read as <unk>: {unknown}", file=sys.stderr)
    model = Seq2Seq(len(task.vocab), args.cell, args.embed, args.hidden, args.layers)
    trainer = Trainer(model.parameters(), "adam", args.lr, args.clip, hint="lower --lr or --clip")
    print(
        f"{len(pairs)} training pairs, vocabulary {len(task.vocab)}; {args.cell} encoder/decoder, hidden {args.hidden}"
    )

    history, accuracy, epoch = [], task.accuracy(model, pairs), 0
    while accuracy < 1 and epoch < args.epochs:
        epoch += 1
        model.train()
        order = rng.permutation(len(pairs))
        losses = []
        for i in range(0, len(pairs), args.batch):
            losses.append(trainer.step(task.loss(model, [pairs[j] for j in order[i : i + args.batch]])))
        history.append({"epoch": epoch, "loss": float(np.mean(losses))})
        if due(epoch, args.print_every, args.epochs):
            accuracy = task.accuracy(model, pairs)
            history[-1]["accuracy"] = accuracy
            print(f"epoch {epoch:4d}  loss {np.mean(losses):.4f}  exact match on the training pairs {accuracy:6.1%}")
    trainer.finish()

    print(
        f"{'reached' if accuracy == 1 else 'stopped at'} {accuracy:.1%} exact match on the training pairs "
        f"after {epoch} epochs"
    )
    metrics: dict[str, Any] = {
        "train_accuracy": accuracy,
        "epochs": epoch,
        "history": history,
        "vocab_size": len(task.vocab),
    }
    if held_out:
        metrics["held_out_accuracy"] = task.accuracy(model, held_out)
        print(f"{metrics['held_out_accuracy']:.1%} exact match on {len(held_out)} strings it never saw")
    sources = args.translate or [s for s, _ in pairs[:3]]
    metrics["translations"] = dict(zip(sources, task.translate(model, sources, max_len=50)))
    for source, target in metrics["translations"].items():
        print(f"{source!r} -> {target!r}")
    return metrics


def main(argv: list[str] | None = None) -> int:
    return run_cli(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
