"""Checks of the built site, run by `mkdocs build` as a hook (mkdocs.yml: hooks), so `--strict` fails on them.

After the build: every internal link and image of every page points at a file of
the site; every public name of the API modules has an entry on the API pages
(mkdocstrings leaves out a name without a docstring, so an undocumented name is
caught too); every notebook under notebooks/ is in the nav and its page shows its
committed outputs and pictures. Each problem is logged as a warning, which
`--strict` turns into a failed build. tests/test_docs.py runs the build and shows
each checker failing on a planted mistake.
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))
API_MODULES = [
    "tinyrnn",
    "tinyrnn.functional",
    "tinyrnn.nn",
    "tinyrnn.nn.utils",
    "tinyrnn.optim",
    "tinyrnn.io",
    "tinyrnn.testing",
    "tinyrnn.runtime",
]
EXERCISES = ROOT / "notebooks" / "exercises"  # committed without outputs: the reader fills them in
log = logging.getLogger("mkdocs.hooks.site_checks")


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
    """Notebooks without a page, or whose page lacks the committed outputs or pictures.

    A notebook must be committed with its outputs, except the exercises, which
    the reader runs after filling them in.
    """
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
        if outputs == 0 and EXERCISES not in nb_path.parents:
            problems.append(f"{nb_path.name}: committed without outputs")
        if shown < outputs or images < pictures:
            problems.append(
                f"{nb_path.name}: page shows {shown} outputs and {images} pictures, "
                f"the notebook has {outputs} outputs and {pictures} pictures"
            )
    return problems


def problems(site: Path, nav) -> list[str]:
    """Every problem of the built site, one line each."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # document the checkout being built, as mkdocstrings does (paths: ["."])
    found = [f"broken link: {link}" for link in broken_links(site)]
    found += [f"{name}: no entry on the API pages (no docstring?)" for name in missing_from_api(site, public_names())]
    nav_text = json.dumps(nav)
    found += [
        f"{nb.name}: not in the nav of mkdocs.yml"
        for nb in NOTEBOOKS
        if nb.relative_to(ROOT).as_posix() not in nav_text
    ]
    found += notebook_page_problems(site, NOTEBOOKS)
    return found


def on_post_build(config, **kwargs) -> None:
    for problem in problems(Path(config["site_dir"]), config["nav"]):
        log.warning(problem)
