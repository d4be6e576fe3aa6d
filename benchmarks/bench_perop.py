"""The per-op autograd path against torch eager: RNN, GRU and LSTM cells written by a user from primitive ops.

Every library runs the same Python cell (one function per cell, given the library's
sigmoid and tanh), T steps from a zero state, loss = the sum of every h_t, then backward:

    RNN   h = tanh(x @ W + h @ U + b)
    GRU   gi = x @ W + b; gh = h @ U + c; r = sigmoid(gi[:, :H] + gh[:, :H]); z = sigmoid(...H:2H...)
          n = tanh(gi[:, 2H:] + r * gh[:, 2H:]); h = (1 - z) * n + z * h
    LSTM  a = x @ W + h @ U + b; four column slices; i, f, o = sigmoid, g = tanh
          c = f * c + i * g; h = o * tanh(c)
    LSTM+Function   the LSTM with its sigmoid written by the user as a tr.Function
                    (torch: a torch.autograd.Function); only when tr.Function exists

x_t (B, H) are constant inputs; W, U (H, G*H) and the biases need gradients. Libraries:
tinyrnn, torch eager, and when installed MyGrad and HIPS autograd (`pip install
tinyrnn[bench]`; HIPS autograd has no sigmoid, so it gets one through its defvjp).
"numpy floor": tinyrnn's matrix products in a bare NumPy loop (forward x @ W, h @ U and
backward dh per step; dW, dU one product each over all steps), i.e. the time if everything
else were free.

Each figure is a ratio measured in the same run (repetitions interleaved, each timed
step right after an untimed one of the same library, one BLAS thread for everyone, CPU
clock): other library's time / tinyrnn's time, so above 1 means tinyrnn is faster. The
grid is timed --runs times; a row shows the median over the passes with the range.
Gradients are checked equal across libraries before timing. The timing process first calls
tinyrnn.runtime.keep_freed_memory(), as the notebooks do and a training script is advised to
(glibc's malloc keeps freed memory for the next step; it holds for every library in the
process); --glibc-default leaves malloc as it is. Also: peak memory of one
step at T 1000 (LSTM, B 32, H 128, float32), each library in a fresh process.

    python benchmarks/bench_perop.py --quick      # a few rows, under 2 minutes
    python benchmarks/bench_perop.py --runs 3     # the full grid
    python benchmarks/bench_perop.py --profile LSTM:float32:32:35:128   # cProfile of tinyrnn's step
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import _common

KINDS = ("RNN", "GRU", "LSTM", "LSTM+Function")
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4, "LSTM+Function": 4}
FULL_GRID = [
    (kind, dtype, batch, length, hidden)
    for kind in ("RNN", "GRU", "LSTM")
    for dtype in ("float32", "float64")
    for batch in (1, 32)
    for length in (35, 100)
    for hidden in (50, 128, 512)
] + [("LSTM+Function", dtype, batch, 35, 128) for dtype in ("float32", "float64") for batch in (1, 32)]
QUICK_GRID = [
    ("LSTM", "float32", 32, 35, 128),
    ("LSTM", "float64", 32, 35, 128),
    ("LSTM", "float64", 1, 35, 50),
    ("LSTM", "float32", 1, 100, 50),
    ("GRU", "float32", 32, 35, 128),
    ("RNN", "float32", 1, 35, 50),
    ("LSTM+Function", "float32", 32, 35, 128),
]
MEMORY_ROW = ("LSTM", "float32", 32, 1000, 128)
MEMORY_LIBS = ("torch", "tinyrnn")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a few rows, under 2 minutes")
    p.add_argument("--runs", type=int, default=3, help="passes over the grid (each row: median and range)")
    p.add_argument("--budget", type=float, default=None, help="seconds of timing per row (default 1 quick, 2 full)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    p.add_argument("--profile", metavar="KIND:DTYPE:B:T:H", help="instead of the table: cProfile of tinyrnn's step")
    p.add_argument("--out", default=None, help="results file (default benchmarks/results/perop.json)")
    p.add_argument("--memory-child", metavar="LIB", help="internal: one step of MEMORY_ROW, peak memory as JSON")
    p.add_argument(
        "--glibc-default",
        action="store_true",
        help="leave glibc's malloc as it is (by default the timing process calls tinyrnn.runtime.keep_freed_memory(), "
        "as the notebooks do and a training script is advised to)",
    )
    args = p.parse_args(argv)
    if args.runs < 1 or (args.budget is not None and args.budget <= 0):
        p.error("--runs and --budget must be positive")
    _common.check_row_spec(p, "--profile", args.profile, KINDS)
    return args


# ---- the cells: one function each, run unchanged by every library ---------------------------


def rnn_cell(sigmoid, tanh, x, state, W, U, b):
    (h,) = state
    return (tanh(x @ W + h @ U + b),)


def gru_cell(sigmoid, tanh, x, state, W, U, b, c):
    (h,) = state
    H = h.shape[-1]
    gi, gh = x @ W + b, h @ U + c
    r = sigmoid(gi[:, :H] + gh[:, :H])
    z = sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
    n = tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
    return ((1 - z) * n + z * h,)


def lstm_cell(sigmoid, tanh, x, state, W, U, b):
    h, cell = state
    H = h.shape[-1]
    a = x @ W + h @ U + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H : 2 * H])
    g = tanh(a[:, 2 * H : 3 * H])
    o = sigmoid(a[:, 3 * H :])
    cell = f * cell + i * g
    return o * tanh(cell), cell


CELLS = {"RNN": rnn_cell, "GRU": gru_cell, "LSTM": lstm_cell, "LSTM+Function": lstm_cell}


def unroll(cell, sigmoid, tanh, xs, zeros, params):
    """loss = sum over t of sum(h_t), from a zero state."""
    state = zeros
    loss = None
    for x in xs:
        state = cell(sigmoid, tanh, x, state, *params)
        s = state[0].sum()
        loss = s if loss is None else loss + s
    return loss


def problem(np, kind, dtype, batch, length, hidden, seed=0):
    """Weights W, U (H, G*H), b (G*H,) (GRU: and c (G*H,)) and inputs xs (T, B, H), as NumPy arrays."""
    rng = np.random.default_rng(seed)
    G, H = GATES[kind], hidden
    scale = 1 / np.sqrt(H)
    shapes = [(H, G * H), (H, G * H), (G * H,)] + [(G * H,)] * (kind == "GRU")
    params = [rng.uniform(-scale, scale, shape).astype(dtype) for shape in shapes]
    xs = rng.standard_normal((length, batch, H)).astype(dtype)
    n_states = 2 if kind.startswith("LSTM") else 1
    return params, xs, n_states


def sigmoid_function(base, tanh):
    """A user's sigmoid as an extension op: `base` is tr.Function or torch.autograd.Function."""

    class Sigmoid(base):
        @staticmethod
        def forward(ctx, a):
            y = 0.5 * tanh(0.5 * a) + 0.5
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y * (1 - y)

    return Sigmoid.apply


