"""Open the built documentation site in a real headless browser and screenshot three pages.

Checks that the home page, one notebook page with its figures and one API page
render (their headings, navigation, figures decoded by the browser, an API
entry with its signature), and writes home.png, notebook.png and api.png into
the folder you name. Exits 1 with a message naming the page and what is
missing.

Needs Chromium and its driver from the system's packages and Selenium from PyPI
(not part of any extra, and not run by CI):

    apt-get update && apt-get install -y chromium chromium-driver   # Debian / Ubuntu
    pip install selenium
    pip install -e ".[docs]" && mkdocs build --strict               # writes site/
    python docs/check_site.py screenshots/                          # --site DIR for another build

The site is served from a local HTTP server on 127.0.0.1 only, and the browser
starts with a fresh profile, no network services of its own and no sandbox (so
that it runs as root in a container).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
NOTEBOOK = "notebooks/03_bptt_and_vanishing_gradients"  # four figures
API_PAGE, API_ENTRY = "api/nn", "tinyrnn.nn.LSTM"


class CheckFailed(Exception):
    pass


def serve(site: Path) -> http.server.ThreadingHTTPServer:
    """An HTTP server for `site` on 127.0.0.1 and a free port, answering from a daemon thread."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def browser(profile: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1100",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def expect(ok: bool, page: str, what: str) -> None:
    if not ok:
        raise CheckFailed(f"{page}: {what}")


def check_home(driver, base: str, out: Path) -> str:
    driver.get(base + "/")
    title = driver.find_element("css selector", "article h1").text
    expect(title == "tinyrnn", "home page", f"heading 'tinyrnn' expected, got {title!r}")
    nav = [a.text for a in driver.find_elements("css selector", "nav.md-nav--primary a.md-nav__link") if a.text]
    expect("Getting started" in nav and "API reference" in nav, "home page", f"navigation incomplete: {nav}")
    driver.save_screenshot(str(out / "home.png"))
    return f"home: heading {title!r}, {len(nav)} navigation links"


def check_notebook(driver, base: str, out: Path) -> str:
    source = json.loads((ROOT / (NOTEBOOK + ".ipynb")).read_text(encoding="utf-8"))
    pictures = sum(
        1 for c in source["cells"] if c["cell_type"] == "code" for o in c["outputs"] if "image/png" in o.get("data", {})
    )
    driver.get(f"{base}/{NOTEBOOK}/")
    figures = driver.find_elements("css selector", ".jp-OutputArea img")
    decoded = [img for img in figures if driver.execute_script("return arguments[0].naturalWidth", img) > 0]
    expect(pictures > 0 and len(decoded) == pictures, NOTEBOOK, f"{len(decoded)} of {pictures} figures rendered")
    outputs = driver.find_elements("css selector", ".jp-OutputArea-child")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", decoded[0])
    driver.save_screenshot(str(out / "notebook.png"))
    return f"notebook: {len(outputs)} outputs, {len(decoded)} of {pictures} figures decoded"


def check_api(driver, base: str, out: Path) -> str:
    driver.get(f"{base}/{API_PAGE}/")
    entries = driver.find_elements("css selector", f"[id='{API_ENTRY}']")
    expect(len(entries) == 1, API_PAGE, f"no entry with id {API_ENTRY}")
    entry = entries[0]
    signature = entry.find_element("xpath", "following::div[contains(@class, 'doc-signature')][1]").text
    expect("hidden_size" in signature, API_PAGE, f"{API_ENTRY}'s signature not shown: {signature!r}")
    driver.execute_script("arguments[0].scrollIntoView(); window.scrollBy(0, -80)", entry)  # below the header bar
    driver.save_screenshot(str(out / "api.png"))
    return f"api: {API_ENTRY} with signature {signature.splitlines()[0]!r}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for home.png, notebook.png, api.png (created if absent)")
    parser.add_argument("--site", type=Path, default=ROOT / "site", help="the built site (default: site/)")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        parser.error(f"--site {args.site}: no index.html; build the site first: mkdocs build --strict")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).is_file():
            parser.error(f"{path} not found: apt-get install -y chromium chromium-driver")
    args.out.mkdir(parents=True, exist_ok=True)
    server = serve(args.site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory(prefix="check-site-profile-") as profile:
        driver = browser(profile)
        try:
            for check in (check_home, check_notebook, check_api):
                print(check(driver, base, args.out))
        except CheckFailed as e:
            print(f"check_site: {e}", file=sys.stderr)
            return 1
        finally:
            driver.quit()
            server.shutdown()
    print(f"screenshots in {args.out}/: home.png notebook.png api.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
