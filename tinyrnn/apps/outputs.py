"""Every file a task writes (--save, --metrics) goes through Outputs, and every line it prints
through a stream that cannot stop the run.

The rules, so that a run never loses what the user had:
  - before training, each output path is checked: not an input of the same run (the same
    file after resolving links), absent or a regular file (never a FIFO, a device, ...),
    a name short enough for its temporary name too, in a folder where a file can be created;
  - after training, files are written in a fixed order (--metrics, then --save), each to a
    temporary file in the target's folder, flushed to disk and renamed over the target (a
    link is followed: the file it points to is replaced, the link stays);
  - whatever stops the run (an error, Ctrl-C, SIGTERM), no temporary file is left, and
    `report()` says which outputs were written and which old files were kept;
  - a line that cannot be printed (a character the terminal's encoding lacks, a pipe closed
    by `| head`) is printed with replacement characters, or not at all: training and saving go on.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import signal
import stat
import sys
from collections.abc import Callable, Iterator
from typing import Any, TextIO

ORDER = ("--metrics", "--save")  # the model replaces an old one last: if the report fails, the old model stays


def temporary_name(path: str) -> str:
    """The temporary file that stands in for `path` while it is written (the name tr.save uses too)."""
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


class Outputs:
    """The output files of one run: `check` them before training, `add` what to write, `commit` at the end.

    outputs = Outputs({"--save": args.save, "--metrics": args.metrics}, inputs={"--data": args.data})
    outputs.check()                          # ValueError naming the option, before any work
    ...train...
    outputs.add("--save", lambda path: tr.save(state, path))
    outputs.commit()                         # each file in ORDER, atomically
    """

    def __init__(self, paths: dict[str, str | None], inputs: dict[str, Any] | None = None):
        self.paths = {option: path for option, path in paths.items() if path is not None}
        self.inputs = {option: str(path) for option, path in (inputs or {}).items() if path is not None}
        self.writers: dict[str, Callable[[str], None]] = {}
        self.written: list[str] = []
        self.existed = {option: os.path.lexists(path) for option, path in self.paths.items()}

    def check(self) -> None:
        """ValueError (one line, naming the option) for an output that must not or cannot be written."""
        for option, path in self.paths.items():
            self._check(option, path)
        seen: dict[str, str] = {}
        for option, path in self.paths.items():
            real = os.path.realpath(path)
            if real in seen:
                raise ValueError(f"{option} {path}: the same file as {seen[real]}")
            seen[real] = option

    def _check(self, option: str, path: str) -> None:
        if not path:
            raise ValueError(f"{option}: the file name is empty")
        if os.path.isdir(path) or path.endswith(("/", os.sep)):
            raise ValueError(f"{option} {path}: is a directory")
        for other, given in self.inputs.items():
            if os.path.exists(given) and _same_file(given, path):
                raise ValueError(f"{option} {path}: is the {other} file of this run; it would be overwritten")
        real = os.path.realpath(path)
        if os.path.exists(real) and not stat.S_ISREG(os.stat(real).st_mode):
            raise ValueError(f"{option} {path}: exists and is not a regular file (a FIFO, device or socket)")
        folder, name = os.path.split(real)
        if not os.path.isdir(folder):
            raise ValueError(f"{option} {path}: its directory does not exist")
        try:
            name_max = os.pathconf(folder, "PC_NAME_MAX")
        except (OSError, ValueError):
            name_max = 255
        longest = len(os.fsencode(os.path.basename(temporary_name(temporary_name(real)))))
        if longest > name_max:
            raise ValueError(
                f"{option} {path}: the name is too long ({len(os.fsencode(name))} bytes; with the temporary "
                f"name used while writing it needs {longest}, and this file system allows {name_max})"
            )
        probe = temporary_name(real)
        try:  # the real question, whoever runs this (root passes any permission check): can a file be created?
            with open(probe, "xb"):
                pass
            os.remove(probe)
        except OSError as e:
            raise ValueError(f"{option} {path}: cannot create a file in {folder} ({e.strerror})") from None

    def add(self, option: str, write: Callable[[str], None]) -> None:
        """Write the output `option` at commit time with write(temporary_path) (if the option was given)."""
        if option in self.paths:
            self.writers[option] = write

    def commit(self) -> None:
        """Write every added output, in ORDER: temporary file, fsync, rename over the target."""
        for option in sorted(self.writers, key=ORDER.index):
            target = os.path.realpath(self.paths[option])
            tmp = temporary_name(target)
            try:
                self.writers[option](tmp)
                with open(tmp, "rb+") as f:
                    os.fsync(f.fileno())
                os.replace(tmp, target)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(tmp)
            self.written.append(option)

    def report(self) -> str:
        """What happened to each output, for the last line of a failed or interrupted run."""
        kept = [f"{option} {self.paths[option]}" for option in ORDER if self.existed.get(option)]
        kept = [k for k in kept if k.split(" ", 1)[0] not in self.written]
        note = f" ({', '.join(kept)}: the old file is kept)" if kept else ""
        if not self.written:
            return "nothing was saved" + note
        done = [f"{option} {self.paths[option]}" for option in self.written]
        rest = [
            f"{option} {self.paths[option]}" for option in ORDER if option in self.paths and option not in self.written
        ]
        return "wrote " + ", ".join(done) + (f"; not written: {', '.join(rest)}{note}" if rest else "")


def write_json(path: str, data: dict) -> None:
    with open(path, "x", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)


# ---- printing that never stops a run -----------------------------------------------------


class Forgiving(io.TextIOBase):
    """A text stream over `stream` that never raises: characters its encoding lacks become
    replacement characters, and after a broken pipe (`| head`) it is quiet."""

    def __init__(self, stream: TextIO):
        self.stream, self.broken = stream, False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                try:
                    self.stream.write(text)
                except UnicodeEncodeError:
                    encoding = getattr(self.stream, "encoding", None) or "ascii"
                    self.stream.write(text.encode(encoding, "replace").decode(encoding))
            except (BrokenPipeError, ValueError, OSError):
                self._quiet()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.stream.flush()
            except (BrokenPipeError, ValueError, OSError):
                self._quiet()

    def _quiet(self) -> None:
        """No more output; the closed pipe gets /dev/null in its place, so the buffered rest goes nowhere."""
        self.broken = True
        with contextlib.suppress(OSError, ValueError, AttributeError, io.UnsupportedOperation):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)


class Terminated(Exception):
    """SIGTERM arrived: the run stops as it does on Ctrl-C, exit 143."""


def _terminate(signum, frame):
    raise Terminated


@contextlib.contextmanager
def guarded_run() -> Iterator[None]:
    """Printing through Forgiving streams, and SIGTERM raising Terminated (so that every
    `finally` runs and no temporary file stays) unless the signal was ignored when the
    process started (then it stays ignored, as nohup means)."""
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Forgiving(sys.stdout), Forgiving(sys.stderr)
    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        if previous == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, previous)
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = streams
