"""Checkers for the exercises in notebooks/exercises/: each runs a student's function on fixed
random inputs (float64, a fixed seed) and compares it with tinyrnn's autograd, the reference
BPTT (tinyrnn/bptt/reference.py) or torch-compatible clipping; sampling is checked statistically.

A checker prints one line when everything matches and raises ExerciseError otherwise, naming
the function, the gradient, the time step and the index, with the expected and the received
value. Tolerance: |got - expected| <= 1e-8 (1 + |expected|); a correct float64 solution is
within ~1e-14, a slip is off by far more.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinyrnn.bptt import reference
from tinyrnn.nn.cells import lstm_step
from tinyrnn.nn.utils import clip_grad_norm_
from tinyrnn.ops import sigmoid, softmax, tanh
from tinyrnn.tensor import Tensor

TOL = 1e-8


class ExerciseError(AssertionError):
    """A student's function gave a wrong answer; the message says what, where, expected vs got."""


def compare(what: str, expected: np.ndarray, got, time_axis: bool = False, tol: float = TOL, gates: str = "") -> float:
    """Raise ExerciseError unless `got` equals `expected` (same shape, every entry within
    tol (1 + |expected|)). With time_axis, axis 0 is time and the message names the latest
    wrong step: BPTT runs backwards, so that is where the mistake first shows. With gates
    (e.g. "ifgo"), axis 0 holds those gates' blocks and the message names the gate.
    Returns the largest |error|."""
    if got is None:
        raise ExerciseError(f"{what}: your function returned None (a missing `return`?)")
    got = np.asarray(got, dtype=np.float64)
    if got.shape != expected.shape:
        raise ExerciseError(f"{what}: expected shape {expected.shape}, got shape {got.shape}")
    err = np.abs(got - expected)
    bad = ~(err <= tol * (1 + np.abs(expected)))  # NaN counts as wrong
    if not bad.any():
        return float(err.max(initial=0.0))
    if time_axis:
        t = int(np.nonzero(bad.reshape(len(bad), -1).any(axis=1))[0][-1])
        idx = (t, *(int(k) for k in np.argwhere(bad[t])[0]))
        later = "the last step" if t == len(bad) - 1 else f"right for every step after t = {t}"
        where = f" at time step t = {t} of 0..{len(bad) - 1} ({later}), index {idx}"
    else:
        idx = tuple(int(k) for k in np.argwhere(bad)[0])
        where = f" at index {idx}" if idx else ""
    if gates:
        where += f" (gate {gates[idx[0] // (len(bad) // len(gates))]})"
    count = f" ({int(bad.sum())} of {bad.size} entries wrong)" if bad.size > 1 else ""
    sign = " Every entry has the opposite sign: a sign error?" if np.allclose(got, -expected) else ""
    raise ExerciseError(f"{what} is wrong{where}: expected {expected[idx]:.6g}, got {got[idx]:.6g}{count}.{sign}")


def _report(name: str, errors: list[float], against: str) -> None:
    print(f"{name}: correct ({len(errors)} arrays match {against}, largest |error| {max(errors):.1e})")


def _compare_grads(name: str, expected: dict, got, time_axis: tuple[str, ...] = (), gates: str = "") -> list[float]:
    """Compare a dict of gradients, key by key, in `expected`'s order; `gates` names the gate
    blocks of the weights' and biases' axis 0."""
    if not isinstance(got, dict) or set(got) != set(expected):
        keys = sorted(got) if isinstance(got, dict) else type(got).__name__
        raise ExerciseError(f"{name}: expected a dict with keys {sorted(expected)}, got {keys}")
    return [
        compare(f"{name}: gradient '{k}'", v, got[k], k in time_axis, gates=gates if k[0] in "Wb" else "")
        for k, v in expected.items()
    ]


def _autograd(fn: Callable, arrays: dict, upstream: list[np.ndarray]) -> tuple[list[np.ndarray], dict]:
    """fn's outputs for Tensors made of `arrays`, and the gradient of each array under
    L = sum_k <upstream_k, output_k>, by tinyrnn's autograd."""
    leaves = {k: Tensor(v, requires_grad=True) for k, v in arrays.items()}
    outs = fn(**leaves)
    outs = list(outs) if isinstance(outs, tuple) else [outs]
    sum((o * g).sum() for o, g in zip(outs, upstream)).backward()
    return [o.data for o in outs], {k: t.grad for k, t in leaves.items()}


