"""The plumbing every task's command line shares (tinyrnn/apps/cli.py)."""

import os
import re
import subprocess

import numpy as np
import pytest
from processes import run_task

import tinyrnn as tr
from tinyrnn.apps import cli


@pytest.mark.parametrize("text, ok", [("3", True), ("0", False), ("-1", False)])
def test_positive_rejects_zero_and_below(text, ok) -> None:
    check = cli.positive(int)
    if ok:
        assert check(text) == 3
    else:
        with pytest.raises(Exception, match="must be > 0"):
            check(text)


def test_divergence_rule_non_finite_or_a_million_times_the_first_loss() -> None:
    check = cli.DivergenceCheck("lower --lr")
    for loss in (5.0, 40.0, 5e6):  # the first loss, then up to a million times it: still training
        check.loss(loss)
    with pytest.raises(cli.TrainingError, match=r"at step 4 \(loss 5\.01e\+06, over a million times the first"):
        check.loss(5.01e6)
    with pytest.raises(cli.TrainingError, match=r"at step 2 \(loss nan\): lower --lr"):
        check = cli.DivergenceCheck("lower --lr")
        check.loss(5.0)
        check.loss(float("nan"))


def test_divergence_rule_measures_a_small_first_loss_from_1() -> None:
    check = cli.DivergenceCheck("lower --lr")
    check.loss(1e-4)  # a --load'ed model that already fits: 1e6 x 1e-4 would call a loss of 100.01 diverged
    check.loss(1e6)
    with pytest.raises(cli.TrainingError, match="over a million times"):
        check.loss(1.01e6)


def test_divergence_rule_checks_the_weights_the_last_step_left() -> None:
    check = cli.DivergenceCheck("lower --lr")
    check.weights([tr.Tensor(np.ones(3)), tr.Tensor(np.zeros((2, 2)))])
    with pytest.raises(cli.TrainingError, match="not finite"):
        check.weights([tr.Tensor(np.ones(3)), tr.Tensor(np.array([1.0, np.inf]))])


# ---- every task's command line, run as a user runs it (subprocesses) --------------------

QUICK = {  # a second or so of training each
    "dinos": ["--steps", "2", "--sample", "2"],
    "binary_add": ["--steps", "2", "--test-bits", "8"],
    "charlm": ["--epochs", "1", "--hidden", "8", "--num-steps", "8", "--batch", "4", "--length", "5"],
    "seq2seq": ["--epochs", "1", "--count", "20", "--hidden", "8"],
    "tagging": ["--epochs", "1", "--train", "20", "--test", "5", "--hidden", "4"],
}
SAVES = ("dinos", "binary_add", "charlm")  # the tasks with --save; every task has --metrics
OUTPUTS = [(task, "--metrics") for task in QUICK] + [(task, "--save") for task in SAVES]
DIVERGE = {  # a learning rate of 1e300: the weights blow up at the first step, the next loss shows it
    "dinos": ["--optimizer", "sgd", "--lr", "1e300", "--clip", "0", "--steps", "5"],
    "binary_add": ["--lr", "1e300", "--steps", "5"],
    "charlm": ["--optimizer", "sgd", "--lr", "1e300", "--clip", "0"],
    "seq2seq": ["--lr", "1e300", "--clip", "0", "--epochs", "3"],
    "tagging": ["--lr", "1e300", "--train", "100"],
}
ONE_STEP = {  # exactly one optimiser step: no loss ever sees its update
    "dinos": ["--steps", "1"],
    "binary_add": ["--steps", "1"],
    "seq2seq": ["--epochs", "1", "--count", "5"],
    "tagging": ["--epochs", "1", "--train", "5"],
}


def one_line_error(result: subprocess.CompletedProcess, code: int = 2) -> str:
    """The exit code, and exactly one line on stderr, 'python -m tinyrnn.TASK: error: ...' (returned)."""
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m tinyrnn."), result.stderr
    assert ": error: " in lines[0]
    return lines[0]


@pytest.mark.parametrize("task, option", OUTPUTS)
def test_an_output_that_is_a_directory_fails_before_training(task, option, tmp_path) -> None:
    result = run_task(task, *QUICK[task], option, tmp_path)
    assert one_line_error(result).endswith(f"{option} {tmp_path}: is a directory")
    assert result.stdout == ""  # nothing ran


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs Linux's /proc, where no file can be created")
@pytest.mark.parametrize("task, option", OUTPUTS)
def test_an_output_in_a_directory_where_no_file_can_be_created_fails_before_training(task, option) -> None:
    result = run_task(task, *QUICK[task], option, "/proc/out.json")
    assert f"{option} /proc/out.json: cannot create a file in /proc" in one_line_error(result)
    assert result.stdout == ""


@pytest.mark.parametrize("task", QUICK)
def test_a_negative_seed_names_the_flag(task) -> None:
    assert "argument --seed: must be >= 0, got -1" in one_line_error(run_task(task, "--seed", "-1"))


@pytest.mark.parametrize("task", QUICK)
def test_a_diverging_run_is_one_line_exit_1_and_writes_nothing(task, tmp_path) -> None:
    outputs = ["--metrics", "m.json"] + (["--save", "m.npz"] if task in SAVES else [])
    result = run_task(task, *QUICK[task], *DIVERGE[task], *outputs, cwd=tmp_path)
    line = one_line_error(result, code=1)
    assert "training diverged at step " in line and line.endswith("; nothing was saved")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("task", ONE_STEP)
def test_weights_blown_up_by_the_last_step_count_as_diverged(task, tmp_path) -> None:
    outputs = ["--metrics", "m.json"] + (["--save", "m.npz"] if task in SAVES else [])
    result = run_task(task, *QUICK[task], *ONE_STEP[task], "--lr", "inf", *outputs, cwd=tmp_path)
    assert "the last step left weights that are not finite" in one_line_error(result, code=1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("task", QUICK)
def test_help_shows_each_default_once_and_the_exit_codes(task) -> None:
    result = run_task(task, "--help")
    assert result.returncode == 0
    options = re.split(r"\n  (?=-)", result.stdout.split("\noptions:\n")[1])
    for option in options:
        assert option.count("(default:") <= 1, option
        assert "(default: )" not in option, option
    assert cli.EXIT_CODES in " ".join(result.stdout.split())


@pytest.mark.parametrize("task", QUICK)
def test_sizes_too_large_for_memory_are_one_line_not_a_traceback(task) -> None:
    assert "out of memory (Unable to allocate" in one_line_error(run_task(task, "--hidden", 10**10))


INPUTS = [
    ("dinos", "--data"),
    ("dinos", "--eval"),
    ("dinos", "--load"),
    ("charlm", "--data"),
    ("charlm", "--load"),
    ("binary_add", "--load"),
    ("seq2seq", "--pairs"),
]


@pytest.mark.parametrize("task, option", INPUTS)
def test_an_unreadable_input_file_is_named_with_its_option(task, option, tmp_path) -> None:
    (tmp_path / "folder").mkdir()
    for name, reason in (("missing.txt", "no such file"), ("folder", "directory")):
        line = one_line_error(run_task(task, option, name, cwd=tmp_path))
        assert f"error: {option} {name}: " in line and reason in line.lower(), line
