"""The teaching notebooks run top to bottom without an error, so they cannot rot.

Each notebook is read into memory and executed there with nbclient (in the
notebooks/ folder, on the `python3` kernel, which ipykernel provides for the
interpreter running the tests); the committed files are never written. The
notebooks check their own claims with asserts (tinyrnn == NumPy by hand ==
torch), so a wrong number fails the test like an exception does.

A number that the text quotes from an output is marked
`<span title="printed above">1.72</span>` (or "printed below"); after the fresh
run, every such number must appear in the notebook's outputs, so text and
outputs cannot drift apart.
"""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds; the slowest cell (notebook 09's training) takes about a minute on one idle core


QUOTED = re.compile(r'<span title="printed (?:above|below)">([^<]+)</span>')


def quoted(nb) -> list[str]:
    """The numbers the markdown cells quote from the outputs, in order."""
    return [q for cell in nb.cells if cell.cell_type == "markdown" for q in QUOTED.findall(cell.source)]


def output_text(nb) -> str:
    """Everything the code cells printed or displayed as text."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            parts.append(out.get("text", "") + out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def quotes_not_in_outputs(nb) -> list[str]:
    """Quoted numbers that no output shows as a whole number (1.72 is not found in 11.72 or 1.725)."""
    text = output_text(nb)
    return [q for q in quoted(nb) if not re.search(rf"(?<![\w.]){re.escape(q)}(?![\w]|\.\d)", text)]


def test_the_notebooks_are_there_numbered_in_reading_order():
    assert len(NOTEBOOKS) >= 6
    assert [p.name[:3] for p in NOTEBOOKS] == [f"{i:02d}_" for i in range(1, len(NOTEBOOKS) + 1)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_with_its_outputs(path):
    """A reader on a code host sees the outputs and plots: every code cell was run, in order, and a plot is there."""
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1))
    assert any("image/png" in out.get("data", {}) for c in cells for out in c.outputs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_starts_with_the_clis_runtime_settings(path):
    """The first code cell sets one BLAS thread and malloc's reuse itself (tinyrnn.runtime), as the CLIs do,
    so a notebook runs as fast in plain Jupyter as the CLIs run, with no environment set up for it."""
    first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    lines = first.source.splitlines()
    assert "use_one_blas_thread()" in " ".join(lines) and "keep_freed_memory()" in " ".join(lines)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK_DIR)}}
    )
    client.execute()  # raises CellExecutionError naming the cell and the error
    assert quotes_not_in_outputs(nb) == [], "the text quotes numbers that this run did not print"


def test_the_text_quotes_numbers_from_the_outputs():
    """The committed outputs show every quoted number, and the check is not vacuous."""
    notebooks = {p.stem: nbformat.read(p, as_version=4) for p in NOTEBOOKS}
    assert sum(len(quoted(nb)) for nb in notebooks.values()) >= 15
    assert {name: quotes_not_in_outputs(nb) for name, nb in notebooks.items()} == {name: [] for name in notebooks}


@pytest.mark.parametrize("planted", ["2858", "285", "2857.5", "2.857"])
def test_a_changed_quoted_number_is_caught(planted):
    nb = nbformat.read(NOTEBOOK_DIR / "03_bptt_and_vanishing_gradients.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "markdown" and '">2857</span>' in c.source)
    cell.source = cell.source.replace('">2857</span>', f'">{planted}</span>')
    assert quotes_not_in_outputs(nb) == [planted]
