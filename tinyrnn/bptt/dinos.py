"""The classic dinosaur-name setup written by hand: NumPy forward and BPTT, no autograd.

This is the yardstick for `python -m tinyrnn.dinos --preset classic`: the same
vanilla tanh RNN (50 hidden units, one-hot inputs, a zero input at the start),
the same data, held-out split, seed policy and course details (one name per SGD
step on the summed loss, lr 0.01, every gradient entry clipped to [-5, 5], the
hidden state carried from one name to the next, weights N(0, 0.01^2), biases 0),
so both print the same numbers up to rounding. Row vectors: h (H,), W_hh (H, H).

    python -m tinyrnn.bptt.dinos [--steps 35000] [--seed 0] [--data FILE] [--metrics FILE]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from tinyrnn.data.names import EOS, Alphabet, bundled_path, read_names, split_names


def init_params(rng: np.random.Generator, V: int, H: int) -> dict[str, np.ndarray]:
    """The course init, drawn in the order tinyrnn's classic preset draws it."""
    w_ih = rng.standard_normal((H, V)) * 0.01
    w_hh = rng.standard_normal((H, H)) * 0.01
    w_out = rng.standard_normal((V, H)) * 0.01
    return {"w_ih": w_ih, "w_hh": w_hh, "b": np.zeros(H), "w_out": w_out, "b_out": np.zeros(V)}


def one_hot(x: np.ndarray, V: int) -> np.ndarray:
    """(T, V) rows of the identity; input id V (the start) is the zero row."""
    return np.eye(V + 1)[x, :V]


def forward(p: dict, x: np.ndarray, h0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x (T,) input ids, h0 (H,) -> hs (T+1, H) with hs[0] = h0, probs (T, V)."""
    xi = one_hot(x, p["w_out"].shape[0]) @ p["w_ih"].T + p["b"]  # every step's input term at once
    hs = np.empty((len(x) + 1, len(h0)))
    hs[0] = h0
    for t in range(len(x)):
        hs[t + 1] = np.tanh(xi[t] + p["w_hh"] @ hs[t])
    logits = hs[1:] @ p["w_out"].T + p["b_out"]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return hs, e / e.sum(axis=1, keepdims=True)


def backward(p: dict, x: np.ndarray, y: np.ndarray, hs: np.ndarray, probs: np.ndarray) -> dict[str, np.ndarray]:
    """Gradients of L = -sum_t log probs[t, y[t]] by backpropagation through time."""
    T, V = probs.shape
    dlogits = probs.copy()
    dlogits[np.arange(T), y] -= 1  # dL/dlogits = softmax - onehot(y)
    grads = {"w_out": dlogits.T @ hs[1:], "b_out": dlogits.sum(0)}
    dh_out = dlogits @ p["w_out"]  # (T, H): what each h_t receives from its own output
    da = np.empty_like(dh_out)  # dL/d(pre-activation) per step
    dh_next = np.zeros(hs.shape[1])
    for t in reversed(range(T)):
        da[t] = (dh_out[t] + dh_next) * (1 - hs[t + 1] ** 2)
        dh_next = p["w_hh"].T @ da[t]
    grads["w_hh"] = da.T @ hs[:-1]
    grads["b"] = da.sum(0)
    grads["w_ih"] = da.T @ one_hot(x, V)
    return grads


def nll(p: dict, names: list[str], alphabet: Alphabet) -> float:
    """Per-character NLL in nats (end of name included), each name from a zero state."""
    total, count = 0.0, 0
    for name in names:
        x, y = encode(name, alphabet)
        _, probs = forward(p, x, np.zeros(p["w_hh"].shape[0]))
        total -= np.log(probs[np.arange(len(y)), y]).sum()
        count += len(y)
    return total / count


def encode(name: str, alphabet: Alphabet) -> tuple[np.ndarray, np.ndarray]:
    ids = alphabet.encode(name)
    return np.array([alphabet.start, *ids]), np.array([*ids, alphabet.index[EOS]])


def sample(p: dict, alphabet: Alphabet, rng: np.random.Generator, max_len: int = 50) -> str:
    h, x, out = np.zeros(p["w_hh"].shape[0]), alphabet.start, list[int]()
    while len(out) < max_len:
        hs, probs = forward(p, np.array([x]), h)
        h, x = hs[1], int(rng.choice(len(alphabet), p=probs[0]))
        if x == alphabet.index[EOS]:
            break
        out.append(x)
    return alphabet.decode(out)


def train(names: list[str], steps: int, seed: int, hidden: int = 50, lr: float = 0.01, log=print) -> dict:
    train_names, heldout = split_names(names)
    alphabet = Alphabet.from_names(names)
    rng = np.random.default_rng(seed)
    p = init_params(rng, len(alphabet), hidden)
    order = rng.permutation(len(train_names))
    h, loss = np.zeros(hidden), -np.log(1 / len(alphabet)) * 7
    start, cpu_start = time.perf_counter(), time.process_time()
    for j in range(steps):
        x, y = encode(train_names[order[j % len(order)]], alphabet)
        hs, probs = forward(p, x, h)
        loss = 0.999 * loss + 0.001 * -np.log(probs[np.arange(len(y)), y]).sum()
        for k, g in backward(p, x, y, hs, probs).items():
            p[k] -= lr * np.clip(g, -5, 5)
        h = hs[-1]
        if (j + 1) % 2000 == 0:
            sample_rng = np.random.default_rng([seed, j + 1])
            log(f"step {j + 1:6d}  loss {loss:.3f}  " + ", ".join(sample(p, alphabet, sample_rng) for _ in range(7)))
    return summary(p, alphabet, train_names, heldout, steps, start, cpu_start)


def summary(p: dict, alphabet: Alphabet, train_names, heldout, steps: int, start: float, cpu_start: float) -> dict:
    """A finished run's metrics: steps, wall and CPU seconds since start / cpu_start, and both NLLs."""
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "steps": steps,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "train_nll": nll(p, train_names, alphabet),
        "heldout_nll": nll(p, heldout, alphabet),
    }


def main(train_fn=train, doc: str = __doc__) -> None:
    """The command line of this file and of torch_dinos.py: train, print and write the metrics."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=35000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=bundled_path(), help="name list (default: the bundled dinosaur names)")
    parser.add_argument("--metrics", help="write the result as JSON here")
    args = parser.parse_args()
    result = train_fn(read_names(args.data), args.steps, args.seed)
    print(json.dumps(result))
    if args.metrics:
        with open(args.metrics, "w") as f:
            json.dump(result, f)


if __name__ == "__main__":
    main()