# ---- 01: an op's vector-Jacobian product ---------------------------------------------


VJP_CASES: dict[str, tuple[Callable[..., Tensor], dict[str, tuple[int, ...]]]] = {
    # name: (the op with tinyrnn's ops, its inputs' shapes)
    "sigmoid": (lambda x: sigmoid(x), {"x": (3, 4)}),
    "softmax": (lambda x: softmax(x, axis=-1), {"x": (3, 5)}),
    "matmul": (lambda a, b: a @ b, {"a": (3, 4), "b": (4, 2)}),
}


def check_vjp(op: str, vjp: Callable) -> None:
    """vjp for op "sigmoid" or "softmax" (last axis): vjp(y, g) -> dL/dx from the output y;
    for "matmul" (y = a @ b): vjp(a, b, g) -> (dL/da, dL/db). g = dL/dy."""
    if op not in VJP_CASES:
        raise ValueError(f"check_vjp: op must be one of {sorted(VJP_CASES)}, got {op!r}")
    forward, shapes = VJP_CASES[op]
    rng = np.random.default_rng(1)
    inputs = {k: rng.standard_normal(s) for k, s in shapes.items()}
    y = forward(**{k: Tensor(v) for k, v in inputs.items()}).data
    g = rng.standard_normal(y.shape)
    _, expected = _autograd(forward, inputs, [g])
    got = vjp(*inputs.values(), g) if op == "matmul" else vjp(y, g)
    got = dict(zip(inputs, got if op == "matmul" else [got]))
    _report(f"{op} VJP", _compare_grads(f"{op} VJP", expected, got), "tinyrnn's autograd")


# ---- 02: one RNN step, forward and backward ------------------------------------------


def _rnn_case(T: int, seed: int) -> dict:
    B, n_in, H = 2, 3, 4
    rng = np.random.default_rng(seed)
    shapes = {"x": (T, B, n_in), "h0": (B, H), "W_ih": (H, n_in), "W_hh": (H, H), "b": (H,)}
    return {k: rng.uniform(-1, 1, s) for k, s in shapes.items()}


def check_rnn_step(forward: Callable, backward: Callable) -> None:
    """forward(x, h_prev, W_ih, W_hh, b) -> h = tanh(x W_ih^T + h_prev W_hh^T + b), x (B, I),
    h_prev (B, H); backward(dh, x, h_prev, h, W_ih, W_hh) -> dict of dL/d "x", "h_prev",
    "W_ih", "W_hh", "b" given dh = dL/dh. Compared with tinyrnn's autograd."""
    case = _rnn_case(1, seed=2)
    arrays = {"x": case["x"][0], "h_prev": case["h0"], "W_ih": case["W_ih"], "W_hh": case["W_hh"], "b": case["b"]}
    dh = np.random.default_rng(3).standard_normal(case["h0"].shape)

    def step(x, h_prev, W_ih, W_hh, b):
        return tanh(x @ W_ih.T + h_prev @ W_hh.T + b)

    (h,), expected = _autograd(step, arrays, [dh])
    errors = [compare("rnn_step_forward: h", h, forward(**arrays))]
    got = backward(dh, arrays["x"], arrays["h_prev"], h, arrays["W_ih"], arrays["W_hh"])
    _report("rnn_step", errors + _compare_grads("rnn_step_backward", expected, got), "tinyrnn's autograd")


# ---- 03: BPTT over a whole sequence -------------------------------------------------


