"""Nothing lost, nothing silent: what the task CLIs do with their output files, with what they
cannot print, and with input they must refuse (tinyrnn/apps/outputs.py, cli.run_cli).

Runs are one or a few steps long; each test names the failure it guards against."""

import json
import os
import signal
import sys

import pytest
from processes import ENV, finish, run_task, task_process, wait_for

from tinyrnn.apps import dinos
from tinyrnn.apps.outputs import Outputs

PROG = "python -m tinyrnn.dinos"
QUICK = ("--steps", 1, "--sample", 2)


def refused(result, *words):
    """Exit 2, one line on stderr naming the problem, and nothing printed on stdout (no training ran)."""
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    assert result.stdout == "", result.stdout
    return result.stderr


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A folder with a good checkpoint, model.npz, and the bytes it holds."""
    folder = tmp_path_factory.mktemp("outputs")
    result = run_task("dinos", *QUICK, "--save", "model.npz", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder, (folder / "model.npz").read_bytes()


def no_temporary_files(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


# ---- items 1, 7: names too long are refused before training; the old checkpoint survives ----


def test_a_metrics_name_too_long_is_refused_before_training_and_the_old_model_stays(saved):
    folder, good = saved
    long = "m" * 250 + ".json"  # the name itself fits (255 bytes), its temporary name does not
    stderr = refused(
        run_task("dinos", *QUICK, "--save", "model.npz", "--metrics", long, cwd=folder), "name is too long"
    )
    assert "--metrics" in stderr and "this file system allows 255" in stderr
    assert (folder / "model.npz").read_bytes() == good and no_temporary_files(folder)


def test_a_save_name_too_long_for_its_temporary_name_is_refused_before_training(tmp_path):
    refused(run_task("dinos", *QUICK, "--save", "s" * 240 + ".npz", cwd=tmp_path), "--save", "name is too long")
    assert list(tmp_path.iterdir()) == []


def test_when_writing_the_metrics_fails_the_old_checkpoint_is_kept(saved, tmp_path, monkeypatch, capsys):
    """Metrics are written before the checkpoint replaces the old one, so a failure there keeps it."""
    folder, good = saved
    (tmp_path / "model.npz").write_bytes(good)
    monkeypatch.chdir(tmp_path)

    def disk_full(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("tinyrnn.apps.cli.write_json", disk_full)
    assert dinos.main(["--steps", "2", "--sample", "0", "--save", "model.npz", "--metrics", "m.json"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device; nothing was saved (--save model.npz: the old file is kept)" in err
    assert (tmp_path / "model.npz").read_bytes() == good and sorted(os.listdir(tmp_path)) == ["model.npz"]


# ---- item 2: an output that is an input of the same run ---------------------------------


def test_outputs_that_are_inputs_of_the_run_are_refused(saved, tmp_path):
    folder, good = saved
    (tmp_path / "names.txt").write_text("rex\nbob\nann\n", encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(tmp_path / "names.txt")
    refused(
        run_task("dinos", "--load", folder / "model.npz", "--metrics", folder / "model.npz", cwd=tmp_path),
        f"--metrics {folder / 'model.npz'}: is the --load file of this run",
    )
    refused(
        run_task("dinos", "--data", "names.txt", "--save", "names.txt", cwd=tmp_path), "--save names.txt: is the --data"
    )
    refused(
        run_task("dinos", "--data", "names.txt", "--save", "link.txt", cwd=tmp_path), "is the --data file of this run"
    )
    refused(run_task("charlm", "--data", "names.txt", "--metrics", "link.txt", cwd=tmp_path), "is the --data file")
    refused(
        run_task("dinos", *QUICK, "--save", "x.json", "--metrics", "x.json", cwd=tmp_path), "the same file as --metrics"
    )
    assert (folder / "model.npz").read_bytes() == good
    assert (tmp_path / "names.txt").read_text() == "rex\nbob\nann\n"


# ---- item 3: links, FIFOs and devices ------------------------------------------------------


def test_a_link_is_followed_and_stays_a_link(tmp_path):
    (tmp_path / "real.json").write_text("{}")
    (tmp_path / "link.json").symlink_to("real.json")
    assert (
        run_task(
            "tagging", "--train", 20, "--test", 5, "--epochs", 1, "--metrics", "link.json", cwd=tmp_path
        ).returncode
        == 0
    )
    assert (tmp_path / "link.json").is_symlink()
    assert "forward_only" in json.loads((tmp_path / "real.json").read_text())


def test_a_fifo_or_a_device_is_refused(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    refused(run_task("dinos", *QUICK, "--save", "pipe", cwd=tmp_path), "--save pipe: exists and is not a regular file")
    refused(
        run_task("tagging", "--metrics", "/dev/null", cwd=tmp_path), "--metrics /dev/null: exists and is not a regular"
    )


# ---- items 4, 8: what an interrupted or terminated run says and leaves ----------------------


def test_ctrl_c_after_the_checkpoint_was_written_says_so(saved, tmp_path, monkeypatch, capsys):
    folder, good = saved
    monkeypatch.chdir(tmp_path)

    class CtrlCAtTheLastLine:
        def write(self, text):
            if text.startswith("saved the model to"):
                raise KeyboardInterrupt
            return len(text)

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stdout", CtrlCAtTheLastLine())
    assert dinos.main(["--steps", "1", "--sample", "0", "--save", "model.npz", "--metrics", "m.json"]) == 130
    assert capsys.readouterr().err == f"{PROG}: interrupted; wrote --metrics m.json, --save model.npz\n"
    assert (tmp_path / "model.npz").exists() and no_temporary_files(tmp_path)


def test_sigterm_stops_the_run_leaves_no_temporary_file_and_keeps_the_old_model(saved, tmp_path):
    folder, good = saved
    (tmp_path / "model.npz").write_bytes(good)
    with task_process("dinos", "--steps", 100000, "--save", "model.npz", cwd=tmp_path) as proc:
        wait_for(proc, "step")
        proc.send_signal(signal.SIGTERM)
        _, err = finish(proc)
    assert proc.returncode == 143
    assert err == f"{PROG}: terminated (SIGTERM); nothing was saved (--save model.npz: the old file is kept)\n"
    assert (tmp_path / "model.npz").read_bytes() == good and no_temporary_files(tmp_path)


def test_outputs_report_lists_what_was_written_and_what_was_kept(tmp_path):
    (tmp_path / "old.npz").write_bytes(b"old")
    out = Outputs({"--save": str(tmp_path / "old.npz"), "--metrics": str(tmp_path / "m.json")})
    out.check()
    assert out.report() == f"nothing was saved (--save {tmp_path / 'old.npz'}: the old file is kept)"
    out.add("--metrics", lambda path: (tmp_path / path).write_text("{}"))
    out.commit()
    old = tmp_path / "old.npz"
    assert (
        out.report()
        == f"wrote --metrics {tmp_path / 'm.json'}; not written: --save {old} (--save {old}: the old file is kept)"
    )


# ---- items 5, 6: output that cannot be printed never stops training or saving ---------------


def test_stdout_closed_early_the_run_still_finishes_and_saves(tmp_path):
    """python -m tinyrnn.dinos | head -3"""
    with task_process("dinos", "--steps", 200, "--save", "m.npz", cwd=tmp_path) as proc:
        for _ in range(3):
            proc.stdout.readline()
        proc.stdout.close()  # what head does after 3 lines
        _, err = finish(proc)
    assert proc.returncode == 0 and err == "", err
    assert (tmp_path / "m.npz").exists() and no_temporary_files(tmp_path)


def test_a_terminal_that_cannot_print_the_names_gets_replacement_characters(tmp_path):
    (tmp_path / "towns.txt").write_text("ærø\nøster\nzürich\nkraków\nsão\n", encoding="utf-8")
    env = {**ENV, "PYTHONIOENCODING": "ascii"}
    result = run_task("dinos", "--data", "towns.txt", *QUICK, "--save", "modèle.npz", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "saved the model to mod?le.npz" in result.stdout  # the path, printed with a replacement character
    assert (tmp_path / "modèle.npz").exists()


# ---- items 12, 13 (the CLIs' part), 18 (text), 20, 21 ---------------------------------------


@pytest.mark.parametrize("task", ["dinos", "charlm", "seq2seq", "tagging", "binary_add"])
def test_a_batch_size_of_zero_names_the_flag(task, tmp_path):
    refused(run_task(task, "--batch", 0, cwd=tmp_path), "argument --batch: must be > 0, got 0")


def test_a_prefix_with_a_line_break_is_refused(tmp_path):
    refused(run_task("dinos", "--prefix", "ab\ncd", cwd=tmp_path), "must not contain a line break")


def test_seq2seq_refuses_a_huge_count_and_an_empty_translate_before_training(tmp_path):
    refused(run_task("seq2seq", "--count", 100_000_000, cwd=tmp_path), "--count 100,000,000: at most 1,000,000")
    refused(
        run_task("seq2seq", "--translate", "", cwd=tmp_path), "--translate: a source to translate must not be empty"
    )


@pytest.mark.parametrize("task", ["dinos", "charlm"])
def test_an_endless_data_file_is_refused_with_the_size_limit(task, tmp_path):
    refused(run_task(task, "--data", "/dev/zero", cwd=tmp_path), "/dev/zero: larger than 100,000,000 bytes")


def test_cr_only_line_endings_are_lines(tmp_path):
    (tmp_path / "mac.txt").write_bytes(b"rex\rbob\rann\rkim\r")
    result = run_task("dinos", "--data", "mac.txt", *QUICK, "--metrics", "m.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("4 names from mac.txt")


def test_the_course_capitalised_names_are_lowercased_with_one_line_saying_so(tmp_path):
    names = ["Aachenosaurus", "Aardonyx", "Abelisaurus", "abelisaurus", "Zuniceratops"]
    (tmp_path / "dinos.txt").write_text("\n".join(names) + "\n")
    result = run_task("dinos", "--data", "dinos.txt", *QUICK, "--metrics", "m.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "--data dinos.txt: names lowercased, as the course does (--keep-case keeps capitals)"
    lowered = len(set("".join(names).lower())) + 1  # the letters and the end of a name
    assert lines[1].startswith("4 names from dinos.txt") and f"alphabet of {lowered} " in lines[1]
    kept = run_task("dinos", "--data", "dinos.txt", "--keep-case", *QUICK, cwd=tmp_path)
    assert kept.stdout.startswith("5 names from dinos.txt")
    assert f"alphabet of {len(set(''.join(names))) + 1} " in kept.stdout and "lowercased" not in kept.stdout


def test_eval_on_the_course_file_scores_the_bundled_model(saved, tmp_path):
    folder, _ = saved
    names = [n.capitalize() for n in dinos.read_names(dinos.bundled_path())[:50]]
    (tmp_path / "dinos.txt").write_text("\n".join(names) + "\n")
    result = run_task("dinos", "--load", folder / "model.npz", "--no-train", "--eval", "dinos.txt", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--eval dinos.txt: names lowercased, as the course does" in result.stdout
    assert "  --eval    " in result.stdout and "(50 names in dinos.txt)" in result.stdout


# ---- item 23: an inherited "ignore SIGINT" is honoured (what nohup means) --------------------


def test_a_run_started_with_sigint_ignored_keeps_running(tmp_path):
    def ignore_sigint():
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    with task_process("dinos", "--steps", 300, "--metrics", "m.json", cwd=tmp_path, sigint=ignore_sigint) as proc:
        wait_for(proc, "step")
        proc.send_signal(signal.SIGINT)
        _, err = finish(proc)
    assert proc.returncode == 0, err
    assert json.loads((tmp_path / "m.json").read_text())["steps"] == 300
