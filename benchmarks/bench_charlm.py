"""Characters per second of a 2-layer LSTM character language model: tinyrnn against PyTorch.

Both libraries run the same training step on the same batches of the same text
(tinyrnn's bundled default text, or --data): one-hot inputs -> LSTM (2 layers,
hidden 128) -> Linear -> cross-entropy on every character -> backward -> clip
the gradient norm to 1 -> Adam, with sequential sampling (the state carried
from batch to batch, detached). This is the training loop of
`python -m tinyrnn.charlm --cell lstm --layers 2`. Both start from the same
weights (tinyrnn's, copied into torch) and their losses are checked to agree
over the first steps. One thread each, repetitions interleaved, medians; the
tinyrnn / torch ratio is printed (> 1: tinyrnn is faster).

    python benchmarks/bench_charlm.py             # float32 and float64, about a minute
    python benchmarks/bench_charlm.py --dtype float32 --hidden 256

Writes benchmarks/results/charlm.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import _common


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="UTF-8 text (default: tinyrnn's bundled charlm text)")
    p.add_argument("--hidden", type=int, default=128, help="hidden units per layer (default 128)")
    p.add_argument("--layers", type=int, default=2, help="LSTM layers (default 2)")
    p.add_argument("--batch", type=int, default=32, help="windows per batch (default 32)")
    p.add_argument("--num-steps", type=int, default=35, help="BPTT length (default 35)")
    p.add_argument("--dtype", action="append", choices=("float32", "float64"), help="repeatable (default both)")
    p.add_argument("--steps", type=int, default=10, help="training steps per timed repetition (default 10)")
    p.add_argument("--reps", type=int, default=7, help="timed repetitions per library (default 7)")
    p.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads for both libraries (default 1)")
    p.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall: elapsed time (default); cpu: this process's CPU time, steadier on a busy shared machine",
    )
    p.add_argument("--out", help="results file (default benchmarks/results/charlm.json)")
    args = p.parse_args(argv)
    if min(args.hidden, args.layers, args.batch, args.num_steps, args.steps, args.reps, args.threads) < 1:
        p.error("sizes, --steps, --reps and --threads must be positive")
    return args


def tinyrnn_trainer(tr, charlm, vocab_size, batches, args, dtype):
    """(step, model): one training step of tinyrnn.charlm's loop per call, cycling through `batches`."""
    tr.manual_seed(0)
    model = charlm.CharLM(vocab_size, "lstm", args.hidden, args.layers, embed=0, dtype=dtype)
    opt = tr.optim.Adam(model.parameters(), lr=0.01)
    carry = {"i": 0, "state": None}

    def step():
        i = carry["i"]
        x, y = batches[i]
        state = None if i == 0 else tr.nn.utils.detach_state(carry["state"])  # a new epoch starts from zeros
        logits, carry["state"] = model(x, state)
        loss = tr.functional.cross_entropy(logits.reshape(-1, vocab_size), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        tr.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        carry["i"] = (i + 1) % len(batches)
        return loss.item()

    return step, model


def torch_trainer(torch, vocab_size, batches, args, dtype, weights):
    """The same step in PyTorch, starting from tinyrnn's weights."""
    tdtype = getattr(torch, dtype)
    lstm = torch.nn.LSTM(vocab_size, args.hidden, args.layers).to(tdtype)
    head = torch.nn.Linear(args.hidden, vocab_size).to(tdtype)
    lstm.load_state_dict({k[len("rnn.") :]: torch.from_numpy(v) for k, v in weights.items() if k.startswith("rnn.")})
    head.load_state_dict({k[len("head.") :]: torch.from_numpy(v) for k, v in weights.items() if k.startswith("head.")})
    params = [*lstm.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=0.01)
    tensors = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]
    carry = {"i": 0, "state": None}

    def step():
        i = carry["i"]
        x, y = tensors[i]
        state = None if i == 0 else tuple(s.detach() for s in carry["state"])
        out, carry["state"] = lstm(torch.nn.functional.one_hot(x, vocab_size).to(tdtype), state)
        loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, vocab_size), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        carry["i"] = (i + 1) % len(tensors)
        return loss.item()

    return step


def measure(np, torch, tr, charlm, corpus, vocab_size, args, dtype) -> dict:
    from tinyrnn.data.text import sequential_batches

    batches = list(sequential_batches(corpus, args.batch, args.num_steps, np.random.default_rng(0)))
    if not batches:
        raise SystemExit("the text is too short for one batch")
    ours, model = tinyrnn_trainer(tr, charlm, vocab_size, batches, args, dtype)
    theirs = torch_trainer(torch, vocab_size, batches, args, dtype, model.state_dict())
    tol = 1e-3 if dtype == "float32" else 1e-8
    for n in range(3):  # the same computation: the same losses (these steps also warm up)
        a, b = ours(), theirs()
        if abs(a - b) > tol * abs(b):
            raise SystemExit(f"{dtype}: the libraries disagree at step {n}: tinyrnn {a} vs torch {b}")

    def rep(step):
        return lambda: [step() for _ in range(args.steps)]

    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    times = _common.interleaved({"torch": rep(theirs), "tinyrnn": rep(ours)}, reps=args.reps, warmup=0, clock=clock)
    chars = args.steps * args.batch * args.num_steps
    row = {"dtype": dtype, "reps": args.reps, "steps_per_rep": args.steps}
    for name, ts in times.items():
        row[f"{name}_chars_per_s"] = chars / _common.median(ts)
    row["tinyrnn_vs_torch"] = row["tinyrnn_chars_per_s"] / row["torch_chars_per_s"]
    return row


def main(argv=None) -> None:
    args = parse_args(argv)
    _common.pin_threads(args.threads)
    import numpy as np
    import torch

    import tinyrnn as tr
    from tinyrnn.apps import charlm
    from tinyrnn.data.text import Vocab, read_text

    _common.set_torch_threads(torch, args.threads)
    path = args.data or os.path.join(os.path.dirname(charlm.__file__), "data", charlm.DEFAULT_TEXT)
    text = read_text(path)
    vocab = Vocab(text)
    corpus = vocab.encode(text)
    print(
        f"{os.path.basename(path)}: {len(text):,} characters, vocabulary {len(vocab)}; LSTM x{args.layers}, "
        f"hidden {args.hidden}, one-hot inputs, batch {args.batch} x {args.num_steps} steps, Adam, clip 1; "
        f"{args.threads} thread(s), {args.clock} clock"
    )
    print("| dtype | torch char/s | tinyrnn char/s | tinyrnn / torch |")
    print("|---|---|---|---|")
    rows = []
    for dtype in args.dtype or ["float32", "float64"]:
        row = measure(np, torch, tr, charlm, corpus, len(vocab), args, dtype)
        rows.append(row)
        print(
            f"| {dtype} | {row['torch_chars_per_s']:,.0f} | {row['tinyrnn_chars_per_s']:,.0f} "
            f"| **{row['tinyrnn_vs_torch']:.2f}x** |",
            flush=True,
        )
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "charlm.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    config = {k: v for k, v in vars(args).items() if k != "out"}
    with open(out, "w") as f:
        json.dump({"machine": _common.machine_info(np, torch), "config": config, "rows": rows}, f, indent=1)
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
