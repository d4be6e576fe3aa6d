"""The exercise checkers (tinyrnn.exercises) pass the solutions below and fail, naming the
right gradient, time step or case, on planted mistakes of the kind students make.

The solutions live here only (the notebooks in notebooks/exercises/ hold stubs). Each
takes `mistake=None`; a named mistake changes the one line where a student would slip.
The last test runs every exercise notebook with its stub cells replaced by these
solutions, so the checker calls in the notebooks are the ones tested here.
"""

from __future__ import annotations

import inspect
import re
from functools import partial
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from test_notebooks import CELL_TIMEOUT

from tinyrnn import exercises as ex
from tinyrnn.exercises import ExerciseError

# ---- solutions (the names the notebooks use) -----------------------------------------


def sigmoid_vjp(y, g, mistake=None):
    if mistake == "s(1 + s)":
        return g * y * (1 + y)
    return g * y * (1 - y)


def softmax_vjp(y, g, mistake=None):
    if mistake == "diagonal only":
        return g * y * (1 - y)
    return y * (g - (g * y).sum(axis=-1, keepdims=True))


def matmul_vjp(a, b, g, mistake=None):
    if mistake == "wrong sign":
        return -(g @ b.T), -(a.T @ g)
    if mistake == "transposed":
        return g @ b.T, g.T @ a
    return g @ b.T, a.T @ g


def rnn_step_forward(x, h_prev, W_ih, W_hh, b, mistake=None):
    if mistake == "W_hh not transposed":
        return np.tanh(x @ W_ih.T + h_prev @ W_hh + b)
    return np.tanh(x @ W_ih.T + h_prev @ W_hh.T + b)


def rnn_step_backward(dh, x, h_prev, h, W_ih, W_hh, mistake=None):
    da = dh if mistake == "no dtanh" else dh * (1 - h**2)
    db = da if mistake == "bias not summed over the batch" else da.sum(axis=0)
    return {"x": da @ W_ih, "h_prev": da @ W_hh, "W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b": db}


def rnn_bptt(x, hs, W_ih, W_hh, dhs, mistake=None):
    grads = {"x": np.zeros_like(x), "W_ih": np.zeros_like(W_ih), "W_hh": np.zeros_like(W_hh), "b": 0}
    dh_next = np.zeros_like(hs[0])
    for t in reversed(range(len(x))):
        dh = dhs[t] if mistake == "no recurrent term" else dhs[t] + dh_next
        da = dh if mistake == "no dtanh" else dh * (1 - hs[t + 1] ** 2)
        h_prev = hs[t + 1] if mistake == "off by one step" else hs[t]
        grads["x"][t] = da @ W_ih
        grads["W_ih"] += da.T @ x[t]
        grads["W_hh"] += da.T @ h_prev
        grads["b"] = grads["b"] + da.sum(axis=0)
        dh_next = da @ W_hh
    grads["h0"] = dh_next
    return grads


def lstm_step_backward(dh, dc, cache, mistake=None):
    i, f, g, o, c = (cache[k] for k in "ifgoc")
    tanh_c = np.tanh(c)
    if mistake != "no path from h to c":
        dc = dc + dh * o * (1 - tanh_c**2)
    da_f = dc * (f if mistake == "f for c_prev" else cache["c_prev"]) * f * (1 - f)
    da = np.concatenate([dc * g * i * (1 - i), da_f, dc * i * (1 - g**2), dh * tanh_c * o * (1 - o)], axis=1)
    dc_prev = dc if mistake == "dc_prev without f" else dc * f
    return {
        "x": da @ cache["W_ih"],
        "h_prev": da @ cache["W_hh"],
        "c_prev": dc_prev,
        "W_ih": da.T @ cache["x"],
        "W_hh": da.T @ cache["h_prev"],
        "b": da.sum(axis=0),
    }


def clip_by_global_norm(grads, max_norm, mistake=None):
    norms = [np.sqrt((g**2).sum()) for g in grads]
    total_norm = np.sqrt(sum(n**2 for n in norms))
    if mistake == "per entry":
        return [np.clip(g, -max_norm, max_norm) for g in grads], total_norm
    if mistake == "per array":
        return [g * min(1.0, max_norm / max(n, 1e-12)) for g, n in zip(grads, norms)], total_norm
    if mistake == "always rescaled":
        return [g * max_norm / total_norm for g in grads], total_norm
    return [g * min(1.0, max_norm / total_norm) for g in grads], total_norm


