"""The documentation site builds with `mkdocs build --strict`, and the built site is complete.

Checked on the built HTML: every internal link and image points at a file of the
site, every public name of tinyrnn, tinyrnn.nn, tinyrnn.optim, tinyrnn.functional
and tinyrnn.io has an entry on the API pages (mkdocstrings leaves out a name
without a docstring, so this also catches an undocumented one), and every
notebook has a page that shows its committed outputs and pictures. Each checker
is shown to fail on a planted mistake. The tests that build the site are skipped
only when mkdocs is not installed (the `docs` extra; the `test` extra includes it).
The examples in the library's docstrings and in the guide run and print what
they say.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import json
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import types
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))
API_MODULES = ["tinyrnn", "tinyrnn.functional", "tinyrnn.nn", "tinyrnn.nn.utils", "tinyrnn.optim", "tinyrnn.io"]


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config), "--site-dir", str(site)]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # no banner about MkDocs 2 on stderr
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    pytest.importorskip("mkdocs")
    site = tmp_path_factory.mktemp("site")
    run = mkdocs_build(ROOT / "mkdocs.yml", site)
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stdout}\n{run.stderr}"
    warnings = [line for line in run.stderr.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert not warnings, "\n".join(warnings)
    return site


# ---- the checkers --------------------------------------------------------------
class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.targets: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key) and tag in ("a", "img", "link", "script"):
                self.targets.append(attrs[key])


def parse(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def broken_links(site: Path) -> list[str]:
    """'page -> target' for every relative link or image whose file is not in the site."""
    broken = []
    for page in sorted(site.rglob("*.html")):
        for target in parse(page).targets:
            url = urlsplit(target)
            if url.scheme or url.netloc or not url.path:  # external, data: URIs, or #anchor on the page
                continue
            base = site if url.path.startswith("/") else page.parent  # 404.html links from the site's root
            path = (base / unquote(url.path).lstrip("/")).resolve()
            if path.is_dir():
                path = path / "index.html"
            if not path.is_file():
                broken.append(f"{page.relative_to(site)} -> {target}")
    return broken


def public_names() -> list[str]:
    """Every public name of the API modules: the module's __all__, or else what it defines itself."""
    names = []
    for modname in API_MODULES:
        module = importlib.import_module(modname)
        exported = getattr(module, "__all__", None)
        if exported is None:
            exported = [
                n
                for n, obj in vars(module).items()
                if not n.startswith("_") and getattr(obj, "__module__", None) == modname and not inspect.ismodule(obj)
            ]
        names += [f"{modname}.{n}" for n in exported]
    return names


def defined_at(name: str) -> str:
    """Where a re-exported object is defined (tinyrnn.Tensor -> tinyrnn.tensor.Tensor)."""
    modname, attr = name.rsplit(".", 1)
    obj = getattr(importlib.import_module(modname), attr)
    if inspect.ismodule(obj):
        return obj.__name__
    return f"{getattr(obj, '__module__', modname)}.{getattr(obj, '__qualname__', attr)}"


def missing_from_api(site: Path, names: list[str]) -> list[str]:
    """The names that have no entry (an element with the name as its id) on the API pages."""
    ids = set()
    for page in (site / "api").rglob("*.html"):
        ids |= parse(page).ids
    return [n for n in names if n not in ids and defined_at(n) not in ids]


