"""`python -m tinyrnn.binary_add` through the real command line (subprocesses)."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from processes import finish, task_process, wait_for

import tinyrnn as tr
from tinyrnn.apps.checkpoint import LAYOUT

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def cli(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "tinyrnn.binary_add", *args], capture_output=True, text=True, env=ENV, timeout=timeout
    )


def assert_usage_error(result, *words):
    """Exit code 2, exactly one line on stderr naming the problem, no traceback."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "error" in lines[0]
    for word in words:
        assert word in lines[0]


FLAGS = "--preset --bits --hidden --cell --loss --steps --batch --lr --optimizer --seed --test-bits --test-pairs"
FLAGS = (FLAGS + " --check-every --save --load --metrics").split()


def test_help_documents_every_flag():
    result = cli("--help")
    assert result.returncode == 0
    for flag in FLAGS:
        assert flag in result.stdout
    assert "classic" in result.stdout and "rnn" in result.stdout and "lstm" in result.stdout


@pytest.mark.parametrize(
    "args, words",
    [
        (["--bits", "0"], ["--bits", "0"]),
        (["--bits", "eight"], ["--bits", "eight"]),
        (["--bits", "5000"], ["--bits", "4096"]),
        (["--test-bits", "x"], ["--test-bits", "'x'"]),
        (["--test-bits", "8,1"], ["--test-bits", "1"]),
        (["--test-bits", ""], ["--test-bits"]),
        (["--lr", "-0.1"], ["--lr"]),
        (["--lr", "nan"], ["--lr"]),
        (["--cell", "transformer"], ["--cell"]),
        (["--steps", "-1"], ["--steps"]),
        (["--hidden", "0"], ["--hidden"]),
        (["--load", "m.npz", "--steps", "5", "--lr", "0.1"], ["--load", "--lr, --steps would have no effect"]),
    ],
)
def test_bad_flags_give_one_line_and_exit_2(args, words):
    assert_usage_error(cli(*args), *words)


def test_garbage_load_file_gives_one_line_and_exit_2(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(os.urandom(300))
    assert_usage_error(cli("--load", str(garbage)), "--load", "garbage.npz")


def test_truncated_checkpoint_and_missing_file_give_one_line(tmp_path):
    good = tmp_path / "good.npz"
    assert cli("--steps", "3", "--test-bits", "8", "--save", str(good)).returncode == 0
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:-100])
    assert_usage_error(cli("--load", str(cut)), "--load")
    assert_usage_error(cli("--load", str(tmp_path / "missing.npz")), "--load", "missing.npz")


def test_a_checkpoint_of_something_else_is_refused(tmp_path):
    other = tmp_path / "other.npz"
    tr.save({"model": {"weight": np.zeros(3)}, "config": {"task": "charlm"}}, other)
    assert_usage_error(cli("--load", str(other)), "not one saved by tinyrnn.binary_add")
    config = {"cell": "sigmoid", "hidden": 4, "bits": 8}
    meta = {"task": "tinyrnn.binary_add", "layout": LAYOUT, "config": config, "vocab": None}
    tr.save({"model": {"U": np.zeros((2, 4))}, "meta": meta}, other)
    assert_usage_error(cli("--load", str(other)), "damaged tinyrnn.binary_add checkpoint", "missing keys")


def test_save_into_a_missing_directory_fails_before_training(tmp_path):
    assert_usage_error(cli("--steps", "100000", "--save", str(tmp_path / "no" / "m.npz")), "--save", "does not exist")


def test_metrics_file_keys_and_values(tmp_path):
    metrics = tmp_path / "m.json"
    result = cli("--steps", "20", "--test-bits", "16,8,64", "--test-pairs", "300", "--metrics", str(metrics))
    assert result.returncode == 0, result.stderr
    m = json.loads(metrics.read_text())
    assert {"steps", "seconds", "accuracy", "converged_at_step", "pairs", "eval_seconds", "config"} <= set(m)
    assert m["steps"] == 20 and m["seconds"] > 0
    assert list(m["accuracy"]) == ["8", "16", "64"]
    assert all(0 <= v <= 1 for v in m["accuracy"].values())
    assert m["pairs"] == {"8": 16384, "16": 300, "64": 300}
    assert m["converged_at_step"] is None or 1 <= m["converged_at_step"] <= 20
    assert m["config"]["cell"] == "rnn" and m["config"]["optimizer"] == "adam"
    # the table shows the same widths, counts and accuracies
    for width, acc in m["accuracy"].items():
        assert any(line.split()[:1] == [width] and f"{acc:.2%}" in line for line in result.stdout.splitlines())


