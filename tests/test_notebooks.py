"""The teaching notebooks run top to bottom without an error, so they cannot rot.

Each notebook is read into memory and executed there with nbclient (in the
notebooks/ folder, on the `python3` kernel, which ipykernel provides for the
interpreter running the tests); the committed files are never written. The
notebooks check their own claims with asserts (tinyrnn == NumPy by hand ==
torch), so a wrong number fails the test like an exception does.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 120  # seconds; a whole notebook takes under 60 s on a 2-core machine


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