# ---- one step function per library: forward + backward, returns the parameter gradients ----


def tinyrnn_step(np, kind, params, xs, n_states):
    import tinyrnn as tr

    p = [tr.Tensor(a, requires_grad=True) for a in params]
    x = [tr.Tensor(a) for a in xs]
    zeros = tuple(tr.Tensor(np.zeros(xs.shape[1:], xs.dtype)) for _ in range(n_states))
    sigmoid = sigmoid_function(tr.Function, np.tanh) if kind == "LSTM+Function" else tr.sigmoid

    def step():
        for t in p:
            t.grad = None
        unroll(CELLS[kind], sigmoid, tr.tanh, x, zeros, p).backward()
        return [t.grad for t in p]

    return step


def torch_step(np, kind, params, xs, n_states):
    import torch

    p = [torch.tensor(a, requires_grad=True) for a in params]
    x = [torch.from_numpy(a) for a in xs]
    zeros = tuple(torch.zeros(xs.shape[1:], dtype=x[0].dtype) for _ in range(n_states))
    sigmoid = sigmoid_function(torch.autograd.Function, torch.tanh) if kind == "LSTM+Function" else torch.sigmoid

    def step():
        for t in p:
            t.grad = None
        unroll(CELLS[kind], sigmoid, torch.tanh, x, zeros, p).backward()
        return [t.grad.numpy() for t in p]

    return step


