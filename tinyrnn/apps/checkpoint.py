"""The one checkpoint layout of the tasks, read and written here.

    {"model": state_dict,
     "meta": {"task": "tinyrnn.dinos", "layout": 2, "config": {...}, "vocab": [...] or "..." or None}}

`config` holds what rebuilds the model (cell, sizes, dtype, ...), `vocab` the symbols
of its inputs (a list of tokens, a string of characters, or None for a task without
one), in the order of their ids. The file itself is a tinyrnn.io archive.

Layout 1 (before this module: dinos and charlm kept the architecture and vocabulary
beside "task" in "meta", binary_add in "config") is refused with a message that says
so: such a model is retrained in seconds, and reading two layouts would mean two
places to keep right.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tinyrnn import nn
from tinyrnn.apps.cli import input_error
from tinyrnn.io import load

LAYOUT = 2
Vocabulary = list[str] | str | None


def checkpoint(task: str, model: nn.Module, config: dict[str, Any], vocab: Vocabulary = None) -> dict:
    """What tinyrnn.io.save writes for a task's model (see the module docstring)."""
    return {"model": model.state_dict(), "meta": {"task": task, "layout": LAYOUT, "config": config, "vocab": vocab}}


def load_checkpoint(
    path: str, task: str, build: Callable[[dict[str, Any], Any], nn.Module], option: str = "--load"
) -> tuple[nn.Module, dict[str, Any], Any]:
    """(model, config, vocab) of a checkpoint of `task`: build(config, vocab) makes the model,
    which then loads the saved weights. ValueError, one line naming `option` and the file,
    for anything else: an unreadable file, another task's or layout's checkpoint, a
    vocabulary that is not strings, a config or weights the model does not fit."""
    try:
        state = load(path)
    except (OSError, ValueError) as e:
        raise input_error(option, path, e) from None
    meta = state.get("meta")
    if not isinstance(meta, dict) or meta.get("task") != task:
        raise ValueError(f"{option} {path}: a tinyrnn checkpoint, but not one saved by {task}")
    if meta.get("layout") != LAYOUT:
        raise ValueError(
            f"{option} {path}: saved by an older tinyrnn (checkpoint layout 1, this version reads layout "
            f"{LAYOUT}): train the model again"
        )
    config, vocab = meta.get("config"), meta.get("vocab")
    if not isinstance(config, dict):
        raise ValueError(f"{option} {path}: damaged {task} checkpoint (its config is not a dict)")
    if not (
        vocab is None or isinstance(vocab, str) or isinstance(vocab, list) and all(isinstance(t, str) for t in vocab)
    ):
        shown = vocab if not isinstance(vocab, list) else next(t for t in vocab if not isinstance(t, str))
        raise ValueError(
            f"{option} {path}: damaged {task} checkpoint (its vocabulary must be strings, "
            f"found {type(shown).__name__} {shown!r})"
        )
    try:
        model = build(config, vocab)
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
        raise ValueError(f"{option} {path}: damaged {task} checkpoint ({e})") from None
    return model, config, vocab
