"""python -m tinyrnn.charlm: a character language model on any UTF-8 text.

The textbook recipe (d2l's chapter on recurrent networks): read the text one
character at a time, predict the next character, train with truncated BPTT
on windows of --num-steps characters, watch the perplexity fall and let the
model continue a prefix.

    inputs (T, B) ids -> one-hot or embedding (T, B, E) -> RNN/GRU/LSTM (T, B, H)
    -> Linear (T, B, V) logits -> cross-entropy against the next characters

Why no --bidirectional: a bidirectional layer also reads each window from its
end, so its state at step t has already seen the characters t+1, t+2, ... that
it is asked to predict. It would reach a near-perfect training perplexity by
copying, and it cannot generate, because when writing character t+1 there is
no future yet to read. Bidirectional layers belong to tasks that see the
whole input first, such as tagging: see `python -m tinyrnn.tagging`.
"""

from __future__ import annotations

import sys
import time
from importlib import resources

import numpy as np

from tinyrnn import functional as F
from tinyrnn import nn
from tinyrnn.apps import sampling
from tinyrnn.apps.checkpoint import checkpoint, load_checkpoint
from tinyrnn.apps.cli import CELLS, EXIT_CODES, ArgumentParser, input_error, non_negative, positive, run_cli
from tinyrnn.apps.outputs import Outputs
from tinyrnn.apps.training import OPTIMIZERS, Trainer, due
from tinyrnn.data.text import SAMPLERS, Vocab, min_length, perplexity, read_text
from tinyrnn.io import save
from tinyrnn.nn.utils import detach_state
from tinyrnn.random import manual_seed
from tinyrnn.tensor import no_grad

DEFAULT_TEXT = "charlm_default.txt"
BIDIRECTIONAL_REFUSAL = (
    "--bidirectional: a language model predicts character t+1 from characters up to t, but a "
    "bidirectional layer also reads the window backwards, so it would see the answer while training "
    "and has no future to read while generating; see python -m tinyrnn.tagging for a task it fits"
)


class CharLM(nn.Module):
    """One-hot (embed=0) or embedding inputs -> recurrent layers -> a Linear over the vocabulary."""

    def __init__(self, vocab_size: int, cell: str, hidden: int, layers: int, embed: int = 0, dtype="float32"):
        self.vocab_size, self.dtype = vocab_size, np.dtype(dtype)
        self.embedding = nn.Embedding(vocab_size, embed, dtype=self.dtype) if embed else None
        self.rnn = CELLS[cell](embed or vocab_size, hidden, layers, dtype=self.dtype)
        self.head = nn.Linear(hidden, vocab_size, dtype=self.dtype)

    def forward(self, ids: np.ndarray, state=None):
        """ids (T, B) ints, state as the layer returns it (None = zeros) -> (logits (T, B, V), state)."""
        x = self.embedding(ids) if self.embedding else F.one_hot(ids, self.vocab_size, self.dtype)
        out, state = self.rnn(x, state)
        return self.head(out), state


def batch_losses(model: CharLM, corpus: np.ndarray, sampling: str, batch_size: int, num_steps: int, rng):
    """Yield the mean cross-entropy of each minibatch of one epoch.

    random: each batch starts from a zero state (its windows follow nothing).
    sequential: each batch starts from the previous batch's final state,
    detached, so the graph -- and memory -- never grows beyond one batch."""
    state = None
    for x, y in SAMPLERS[sampling](corpus, batch_size, num_steps, rng):
        state = detach_state(state) if sampling == "sequential" and state is not None else None
        logits, state = model(x, state)
        yield F.cross_entropy(logits.reshape(-1, model.vocab_size), y.reshape(-1))


def train_epoch(model: CharLM, corpus: np.ndarray, trainer: Trainer, args, rng) -> float:
    """One pass over the text; returns its training perplexity (from the mean batch loss)."""
    model.train()
    total, count = 0.0, 0
    for loss in batch_losses(model, corpus, args.sampling, args.batch, args.num_steps, rng):
        total, count = total + trainer.step(loss), count + 1
    return perplexity(total, count)


