"""tinyrnn.seq2seq: batching, the encoder's handling of padding, teacher forcing,
and the CLI learning its training pairs to 100%."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tinyrnn as tr
from tinyrnn import functional as F
from tinyrnn.apps.seq2seq import Seq2Seq, Task, opposite_pairs, reverse_pairs
from tinyrnn.data.padding import IGNORE, pad

PAIRS = [("abc", "cba"), ("hello", "olleh"), ("xy", "yx")]


def seq2seq(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "tinyrnn.seq2seq", *map(str, args)], capture_output=True, text=True, env=env, timeout=300
    )


def small_model(task: Task, cell: str = "gru") -> Seq2Seq:
    tr.manual_seed(0)
    return Seq2Seq(len(task.vocab), cell, embed=4, hidden=5, layers=2)


def test_pad_is_time_major_with_lengths():
    out, lengths = pad([np.array([1, 2, 3]), np.array([4])], 0)
    np.testing.assert_array_equal(out, [[1, 4], [2, 0], [3, 0]])
    np.testing.assert_array_equal(lengths, [3, 1])


def test_batch_adds_bos_and_eos_around_the_target():
    task = Task(PAIRS)
    v = task.vocab
    src, lengths, tgt_in, tgt_out = task.batch(PAIRS[1:])
    assert v.decode(src[:, 0]) == "hello" and v.decode(src[:2, 1]) == "xy"
    np.testing.assert_array_equal(lengths, [5, 2])
    assert [v.tokens[i] for i in tgt_in[:, 1]] == ["<bos>", "y", "x", "<pad>", "<pad>", "<pad>"]
    assert [v.tokens[i] for i in tgt_out[:3, 1]] == ["y", "x", "<eos>"]
    assert list(tgt_out[3:, 1]) == [IGNORE] * 3  # padded targets: left out of the loss


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_padding_does_not_change_the_encoding(cell):
    """Each source's final state is the same in a padded batch as alone."""
    task = Task(PAIRS)
    model = small_model(task, cell)
    src, lengths, _, _ = task.batch(PAIRS)
    batched = model.encode(src, lengths)
    batched = batched if isinstance(batched, tuple) else (batched,)
    for b, (source, _) in enumerate(PAIRS):
        alone = model.encode(task.vocab.encode(source)[:, None], np.array([len(source)]))
        alone = alone if isinstance(alone, tuple) else (alone,)
        for s_batch, s_alone in zip(batched, alone):
            np.testing.assert_allclose(s_batch.data[:, b], s_alone.data[:, 0], rtol=1e-12)


def test_the_loss_ignores_padding():
    """The batch loss is the mean over real target characters (+ <eos>) of all pairs,
    whatever padding the batch needed."""
    task = Task(PAIRS)
    model = small_model(task)
    total, count = 0.0, 0
    for source, target in PAIRS:
        src, lengths, tgt_in, tgt_out = task.batch([(source, target)])
        logits, _ = model.decode(tgt_in, model.encode(src, lengths))
        total += F.cross_entropy(logits.reshape(-1, model.vocab_size), tgt_out.reshape(-1), reduction="sum").item()
        count += len(target) + 1
    assert task.loss(model, PAIRS).item() == pytest.approx(total / count, rel=1e-12)


def test_translate_feeds_back_greedy_choices_and_stops():
    task = Task(PAIRS)
    model = small_model(task)
    (out,) = task.translate(model, ["abc"], max_len=6)
    src, lengths, _, _ = task.batch([("abc", "")])
    state, token, expected = model.encode(src, lengths), np.array([[task.bos]]), []
    for _ in range(6):  # the same decoding by hand
        logits, state = model.decode(token, state)
        token = logits.data.argmax(axis=-1)
        if token[0, 0] == task.eos:
            break
        expected.append(int(token[0, 0]))
    assert out == task.vocab.decode(expected)


def test_built_in_pairs():
    opposites = dict(opposite_pairs())
    assert len(opposites) == 60 and opposites["hot"] == "cold" and opposites["cold"] == "hot"
    reverse = reverse_pairs(50, seed=1)
    assert len({s for s, _ in reverse}) == 50
    assert all(t == s[::-1] and 3 <= len(s) <= 8 for s, t in reverse)


# ---- the CLI -----------------------------------------------------------------------


@pytest.mark.parametrize("task", ["reverse", "opposite"])
def test_cli_learns_every_training_pair(task, tmp_path):
    metrics = tmp_path / "m.json"
    result = seq2seq("--task", task, "--translate", "near", "--translate", "abcdef", "--metrics", metrics)
    assert result.returncode == 0, result.stderr
    m = json.loads(metrics.read_text())
    assert m["train_accuracy"] == 1.0
    assert "reached 100.0% exact match" in result.stdout
    if task == "opposite":
        assert m["translations"]["near"] == "far"
    else:
        assert 0 <= m["held_out_accuracy"] <= 1


def test_cli_pairs_file(tmp_path):
    path = tmp_path / "pairs.tsv"
    numbers = ["一\tone", "二\ttwo", "三\tthree", "四\tfour", "五\tfive", "六\tsix", "七\tseven"]
    path.write_text("\n".join(numbers) + "\n\n", encoding="utf-8")
    metrics = tmp_path / "m.json"
    result = seq2seq("--pairs", path, "--translate", "五", "--translate", "九", "--metrics", metrics)
    assert result.returncode == 0, result.stderr
    m = json.loads(metrics.read_text())
    assert m["train_accuracy"] == 1.0 and m["translations"]["五"] == "five"
    assert "warning" in result.stderr and "九" in result.stderr  # unseen, read as <unk>


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("a\tb\nno tab here\n", "line 2: expected 'source<TAB>target'"),
        ("a\tb\na\tc\n", "line 2: 'a' already maps to 'b'"),
        ("\n\n", "no pairs"),
        ("a\t\n", "line 1"),
    ],
)
def test_cli_bad_pairs_files(tmp_path, content, fragment):
    path = tmp_path / "p.tsv"
    path.write_text(content, encoding="utf-8")
    result = seq2seq("--pairs", path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and fragment in result.stderr


def test_cli_missing_file_and_bad_arguments(tmp_path):
    for args, fragment in [
        (["--pairs", tmp_path / "none.tsv"], "no such file"),
        (["--hidden", "0"], "--hidden"),
        (["--task", "sort"], "--task"),
    ]:
        result = seq2seq(*args)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and fragment in result.stderr
    help_text = seq2seq("--help").stdout
    for option in ("--task", "--pairs", "--cell", "--hidden", "--epochs", "--translate", "--metrics", "--seed"):
        assert option in help_text
