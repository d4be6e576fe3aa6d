"""python -m tinyrnn.dinos as a user runs it: a real subprocess for every case.

Training runs are a few steps long: the full presets are timed in
benchmarks/bench_dinos.py, not here."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from processes import finish, task_process, wait_for

from tinyrnn.data.names import bundled_path, read_names, split_names
from tinyrnn.io import save

PROG = "python -m tinyrnn.dinos"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def dinos(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "tinyrnn.dinos", *map(str, args)], cwd=cwd, env=ENV, capture_output=True, text=True
    )


def metrics_of(*args, cwd):
    result = dinos(*args, "--metrics", "m.json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads((cwd / "m.json").read_text())


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A folder with a good checkpoint (model.npz, trained 2 steps with seed 7) and its metrics."""
    path = tmp_path_factory.mktemp("dinos")
    result = dinos("--steps", 2, "--seed", 7, "--save", "model.npz", "--metrics", "model.json", cwd=path)
    assert result.returncode == 0, result.stderr
    return path


def test_help_documents_every_option(tmp_path):
    result = dinos("--help", cwd=tmp_path)
    assert result.returncode == 0
    for flag in (
        "--preset --cell --hidden --layers --steps --batch --lr --optimizer --clip --clip-mode --seed --data "
        "--save --load --no-train --sample --temperature --prefix --max-len --eval --metrics --dtype"
    ).split():
        assert flag in result.stdout
    text = " ".join(result.stdout.split())  # undo argparse's line wrapping
    assert "the end of a name counts as a character" in text and "held-out 10%" in text
    assert "classic = the course" in text and "35000 steps" in text


def test_a_short_run_reports_nlls_samples_and_novelty(work):
    result = dinos("--steps", 2, "--seed", 7, "--sample", 10, cwd=work)
    assert result.returncode == 0, result.stderr
    for text in ("step", "train", "held-out", "10 sampled names", "are not in the name list"):
        assert text in result.stdout
    m = json.loads((work / "model.json").read_text())
    for key in ("steps", "seconds", "train_nll", "heldout_nll", "samples", "novel_fraction"):
        assert key in m
    assert m["steps"] == 2 and len(m["samples"]) == 10
    names = set(read_names(bundled_path()))
    assert m["novel_fraction"] == sum(s not in names for s in m["samples"]) / 10
    assert 0 < m["heldout_nll"] < 4  # two steps from a random start: near log(27) = 3.3


def test_same_seed_same_names_and_a_loaded_model_samples_them_again(work):
    first = metrics_of("--steps", 2, "--seed", 7, cwd=work)
    again = metrics_of("--steps", 2, "--seed", 7, cwd=work)
    other = metrics_of("--steps", 2, "--seed", 8, cwd=work)
    loaded = metrics_of("--load", "model.npz", "--no-train", "--seed", 7, cwd=work)
    assert first["samples"] == again["samples"] == loaded["samples"]
    assert first["heldout_nll"] == again["heldout_nll"] == loaded["heldout_nll"]
    assert other["samples"] != first["samples"]
    assert loaded["steps"] == 0


def test_prefix_temperature_and_max_len(work):
    m = metrics_of(
        "--load", "model.npz", "--no-train", "--prefix", "tyran", "--temperature", 0.5, "--max-len", 9, cwd=work
    )
    assert all(s.startswith("tyran") and len(s) <= 9 for s in m["samples"])


def test_eval_scores_another_list(work):
    heldout = split_names(read_names(bundled_path()))[1]
    (work / "heldout.txt").write_text("\n".join(reversed(heldout)) + "\n", encoding="utf-8")
    m = metrics_of("--load", "model.npz", "--no-train", "--eval", "heldout.txt", cwd=work)
    assert m["eval_nll"] == pytest.approx(m["heldout_nll"], rel=1e-6)