def mygrad_step(np, kind, params, xs, n_states):
    import mygrad as mg
    from mygrad.nnet.activations import sigmoid

    p = [mg.tensor(a) for a in params]
    x = [mg.tensor(a, constant=True) for a in xs]
    zeros = tuple(mg.tensor(np.zeros(xs.shape[1:], xs.dtype), constant=True) for _ in range(n_states))

    def step():
        unroll(CELLS[kind], sigmoid, mg.tanh, x, zeros, p).backward()
        return [t.grad for t in p]

    return step


def autograd_step(np, kind, params, xs, n_states):
    import autograd
    import autograd.numpy as anp
    from autograd.extend import defvjp, primitive

    @primitive
    def sigmoid(a):
        return 0.5 * anp.tanh(0.5 * a) + 0.5

    defvjp(sigmoid, lambda y, a: lambda g: g * y * (1 - y))
    zeros = tuple(np.zeros(xs.shape[1:], xs.dtype) for _ in range(n_states))
    grad = autograd.grad(lambda p: unroll(CELLS[kind], sigmoid, anp.tanh, list(xs), zeros, p))

    def step():
        return grad(list(params))

    return step


def numpy_floor(np, kind, params, xs, n_states):
    """The cell's matrix products alone, as tinyrnn does them: forward x @ W and h @ U per
    step; backward g U^T per step, and dW = sum_t x_t^T g_t, dU = sum_t h_t^T g_t each
    as one product of the T steps side by side."""
    W, U = params[0], params[1]
    T, B, H = xs.shape
    h, g = np.ones((B, H), xs.dtype), np.ones((B, W.shape[1]), xs.dtype)
    hs, gs = np.ones((H, T * B), xs.dtype), np.ones((T * B, W.shape[1]), xs.dtype)

    def step():
        for x in xs:
            x @ W
            h @ U
        for _ in xs:
            g @ U.T
        np.hstack([x.T for x in xs]) @ gs
        hs @ gs

    return step


MAKERS = {"tinyrnn": tinyrnn_step, "torch": torch_step, "mygrad": mygrad_step, "autograd": autograd_step}


def available() -> list[str]:
    libs = ["tinyrnn", "torch"]
    for name in ("mygrad", "autograd"):
        try:
            __import__(name)
            libs.append(name)
        except ImportError:
            pass
    return libs


def keep_freed_memory() -> bool:
    """What a training script is advised to do and the notebooks do (tinyrnn.runtime): glibc's
    malloc keeps freed memory for the next step. It holds for every library in this process.
    False when this tinyrnn predates the function."""
    try:
        from tinyrnn import runtime
    except ImportError:
        return False
    runtime.keep_freed_memory()
    return True


def has_function() -> bool:
    import tinyrnn as tr

    return hasattr(tr, "Function")