def notebook_page_problems(site: Path, notebooks: list[Path]) -> list[str]:
    """Notebooks without a page, or whose page lacks the committed outputs or pictures."""
    problems = []
    for nb_path in notebooks:
        cells = [c for c in json.loads(nb_path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
        outputs = sum(len(c.get("outputs", [])) for c in cells)
        pictures = sum(1 for c in cells for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
        page = site / nb_path.relative_to(ROOT).with_suffix("") / "index.html"
        if not page.is_file():
            problems.append(f"{nb_path.name}: no page at {page.relative_to(site)}")
            continue
        html = page.read_text(encoding="utf-8")
        shown = len(re.findall(r'class="[^"]*\bjp-OutputArea-child\b', html))
        images = len(re.findall(r'<img[^>]+src="data:image/png', html))
        if outputs == 0:
            problems.append(f"{nb_path.name}: committed without outputs")
        if shown < outputs or images < pictures:
            problems.append(
                f"{nb_path.name}: page shows {shown} outputs and {images} pictures, "
                f"the notebook has {outputs} outputs and {pictures} pictures"
            )
    return problems


# ---- the site ------------------------------------------------------------------
def test_every_internal_link_and_image_resolves(site):
    assert broken_links(site) == []


def test_every_public_name_has_an_entry_on_the_api_pages(site):
    names = public_names()
    assert "tinyrnn.Tensor" in names and "tinyrnn.nn.LSTM" in names and "tinyrnn.optim.Adam" in names
    assert missing_from_api(site, names) == []


def test_every_notebook_is_in_the_nav_and_its_page_shows_its_outputs(site):
    assert NOTEBOOKS, "no notebooks found"
    yaml = pytest.importorskip("yaml")  # a dependency of mkdocs
    nav = json.dumps(yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"])
    assert [nb.name for nb in NOTEBOOKS if nb.relative_to(ROOT).as_posix() not in nav] == []
    assert notebook_page_problems(site, NOTEBOOKS) == []


def test_the_guide_runs():
    """The guide's code blocks, run in order as one script, print what the page says they print."""
    code = "\n".join(re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "guide.md").read_text(encoding="utf-8"), re.S))
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "(3, 1) [3. 3. 3. 3.]" in run.stdout and "{'epoch': 3}" in run.stdout


def library_modules() -> list[str]:
    """Every module of the library: tinyrnn and its subpackages, without the applications and their entry points."""
    import tinyrnn

    names = ["tinyrnn"] + [m.name for m in pkgutil.walk_packages(tinyrnn.__path__, "tinyrnn.")]
    apps = {
        "tinyrnn.apps",
        "tinyrnn.dinos",
        "tinyrnn.binary_add",
        "tinyrnn.charlm",
        "tinyrnn.seq2seq",
        "tinyrnn.tagging",
    }
    return [n for n in names if n not in apps and not n.startswith("tinyrnn.apps.")]


def run_examples(module: types.ModuleType) -> doctest.TestResults:
    return doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)


def test_the_docstring_examples_run():
    results = {name: run_examples(importlib.import_module(name)) for name in library_modules()}
    assert {name: r.failed for name, r in results.items() if r.failed} == {}
    assert sum(r.attempted for r in results.values()) >= 20  # the examples are there


# ---- each checker fails on a planted mistake ------------------------------------
def test_docstring_examples_fail_on_a_planted_wrong_output():
    planted = types.ModuleType("planted")
    planted.__doc__ = ">>> 1 + 1\n3\n"
    assert run_examples(planted) == doctest.TestResults(failed=1, attempted=1)


def test_strict_build_fails_on_a_broken_link(tmp_path):
    """The project's settings (strict, link validation) on a one-page copy of the docs with a broken link."""
    pytest.importorskip("mkdocs")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the guide](guide.md) and [nothing](no-such-page.md).\n")
    (docs / "guide.md").write_text("# Guide\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        f"INHERIT: {ROOT / 'mkdocs.yml'}\ndocs_dir: {docs}\nnav: [index.md, guide.md]\nplugins: [search]\n"
    )
    run = mkdocs_build(config, tmp_path / "site")
    assert run.returncode != 0
    assert "no-such-page.md" in run.stderr
    (docs / "index.md").write_text("# Home\n\nSee [the guide](guide.md).\n")
    assert mkdocs_build(config, tmp_path / "site").returncode == 0


def test_link_checker_fails_on_a_planted_broken_link(site, tmp_path):
    copy = shutil.copytree(site, tmp_path / "site")
    page = copy / "guide" / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</body>", '<a href="../no-such-page/">x</a></body>'))
    assert broken_links(copy) == ["guide/index.html -> ../no-such-page/"]


def test_api_checker_fails_on_a_planted_undocumented_name(site, monkeypatch):
    import tinyrnn

    def undocumented(x):
        return x

    undocumented.__module__ = "tinyrnn.ops"
    before = missing_from_api(site, public_names())
    monkeypatch.setattr(tinyrnn, "undocumented", undocumented, raising=False)
    monkeypatch.setattr(tinyrnn, "__all__", [*tinyrnn.__all__, "undocumented"])
    assert missing_from_api(site, public_names()) == [*before, "tinyrnn.undocumented"]


def test_notebook_checker_fails_on_a_page_without_outputs(site, tmp_path):
    copy = shutil.copytree(site, tmp_path / "site")
    nb = NOTEBOOKS[0]
    page = copy / nb.relative_to(ROOT).with_suffix("") / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace("jp-OutputArea-child", "stripped"))
    page_problems = notebook_page_problems(copy, [nb])
    assert len(page_problems) == 1 and page_problems[0].startswith(f"{nb.name}: page shows 0 outputs")
    page.unlink()
    assert notebook_page_problems(copy, [nb]) == [f"{nb.name}: no page at {page.relative_to(copy)}"]
