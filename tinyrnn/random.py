"""The one random generator behind parameter initialisation, dropout and sampling.

`tr.manual_seed(s)` makes everything that draws from it reproducible, like
torch.manual_seed.
"""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Restart the generator from `seed`: the same seed gives the same weights and draws.

    Args:
        seed: any int NumPy's `default_rng` accepts (>= 0).
    """
    global _rng
    _rng = np.random.default_rng(seed)


def get_rng() -> np.random.Generator:
    """The generator that initialisation, dropout and sampling draw from."""
    return _rng