def time_row(np, row, libs, budget):
    kind, dtype, batch, length, hidden = row
    params, xs, n_states = problem(np, *row)
    if kind == "LSTM+Function":
        libs = [lib for lib in libs if lib in ("tinyrnn", "torch")]
    steps = {lib: MAKERS[lib](np, kind, params, xs, n_states) for lib in libs}
    grads = {lib: fn() for lib, fn in steps.items()}  # warm-up; every library must agree
    tol = 2e-3 if dtype == "float32" else 1e-9
    for lib, gs in grads.items():
        for name, a, b in zip(("W", "U", "b", "c"), gs, grads["tinyrnn"]):
            if a.dtype != b.dtype or not np.allclose(a, b, rtol=tol, atol=tol * np.abs(b).max()):
                raise RuntimeError(f"{row}: {lib} and tinyrnn disagree on dL/d{name} ({a.dtype}, {b.dtype})")
    steps["numpy floor"] = numpy_floor(np, kind, params, xs, n_states)
    once = _common.interleaved(steps, reps=1, warmup=0, clock=time.process_time)
    per_round = 2 * sum(t[0] for t in once.values())
    reps = int(min(15, max(3, budget / per_round)))
    times = _common.interleaved(steps, reps=reps, warmup=0, clock=time.process_time)
    med = {lib: _common.median(times[lib] + once[lib]) for lib in steps}
    result = dict(kind=kind, dtype=dtype, batch=batch, length=length, hidden=hidden, reps=reps + 1)
    result["tinyrnn_ms"] = med["tinyrnn"] * 1e3
    for lib in steps:
        if lib != "tinyrnn":
            result[f"{lib}_vs_tinyrnn"] = med[lib] / med["tinyrnn"]
    return result


def combine(passes: list[list[dict]]) -> list[dict]:
    """One row per grid row: each ratio's median over the passes, with its range."""
    rows = []
    for same in zip(*passes):
        row = dict(same[0])
        for key in same[0]:
            if key.endswith("_vs_tinyrnn") or key == "tinyrnn_ms":
                values = [r[key] for r in same]
                row[key] = _common.median(values)
                row[key + "_range"] = (min(values), max(values))
        rows.append(row)
    return rows


def cell(row, key) -> str:
    if key not in row:
        return "-"
    lo, hi = row[key + "_range"]
    spread = f" ({lo:.2f}-{hi:.2f})" if hi > lo else ""
    return f"{row[key]:.2f}x{spread}"


def markdown(meta, rows, memory, skipped) -> str:
    lines = [
        f"CPU: {meta['cpu']} ({meta['cores']} cores), one BLAS thread per library. NumPy {meta['numpy']} with "
        f"{meta['numpy_blas']} ({meta['openblas_core']} kernels); "
        f"torch {meta.get('torch')} ({meta.get('torch_blas')}).",
        f"glibc malloc keeps freed memory (tinyrnn.runtime.keep_freed_memory(), for every library): "
        f"{'yes' if meta.get('keep_freed_memory') else 'no'}.",
        f"One step: T steps of the cell + backward. Ratios: that library's time / tinyrnn's (above 1: tinyrnn is "
        f"faster); numpy floor: the products' time / tinyrnn's (the share of tinyrnn's step that is matrix products). "
        f"Medians of interleaved repetitions, CPU clock, {meta['runs']} pass(es) over the grid: the median pass, "
        "in brackets the range over the passes.",
        "",
        "| cell | dtype | B | T | H | tinyrnn ms | vs torch eager | vs MyGrad | vs HIPS autograd | numpy floor |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['kind']} | {r['dtype']} | {r['batch']} | {r['length']} | {r['hidden']} | {r['tinyrnn_ms']:.2f} "
            f"| **{cell(r, 'torch_vs_tinyrnn')}** | {cell(r, 'mygrad_vs_tinyrnn')} "
            f"| {cell(r, 'autograd_vs_tinyrnn')} | {cell(r, 'numpy floor_vs_tinyrnn')} |"
        )
    if skipped:
        lines += ["", "LSTM+Function rows skipped: this tinyrnn has no tr.Function."]
    if memory:
        kind, dtype, B, T, H = MEMORY_ROW
        title = f"Peak memory, one step of the user {kind} cell, {dtype}, B {B}, T {T}, H {H} (fresh process each):"
        lines += ["", title, "", "| library | peak RSS (MB) | of which the step (MB) |", "|---|---|---|"]
        for m in memory:
            lines.append(f"| {m['library']} | {m['peak_mb']:,.0f} | {m['peak_mb'] - m['base_mb']:,.0f} |")
    return "\n".join(lines)


