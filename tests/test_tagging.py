"""tinyrnn.tagging: the bidirectional tagger beats what any forward-only reader can do."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tinyrnn as tr
from tinyrnn.apps.tagging import IGNORE, Tagger, forward_only_ceiling, make_strings


def test_tags_say_whether_the_next_digit_is_larger():
    digits, tags, lengths = make_strings(50, np.random.default_rng(3))
    assert digits.shape == tags.shape == (12, 50)
    for b in range(50):
        n = lengths[b]
        assert 4 <= n <= 12
        expected = [1 if digits[t + 1, b] > digits[t, b] else 0 for t in range(n - 1)]
        assert tags[: n - 1, b].tolist() == expected
        assert (tags[n - 1 :, b] == IGNORE).all()
        assert (digits[n:, b] == 0).all()


def test_forward_only_ceiling():
    # digit d = 0..4: the next is larger with probability (4 - d)/5; guessing the likelier
    # answer is right 4/5, 3/5, 3/5, 4/5, 5/5 of the time
    assert forward_only_ceiling() == pytest.approx((0.8 + 0.6 + 0.6 + 0.8 + 1.0) / 5)


def test_a_padded_string_is_tagged_as_if_alone():
    """With lengths, the backward direction starts at each string's own last digit."""
    digits, tags, lengths = make_strings(6, np.random.default_rng(0))
    tr.manual_seed(0)
    model = Tagger(hidden=5, bidirectional=True)
    batched = model(digits, lengths).data
    for b in range(6):
        n = lengths[b]
        alone = model(digits[:n, b : b + 1], lengths[b : b + 1]).data
        np.testing.assert_allclose(batched[:n, b], alone[:, 0], rtol=1e-10)


def test_cli_bidirectional_tags_what_forward_only_cannot(tmp_path):
    metrics = tmp_path / "m.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "tinyrnn.tagging", "--train", "1000", "--metrics", str(metrics)]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    m = json.loads(metrics.read_text())
    assert m["bidirectional"] >= 0.98
    # ~3,500 held-out tags: the forward-only score sits within a few points of its ceiling
    assert 0.70 <= m["forward_only"] <= 0.76 + 0.03
    bad = subprocess.run([*cmd[:3], "--hidden", "0"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "--hidden" in bad.stderr