def sample(logits, temperature, rng, mistake=None):
    if mistake == "temperature after softmax":
        p = np.exp(logits - logits.max())
        p = p / p.sum() / temperature
        return int(rng.choice(len(p), p=p / p.sum()))
    z = logits * temperature if mistake == "multiplied by T" else logits / temperature
    p = np.exp(z - z.max())
    if mistake == "argmax":
        return int(np.argmax(p))
    return int(rng.choice(len(p), p=p / p.sum()))


SOLUTIONS = [sigmoid_vjp, softmax_vjp, matmul_vjp, rnn_step_forward, rnn_step_backward, rnn_bptt]
SOLUTIONS += [lstm_step_backward, clip_by_global_norm, sample]


# ---- each checker passes the solutions and fails on planted mistakes ------------------


def test_the_solutions_pass(capsys):
    ex.check_vjp("sigmoid", sigmoid_vjp)
    ex.check_vjp("softmax", softmax_vjp)
    ex.check_vjp("matmul", matmul_vjp)
    ex.check_rnn_step(rnn_step_forward, rnn_step_backward)
    ex.check_rnn_bptt(rnn_bptt)
    ex.check_lstm_step_backward(lstm_step_backward)
    ex.check_clip_by_global_norm(clip_by_global_norm)
    ex.check_sample(sample)
    assert capsys.readouterr().out.count(": correct") == 8


def fails(message: str):
    """pytest.raises(ExerciseError) whose message contains `message` verbatim."""
    return pytest.raises(ExerciseError, match=re.escape(message))


def test_check_vjp_catches_wrong_vjps():
    with fails("sigmoid VJP: gradient 'x' is wrong at index (0, 0)"):
        ex.check_vjp("sigmoid", partial(sigmoid_vjp, mistake="s(1 + s)"))
    with fails("softmax VJP: gradient 'x' is wrong at index (0, 0)"):
        ex.check_vjp("softmax", partial(softmax_vjp, mistake="diagonal only"))
    with fails("matmul VJP: gradient 'a' is wrong at index (0, 0)") as caught:
        ex.check_vjp("matmul", partial(matmul_vjp, mistake="wrong sign"))
    assert "Every entry has the opposite sign" in str(caught.value)
    with fails("matmul VJP: gradient 'b': expected shape (4, 2), got shape (2, 4)"):
        ex.check_vjp("matmul", partial(matmul_vjp, mistake="transposed"))
    with pytest.raises(ValueError, match="op must be one of"):
        ex.check_vjp("tanh", sigmoid_vjp)


def test_check_rnn_step_catches_wrong_steps():
    with fails("rnn_step_forward: h is wrong at index (0, 0)"):
        ex.check_rnn_step(partial(rnn_step_forward, mistake="W_hh not transposed"), rnn_step_backward)
    with fails("rnn_step_backward: gradient 'x' is wrong at index (0, 0)"):
        ex.check_rnn_step(rnn_step_forward, partial(rnn_step_backward, mistake="no dtanh"))
    with fails("rnn_step_backward: gradient 'b': expected shape (4,), got shape (2, 4)"):
        ex.check_rnn_step(rnn_step_forward, partial(rnn_step_backward, mistake="bias not summed over the batch"))
    with fails("rnn_step_backward: expected a dict with keys ['W_hh', 'W_ih', 'b', 'h_prev', 'x'], got ['x']"):
        ex.check_rnn_step(rnn_step_forward, lambda *args: {"x": rnn_step_backward(*args)["x"]})


def test_check_rnn_bptt_names_the_gradient_and_the_time_step():
    """Without the recurrent term the last step (t = 4) is still right and t = 3 is the first
    wrong one; without tanh' already the last step is wrong; pairing da_t with h_t instead
    of h_{t-1} leaves every dx_t right and only dW_hh wrong."""
    with fails("rnn_bptt: gradient 'x' is wrong at time step t = 3 of 0..4 (right for every step after t = 3)"):
        ex.check_rnn_bptt(partial(rnn_bptt, mistake="no recurrent term"))
    with fails("rnn_bptt: gradient 'x' is wrong at time step t = 4 of 0..4 (the last step)"):
        ex.check_rnn_bptt(partial(rnn_bptt, mistake="no dtanh"))
    with fails("rnn_bptt: gradient 'W_hh' is wrong at index (0, 0)"):
        ex.check_rnn_bptt(partial(rnn_bptt, mistake="off by one step"))


