"""benchmarks/reproduce_d2l.py on a small synthetic lyrics zip (the book's data is not bundled)."""

import subprocess
import sys
import zipfile
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "reproduce_d2l.py"


def run(*args, cwd):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=cwd, capture_output=True, text=True)


def test_the_table_has_both_samplers_beside_the_book(tmp_path):
    lines = [
        "想要有直升机",
        "想要和你飞到宇宙去",
        "想要和你融化在一起",
        "融化在宇宙里",
        "我每天每天每天在想想想想著你",
    ] * 40
    with zipfile.ZipFile(tmp_path / "jaychou_lyrics.txt.zip", "w") as z:
        z.writestr("jaychou_lyrics.txt", "\n".join(lines))
    result = run("jaychou_lyrics.txt.zip", "--epochs", 2, "--hidden", 8, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = result.stdout.split("training perplexity (exp of the mean loss per character) by epoch:\n")[1].splitlines()
    assert table[0].split() == "epoch the book tinyrnn, the book sampler tinyrnn, default sampler".split()
    epoch, fixed, default = table[1].split()
    assert epoch == "2" and float(fixed) > 1 and float(default) > 1
    assert f"{len(chr(10).join(lines)):,} characters" in result.stdout  # under 10,000: the whole text


def test_missing_or_foreign_data_says_where_to_get_it(tmp_path):
    missing = run("nowhere.zip", cwd=tmp_path)
    assert missing.returncode == 1 and "nowhere.zip: no such file (get jaychou_lyrics.txt.zip" in missing.stderr
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as z:
        z.writestr("other.txt", "x")
    foreign = run("other.zip", cwd=tmp_path)
    assert foreign.returncode == 1 and "not the book's jaychou_lyrics.txt.zip" in foreign.stderr
    assert "github.com/d2l-ai/d2l-zh" in run("--help", cwd=tmp_path).stdout
