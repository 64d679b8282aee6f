"""The static site (`make book`): a reader without an install finds every notebook as a page, with
its figures and rendered math, and nothing on it points to a missing page or to the network."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


class Page(HTMLParser):
    """The links, sources, ids and <script>/<link> addresses of one HTML page."""

    def __init__(self, path: Path):
        super().__init__()
        self.refs, self.ids, self.assets = [], set(), []
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key):
                self.refs.append(attrs[key])
                if tag in ("script", "link", "img", "iframe", "source"):
                    self.assets.append(attrs[key])


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    pytest.importorskip("myst_nb", reason="the static site needs the test extra: pip install -e '.[test]'")
    import importlib.util

    spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    return build.build(tmp_path_factory.mktemp("book")).parent


def pages(site: Path) -> list[Path]:
    return sorted(site.glob("*.html"))


def test_every_notebook_has_a_page_linked_from_the_front_page_in_course_order(site):
    front = Page(site / "index.html")
    linked = [r.split("#")[0] for r in front.refs if re.match(r"^\d\d_.*\.html", r)]
    order = list(dict.fromkeys(linked))  # first appearance
    assert order == [f"{nb.stem}.html" for nb in NOTEBOOKS]
    assert all((site / name).is_file() for name in order)


def test_the_front_page_is_the_readme(site):
    title = (ROOT / "README.md").read_text().splitlines()[0].lstrip("# ").split(":")[0]
    assert title in (site / "index.html").read_text(encoding="utf-8")


def test_every_figure_of_a_notebook_is_an_image_on_its_page(site):
    for nb_path in NOTEBOOKS:
        nb = nbformat.read(nb_path, as_version=4)
        pngs = sum("image/png" in out.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
                   for out in cell.outputs)
        images = [s for s in Page(site / f"{nb_path.stem}.html").assets if s.startswith("_images/")]
        assert len(images) >= pngs, f"{nb_path.name}: {pngs} figures saved, {len(images)} on the page"
        assert all((site / unquote(s)).is_file() for s in images)


def test_widgets_show_their_static_picture_and_load_no_widget_script(site):
    for nb_path in NOTEBOOKS:
        page = site / f"{nb_path.stem}.html"
        assert "application/vnd.jupyter.widget-view+json" not in page.read_text(encoding="utf-8")
        assert not [a for a in Page(page).assets if "html-manager" in a or "embed-amd" in a], nb_path.name


def test_math_is_there_and_rendered_by_a_mathjax_inside_the_site(site):
    page = site / "02_gaussian_kl.html"
    text = page.read_text(encoding="utf-8")
    assert text.count('class="math') > 20, "the KL notebook's math is missing"
    (mathjax,) = [s for s in Page(page).assets if "MathJax.js" in s]
    assert (site / urlsplit(mathjax).path).is_file()


def test_no_page_asks_the_network_for_a_script_style_font_or_image(site):
    for path in pages(site):
        outside = [a for a in Page(path).assets if a.startswith(("http:", "https:", "//"))]
        assert outside == [], f"{path.name} loads {outside}"
    for css in (site / "_static").rglob("*.css"):
        text = css.read_text(errors="replace")
        found = re.findall(r"""(?:url\(|@import\s+)["']?((?:https?:)?//[^"')\s]+)""", text)
        assert found == [], f"{css.relative_to(site)} fetches {found}"


def test_no_internal_link_is_broken(site):
    ids = {path.name: Page(path).ids for path in pages(site)}
    broken = []
    for path in pages(site):
        for ref in Page(path).refs:
            parts = urlsplit(ref)
            if parts.scheme or ref.startswith(("//", "mailto:", "javascript:")):
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if not target.exists():
                broken.append(f"{path.name} -> {ref}")
            elif parts.fragment and target.suffix == ".html" and target.parent == site.resolve():
                if parts.fragment not in ids.get(target.name, set()):
                    broken.append(f"{path.name} -> {ref} (no such anchor)")
    assert broken == [], json.dumps(broken[:20], indent=1)


class Prose(HTMLParser):
    """The text a reader sees of one page, outside code, scripts and the math MathJax typesets."""

    SKIP = {"pre", "code", "script", "style", "textarea"}
    VOID = {"br", "img", "hr", "meta", "link", "input", "wbr"}  # no end tag

    def __init__(self, path: Path):
        super().__init__()
        self.stack: list[bool] = []  # per open element: does it hide its text from this check
        self.text: list[str] = []
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        self.stack.append(tag in self.SKIP or "math" in classes)

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not any(self.stack):
            self.text.append(data)


RAW_MATH = re.compile(r"\$[^$\s][^$]*?\$|\\\(|\\\[")


def test_no_page_shows_raw_latex_in_its_prose_printed_prose_included(site):
    # the prose that cells print (display(Markdown(...))) is parsed like a markdown cell: "$e^{-158}$"
    # must reach the reader as math, not as dollars (issue 24: 76 such places before)
    raw = {}
    for path in pages(site) + sorted((site / "docs").glob("*.html")):
        found = RAW_MATH.findall(" ".join(Prose(path).text))
        if found:
            raw[path.name] = found[:5]
    assert raw == {}, json.dumps(raw, indent=1, ensure_ascii=False)


def test_the_raw_latex_check_sees_dollars_in_prose_and_not_in_code_or_typeset_math(tmp_path):
    page = tmp_path / "p.html"
    page.write_text('<p>at least <span class="math">\\(e^{-158}\\)</span></p><pre>x = "$a$"</pre>')
    assert not RAW_MATH.findall(" ".join(Prose(page).text))
    page.write_text("<p>at least $e^{-158}$ and 5 $ or 6 $</p>")
    assert RAW_MATH.findall(" ".join(Prose(page).text)) == ["$e^{-158}$"]


def test_prose_that_cells_print_shows_without_the_code_that_printed_it(site):
    from vae_course.instructor.student import is_prose

    for nb_path in NOTEBOOKS:
        cells = nbformat.read(nb_path, as_version=4).cells
        prose = sum(c.cell_type == "code" and is_prose(c.source) for c in cells)
        html = (site / f"{nb_path.stem}.html").read_text(encoding="utf-8")
        assert html.count("tag_remove-input") == prose, (nb_path.name, prose)  # MyST-NB's mark
        assert html.count('class="cell_input') == sum(c.cell_type == "code" for c in cells) - prose