@no_grad()
def text_perplexity(model: CharLM, corpus: np.ndarray, streams: int, chunk: int) -> float:
    """Perplexity of the whole text: it is cut into `streams` rows read in parallel,
    each from a zero state carried from chunk to chunk."""
    model.eval()
    streams = max(1, min(streams, (len(corpus) - 1) // chunk))
    per_row = (len(corpus) - 1) // streams
    xs = corpus[: streams * per_row].reshape(streams, per_row).T
    ys = corpus[1 : streams * per_row + 1].reshape(streams, per_row).T
    state, total = None, 0.0
    for t in range(0, per_row, chunk):
        logits, state = model(xs[t : t + chunk], state)
        total += F.cross_entropy(logits.reshape(-1, model.vocab_size), ys[t : t + chunk].reshape(-1), "sum").item()
    return perplexity(total, xs.size)


def generate(model: CharLM, vocab: Vocab, prefix: str, length: int, temperature: float, rng) -> str:
    """The prefix followed by `length` characters, each fed back in as the next input.

    The prefix warms the state up; then temperature 0 takes the most likely
    character, and temperature T > 0 samples from softmax(logits / T) (tinyrnn.apps.sampling)."""
    model.eval()
    return prefix + vocab.decode(sampling.sample(model, vocab.encode(prefix), 1, length, rng, temperature)[0])


# ---- checkpoints ---------------------------------------------------------------

ARCH = ("cell", "hidden", "layers", "embed", "dtype")
TASK = "tinyrnn.charlm"


def save_checkpoint(path: str, model: CharLM, vocab: Vocab, args) -> None:
    save(checkpoint(TASK, model, {k: getattr(args, k) for k in ARCH}, vocab.tokens), path)


def load_model(path: str, args) -> tuple[CharLM, Vocab]:
    """Rebuild the model and vocabulary of a --save'd checkpoint; its architecture overrides args."""

    def build(config: dict, tokens) -> CharLM:
        for k in ARCH:
            setattr(args, k, config[k])
        return CharLM(len(tokens), args.cell, args.hidden, args.layers, args.embed, args.dtype)

    model, _, tokens = load_checkpoint(path, TASK, build)
    assert isinstance(model, CharLM)
    try:
        return model, Vocab.from_tokens(tokens)
    except (TypeError, ValueError) as e:
        raise ValueError(f"--load {path}: damaged {TASK} checkpoint ({e})") from None


# ---- command line ----------------------------------------------------------------


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="python -m tinyrnn.charlm",
        description="Train a character language model on a UTF-8 text with truncated BPTT, report its "
        "perplexity (exp of the mean loss per character: 1 = always sure and right) and continue prefixes. "
        "Without --data it trains on a short bundled English text.",
        epilog="No --bidirectional: a bidirectional layer would read the characters it has to predict, and "
        "has no future to read while generating (python -m tinyrnn.tagging shows where it belongs). "
        "--load with --epochs 0 only scores the --data text and generates; without --data it only generates. "
        + EXIT_CODES,
    )
    p.add_argument("--data", metavar="FILE", help="UTF-8 text to train on (default: the bundled text)")
    p.add_argument("--cell", choices=sorted(CELLS), default="gru", help="recurrent cell")
    p.add_argument("--hidden", metavar="N", type=positive(int), default=128, help="hidden units per layer")
    p.add_argument("--layers", metavar="N", type=positive(int), default=1, help="stacked recurrent layers")
    p.add_argument(
        "--embed",
        metavar="N",
        type=non_negative(int),
        default=0,
        help="embedding size; 0 feeds one-hot vectors (large "
        "vocabularies, e.g. Chinese with thousands of characters, train faster with an embedding)",
    )
    p.add_argument(
        "--num-steps", metavar="N", type=positive(int), default=32, help="BPTT length: characters per window"
    )
    p.add_argument("--batch", metavar="N", type=positive(int), default=16, help="windows per minibatch")
    p.add_argument("--epochs", metavar="N", type=non_negative(int), default=30, help="passes over the text")
    p.add_argument("--lr", metavar="X", type=positive(float), default=0.01, help="learning rate")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam", help="optimiser")
    p.add_argument("--clip", metavar="X", type=non_negative(float), default=1.0, help="gradient norm clip (0: none)")
    p.add_argument(
        "--sampling",
        choices=sorted(SAMPLERS),
        default="sequential",
        help="minibatches: random windows, each from a zero state (cut at a new offset every epoch; "
        "random-fixed: the same windows every epoch, as in d2l's first edition), or sequential ones that carry "
        "the (detached) state from batch to batch",
    )
    p.add_argument(
        "--prefix",
        metavar="TEXT",
        action="append",
        help="text to continue (repeatable; default: the text's first 5 characters)",
    )
    p.add_argument(
        "--length", metavar="N", type=non_negative(int), default=60, help="characters to generate per prefix"
    )
    p.add_argument(
        "--temperature",
        metavar="X",
        type=non_negative(float),
        default=0.0,
        help="0 picks the likeliest character; T > 0 samples from softmax(logits / T)",
    )
    p.add_argument(
        "--print-every", metavar="N", type=positive(int), help="epochs between progress reports (default: ~10 reports)"
    )
    p.add_argument(
        "--seed", metavar="N", type=non_negative(int), default=0, help="random seed (initialisation, batches, sampling)"
    )
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="parameter dtype")
    p.add_argument("--save", metavar="FILE", help="write the trained model here (.npz, after training succeeds)")
    p.add_argument("--load", metavar="FILE", help="start from a --save'd model (its cell, sizes and vocabulary win)")
    p.add_argument("--metrics", metavar="FILE", help="write JSON: final perplexity, per-epoch history, samples")
    p.add_argument("--bidirectional", action="store_true", help="refused with the reason (see below)")
    return p


def load_text(args) -> str:
    if args.data is not None:
        try:
            return read_text(args.data)
        except ValueError as e:
            raise input_error("--data", args.data, e) from None
    text = resources.files("tinyrnn.data").joinpath(DEFAULT_TEXT).read_text(encoding="utf-8")
    print(f"no --data given: training on the bundled text tinyrnn/data/{DEFAULT_TEXT} ({len(text):,} characters)")
    return text