def memory_child(lib: str) -> None:
    import numpy as np

    if lib == "torch":
        import torch

        _common.set_torch_threads(torch, 1)
    kind, *_ = MEMORY_ROW
    params, xs, n_states = problem(np, *MEMORY_ROW)
    step = MAKERS[lib](np, kind, params, xs, n_states)
    base = _common.rss_mb()
    step()
    print(json.dumps({"library": lib, "base_mb": base, "peak_mb": _common.peak_rss_mb()}))


def profile_row(np, spec: str) -> None:
    import cProfile
    import pstats

    kind, dtype, *sizes = spec.split(":")
    row = (kind, dtype, *map(int, sizes))
    params, xs, n_states = problem(np, *row)
    steps = {lib: MAKERS[lib](np, kind, params, xs, n_states) for lib in ("tinyrnn", "torch")}
    steps["numpy floor"] = numpy_floor(np, kind, params, xs, n_states)
    times = _common.interleaved(steps, reps=9, warmup=1, clock=time.process_time)
    print(f"{kind} {dtype} B {row[2]} T {row[3]} H {row[4]}, one step (forward + backward), medians of 9:")
    for lib, ts in times.items():
        print(f"  {lib:12s} {_common.median(ts) * 1e3:8.2f} ms")
    profiler = cProfile.Profile(time.process_time)  # CPU time: what neighbours on a shared machine do not inflate
    profiler.enable()
    for _ in range(10):
        steps["tinyrnn"]()
    profiler.disable()
    print("\ncProfile of 10 tinyrnn steps (by own CPU time):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(int(os.environ.get("TOP", 10)))


def main(argv=None) -> int:
    args = parse_args(argv)
    _common.pin_threads(1)
    _common.select_openblas_core("auto")
    if args.memory_child:
        memory_child(args.memory_child)
        return 0
    import numpy as np
    import torch

    _common.set_torch_threads(torch, 1)
    kept = not args.glibc_default and keep_freed_memory()
    if args.profile:
        profile_row(np, args.profile)
        return 0
    meta = _common.machine_info(np, torch)
    libs = available()
    meta["libraries"], meta["runs"], meta["keep_freed_memory"] = libs, args.runs, kept
    skipped = not has_function()
    grid = [row for row in (QUICK_GRID if args.quick else FULL_GRID) if not (skipped and row[0] == "LSTM+Function")]
    if skipped:
        print("LSTM+Function rows skipped: this tinyrnn has no tr.Function", file=sys.stderr)
    budget = args.budget or (1.0 if args.quick else 2.0)
    passes = []
    for n in range(args.runs):
        passes.append([])
        for i, row in enumerate(grid):
            r = time_row(np, row, libs, budget)
            passes[-1].append(r)
            print(f"[pass {n + 1}/{args.runs}, {i + 1}/{len(grid)}] {row}: {r['torch_vs_tinyrnn']:.2f}x torch",
                  file=sys.stderr, flush=True)  # fmt: skip
    rows = combine(passes)
    here = os.path.abspath(__file__)
    memory = (
        [] if args.no_memory else [_common.run_child([here, "--memory-child", lib]) for lib in ("torch", "tinyrnn")]
    )
    out = args.out or os.path.join(os.path.dirname(here), "results", "perop.json")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out + ".tmp", "w") as f:
        json.dump({"machine": meta, "rows": rows, "passes": passes, "memory": memory}, f, indent=1)
    os.replace(out + ".tmp", out)
    print(markdown(meta, rows, memory, skipped))
    print(f"\nwritten: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
