"""The static site (`make book`) as a reader's browser meets it: every page, served over HTTP, loads
with no failed request, nothing from outside the site, no console error, its math typeset by the
site's own MathJax, and no raw LaTeX left in the text a reader sees."""

import functools
import http.server
import importlib.util
import re
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# the text a reader sees: the page without code, scripts, and MathJax's own hidden copies of the math
VISIBLE_TEXT = """() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('pre, code, script, style, .MathJax_Preview, .mjx-assistive-mml, '
                        + '.MJX_Assistive_MathML, nav, .bd-sidebar-primary').forEach(e => e.remove());
  return body.innerText;
}"""
MATHJAX_DONE = """() => window.MathJax !== undefined && MathJax.Hub !== undefined
  && MathJax.Hub.queue.pending === 0 && MathJax.Hub.queue.running === 0
  && document.querySelectorAll('.MathJax_Processing, .MathJax_Preview:not(:empty)').length === 0"""
RAW_LATEX = re.compile(r"\$[^$\s][^$]*\$|\\\(|\\\[|\\(?:frac|mathbb|mathcal|sum|log|mu|sigma)\b")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served_site(tmp_path_factory):
    """The site built into a temporary folder and served on 127.0.0.1 (a free port)."""
    pytest.importorskip("myst_nb", reason="the static site needs the test extra: pip install -e '.[test]'")
    spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    site = build.build(tmp_path_factory.mktemp("site")).parent
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield site, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_every_page_loads_cleanly_and_shows_typeset_math_only(browser, served_site):
    site, base = served_site
    pages = sorted([*site.glob("*.html"), *site.glob("docs/*.html")])
    assert len(pages) >= 14, [p.name for p in pages]  # 10 notebooks, the front page, docs, CONTRIBUTING
    problems, typeset = {}, {}
    for path in pages:
        name = str(path.relative_to(site))
        found: list[str] = []
        tab = browser.new_page()
        tab.on("console", lambda m, found=found: found.append(f"console {m.type}: {m.text}")
               if m.type == "error" else None)
        tab.on("pageerror", lambda e, found=found: found.append(f"script error: {e}"))
        tab.on("requestfailed", lambda r, found=found: found.append(f"failed: {r.url}"))
        tab.on("response", lambda r, found=found: found.append(f"{r.status}: {r.url}")
               if r.status >= 400 else None)
        tab.on("request", lambda r, found=found: None if r.url.startswith((base, "data:", "blob:"))
               else found.append(f"outside the site: {r.url}"))
        tab.goto(base + name, wait_until="networkidle")
        if tab.evaluate("() => window.MathJax !== undefined"):
            tab.wait_for_function(MATHJAX_DONE, timeout=60_000)
            typeset[name] = tab.locator(".MathJax, .MathJax_Display").count()
            errors = tab.locator(".MathJax_Error, merror").count()
            if errors:
                found.append(f"{errors} math error(s) shown")
        raw = sorted({m.group(0)[:40] for m in RAW_LATEX.finditer(tab.evaluate(VISIBLE_TEXT))})
        if raw:
            found.append(f"raw LaTeX in the text: {raw[:5]}")
        tab.close()
        if found:
            problems[name] = found
    assert problems == {}, problems
    # the math is there and typeset on every notebook page (02, the KL notebook, has the most)
    notebook_pages = [p for p in typeset if re.match(r"\d\d_", p)]
    solutions = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "solutions").glob("*.ipynb"))
    assert sorted(p.removesuffix(".html") for p in notebook_pages) == solutions, typeset
    assert all(typeset[p] > 0 for p in notebook_pages), typeset
    assert typeset["02_gaussian_kl.html"] > 50, typeset
