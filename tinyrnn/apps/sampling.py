"""The one sampler of the tasks: a model continues a prefix, one symbol at a time.

    model(ids (T, B), state) -> (logits (T, B, V), state)     # NameModel, CharLM

Each next symbol is drawn from softmax(logits / temperature) (temperature 0: the
likeliest) and fed back in, until `steps` symbols are drawn or every row has drawn `end`.
"""

from __future__ import annotations

import numpy as np

from tinyrnn.tensor import no_grad


def draw(scores: np.ndarray, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """scores (n, V) logits -> (n,) int64 ids: argmax at temperature 0, else one draw per row
    from softmax(scores / temperature) by the inverse CDF of one uniform number (rng.random((n, 1)))."""
    if temperature == 0:
        return scores.argmax(axis=1)
    p = np.exp((scores - scores.max(axis=1, keepdims=True)) / temperature)
    cdf = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    return np.minimum((cdf < rng.random((len(scores), 1))).sum(axis=1), scores.shape[1] - 1)


@no_grad()
def sample(
    model,
    context: list[int] | np.ndarray,
    n: int,
    steps: int,
    rng: np.random.Generator,
    temperature: float = 1.0,
    end: int | None = None,
) -> np.ndarray:
    """(n, k) int64 ids drawn after `context` (ids the model reads first, the same for all n
    rows), k <= steps; a row that has drawn `end` is padded with `end` from then on.
    Scores are taken in float64 whatever the model's dtype, so a float32 model draws the same way."""
    logits, state = model(np.repeat(np.asarray(context, dtype=np.int64)[:, None], n, axis=1))
    drawn: list[np.ndarray] = []
    done = np.zeros(n, dtype=bool)
    while len(drawn) < steps and not done.all():
        ids = draw(logits.data[-1].astype(np.float64), temperature, rng)
        if end is not None:
            done |= ids == end
            ids = np.where(done, end, ids)
        drawn.append(ids)
        logits, state = model(ids[None, :], state)
    return np.array(drawn, dtype=np.int64).reshape(-1, n).T