def check_rnn_bptt(bptt: Callable) -> None:
    """bptt(x, hs, W_ih, W_hh, dhs) -> dict of dL/d "x" (T, B, I), "h0" (B, H), "W_ih", "W_hh",
    "b", for the tanh RNN hs[t + 1] = tanh(x[t] W_ih^T + hs[t] W_hh^T + b), hs[0] = h0, and
    the loss whose gradient with respect to hs[t + 1] directly (not through later steps) is
    dhs[t]. Compared with tinyrnn.bptt.reference.rnn_backward."""
    case = _rnn_case(5, seed=4)
    x, W_ih, W_hh, b = case["x"], case["W_ih"], case["W_hh"], case["b"]
    out, _, cache = reference.rnn_forward(x, case["h0"], W_ih, W_hh, b, np.zeros_like(b))
    dhs = np.random.default_rng(5).standard_normal(out.shape)
    ref = reference.rnn_backward(cache, dhs, np.zeros_like(case["h0"]))
    expected = {"x": ref["x"], "h0": ref["h0"], "W_ih": ref["weight_ih"], "W_hh": ref["weight_hh"], "b": ref["bias_ih"]}
    hs = np.concatenate([case["h0"][None], out])
    errors = _compare_grads("rnn_bptt", expected, bptt(x, hs, W_ih, W_hh, dhs), time_axis=("x",))
    _report("rnn_bptt", errors, "the reference BPTT")


# ---- 04: the LSTM step backward ------------------------------------------------------


def lstm_step_forward(
    x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict]:
    """One LSTM step in NumPy, gates i, f, g, o stacked in W_ih (4H, I), W_hh (4H, H), b (4H,);
    x (B, I), h_prev and c_prev (B, H). Returns h, c (B, H) and the cache that the backward
    needs: x, h_prev, c_prev, i, f, g, o, c, W_ih, W_hh."""
    a_i, a_f, a_g, a_o = np.split(x @ W_ih.T + h_prev @ W_hh.T + b, 4, axis=1)
    i, f, g, o = reference.sigmoid(a_i), reference.sigmoid(a_f), np.tanh(a_g), reference.sigmoid(a_o)
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, dict(x=x, h_prev=h_prev, c_prev=c_prev, i=i, f=f, g=g, o=o, c=c, W_ih=W_ih, W_hh=W_hh)


def check_lstm_step_backward(backward: Callable) -> None:
    """backward(dh, dc, cache) -> dict of dL/d "x", "h_prev", "c_prev", "W_ih", "W_hh", "b",
    given dh = dL/dh and dc = dL/dc from later steps, and lstm_step_forward's cache. Compared
    with tinyrnn's autograd through tinyrnn.nn.cells.lstm_step; b first, whose index says
    which gate's gradient is wrong."""
    B, n_in, H = 2, 3, 4
    rng = np.random.default_rng(6)
    shapes = {"x": (B, n_in), "h_prev": (B, H), "c_prev": (B, H), "W_ih": (4 * H, n_in), "W_hh": (4 * H, H)}
    arrays = {k: rng.uniform(-1, 1, s) for k, s in shapes.items()} | {"b": rng.uniform(-1, 1, 4 * H)}
    dh, dc = rng.standard_normal((B, H)), rng.standard_normal((B, H))

    def step(x, h_prev, c_prev, W_ih, W_hh, b):
        return lstm_step(x @ W_ih.T + b, h_prev, c_prev, W_hh, None)

    _, grads = _autograd(step, arrays, [dh, dc])
    expected = {k: grads[k] for k in ("b", "W_ih", "W_hh", "c_prev", "h_prev", "x")}
    got = backward(dh, dc, lstm_step_forward(**arrays)[2])
    _report("lstm_step_backward", _compare_grads("lstm_step_backward", expected, got, gates="ifgo"), "autograd")


# ---- 05: gradient clipping by global norm --------------------------------------------


CLIP_CASES = {  # name: (gradients, max_norm)
    "one large entry, global norm 100.5 > max_norm 1": ([np.array([0.5, -100.0, 10.0])], 1.0),
    "three arrays, global norm 13 > max_norm 5": ([np.array([3.0, -4.0]), np.array([[12.0]]), np.zeros(2)], 5.0),
    "global norm 0.5 < max_norm 1 (no clipping)": ([np.array([0.3]), np.array([[0.0, -0.4]])], 1.0),
}


