"""Training throughput of tinyrnn's fused and per-op RNN/GRU/LSTM layers against PyTorch.

One training step of a character language model: one-hot inputs (vocab 65),
one recurrent layer, a Linear to 65 logits, cross-entropy on every step,
backward, SGD. Throughput is characters per second (batch * length / step
time); each tinyrnn figure is also given as a ratio to torch.nn.LSTM/GRU/RNN
measured in the same run (repetitions interleaved, each timed step right
after an untimed one of the same library; medians; the same thread count).
Also: peak memory of one LSTM step at hidden 512, batch 32, length 1000, each
library in its own fresh process.

    python benchmarks/bench_rnn.py --quick     # 7 rows, ~20 s
    python benchmarks/bench_rnn.py             # the full table of 96 rows, ~5 minutes on 2 cores
    python benchmarks/bench_rnn.py --runs 3    # three passes, each row the pass with the median ratio, ~15 minutes
    python benchmarks/bench_rnn.py --profile LSTM:float32:32:35:128   # where one row's time goes

Writes benchmarks/results/rnn.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import _common

VOCAB = 65
KINDS = ("RNN", "GRU", "LSTM")
FULL_GRID = [
    (kind, dtype, batch, length, hidden)
    for kind in KINDS
    for dtype in ("float32", "float64")
    for batch in (1, 32)
    for length in (35, 100)
    for hidden in (50, 128, 256, 512)
]
QUICK_GRID = [(kind, dtype, 32, 35, 128) for kind in KINDS for dtype in ("float32", "float64")] + [
    ("LSTM", "float32", 1, 35, 128)
]
MEMORY_SHAPE = dict(batch=32, length=1000, hidden=512)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a few rows (batch 32, length 35, hidden 128; LSTM batch 1)")
    p.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads for every library (default 1)")
    p.add_argument("--budget", type=float, default=None, help="seconds of timing per row (default 1.5 quick, 2.5 full)")
    p.add_argument(
        "--clock",
        choices=("auto", "wall", "cpu"),
        default="auto",
        help="cpu: this process's CPU time (with one thread, the elapsed time of an idle machine, and steady on a "
        "busy shared one); wall: elapsed time; auto (default): cpu with --threads 1, else wall",
    )
    p.add_argument(
        "--openblas-core",
        default="auto",
        metavar="auto|detect|NAME",
        help="NumPy's OpenBLAS kernels: auto (default) = SkylakeX (AVX-512) when the CPU has AVX-512 and "
        "OPENBLAS_CORETYPE is unset; detect = OpenBLAS's own choice; NAME = OPENBLAS_CORETYPE (e.g. Haswell)",
    )
    p.add_argument(
        "--runs",
        type=int,
        default=1,
        help="time the whole grid this many times, one pass after another, and report each row's median over "
        "the passes with the range of its fused / torch ratio (on a shared machine a row moves between passes)",
    )
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    p.add_argument("--checkpoint", type=int, default=32, help="checkpoint interval for the memory run (default 32)")
    p.add_argument(
        "--profile",
        metavar="KIND:DTYPE:B:T:H",
        help="instead of the table: one row's step times, the time its matmuls alone take, and a cProfile",
    )
    p.add_argument("--out", default=None, help="results file (default benchmarks/results/rnn.json)")
    p.add_argument(
        "--memory-child",
        metavar="LIB:DTYPE[:K]",
        help="internal: run one LSTM step (LIB torch or tinyrnn, K = checkpoint) and print peak memory as JSON",
    )
    args = p.parse_args(argv)
    if args.threads < 1 or args.checkpoint < 1 or args.runs < 1 or (args.budget is not None and args.budget <= 0):
        p.error("--threads, --checkpoint, --runs and --budget must be positive")
    _common.check_row_spec(p, "--profile", args.profile, KINDS)
    return args


def torch_model(torch, kind, dtype, batch, length, hidden, seed=0):
    """(step function, its loss after the first call, state_dict) of the torch reference."""
    torch.manual_seed(seed)
    rnn = getattr(torch.nn, kind)(VOCAB, hidden).to(dtype)
    head = torch.nn.Linear(hidden, VOCAB).to(dtype)
    opt = torch.optim.SGD([*rnn.parameters(), *head.parameters()], lr=0.01)
    gen = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.one_hot(torch.randint(0, VOCAB, (length, batch), generator=gen), VOCAB).to(dtype)
    y = torch.randint(0, VOCAB, (length * batch,), generator=gen)
    weights = {k: v.detach().numpy().copy() for k, v in [*rnn.state_dict().items()]}
    head_weights = {k: v.detach().numpy().copy() for k, v in head.state_dict().items()}

    def step():
        opt.zero_grad()
        out, _ = rnn(x)
        loss = torch.nn.functional.cross_entropy(head(out.reshape(length * batch, hidden)), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step, (weights, head_weights, x.numpy().copy(), y.numpy().copy())


def tinyrnn_model(tr, kind, dtype, data, fused, checkpoint=None):
    weights, head_weights, x, y = data
    hidden = weights["weight_hh_l0"].shape[1]
    rnn = getattr(tr.nn, kind)(VOCAB, hidden, dtype=dtype, fused=fused, checkpoint=checkpoint)
    head = tr.nn.Linear(hidden, VOCAB, dtype=dtype)
    rnn.load_state_dict(weights)
    head.load_state_dict(head_weights)
    opt = tr.optim.SGD([*rnn.parameters(), *head.parameters()], lr=0.01)
    x = tr.Tensor(x)
    T, B, _ = x.shape

    def step():
        opt.zero_grad()
        out, _ = rnn(x)
        loss = tr.functional.cross_entropy(head(out.reshape(T * B, hidden)), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def time_row(np, torch, tr, row, budget, clock):
    kind, dtype, batch, length, hidden = row
    torch_step, data = torch_model(torch, kind, getattr(torch, dtype), batch, length, hidden)
    steps = {
        "torch": torch_step,
        "fused": tinyrnn_model(tr, kind, dtype, data, fused=True),
        "per-op": tinyrnn_model(tr, kind, dtype, data, fused=False),
    }
    first = {name: fn() for name, fn in steps.items()}  # warm-up; the same weights give the same loss
    tol = 1e-3 if dtype == "float32" else 1e-9
    if max(abs(v - first["torch"]) for v in first.values()) > tol * max(1.0, abs(first["torch"])):
        raise RuntimeError(f"{row}: the libraries disagree on the loss: {first}")
    once = _common.interleaved(steps, reps=1, warmup=0, clock=clock)
    per_round = 2 * sum(t[0] for t in once.values())  # each timed step follows an untimed one
    reps = int(min(15, max(3, budget / per_round)))
    times = _common.interleaved(steps, reps=reps, warmup=0, clock=clock)
    chars = batch * length
    result = dict(kind=kind, dtype=dtype, batch=batch, length=length, hidden=hidden, reps=reps + 1)
    for name in steps:
        result[f"{name}_chars_per_s"] = chars / _common.median(times[name] + once[name])
    result["fused_vs_torch"] = result["fused_chars_per_s"] / result["torch_chars_per_s"]
    result["per-op_vs_torch"] = result["per-op_chars_per_s"] / result["torch_chars_per_s"]
    result["fused_vs_per-op"] = result["fused_chars_per_s"] / result["per-op_chars_per_s"]
    return result


def matmul_floor(np, kind, dtype, batch, length, hidden, clock, reps=7) -> float:
    """Seconds that the matmuls of one fused training step take on their own (the
    same shapes and the same calls as tinyrnn's kernel and head: each step's products
    through fused_kernel.step_matmul): what the step would cost if every other
    operation were free."""
    from tinyrnn.nn.fused_kernel import step_matmul

    G, T, B, H, V = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind], length, batch, hidden, VOCAB
    rng = np.random.default_rng(0)
    a = lambda *shape: rng.standard_normal(shape).astype(dtype)
    w_ih, w_hh, x, h, d = a(G * H, V), a(G * H, H), a(T, V, B), a(H, B), a(G * H, B)
    dW, x_h_1, out, d_logits = a(G * H, T * B), a(T * B, V + H + 1), a(T * B, H), a(T * B, V)
    w_out, a_h, dh, xp_t = a(V, H), a(G * H, B), a(H, B), a(G * H, B)
    (project, _), (recur, recur_t) = step_matmul(w_ih, B), step_matmul(w_hh, B)

    x_rows = a(T, V)

    def step():
        if B == 1:  # the input projection: all steps in one product at batch 1, else step by step
            x_rows @ w_ih.T
        for t in range(T):
            if B > 1:
                project(x[t], out=xp_t)
            recur(h, out=a_h)  # forward, one step
            recur_t(d, out=dh)  # backward, one step
        dW @ x_h_1  # dW_ih, dW_hh and db in one product (fused_kernel.sum_outer)
        out @ w_out.T  # the head: logits, then its two gradients
        d_logits @ w_out
        d_logits.T @ out

    return _common.median(_common.interleaved({"m": step}, reps=reps, clock=clock)["m"])


def profile_row(np, torch, tr, spec: str, clock) -> None:
    import cProfile
    import pstats

    kind, dtype, batch, length, hidden = spec.split(":")
    batch, length, hidden = int(batch), int(length), int(hidden)
    torch_step, data = torch_model(torch, kind, getattr(torch, dtype), batch, length, hidden)
    steps = {"torch": torch_step, "fused": tinyrnn_model(tr, kind, dtype, data, fused=True),
             "per-op": tinyrnn_model(tr, kind, dtype, data, fused=False)}  # fmt: skip

    def torch_composed():  # torch.nn.LSTM runs oneDNN's compiled LSTM in float32 unless oneDNN is off
        torch.backends.mkldnn.enabled = False
        try:
            return torch_step()
        finally:
            torch.backends.mkldnn.enabled = True

    steps["torch, oneDNN off"] = torch_composed
    times = {k: _common.median(v) for k, v in _common.interleaved(steps, reps=15, warmup=2, clock=clock).items()}
    floor = matmul_floor(np, kind, dtype, batch, length, hidden, clock)
    print(f"{kind} {dtype} batch {batch} length {length} hidden {hidden}, one training step "
          f"(NumPy's OpenBLAS runs its {_common.openblas_core()} kernels):")  # fmt: skip
    for name, t in times.items():
        print(f"  {name:17s} {t * 1e3:8.2f} ms  ({times['torch'] / t:.2f}x torch)")
    print("  (torch, oneDNN off: the same torch model with torch.backends.mkldnn.enabled = False;")
    print("   where it is slower than torch, torch ran a compiled kernel of oneDNN's for the whole layer)")
    print(f"  the fused step's matmuls alone (NumPy's BLAS): {floor * 1e3:.2f} ms, so with this BLAS the fused path")
    bound = f"{times['torch'] / floor:.2f}x torch and {times['per-op'] / floor:.1f}x the per-op path"
    print(f"    can reach at most {bound}")
    print(f"  the rest of the fused step (elementwise work, Python, copies): {(times['fused'] - floor) * 1e3:.2f} ms")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(10):
        steps["fused"]()
    profiler.disable()
    print("\ncProfile of 10 fused steps (by own time):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(12)


def memory_child(spec: str) -> None:
    """One LSTM training step at MEMORY_SHAPE; prints peak and baseline RSS (MB) as JSON."""
    lib, dtype, *k = spec.split(":")
    checkpoint = int(k[0]) if k else None
    B, T, H = MEMORY_SHAPE["batch"], MEMORY_SHAPE["length"], MEMORY_SHAPE["hidden"]
    import numpy as np

    rng = np.random.default_rng(0)
    x = np.eye(VOCAB, dtype=dtype)[rng.integers(0, VOCAB, (T, B))]
    y = rng.integers(0, VOCAB, T * B)
    if lib == "torch":
        import torch

        _common.set_torch_threads(torch, int(os.environ["OMP_NUM_THREADS"]))
        rnn = torch.nn.LSTM(VOCAB, H).to(getattr(torch, dtype))
        head = torch.nn.Linear(H, VOCAB).to(getattr(torch, dtype))
        x, y = torch.from_numpy(x), torch.from_numpy(y)

        def step():
            out, _ = rnn(x)
            torch.nn.functional.cross_entropy(head(out.reshape(T * B, H)), y).backward()
    else:
        import tinyrnn as tr

        rnn = tr.nn.LSTM(VOCAB, H, dtype=dtype, checkpoint=checkpoint)
        head = tr.nn.Linear(H, VOCAB, dtype=dtype)
        x = tr.Tensor(x)

        def step():
            out, _ = rnn(x)
            tr.functional.cross_entropy(head(out.reshape(T * B, H)), y).backward()

    base = _common.rss_mb()
    step()
    print(json.dumps({"library": lib, "dtype": dtype, "checkpoint": checkpoint, "base_mb": base,
                      "peak_mb": _common.peak_rss_mb()}))  # fmt: skip


def measure_memory(dtypes, checkpoint):
    here = os.path.abspath(__file__)
    rows = []
    for dtype in dtypes:
        for spec in (f"torch:{dtype}", f"tinyrnn:{dtype}", f"tinyrnn:{dtype}:{checkpoint}"):
            r = _common.run_child([here, "--memory-child", spec])
            r["step_mb"] = r["peak_mb"] - r["base_mb"]
            rows.append(r)
    return rows


def combine(passes: list[list[dict]]) -> list[dict]:
    """One row per grid row from several passes over the grid: the pass whose fused / torch
    ratio is the median (its figures, so that each row's numbers come from one pass and agree
    with each other), with every pass's ratio in `fused_vs_torch_runs`."""
    rows = []
    for same in zip(*passes):
        ranked = sorted(same, key=lambda r: r["fused_vs_torch"])
        row = dict(ranked[(len(ranked) - 1) // 2])
        row["fused_vs_torch_runs"] = [r["fused_vs_torch"] for r in same]
        rows.append(row)
    return rows


def markdown(meta, rows, memory) -> str:
    lines = [
        f"CPU: {meta['cpu']} ({meta['cores']} cores). Threads per library: {meta['threads_used']}.",
        f"NumPy {meta['numpy']} with {meta['numpy_blas']} ({meta['openblas_core']} kernels, "
        f"OPENBLAS_CORETYPE={meta['openblas_coretype_env']}); torch {meta.get('torch')} ({meta.get('torch_blas')}).",
        f"Times: medians of interleaved repetitions (each timed step follows an untimed one of the same library), "
        f"{meta['clock']} clock."
        + (
            f" Each row: of {meta['runs']} passes over the table, the one with the median fused / torch"
            " ratio; in brackets, that ratio's range over the passes."
            if meta["runs"] > 1
            else ""
        ),
        "Training step: one-hot (vocab 65) -> layer -> Linear -> cross-entropy on every step -> backward -> SGD.",
        "",
        "| layer | dtype | batch | length | hidden | torch char/s | fused char/s | fused / torch "
        "| per-op char/s | per-op / torch | fused / per-op |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        runs = r["fused_vs_torch_runs"]
        spread = f" ({min(runs):.2f}-{max(runs):.2f})" if len(runs) > 1 else ""
        lines.append(
            f"| {r['kind']} | {r['dtype']} | {r['batch']} | {r['length']} | {r['hidden']} "
            f"| {r['torch_chars_per_s']:,.0f} | {r['fused_chars_per_s']:,.0f} | **{r['fused_vs_torch']:.2f}x**{spread} "
            f"| {r['per-op_chars_per_s']:,.0f} | {r['per-op_vs_torch']:.2f}x | {r['fused_vs_per-op']:.1f}x |"
        )
    if memory:
        B, T, H = MEMORY_SHAPE["batch"], MEMORY_SHAPE["length"], MEMORY_SHAPE["hidden"]
        lines += [
            "",
            f"Peak memory, one LSTM training step, hidden {H}, batch {B}, length {T} (fresh process each):",
            "",
            "| library | dtype | peak RSS (MB) | of which the step (MB) |",
            "|---|---|---|---|",
        ]
        for m in memory:
            name = m["library"] + ("" if m["checkpoint"] is None else f" fused + checkpoint every {m['checkpoint']}")
            name = "tinyrnn fused" if name == "tinyrnn" else name
            lines.append(f"| {name} | {m['dtype']} | {m['peak_mb']:,.0f} | {m['step_mb']:,.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    _common.pin_threads(args.threads)
    _common.select_openblas_core(args.openblas_core)
    if args.memory_child:
        memory_child(args.memory_child)
        return 0
    import numpy as np
    import torch

    import tinyrnn as tr

    _common.set_torch_threads(torch, args.threads)
    if args.clock == "auto":
        args.clock = "cpu" if args.threads == 1 else "wall"
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.profile:
        profile_row(np, torch, tr, args.profile, clock)
        return 0
    meta = _common.machine_info(np, torch)
    meta["threads_used"] = args.threads
    grid = QUICK_GRID if args.quick else FULL_GRID
    budget = args.budget or (1.5 if args.quick else 2.5)
    meta["clock"], meta["runs"] = args.clock, args.runs
    passes = []
    for n in range(args.runs):
        passes.append([])
        for i, row in enumerate(grid):
            r = time_row(np, torch, tr, row, budget, clock)
            passes[-1].append(r)
            progress = f"fused {r['fused_vs_torch']:.2f}x torch, per-op {r['per-op_vs_torch']:.2f}x"
            print(f"[pass {n + 1}/{args.runs}, {i + 1}/{len(grid)}] {row}: {progress}", file=sys.stderr, flush=True)
    rows = combine(passes)
    dtypes = ["float32"] if args.quick else ["float32", "float64"]
    memory = [] if args.no_memory else measure_memory(dtypes, args.checkpoint)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "rnn.json")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"machine": meta, "rows": rows, "passes": passes, "memory": memory}, f, indent=1)
    os.replace(tmp, out)
    print(markdown(meta, rows, memory))
    print(f"\nwritten: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
