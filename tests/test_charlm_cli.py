"""python -m tinyrnn.charlm through the real command line: training on a Chinese
text, both sampling modes, checkpoints, metrics, and every kind of bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ZH = Path(__file__).parent / "data" / "zh_seasons.txt"  # verse written for these tests
SMALL = "the cat sat on the mat. the dog sat on the log.\n" * 6
QUICK = ["--hidden", "16", "--epochs", "2", "--num-steps", "8", "--batch", "4", "--length", "10"]


def charlm(*args, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "tinyrnn.charlm", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def assert_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit code 2 and one line on stderr naming the problem, no traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def small(tmp_path) -> Path:
    path = tmp_path / "small.txt"
    path.write_text(SMALL, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def chinese(tmp_path_factory) -> tuple[Path, str]:
    """The test verse three times over: 3,330 characters, 294 distinct."""
    text = ZH.read_text(encoding="utf-8") * 3
    path = tmp_path_factory.mktemp("zh") / "zh.txt"
    path.write_text(text, encoding="utf-8")
    return path, text


@pytest.mark.parametrize("sampling", ["random", "sequential"])
def test_chinese_text_reaches_perplexity_below_2_and_continues_a_prefix(chinese, tmp_path, sampling):
    path, text = chinese
    assert 3000 < len(text) and len(set(text)) > 250
    metrics = tmp_path / "m.json"
    result = charlm(
        "--data", path, "--sampling", sampling, "--cell", "gru", "--hidden", "128", "--epochs", "20",
        "--prefix", "七月里来", "--prefix", "我家门前", "--length", "16", "--metrics", metrics,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "perplexity" in result.stdout and "七月里来" in result.stdout  # progress shows samples
    m = json.loads(metrics.read_text(encoding="utf-8"))
    assert m["perplexity"] < 2
    assert m["vocab_size"] == len(set(text)) + 1  # + <unk>
    history = [h["perplexity"] for h in m["history"]]
    assert len(history) == 20 and history[-1] < history[0] / 20
    for prefix in ("七月里来", "我家门前"):
        sample = m["samples"][prefix]
        assert sample.startswith(prefix) and len(sample) == len(prefix) + 16
        assert sample in text, f"{sample!r} does not continue the text"


def test_save_then_load_gives_the_same_model(small, tmp_path):
    ckpt, m1, m2 = tmp_path / "lm.npz", tmp_path / "m1.json", tmp_path / "m2.json"
    trained = charlm("--data", small, *QUICK, "--cell", "lstm", "--layers", "2", "--save", ckpt, "--metrics", m1)
    assert trained.returncode == 0, trained.stderr
    # a different --cell/--hidden on the command line: the checkpoint's architecture wins
    loaded = charlm(
        "--data", small, "--load", ckpt, "--epochs", "0", "--cell", "rnn", "--hidden", "3", "--length", "10",
        "--num-steps", "8", "--batch", "4", "--metrics", m2,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    first, again = (json.loads(p.read_text()) for p in (m1, m2))
    assert again["perplexity"] == pytest.approx(first["perplexity"], rel=1e-6)
    assert again["samples"] == first["samples"]
    assert again["config"]["cell"] == "lstm" and again["config"]["layers"] == 2


def test_load_without_data_only_generates_and_says_so(small, tmp_path):
    """No --data: the bundled English text would be the wrong text to score a loaded model on."""
    ckpt, metrics = tmp_path / "lm.npz", tmp_path / "m.json"
    assert charlm("--data", small, *QUICK, "--save", ckpt).returncode == 0
    result = charlm("--load", ckpt, "--epochs", "0", "--prefix", "the", "--length", "10", "--metrics", metrics)
    assert result.returncode == 0 and result.stderr == ""  # no <unk> warnings about a text it was not made for
    assert "no text to score, only generating" in result.stdout and "perplexity" not in result.stdout
    m = json.loads(metrics.read_text())
    assert m["perplexity"] is None and m["history"] == [] and len(m["samples"]["the"]) == 3 + 10
    assert_error(charlm("--load", ckpt, "--prefix", "the"), "--load without --data", "--epochs 0")
    assert_error(charlm("--load", ckpt, "--epochs", "0"), "--load without --data", "--prefix")


def test_a_failed_run_leaves_the_checkpoint_alone(small, tmp_path):
    ckpt = tmp_path / "lm.npz"
    assert charlm("--data", small, *QUICK, "--save", ckpt).returncode == 0
    before = ckpt.read_bytes()
    assert_error(charlm("--data", small, *QUICK, "--num-steps", "5000", "--save", ckpt), "--num-steps 5000")
    assert ckpt.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["lm.npz", "small.txt"]  # no temporary files left


def test_a_diverging_run_exits_1_and_saves_nothing(small, tmp_path):
    ckpt = tmp_path / "lm.npz"
    result = charlm("--data", small, *QUICK, "--optimizer", "sgd", "--lr", "1e30", "--clip", "0", "--save", ckpt)
    assert result.returncode == 1 and "diverged" in result.stderr and "Traceback" not in result.stderr
    assert not ckpt.exists()


def test_without_data_it_trains_on_the_bundled_text_and_says_so(tmp_path):
    result = charlm(*QUICK, "--epochs", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no --data given" in result.stdout and "charlm_default.txt" in result.stdout


def test_help_documents_every_option():
    result = charlm("--help")
    assert result.returncode == 0
    for option in (
        "--data", "--cell", "--hidden", "--layers", "--embed", "--num-steps", "--batch", "--epochs", "--lr",
        "--optimizer", "--clip", "--sampling", "--prefix", "--length", "--temperature", "--save", "--load",
        "--metrics", "--seed", "--bidirectional",
    ):  # fmt: skip
        assert option in result.stdout
    assert "random" in result.stdout and "sequential" in result.stdout and "one-hot" in result.stdout
    assert "future" in result.stdout  # why a language model cannot be bidirectional


# ---- bad input: one line on stderr, exit code 2 ---------------------------------------


def test_missing_file(tmp_path):
    assert_error(charlm("--data", tmp_path / "nope.txt"), "nope.txt", "no such file")


def test_empty_file(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    assert_error(charlm("--data", tmp_path / "empty.txt"), "empty")


def test_non_utf8_file(tmp_path):
    (tmp_path / "gbk.txt").write_bytes("春眠不觉晓".encode("gbk"))
    assert_error(charlm("--data", tmp_path / "gbk.txt"), "gbk.txt", "not UTF-8")


def test_num_steps_longer_than_the_text(small):
    assert_error(
        charlm("--data", small, "--num-steps", "1000", "--batch", "1"),
        f"the text has {len(SMALL)} characters",
        "--num-steps 1000",
    )


def test_a_prefix_of_unseen_characters_is_read_as_unk_with_a_warning(small):
    result = charlm("--data", small, *QUICK, "--prefix", "日本", "--prefix", "the")
    assert result.returncode == 0, result.stderr
    assert "warning" in result.stderr and "'日' '本'" in result.stderr and "<unk>" in result.stderr
    assert "'日本' -> '日本" in result.stdout


def test_bidirectional_is_refused_with_the_reason(small):
    assert_error(charlm("--data", small, "--bidirectional"), "--bidirectional", "tinyrnn.tagging")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--hidden", "0"], "--hidden"),
        (["--cell", "transformer"], "--cell"),
        (["--sampling", "shuffled"], "--sampling"),
        (["--lr", "-1"], "--lr"),
        (["--prefix", ""], "--prefix"),
        (["--metrics", "no/such/dir/m.json"], "--metrics"),
    ],
)
def test_bad_arguments(small, args, fragment):
    assert_error(charlm("--data", small, *QUICK, *args), fragment)


def test_load_refuses_files_that_are_not_charlm_checkpoints(small, tmp_path):
    assert_error(charlm("--data", small, "--load", tmp_path / "none.npz"), "none.npz")
    assert_error(charlm("--data", small, "--load", small), "not a tinyrnn checkpoint")
