"""The Jay Chou lyrics table of Dive into Deep Learning (first edition), beside tinyrnn's.

    python benchmarks/reproduce_d2l.py PATH_TO/jaychou_lyrics.txt.zip [--epochs 250]

The book's first edition (Dive into Deep Learning / 动手学深度学习, chapter "Recurrent
Neural Networks", section "Implementation of a Recurrent Neural Network from Scratch",
6.4) trains a tanh RNN with 256 hidden units on the first 10,000 characters of Jay
Chou's lyrics (line breaks read as spaces): windows of 35 characters, batches of 32
windows, each batch from a zero state (random sampling), SGD with learning rate 100
on the mean loss per character, the gradient norm clipped to 0.01, 250 epochs. It
prints the training perplexity every 50 epochs.

The data is not bundled with tinyrnn. It is the file data/jaychou_lyrics.txt.zip of
the book's repository (github.com/d2l-ai/d2l-zh, release 1.x) and of its PyTorch
version (github.com/ShusenTang/Dive-into-DL-PyTorch); download it from there.

This script runs `python -m tinyrnn.charlm` with those settings twice: with the
book's sampler (--sampling random-fixed: the same windows every epoch, shuffled) and
with tinyrnn's default random sampler (a new offset every epoch, as in the second
edition), and prints both beside the book's figures. Differences that remain: the
book draws its weights from N(0, 0.01^2), tinyrnn's RNN layer from U(-1/sqrt(256),
1/sqrt(256)); its clipping scales by 0.01 / norm, tinyrnn's (as torch's) by
0.01 / (norm + 1e-6). Each run takes a few minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import zipfile

from tinyrnn.apps import charlm

# The book's training perplexities with random sampling, at epochs 50, 100, ..., 250, as printed in
# Dive into Deep Learning, first edition, section 6.4 (the PyTorch version's printed run).
BOOK = {50: 70.039647, 100: 9.726828, 150: 2.864874, 200: 1.597790, 250: 1.303903}
MEMBER = "jaychou_lyrics.txt"
CHARACTERS = 10_000


def read_lyrics(path: str) -> str:
    """The book's corpus: the first 10,000 characters of the lyrics, line breaks as spaces."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(MEMBER) as f:
            text = f.read().decode("utf-8")
    except FileNotFoundError:
        raise SystemExit(f"{path}: no such file (get jaychou_lyrics.txt.zip as this script's --help says)") from None
    except (zipfile.BadZipFile, KeyError) as e:
        raise SystemExit(f"{path}: not the book's jaychou_lyrics.txt.zip ({e})") from None
    return text.replace("\n", " ").replace("\r", " ")[:CHARACTERS]


def train(text_path: str, sampling: str, args: argparse.Namespace) -> dict[int, float]:
    """{epoch: training perplexity} of one charlm run with the book's settings."""
    with tempfile.TemporaryDirectory() as folder:
        metrics = os.path.join(folder, "metrics.json")
        argv = ["--data", text_path, "--cell", "rnn", "--hidden", str(args.hidden), "--num-steps", "35"]
        argv += ["--batch", "32", "--epochs", str(args.epochs), "--optimizer", "sgd", "--lr", "100"]
        argv += ["--clip", "0.01", "--sampling", sampling, "--print-every", "50", "--length", "50"]
        argv += ["--prefix", "分开", "--prefix", "不分开", "--seed", str(args.seed), "--metrics", metrics]
        code = charlm.main(argv)
        if code != 0:
            raise SystemExit(f"python -m tinyrnn.charlm {' '.join(argv)} failed with exit code {code}")
        with open(metrics, encoding="utf-8") as f:
            return {row["epoch"]: row["perplexity"] for row in json.load(f)["history"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2])
    p.add_argument("zip", metavar="PATH_TO_jaychou_lyrics.txt.zip")
    p.add_argument("--epochs", type=int, default=250, help="the book: 250")
    p.add_argument("--hidden", type=int, default=256, help="the book: 256")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    text = read_lyrics(args.zip)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "jaychou_10000.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        runs = {sampling: train(path, sampling, args) for sampling in ("random-fixed", "random")}
    epochs = sorted({e for e in runs["random"] if e % 50 == 0} | {args.epochs})
    print(f"\n{len(text):,} characters; training perplexity (exp of the mean loss per character) by epoch:")
    print(f"{'epoch':>5}  {'the book':>9}  {'tinyrnn, the book sampler':>25}  {'tinyrnn, default sampler':>24}")
    for e in epochs:
        book = f"{BOOK[e]:9.2f}" if e in BOOK else f"{'':9}"
        print(f"{e:5d}  {book}  {runs['random-fixed'][e]:25.2f}  {runs['random'][e]:24.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
