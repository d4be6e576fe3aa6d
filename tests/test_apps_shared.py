"""The helpers every task shares: the checkpoint layout, the sampler, the training step, padding."""

import numpy as np
import pytest

import tinyrnn as tr
from tinyrnn.apps import charlm, namemodel
from tinyrnn.apps.checkpoint import LAYOUT, checkpoint, load_checkpoint
from tinyrnn.apps.cli import TrainingError
from tinyrnn.apps.sampling import draw, sample
from tinyrnn.apps.training import Trainer, due
from tinyrnn.data.names import Alphabet
from tinyrnn.data.padding import IGNORE, pad


def name_model():
    tr.manual_seed(0)
    return namemodel.NameModel(Alphabet("\nabc"), "gru", 4, 1)


def test_a_checkpoint_round_trips_with_its_layout_config_and_vocabulary(tmp_path):
    model = name_model()
    namemodel.save_checkpoint(tmp_path / "m.npz", model)
    meta = tr.load(tmp_path / "m.npz")["meta"]
    assert meta == {"task": "tinyrnn.dinos", "layout": LAYOUT, "config": model.arch, "vocab": "\nabc"}
    loaded = namemodel.load_checkpoint(tmp_path / "m.npz")
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_a_checkpoint_in_the_old_layout_is_refused_with_the_reason(tmp_path):
    model = name_model()
    old = {"task": "tinyrnn.dinos", "alphabet": "\nabc", **model.arch}  # layout 1: no "layout", no "config"
    tr.save({"model": model.state_dict(), "meta": old}, tmp_path / "old.npz")
    with pytest.raises(ValueError, match=r"--load .*old.npz: saved by an older tinyrnn \(checkpoint layout 1"):
        namemodel.load_checkpoint(tmp_path / "old.npz")


@pytest.mark.parametrize("vocab", [["<unk>", 1, 2], 7])
def test_charlm_with_a_vocabulary_that_is_not_strings_is_refused(tmp_path, vocab):
    """Issue: an integer vocabulary gave a TypeError traceback while generating."""
    tr.manual_seed(0)
    model = charlm.CharLM(3, "gru", 4, 1)
    config = {"cell": "gru", "hidden": 4, "layers": 1, "embed": 0, "dtype": "float32"}
    tr.save(checkpoint("tinyrnn.charlm", model, config, vocab), tmp_path / "m.npz")
    with pytest.raises(
        ValueError, match=r"damaged tinyrnn.charlm checkpoint \(its vocabulary must be strings, found int"
    ):
        load_checkpoint(str(tmp_path / "m.npz"), "tinyrnn.charlm", lambda c, v: model)


def test_draw_takes_the_likeliest_at_temperature_0_and_follows_softmax_otherwise():
    scores = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.4, 0.1]]))
    np.testing.assert_array_equal(draw(scores, 0.0, np.random.default_rng(0)), [2, 0])
    ids = np.stack([draw(scores, 1.0, rng) for rng in [np.random.default_rng(0)] for _ in range(20000)])
    freq = [np.bincount(ids[:, row], minlength=3) / len(ids) for row in range(2)]
    np.testing.assert_allclose(freq, np.exp(scores), atol=0.015)  # 20,000 draws: sd <= 0.0036
    hot = np.stack([draw(scores, 1e6, rng) for rng in [np.random.default_rng(1)] for _ in range(20000)])
    np.testing.assert_allclose(np.bincount(hot[:, 0], minlength=3) / len(hot), [1 / 3] * 3, atol=0.015)


def test_sample_stops_at_the_end_token_and_at_the_step_limit():
    model = name_model()
    end = model.alphabet.index["\n"]
    drawn = sample(model, [model.alphabet.start], 50, 6, np.random.default_rng(0), 1.0, end)
    assert drawn.shape[0] == 50 and drawn.shape[1] <= 6
    for row in drawn:  # after the first end token, only end tokens
        hit = np.flatnonzero(row == end)
        assert hit.size == 0 or (row[hit[0] :] == end).all()
    names = namemodel.sample(model, 20, np.random.default_rng(0), prefix="ab", max_len=5)
    assert all(n.startswith("ab") and len(n) <= 5 for n in names)


def test_trainer_clips_steps_and_stops_a_diverging_run():
    w = tr.Tensor(np.array([3.0, -4.0]), requires_grad=True)
    trainer = Trainer([w], "sgd", lr=1.0, clip=1.0, clip_mode="norm")
    assert trainer.step((w * w).sum()) == 25.0
    np.testing.assert_allclose(w.data, [3 - 0.6, -4 + 0.8], rtol=1e-6)  # gradient (6, -8) clipped to norm 1
    by_value = Trainer([w], "sgd", lr=1.0, clip=0.5, clip_mode="value")
    before = w.data.copy()
    by_value.step((w * w).sum())
    np.testing.assert_allclose(w.data, before - [0.5, -0.5])
    with pytest.raises(TrainingError, match="at step 1 \\(loss nan\\)"):
        Trainer([w], "sgd", lr=1.0, hint="h").step((w * np.nan).sum())
    with pytest.raises(ValueError, match="clip_mode"):
        Trainer([w], "sgd", lr=1.0, clip_mode="both")


def test_due_every_n_and_at_the_end():
    assert [i for i in range(1, 12) if due(i, 5, 11)] == [5, 10, 11]


def test_pad_fills_after_each_end_time_major():
    out, lengths = pad([[1, 2, 3], [4]], IGNORE)
    np.testing.assert_array_equal(out, [[1, 4], [2, IGNORE], [3, IGNORE]])
    np.testing.assert_array_equal(lengths, [3, 1])


def test_pad_refuses_an_empty_batch_clearly():
    with pytest.raises(ValueError, match="no sequences"):
        pad([], IGNORE)
