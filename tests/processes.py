"""Child processes for the tests that signal a running CLI.

A test suite started where SIGINT is ignored (`pytest &` from a script, nohup, some CI
runners) passes that "ignore" on to its children, and a child that ignores SIGINT cannot
be interrupted by the test. So children start with SIGINT back at its default; a child
that outlives its timeout is killed and its pipes are closed (an open pipe would be
reported later by an unrelated test as a ResourceWarning).
"""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def run_task(task: str, *args, cwd=None, env=ENV) -> subprocess.CompletedProcess:
    """`python -m tinyrnn.TASK args` run to its end (at most 300 s), its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", f"tinyrnn.{task}", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def task_process(task: str, *args, cwd=None, sigint=_default_sigint, **popen) -> Iterator[subprocess.Popen]:
    """`python -m tinyrnn.TASK args` with text pipes for stdout and stderr, started with SIGINT
    at its default (sigint=None: as inherited); killed and its pipes closed when the block ends."""
    proc = subprocess.Popen(
        [sys.executable, "-m", f"tinyrnn.{task}", *map(str, args)],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint,
        **popen,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe:
                pipe.close()


def wait_for(proc: subprocess.Popen, prefix: str) -> str:
    """Read stdout until a line starting with `prefix` (the run is under way); returns that line."""
    for line in proc.stdout:
        if line.startswith(prefix):
            return line
    raise AssertionError(f"the process ended before printing a line starting with {prefix!r}")


def finish(proc: subprocess.Popen, timeout: float = 60) -> tuple[str, str]:
    """(stdout rest, stderr) once the process has ended; killed (and the test failed) after `timeout` s."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"the process did not end within {timeout} s; killed") from None
