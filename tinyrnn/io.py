"""Checkpoints: `save(state, path)` / `load(path)` as one .npz archive, never pickle.

    tr.save({"model": model.state_dict(), "optim": opt.state_dict(), "meta": {"epoch": 3}}, "ckpt.npz")
    ckpt = tr.load("ckpt.npz")
    model.load_state_dict(ckpt["model"])

What `state` may hold: a dict with str keys whose values are
  - arrays: np.ndarray of any dtype but object, or a Tensor (its .data is saved),
  - dicts of the same kind (nested up to MAX_DEPTH deep),
  - JSON values: numbers, strings, bools, None, and lists/dicts of those.
`load` returns the same nested dict with every array bit-for-bit equal (same
dtype, shape and values). JSON gives back lists for tuples; in a dict that mixes
arrays and JSON values, the JSON values come first.

Format (version 1). An uncompressed .npz, i.e. a zip of .npy files, with
  - one entry per array, named by its key path joined with "/":
        {"model": {"rnn.weight_ih_l0": w}}  ->  entry "model/rnn.weight_ih_l0"
  - the entry "__tinyrnn__": a uint8 array holding UTF-8 JSON,
        {"format": "tinyrnn", "version": 1,
         "arrays": ["model/rnn.weight_ih_l0", ...],   # the array entries, in order
         "tree": {"model": {}, "meta": {"epoch": 3}}}  # every dict and JSON value
So keys may not contain "/", and "__tinyrnn__" is reserved. np.load(path) reads
such a file too.

Limits, checked before anything is inflated or parsed deeply: a key is at most
MAX_KEY_BYTES of UTF-8 with no NUL character, dicts nest at most MAX_DEPTH deep,
and the archive's entries add up to at most `max_bytes` uncompressed (default
MAX_BYTES, 4 GiB), so a small file cannot make `load` inflate gigabytes.

Safety: the archive is written to a temporary file in the target's directory
and renamed over `path` only when complete, so an interrupted save never leaves
a damaged checkpoint nor a temporary file behind. `load` reads with
allow_pickle=False and raises CheckpointError (a ValueError naming the file and
the problem) for anything that is not an intact tinyrnn checkpoint.
"""

from __future__ import annotations

import json
import os
import secrets
import zipfile
from typing import Any

import numpy as np

from tinyrnn.tensor import Tensor

FORMAT, VERSION, META = "tinyrnn", 1, "__tinyrnn__"
ZIP_MAGIC = b"PK\x03\x04"
MAX_DEPTH = 64  # dicts inside dicts, in the state and in its JSON values
MAX_KEY_BYTES = 60_000  # a zip entry's name holds at most 65,535 bytes: the key path plus ".npy"
MAX_BYTES = 4 << 30  # the archive's uncompressed size that load() accepts by default


class CheckpointError(ValueError):
    """A file that is not an intact tinyrnn checkpoint (a ValueError whose message names the file)."""