def warn_unknown(vocab: Vocab, text: str, what: str) -> None:
    unknown = vocab.unknown(text)
    if unknown:
        shown = " ".join(repr(c) for c in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        print(
            f"warning: {what} has {len(unknown)} character(s) the model never saw, read as <unk>: {shown}",
            file=sys.stderr,
        )


def prepare(args) -> tuple[CharLM, Vocab, np.ndarray | None, list[str]]:
    """(model, vocabulary, the text as ids, prefixes): --load'ed or new, with every input checked.
    The text is None with --load and no --data: the checkpoint alone can only generate
    (the bundled English text would be the wrong text to score or train a loaded model on)."""
    text: str | None = None
    if not args.load:
        text = load_text(args)
        vocab = Vocab(text)
        model = CharLM(len(vocab), args.cell, args.hidden, args.layers, args.embed, args.dtype)
    else:
        model, vocab = load_model(args.load, args)
        if args.data is not None:
            text = load_text(args)
            warn_unknown(vocab, text, "the text")
        elif args.epochs:
            raise ValueError("--load without --data: no text to train on: give --data, or --epochs 0 to only generate")
        elif args.prefix is None:
            raise ValueError("--load without --data: give a --prefix to continue (there is no text to take one from)")
    prefixes = args.prefix if args.prefix is not None else [text[:5] if text is not None else ""]
    if any(not prefix for prefix in prefixes):
        raise ValueError("--prefix: a prefix must not be empty")
    for prefix in prefixes:
        warn_unknown(vocab, prefix, f"--prefix {prefix!r}")
    if text is None:
        return model, vocab, None, prefixes
    corpus = vocab.encode(text)
    if len(corpus) < 2:
        raise ValueError("the text has 1 character: a language model needs at least 2, one to predict from the other")
    if args.epochs and len(corpus) < min_length(args.batch, args.num_steps):
        raise ValueError(
            f"the text has {len(corpus):,} characters, too few for --batch {args.batch} x --num-steps "
            f"{args.num_steps} (needs {min_length(args.batch, args.num_steps):,}): lower --num-steps or --batch"
        )
    return model, vocab, corpus, prefixes


def train(model: CharLM, vocab: Vocab, corpus: np.ndarray, prefixes: list[str], args, rng) -> list[dict]:
    """--epochs passes over the text with progress reports; returns the per-epoch history.
    TrainingError if training diverges (tinyrnn.apps.cli.DivergenceCheck's rule)."""
    trainer = Trainer(model.parameters(), args.optimizer, args.lr, args.clip, hint="lower --lr or set --clip")
    every = args.print_every or max(1, args.epochs // 10)
    history = []
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        train_ppl = train_epoch(model, corpus, trainer, args, rng)
        seconds = time.perf_counter() - start
        chars = len(corpus) // (args.batch * args.num_steps) * args.batch * args.num_steps
        history.append({"epoch": epoch, "perplexity": train_ppl, "chars_per_second": chars / seconds})
        if due(epoch, every, args.epochs):
            print(f"epoch {epoch:4d}/{args.epochs}  perplexity {train_ppl:8.3f}  {chars / seconds:9,.0f} chars/s")
            for prefix in prefixes:
                print("   ", generate(model, vocab, prefix, args.length, args.temperature, rng).replace("\n", " / "))
    trainer.finish()
    return history


def run(args, outputs: Outputs) -> dict:
    """Train (or --load), report perplexity and samples, add the --save file; return the metrics."""
    if args.bidirectional:
        raise ValueError(BIDIRECTIONAL_REFUSAL)
    manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model, vocab, corpus, prefixes = prepare(args)
    arch = f"{args.cell} x{args.layers}, hidden {args.hidden}, " + (
        f"embedding {args.embed}" if args.embed else "one-hot inputs"
    )
    history, ppl = [], None
    if corpus is None:
        print(f"--load without --data: no text to score, only generating; vocabulary {len(vocab)} (with <unk>); {arch}")
    else:
        print(f"{len(corpus):,} characters, vocabulary {len(vocab)} (with <unk>); {arch}")
        history = train(model, vocab, corpus, prefixes, args, rng)
        ppl = text_perplexity(model, corpus, args.batch, args.num_steps)
        print(f"perplexity on the training text: {ppl:.3f}")
    samples = {prefix: generate(model, vocab, prefix, args.length, args.temperature, rng) for prefix in prefixes}
    for prefix, sample in samples.items():
        print(f"{prefix!r} -> {sample!r}")
    outputs.add("--save", lambda path: save_checkpoint(path, model, vocab, args))
    return {
        "perplexity": ppl,
        "history": history,
        "samples": samples,
        "vocab_size": len(vocab),
        "characters": None if corpus is None else len(corpus),
        "config": vars(args),
    }


def main(argv: list[str] | None = None) -> int:
    return run_cli(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
