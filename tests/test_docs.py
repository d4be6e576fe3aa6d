"""The documentation site builds with `mkdocs build --strict`, and its checks fail on planted mistakes.

The build runs docs/site_checks.py as a hook: every internal link and image
resolves, every public name of tinyrnn, tinyrnn.functional, tinyrnn.nn,
tinyrnn.optim and tinyrnn.io has an entry on the API pages (an undocumented name
has none), and every notebook is in the nav with a page that shows its committed
outputs and pictures; a problem is a warning, which --strict makes an error. The
tests that build are skipped only when mkdocs is not installed (the `docs` extra;
the `test` extra includes it). The examples in the library's docstrings and in
the guide run and print what they say.
"""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs"))
import site_checks  # noqa: E402  (docs/ is no package)


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


# ---- the site ------------------------------------------------------------------
def test_the_site_builds_strict_and_passes_its_checks(site):
    """The fixture built it with --strict (the hook's checks included); here: they looked at something."""
    names = site_checks.public_names()
    assert {"tinyrnn.Tensor", "tinyrnn.nn.LSTM", "tinyrnn.optim.Adam", "tinyrnn.io.load"} <= set(names)
    assert len(site_checks.NOTEBOOKS) >= 6
    assert len(list(site.rglob("*.html"))) >= 15
    yaml = pytest.importorskip("yaml")  # a dependency of mkdocs
    assert "hooks" in yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


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
        f"INHERIT: {ROOT / 'mkdocs.yml'}\ndocs_dir: {docs}\nnav: [index.md, guide.md]\nplugins: [search]\nhooks: []\n"
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
    assert site_checks.broken_links(copy) == ["guide/index.html -> ../no-such-page/"]


def test_api_checker_fails_on_a_planted_undocumented_name(site, monkeypatch):
    import tinyrnn

    def undocumented(x):
        return x

    undocumented.__module__ = "tinyrnn.ops"
    before = site_checks.missing_from_api(site, site_checks.public_names())
    monkeypatch.setattr(tinyrnn, "undocumented", undocumented, raising=False)
    monkeypatch.setattr(tinyrnn, "__all__", [*tinyrnn.__all__, "undocumented"])
    assert before == []
    assert site_checks.missing_from_api(site, site_checks.public_names()) == ["tinyrnn.undocumented"]


def test_notebook_checker_fails_on_a_page_without_outputs(site, tmp_path):
    copy = shutil.copytree(site, tmp_path / "site")
    nb = site_checks.NOTEBOOKS[0]
    page = copy / nb.relative_to(ROOT).with_suffix("") / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace("jp-OutputArea-child", "stripped"))
    page_problems = site_checks.notebook_page_problems(copy, [nb])
    assert len(page_problems) == 1 and page_problems[0].startswith(f"{nb.name}: page shows 0 outputs")
    page.unlink()
    assert site_checks.notebook_page_problems(copy, [nb]) == [f"{nb.name}: no page at {page.relative_to(copy)}"]


# ---- the repository's own Markdown files ------------------------------------------
FRONT_FILES = ["README.md", "CONTRIBUTING.md", "CHANGELOG.md", "benchmarks/README.md"]


def broken_markdown_links(path: Path) -> list[str]:
    """Relative links of a Markdown file whose target is not a file or folder of the repository."""
    links = re.findall(r"\]\(([^)\s]+)\)", path.read_text(encoding="utf-8"))
    local = [link.split("#")[0] for link in links if not urlsplit(link).scheme and not link.startswith("#")]
    return [link for link in local if not (path.parent / link).exists()]


def test_the_front_files_link_only_to_files_of_the_repository():
    assert {name: broken_markdown_links(ROOT / name) for name in FRONT_FILES} == {name: [] for name in FRONT_FILES}


def test_markdown_link_checker_fails_on_a_planted_broken_link(tmp_path):
    (tmp_path / "there.md").write_text("")
    (tmp_path / "README.md").write_text("[a](there.md) [b](docs/gone.md#top) [c](https://example.org) [d](#x)\n")
    assert broken_markdown_links(tmp_path / "README.md") == ["docs/gone.md"]


def readme_test_command(readme: str) -> str:
    """The README's command that installs the test extra and runs the tests."""
    return next(line for line in readme.splitlines() if '".[test]"' in line and "pytest" in line).strip()


def test_ci_runs_the_readme_test_command():
    command = readme_test_command((ROOT / "README.md").read_text(encoding="utf-8"))
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in ci
    assert readme_test_command(f"```\n{command} -x\n```") not in ci  # a changed command would fail
