"""The library never imports an application: data flows Tensor -> ops -> nn -> apps, not back.

Every module under tinyrnn/ outside tinyrnn/apps/ (and the thin `python -m tinyrnn.<task>`
entry modules) is parsed, and each of its imports, at the top or inside a function, is
resolved to a module name. None may name tinyrnn.apps or an entry module.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tinyrnn"
ENTRY_MODULES = {"tinyrnn.dinos", "tinyrnn.binary_add", "tinyrnn.charlm", "tinyrnn.seq2seq", "tinyrnn.tagging"}
APPLICATIONS = ("tinyrnn.apps", *ENTRY_MODULES)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, text: str | None = None) -> set[str]:
    """Every module `path` (or `text` as if it stood at `path`) imports; `from a import b`
    counts as both a and a.b (b may be a module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8") if text is None else text)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def is_application(module: str) -> bool:
    return any(module == app or module.startswith(app + ".") for app in APPLICATIONS)


LIBRARY = sorted(p for p in PACKAGE.rglob("*.py") if not is_application(module_name(p)))


def test_the_walk_sees_the_library_and_the_rule_catches_an_upward_import():
    names = {module_name(p) for p in LIBRARY}
    assert {"tinyrnn.tensor", "tinyrnn.ops", "tinyrnn.nn.recurrent", "tinyrnn.bptt.dinos"} <= names
    assert not names & {"tinyrnn.apps.cli", "tinyrnn.dinos"}
    planted = PACKAGE / "nn" / "planted.py"  # never written: its text is given
    for source in ["from tinyrnn.apps.cli import CELLS", "from ..apps import dinos", "import tinyrnn.charlm"]:
        found = imported_modules(planted, f"def f():\n    {source}\n")
        assert any(is_application(m) for m in found), source
    assert not any(is_application(m) for m in imported_modules(planted, "from .. import ops, functional\n"))


@pytest.mark.parametrize("path", LIBRARY, ids=module_name)
def test_no_library_module_imports_an_application(path):
    upward = sorted(m for m in imported_modules(path) if is_application(m))
    assert not upward, f"{module_name(path)} imports application module(s) {upward}"
