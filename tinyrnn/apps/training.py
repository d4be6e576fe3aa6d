"""The one training step of the tasks, and when to print progress.

    trainer = Trainer(model.parameters(), "adam", lr=0.01, clip=1.0, hint="try a lower --lr")
    for step, batch in ...:
        value = trainer.step(loss_of(batch))      # zero_grad, backward, clip, step, divergence rule
        if due(step, every, last): print(...)
    trainer.finish()                              # the last step's weights must be finite

The command line around it (tinyrnn.apps.cli.run_cli) turns a TrainingError into exit 1,
Ctrl-C into exit 130, writes --metrics and --save only after success.
"""

from __future__ import annotations

from collections.abc import Iterable

from tinyrnn import optim
from tinyrnn.apps.cli import DivergenceCheck
from tinyrnn.nn.utils import clip_grad_norm_, clip_grad_value_
from tinyrnn.tensor import Tensor

OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam}
CLIP_MODES = ("norm", "value")  # the joint gradient norm to <= clip, or every entry to [-clip, clip]


class Trainer:
    """An optimiser over `params` and the per-step routine every task runs."""

    def __init__(
        self,
        params: Iterable[Tensor],
        optimizer: str,
        lr: float,
        clip: float = 0.0,
        clip_mode: str = "norm",
        hint: str = "try a lower --lr",
    ):
        if clip_mode not in CLIP_MODES:
            raise ValueError(f"clip_mode must be one of {CLIP_MODES}, got {clip_mode!r}")
        self.params = list(params)
        self.optimizer = OPTIMIZERS[optimizer](self.params, lr=lr)
        self.clip, self.clip_mode = clip, clip_mode
        self.divergence = DivergenceCheck(hint)

    def step(self, loss: Tensor) -> float:
        """One optimiser step on `loss` (a 0-d Tensor); returns its value. TrainingError when
        the loss shows the run diverging (DivergenceCheck's rule)."""
        self.optimizer.zero_grad()
        loss.backward()
        if self.clip and self.clip_mode == "value":
            clip_grad_value_(self.params, self.clip)
        elif self.clip:
            clip_grad_norm_(self.params, self.clip)
        self.optimizer.step()
        value = loss.item()
        self.divergence.loss(value)
        return value

    def finish(self) -> None:
        """After the last step: TrainingError if it left a weight that is not finite."""
        self.divergence.weights(self.params)


def due(i: int, every: int, last: int) -> bool:
    """Report progress after step (or epoch) i: every `every`, and after the last one."""
    return i % every == 0 or i == last