def check_clip_by_global_norm(clip: Callable) -> None:
    """clip(grads, max_norm) -> (clipped, total_norm): grads a list of arrays, total_norm the
    2-norm of all their entries together; if total_norm > max_norm every array is multiplied
    by max_norm / total_norm (tinyrnn and torch divide by total_norm + 1e-6; both are
    accepted), else returned unchanged. The input arrays must not change. Compared with
    tinyrnn.nn.utils.clip_grad_norm_ (torch's rule) to within 1e-5 (1 + |expected|)."""
    errors = []
    for name, (grads, max_norm) in CLIP_CASES.items():
        params = [Tensor(g) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.copy()
        total = clip_grad_norm_(params, max_norm)
        expected = [np.asarray(p.grad) for p in params]
        given = [g.copy() for g in grads]
        result = clip(given, max_norm)
        if not isinstance(result, tuple) or len(result) != 2:
            raise ExerciseError(f"clip_by_global_norm: expected a tuple (clipped, total_norm), got {result!r}")
        clipped, got_total = result
        what = f"clip_by_global_norm, case '{name}'"
        for k, (g, before) in enumerate(zip(given, grads)):
            if not np.array_equal(g, before):
                raise ExerciseError(f"{what}: you changed input array {k} in place (return new arrays)")
        errors.append(compare(f"{what}: total_norm", np.array(total), got_total, tol=1e-5))
        if len(clipped) != len(expected):
            raise ExerciseError(f"{what}: expected {len(expected)} clipped arrays, got {len(clipped)}")
        errors += [compare(f"{what}: array {k}", e, c, tol=1e-5) for k, (e, c) in enumerate(zip(expected, clipped))]
    _report("clip_by_global_norm", errors, "tinyrnn.nn.utils.clip_grad_norm_")


# ---- 06: sampling with a temperature -------------------------------------------------


SAMPLE_LOGITS = np.array([2.0, 1.0, 0.0, -1.0, -3.0])
SAMPLE_DRAWS = 4000
# A correct sampler fails the check (15 frequencies, 4000 draws each) with probability below 4e-5: the exact
# binomial tails, summed. The seed is fixed, so a given sampler passes or fails the same way on every run.
Z_TOLERANCE = 5.0


def check_sample(sample: Callable, temperatures: tuple[float, ...] = (0.5, 1.0, 2.0)) -> None:
    """sample(logits, temperature, rng) -> an index k drawn with probability softmax(logits / T)_k.
    For each temperature T the checker draws SAMPLE_DRAWS indices (rng seeded 0) and compares
    the frequency of each index with its probability p: |freq - p| must be at most
    Z_TOLERANCE standard errors, sqrt(p (1 - p) / draws), plus 1 / draws."""
    V = len(SAMPLE_LOGITS)
    for T in temperatures:
        rng = np.random.default_rng(0)
        draws = [sample(SAMPLE_LOGITS.copy(), T, rng) for _ in range(SAMPLE_DRAWS)]
        if not all(isinstance(d, (int, np.integer)) and 0 <= d < V for d in draws):
            bad = next(d for d in draws if not (isinstance(d, (int, np.integer)) and 0 <= d < V))
            raise ExerciseError(f"sample: expected an integer index in 0..{V - 1}, got {bad!r}")
        freq = np.bincount(np.asarray(draws, dtype=np.int64), minlength=V) / SAMPLE_DRAWS
        p = softmax(Tensor(SAMPLE_LOGITS / T)).data
        allowed = Z_TOLERANCE * np.sqrt(p * (1 - p) / SAMPLE_DRAWS) + 1 / SAMPLE_DRAWS
        if (np.abs(freq - p) > allowed).any():
            k = int(np.argmax(np.abs(freq - p) - allowed))
            raise ExerciseError(
                f"sample at temperature {T}: index {k} drawn with frequency {freq[k]:.4f} in {SAMPLE_DRAWS} draws, "
                f"expected probability {p[k]:.4f} (allowed deviation {allowed[k]:.4f}); "
                f"expected all {np.round(p, 4).tolist()}, got {np.round(freq, 4).tolist()}"
            )
    print(f"sample: correct (frequencies within {Z_TOLERANCE:g} standard errors at temperatures {temperatures})")