def test_check_lstm_step_backward_names_the_gradient_and_the_gate():
    """Without the path h -> c every gate fed by dc (i, f, g) is wrong, the first one i; with f
    in place of c_{t-1} only da_f; without the factor f only dc_prev."""
    with fails("lstm_step_backward: gradient 'b' is wrong at index (0,) (gate i)"):
        ex.check_lstm_step_backward(partial(lstm_step_backward, mistake="no path from h to c"))
    with fails("lstm_step_backward: gradient 'b' is wrong at index (4,) (gate f)") as caught:
        ex.check_lstm_step_backward(partial(lstm_step_backward, mistake="f for c_prev"))
    assert "(4 of 16 entries wrong)" in str(caught.value)  # only f's 4 rows (H = 4)
    with fails("lstm_step_backward: gradient 'c_prev' is wrong at index (0, 0)"):
        ex.check_lstm_step_backward(partial(lstm_step_backward, mistake="dc_prev without f"))


def test_check_clip_by_global_norm_names_the_case():
    """Clipping each entry to [-1, 1] leaves 0.5 at 0.5, where the global rule scales it by
    1/100.5 (0.5 / 100.5 = 0.00497512); clipping each array by its own norm leaves [3, -4]
    (norm 5) alone, where the global rule scales it by 5/13 (3 -> 1.15385); always rescaling
    to max_norm doubles 0.3 in the case with global norm 0.5 and max_norm 1."""
    with fails(
        "case 'one large entry, global norm 100.5 > max_norm 1': array 0 is wrong at index (0,): expected 0.00497"
    ):
        ex.check_clip_by_global_norm(partial(clip_by_global_norm, mistake="per entry"))
    with fails("norm 13 > max_norm 5': array 0 is wrong at index (0,): expected 1.15385, got 3"):
        ex.check_clip_by_global_norm(partial(clip_by_global_norm, mistake="per array"))
    with fails(
        "case 'global norm 0.5 < max_norm 1 (no clipping)': array 0 is wrong at index (0,): expected 0.3, got 0.6"
    ):
        ex.check_clip_by_global_norm(partial(clip_by_global_norm, mistake="always rescaled"))

    def in_place(grads, max_norm):
        clipped, total = clip_by_global_norm(grads, max_norm)
        for g, c in zip(grads, clipped):
            g[...] = c
        return grads, total

    with fails("you changed input array 0 in place (return new arrays)"):
        ex.check_clip_by_global_norm(in_place)


def test_check_sample_catches_the_wrong_distribution():
    with fails("sample at temperature 0.5: index 0 drawn with frequency"):
        ex.check_sample(partial(sample, mistake="temperature after softmax"))
    with fails("sample at temperature 0.5: index 0 drawn with frequency"):
        ex.check_sample(partial(sample, mistake="multiplied by T"))
    with fails("sample at temperature 0.5: index 0 drawn with frequency 1.0000 in 4000 draws, expected probability"):
        ex.check_sample(partial(sample, mistake="argmax"))
    with fails("sample: expected an integer index in 0..4, got 'a'"):
        ex.check_sample(lambda logits, temperature, rng: "a")


# ---- the notebooks run top to bottom once their stubs hold the solutions ---------------

EXERCISE_DIR = Path(__file__).resolve().parent.parent / "notebooks" / "exercises"
EXERCISES = sorted(EXERCISE_DIR.glob("*.ipynb"))
SOURCES = {f.__name__: inspect.getsource(f) for f in SOLUTIONS}


def stub_cells(nb) -> list:
    return [c for c in nb.cells if "exercise" in c.metadata.get("tags", [])]


def test_the_exercises_are_there_numbered_without_outputs():
    assert [p.name[:3] for p in EXERCISES] == [f"{i:02d}_" for i in range(1, 7)]
    for path in EXERCISES:
        nb = nbformat.read(path, as_version=4)
        assert all(not c.outputs and c.execution_count is None for c in nb.cells if c.cell_type == "code"), path.name
        assert stub_cells(nb), f"{path.name}: no cell tagged 'exercise'"
        for cell in stub_cells(nb):
            assert "raise NotImplementedError" in cell.source, f"{path.name}: a stub without NotImplementedError"


@pytest.mark.parametrize("path", EXERCISES, ids=[p.stem for p in EXERCISES])
def test_exercise_notebook_passes_its_checkers_with_the_solutions(path):
    """Each stub cell defines functions; they are replaced by the solutions of the same
    names, and the notebook (checker calls included) must run without an error."""
    nb = nbformat.read(path, as_version=4)
    for cell in stub_cells(nb):
        names = re.findall(r"^def (\w+)\(", cell.source, flags=re.M)
        assert names and all(n in SOURCES for n in names), f"{path.name}: no solution for {names}"
        cell.source = "\n\n".join(SOURCES[n] for n in names)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    printed = "".join(out.get("text", "") for c in nb.cells if c.cell_type == "code" for out in c.outputs)
    assert ": correct" in printed
