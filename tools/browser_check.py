"""Drive headless Chromium over the built site and check what a reader sees.

Serves ``docs/_build/html`` on localhost, opens the landing page, the task map,
the notation page and one page per chapter, and checks on each:

* no console errors and no failed requests (everything is served locally);
* every ``<img>`` has loaded (``naturalWidth > 0``);
* math is typeset: MathJax produced ``mjx-container`` elements and no raw TeX
  delimiters (``\\(`` / ``\\[``) are left in the text;
* the search page returns results for "Langevin";
* the wheel linked from the landing page downloads (a zip archive of probmods);
* no page of the gallery shows progress-bar output in its printed-output blocks.

Screenshots go to ``docs/_build/screenshots``. Exits non-zero on any failure.

Usage: ``python tools/browser_check.py [--chromium /usr/bin/chromium]``
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import socketserver
import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "docs" / "_build" / "html"
SHOTS = ROOT / "docs" / "_build" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def chapter_pages():
    pages = []
    for chapter in sorted((SITE / "auto_examples").iterdir()):
        if chapter.is_dir() and chapter.name not in ("images", "_static"):
            first = sorted(chapter.glob("plot_*.html"))
            if first:
                pages.append(str(first[0].relative_to(SITE)))
    return pages


BAR = re.compile(r"\d+%\|[^|\n]*\||it/s\]|s/it\]|[\u2589\u258a\u258b\u258c\u258d\u258e\u258f\u2588]{2}")


def progress_bar_pages():
    """Gallery pages whose printed-output blocks contain progress-bar characters."""
    bad = []
    for html in sorted((SITE / "auto_examples").rglob("plot_*.html")):
        text = html.read_text(encoding="utf-8")
        blocks = re.findall(r'<div class="sphx-glr-script-out[^"]*">(.*?)</div>\s*</div>', text, flags=re.S)
        blocks += re.findall(r'<pre class="sphx-glr-script-out"[^>]*>(.*?)</pre>', text, flags=re.S)
        if any(BAR.search(b) for b in blocks):
            bad.append(str(html.relative_to(SITE)))
    return bad


def serve():
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SITE))
    handler.log_message = lambda *a, **k: None
    httpd = socketserver.TCPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


def check_page(page, base, path, failures):
    errors, failed = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(base + path, wait_until="networkidle")
    page.wait_for_function("() => !window.MathJax || !MathJax.startup || MathJax.startup.promise", timeout=20000)
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    broken = page.evaluate(
        "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    n_img = page.evaluate("() => document.images.length")
    n_math = page.evaluate("() => document.querySelectorAll('mjx-container').length")
    n_tex_nodes = page.evaluate("() => document.querySelectorAll('.math').length")
    raw = page.evaluate(
        "() => { const t = document.body.innerText; return (t.match(/\\\\\\(|\\\\\\[|\\\\begin\\{/g) || []).length; }"
    )
    name = path.replace("/", "_").replace(".html", "") or "index"
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
    status = "ok"
    problems = []
    if errors:
        problems.append(f"console errors: {errors[:3]}")
    if failed:
        problems.append(f"failed requests: {failed[:3]}")
    if broken:
        problems.append(f"images not loaded: {broken[:3]}")
    if n_tex_nodes and not n_math:
        problems.append("math not typeset (no mjx-container)")
    if raw:
        problems.append(f"{raw} raw TeX delimiters left in the text")
    if problems:
        status = "; ".join(problems)
        failures.append(f"{path}: {status}")
    print(f"{path:60s} images {n_img:3d}, math {n_math:4d}: {status}  [{name}.png]")
    page.remove_listener("console", page.listeners("console")[0]) if hasattr(page, "listeners") else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    if not (SITE / "index.html").exists():
        sys.exit(f"no built site at {SITE}: run `nox -s docs` first")
    SHOTS.mkdir(parents=True, exist_ok=True)
    httpd, base = serve()
    failures = []
    paths = ["index.html", "task_map.html", "notation.html", "references.html",
             *chapter_pages()]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=ARGS, headless=True)
        for path in paths:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            check_page(page, base, path, failures)
            page.close()
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(base + "index.html", wait_until="networkidle")
        hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href$=\".whl\"]')).map(a => a.href)")
        if not hrefs:
            failures.append("index.html: no link to the probmods wheel")
        for href in hrefs:
            resp = page.request.get(href)
            body = resp.body()
            ok = resp.status == 200 and body[:2] == b"PK" and b"probmods/__init__.py" in body
            print(f"wheel {href.rsplit('/', 1)[-1]}: HTTP {resp.status}, {len(body):,} bytes, "
                  f"{'a zip with probmods' if ok else 'NOT a probmods wheel'}")
            if not ok:
                failures.append(f"wheel link {href} does not download a probmods wheel")
        page.close()
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(base + "search.html?q=Langevin", wait_until="networkidle")
        page.wait_for_selector("#search-results li, ul.search li", timeout=20000)
        n = page.evaluate("() => document.querySelectorAll('#search-results li, ul.search li').length")
        page.screenshot(path=str(SHOTS / "search_langevin.png"))
        print(f"search 'Langevin': {n} results  [search_langevin.png]")
        if n == 0:
            failures.append("search for 'Langevin' returned no results")
        browser.close()
    httpd.shutdown()
    bars = progress_bar_pages()
    n_pages = len(list((SITE / "auto_examples").rglob("plot_*.html")))
    print(f"progress bars in printed output: {len(bars)} of {n_pages} gallery pages")
    failures += [f"{p}: progress-bar output in the page" for p in bars]
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"\nall {len(paths)} pages passed; screenshots in {SHOTS}")


if __name__ == "__main__":
    main()