def test_any_list_of_names_any_characters(tmp_path):
    names = ["Ærøskøbing", "Øster Vrå", "東京", "Zürich", "São Paulo", "Kraków"]
    (tmp_path / "towns.txt").write_text("\n".join(names), encoding="utf-8")
    m = metrics_of("--data", "towns.txt", "--keep-case", "--steps", 3, "--batch", 2, "--prefix", "Ø", cwd=tmp_path)
    assert all(s.startswith("Ø") for s in m["samples"])


# ---- every error: one line on stderr, exit code 2, no traceback -------------------------


def write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path.name


def bad_inputs(work):
    """(arguments, what the one-line message must say) for every bad input."""
    save({"weights": np.zeros(3), "meta": {"task": "other"}}, work / "other_task.npz")
    good = (work / "model.npz").read_bytes()
    accented = dinos(
        "--data", write(work / "accented.txt", "éa\nbé\n"), "--steps", 1, "--save", "accented.npz", cwd=work
    )
    assert accented.returncode == 0, accented.stderr
    return [
        (["--data", "missing.txt"], "no such file"),
        (["--data", write(work / "empty.txt", b"")], "empty"),
        (["--data", write(work / "latin1.txt", "caf\xe9\n".encode("latin-1"))], "not UTF-8"),
        (["--data", write(work / "blank.txt", "\n  \n\t\n")], "no names"),
        (["--data", write(work / "one.txt", "rex\nrex\n")], "at least 2"),
        (["--prefix", "tyran!"], "outside the model's alphabet"),
        (["--load", "model.npz", "--no-train", "--prefix", "T"], "outside the model's alphabet"),
        (["--load", write(work / "garbage.npz", b"\x00garbage" * 100)], "not a tinyrnn checkpoint"),
        (["--load", write(work / "truncated.npz", good[: len(good) // 2])], "truncated"),
        (["--load", "accented.npz"], "made for another alphabet"),
        (["--load", "other_task.npz"], "not one saved by tinyrnn.dinos"),
        (["--load", "missing.npz"], "no such file"),
        (["--load", "model.npz", "--cell", "lstm"], "--cell lstm"),
        (["--load", "model.npz", "--eval", "missing.txt"], "no such file"),
        (["--load", "model.npz", "--no-train", "--eval", "accented.txt"], "outside the model's alphabet"),
        (["--no-train"], "needs --load"),
        (["--save", "no/such/dir/m.npz"], "directory does not exist"),
        (["--temperature", "-1"], "must be >= 0"),
        (["--prefix", "tyran", "--max-len", 3], "--prefix 'tyran' is longer than --max-len 3"),
        (["--steps", "many"], "invalid"),
    ]


def test_every_bad_input_is_one_line_and_exit_code_2(work):
    for args, message in bad_inputs(work):
        result = dinos(*args, "--steps", 1, cwd=work) if "--steps" not in args else dinos(*args, cwd=work)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stderr.startswith(f"{PROG}: error: "), (args, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)


# ---- a failed or interrupted run never touches a good checkpoint ------------------------


def assert_untouched(folder, name, content):
    assert (folder / name).read_bytes() == content
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}")) == []  # no temporary files


def test_a_failed_run_keeps_the_good_checkpoint(work):
    good = (work / "model.npz").read_bytes()
    bad_data = dinos("--data", "missing.txt", "--save", "model.npz", cwd=work)
    assert bad_data.returncode == 2
    diverged = dinos("--optimizer", "sgd", "--lr", "1e300", "--clip", 0, "--steps", 50, "--save", "model.npz", cwd=work)
    assert diverged.returncode == 1 and "diverged" in diverged.stderr and "Traceback" not in diverged.stderr
    assert_untouched(work, "model.npz", good)


def test_ctrl_c_saves_nothing(work):
    good = (work / "model.npz").read_bytes()
    with task_process("dinos", "--steps", 100000, "--save", "model.npz", cwd=work) as proc:
        wait_for(proc, "step")  # training is under way
        proc.send_signal(signal.SIGINT)
        _, err = finish(proc)
    assert proc.returncode == 130
    assert err == f"{PROG}: interrupted; nothing was saved (--save model.npz: the old file is kept)\n"
    assert_untouched(work, "model.npz", good)