# ---- save -------------------------------------------------------------------
def save(state: dict[str, Any], path: str | os.PathLike) -> None:
    """Write `state` to `path` as one .npz archive, atomically; `path` is used as given (no suffix added).

    Args:
        state: a dict with str keys (non-empty, without '/' or NUL) whose values
            are arrays (any dtype but object) or Tensors, dicts of the same kind,
            or JSON values (numbers, strings, bools, None, lists and dicts of those).
        path: the file to write; its directory must exist. It is written to a
            temporary file beside it and renamed over it only when complete.

    Raises:
        TypeError: `state` is not a dict, or holds an object array or a value
            that is neither an array nor JSON.
        ValueError: a key is empty, holds '/' or NUL, is not UTF-8 encodable or
            is too long, dicts nest deeper than 64 levels, or a key is the
            reserved '__tinyrnn__'.
        FileNotFoundError: the directory does not exist.

    Examples:
        >>> import os, tempfile, numpy as np, tinyrnn as tr
        >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
        >>> tr.save({"w": np.eye(2), "meta": {"epoch": 3}}, path)
        >>> tr.load(path)["meta"]
        {'epoch': 3}
    """
    path = os.fspath(path)
    arrays: dict[str, np.ndarray] = {}
    tree = _split(state, "", arrays)
    if META in tree or META in arrays:
        raise ValueError(f"save: the key {META!r} is reserved for tinyrnn's metadata")
    meta = json.dumps({"format": FORMAT, "version": VERSION, "arrays": list(arrays), "tree": tree})
    entries = {**arrays, META: np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)}

    directory, name = os.path.split(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: directory {directory!r} does not exist")
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as f:
            _write_npz(f, entries)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _split(state: dict, prefix: str, arrays: dict) -> dict:
    """Move the arrays of nested dict `state` into `arrays` (by "/" path); return the rest."""
    if not isinstance(state, dict):
        raise TypeError(f"save: state must be a dict, got {type(state).__name__}")
    if prefix.count("/") >= MAX_DEPTH:
        raise ValueError(f"save: {prefix[:60]!r}...: dicts nest deeper than {MAX_DEPTH} levels")
    rest = {}
    for key, value in state.items():
        _check_key(key, prefix)
        path = prefix + key
        if isinstance(value, Tensor):
            value = value.data
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise TypeError(f"save: {path!r} is an object array, which only pickle could store")
            arrays[path] = value
        elif isinstance(value, dict):
            rest[key] = _split(value, path + "/", arrays)
        else:
            try:
                json.dumps(value)
            except (TypeError, ValueError) as e:
                raise TypeError(f"save: {path!r}: {e}; values must be arrays, Tensors, dicts or JSON values") from None
            except RecursionError:
                raise ValueError(f"save: {path!r}: a JSON value nested too deeply to store") from None
            if _depth(value) > MAX_DEPTH:
                raise ValueError(f"save: {path!r}: a JSON value nested deeper than {MAX_DEPTH} levels")
            rest[key] = value
    return rest


def _check_key(key, prefix: str) -> None:
    where = f" under {prefix[:-1][:60]!r}" if prefix else ""
    if not isinstance(key, str) or not key or "/" in key or "\0" in key:
        shown = repr(key[:60]) if isinstance(key, str) else repr(key)
        raise ValueError(f"save: key {shown}{where}: keys must be non-empty str without '/' or NUL")
    path = prefix + key
    try:
        size = len(path.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError(f"save: key {key[:60]!r}{where}: not encodable as UTF-8 (a lone surrogate)") from None
    if size > MAX_KEY_BYTES:
        raise ValueError(
            f"save: key path {path[:60]!r}...: {size:,} bytes of UTF-8, over the {MAX_KEY_BYTES:,} allowed"
        )


def _depth(value) -> int:
    """Levels of lists and dicts in a JSON value (a number or a string: 0), counted without recursion."""
    depth, level = 0, [value]
    while True:
        containers = [x for x in level if isinstance(x, (list, dict))]
        if not containers:
            return depth
        depth += 1
        level = [v for x in containers for v in (x.values() if isinstance(x, dict) else x)]


def _write_npz(f, entries: dict[str, np.ndarray]) -> None:
    """What np.savez writes (one NAME.npy per entry), with pickling switched off."""
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in entries.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as out:
                np.lib.format.write_array(out, array, allow_pickle=False)


# ---- load -------------------------------------------------------------------
def load(path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """Read a checkpoint written by `save()`, without pickle.

    Args:
        path: the file to read.
        max_bytes: the largest total uncompressed size accepted (default 4 GiB),
            checked from the archive's directory before anything is inflated.

    Returns:
        The nested dict that was saved, every array bit for bit equal (same
        dtype, shape and values); JSON gives back lists for tuples.

    Raises:
        CheckpointError: the file is not an intact tinyrnn checkpoint (not a zip,
            truncated, foreign, another format version, damaged metadata) or is
            larger than `max_bytes`; the message names the file and the problem.
        FileNotFoundError: the file does not exist.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        if f.read(4) != ZIP_MAGIC:
            raise CheckpointError(f"{path}: not a tinyrnn checkpoint: not an .npz (zip) archive")
        f.seek(0)
        _check_size(path, f, max_bytes)
        f.seek(0)
        entries = _read_npz(path, f)
    if META not in entries:
        raise CheckpointError(f"{path}: not a tinyrnn checkpoint: an .npz without the {META!r} entry")
    meta = _read_meta(path, entries.pop(META))
    if list(entries) != meta["arrays"]:
        raise CheckpointError(
            f"{path}: damaged checkpoint: its entries {sorted(entries)} differ from its index {sorted(meta['arrays'])}"
        )
    state = meta["tree"]
    for name, array in entries.items():
        *parents, key = name.split("/")
        node = state
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise CheckpointError(f"{path}: damaged checkpoint: array {name!r} lies under a non-dict value")
        node[key] = array
    return state


def _check_size(path: str, f, max_bytes: int) -> None:
    """Refuse an archive whose entries declare more than max_bytes in all. zipfile never
    inflates an entry past its declared size (a longer stream fails its check), so the
    declared sizes bound what reading can cost."""
    try:
        with zipfile.ZipFile(f) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except Exception as e:  # any failure to read the directory: a damaged archive
        raise CheckpointError(f"{path}: damaged or truncated archive: {type(e).__name__}: {e}") from None
    if total > max_bytes:
        raise CheckpointError(
            f"{path}: refused: its entries hold {total:,} bytes uncompressed, over the limit of {max_bytes:,} "
            "(pass a larger max_bytes to load it)"
        )


def _read_npz(path: str, f) -> dict[str, np.ndarray]:
    try:
        with np.load(f, allow_pickle=False) as npz:
            # by the member's full name: npz["a.npy"] would find the entry of key "a" first
            return {name: npz[name + ".npy"] for name in npz.files}
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise CheckpointError(
                f"{path}: refused: it holds pickled Python objects, and unpickling can run arbitrary code"
            ) from None
        raise CheckpointError(f"{path}: damaged or truncated archive: {e}") from None
    # Any failure while decoding these bytes means the file is damaged: zipfile and
    # numpy raise many kinds (BadZipFile, EOFError, OSError, struct.error, ...).
    except Exception as e:
        raise CheckpointError(f"{path}: damaged or truncated archive: {type(e).__name__}: {e}") from None


def _read_meta(path: str, raw: np.ndarray) -> dict[str, Any]:
    try:
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError(f"expected a 1-d uint8 array, got {raw.dtype} {raw.shape}")
        meta = json.loads(raw.tobytes().decode("utf-8"))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError(f"format is not {FORMAT!r}")
        if _depth(meta.get("tree")) > MAX_DEPTH + 1:
            raise ValueError(f"its values nest deeper than {MAX_DEPTH} levels")
    except RecursionError:
        raise CheckpointError(f"{path}: refused: its {META!r} entry nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as e:
        raise CheckpointError(f"{path}: not a tinyrnn checkpoint: bad {META!r} entry: {e}") from None
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: format version {meta.get('version')!r}; this tinyrnn reads version {VERSION}")
    if not isinstance(meta.get("tree"), dict) or not isinstance(meta.get("arrays"), list):
        raise CheckpointError(f"{path}: damaged checkpoint: {META!r} lacks its 'tree' or 'arrays'")
    return meta


# ---- torch bridge -----------------------------------------------------------
def to_torch_state_dict(state_dict: dict[str, np.ndarray | Tensor]) -> dict[str, Any]:
    """Convert a tinyrnn state dict for `torch_module.load_state_dict()` (torch is imported here only).

    Args:
        state_dict: {name: np.ndarray or Tensor}, e.g. `module.state_dict()`.

    Returns:
        {name: torch.Tensor} sharing memory with contiguous versions of the arrays.

    Raises:
        ImportError: PyTorch is not installed.
    """
    try:
        import torch
    except ImportError:
        raise ImportError("to_torch_state_dict needs PyTorch: pip install torch") from None
    return {
        k: torch.from_numpy(np.ascontiguousarray(v.data if isinstance(v, Tensor) else v)) for k, v in state_dict.items()
    }


def from_torch_state_dict(state_dict: dict[str, Any]) -> dict[str, np.ndarray]:
    """Convert a torch state dict for a tinyrnn module's `load_state_dict()`.

    Args:
        state_dict: {name: torch.Tensor}, e.g. `torch_module.state_dict()`.

    Returns:
        {name: np.ndarray}, copies in the tensors' dtypes.
    """
    return {k: v.detach().cpu().numpy().copy() for k, v in state_dict.items()}