def test_the_training_width_is_always_tested(tmp_path):
    metrics = tmp_path / "m.json"
    assert cli("--bits", "6", "--steps", "2", "--test-bits", "20", "--metrics", str(metrics)).returncode == 0
    assert json.loads(metrics.read_text())["pairs"] == {"6": 1024, "20": 10000}


def test_classic_preset_and_overrides(tmp_path):
    metrics = tmp_path / "m.json"
    result = cli(
        "--preset", "classic", "--steps", "30", "--check-every", "10", "--test-bits", "8", "--metrics", str(metrics)
    )
    assert result.returncode == 0, result.stderr
    config = json.loads(metrics.read_text())["config"]
    expected = {"cell": "sigmoid", "hidden": 16, "loss": "mse", "optimizer": "sgd", "lr": 0.1, "batch": 1}
    assert {k: config[k] for k in expected} == expected
    cli("--preset", "classic", "--steps", "3", "--lr", "0.5", "--batch", "4", "--metrics", str(metrics))
    config = json.loads(metrics.read_text())["config"]
    assert (config["lr"], config["batch"], config["cell"]) == (0.5, 4, "sigmoid")


def test_save_then_load_gives_the_same_accuracy(tmp_path):
    model, first, second = tmp_path / "m.npz", tmp_path / "1.json", tmp_path / "2.json"
    trained = cli(
        "--cell",
        "gru",
        "--hidden",
        "6",
        "--bits",
        "5",
        "--steps",
        "40",
        "--test-bits",
        "5,12",
        "--save",
        str(model),
        "--metrics",
        str(first),
    )
    assert trained.returncode == 0, trained.stderr
    loaded = cli("--load", str(model), "--test-bits", "12", "--metrics", str(second))
    assert loaded.returncode == 0, loaded.stderr
    assert "cell gru, hidden 6, trained on 5 bits" in loaded.stdout
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    assert a["accuracy"] == b["accuracy"] and b["steps"] == 0 and b["loaded_from"] == str(model)
    assert b["config"] == a["config"] and b["config"]["cell"] == "gru"  # the model's, not the flags' defaults


def test_an_interrupted_run_leaves_the_old_checkpoint_alone(tmp_path):
    path = tmp_path / "m.npz"
    assert cli("--steps", "2", "--test-bits", "8", "--save", str(path)).returncode == 0
    before = path.read_bytes()
    with task_process("binary_add", "--steps", 1000000, "--check-every", 1, "--save", path) as proc:
        wait_for(proc, "step")  # the first progress line: training is under way
        proc.send_signal(signal.SIGINT)
        _, err = finish(proc)
    assert proc.returncode == 130 and "interrupted; nothing was saved" in err and "Traceback" not in err
    assert path.read_bytes() == before


def test_a_diverging_run_exits_1_and_saves_nothing(tmp_path):
    path = tmp_path / "m.npz"
    result = cli("--lr", "inf", "--steps", "5", "--save", str(path))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "training diverged at step 2 (loss nan)" in result.stderr and "nothing was saved" in result.stderr
    assert not path.exists()


def test_default_run_learns_8_bits_and_adds_64_bit_numbers(tmp_path):
    """The real behaviour: the default setup (seed 0) gets every 8-bit pair and 2,000
    random 64-bit pairs right. Takes a few seconds."""
    metrics = tmp_path / "m.json"
    result = cli("--test-bits", "8,64", "--test-pairs", "2000", "--metrics", str(metrics))
    assert result.returncode == 0, result.stderr
    m = json.loads(metrics.read_text())
    assert m["accuracy"] == {"8": 1.0, "64": 1.0}
    assert m["converged_at_step"] is not None and m["converged_at_step"] <= 1000
    assert "(right)" in result.stdout and "WRONG" not in result.stdout
