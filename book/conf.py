"""Sphinx configuration of the course's static site (``make book``; see book/build.py).

Sphinx + MyST-NB with the book theme, all from PyPI. The notebooks are not executed: their saved
(full-mode) outputs are the pages. Math is rendered by a MathJax copied from the
``jupyter-server-mathjax`` package into the site, so no page needs the network.
"""

from pathlib import Path

import jupyter_server_mathjax

project = "vae-course: variational autoencoders, checked by running code"
author = "the vae-course authors"
extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# the notebooks as saved: no kernel at build time
nb_execution_mode = "off"
# widgets have no kernel here: show each demo's static picture (its image/png), and load no widget
# JavaScript from a CDN
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_ipywidgets_js = {}
myst_enable_extensions = ["dollarmath", "amsmath"]
# the prose that cells print (display(Markdown(...))) is parsed like a markdown cell, math included
nb_render_markdown_format = "myst"
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # notebooks may step from # to ### (a sub-point of a section)

html_theme = "sphinx_book_theme"
html_title = "VAE course"
html_theme_options = {"show_toc_level": 2, "use_download_button": False}
html_static_path = []
# the theme's light/dark switch starts from the reader's system setting (left empty, the theme logs
# "Got invalid theme mode" to the console on every page)
html_context = {"default_mode": "auto"}
html_show_sourcelink = False
html_favicon = "favicon.svg"  # without one, a browser asks the server for /favicon.ico (a 404)

# MathJax 2 from the jupyter-server-mathjax package, copied next to the pages (see setup below)
MATHJAX = Path(jupyter_server_mathjax.__file__).parent / "static"
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"  # the config the package ships
mathjax2_config = {"tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                               "processEscapes": True,
                               # MyST marks notebooks ignore and the math spans "math"
                               "processClass": "tex2jax_process|mathjax_process|math|output_area"},
                   # the package ships the STIX-Web fonts only. HTML-CSS's blank probe font points at
                   # about:blank (a console error in Chromium): a local() font fails without a request
                   "HTML-CSS": {"availableFonts": ["STIX-Web"], "preferredFont": "STIX-Web",
                                "webFont": "STIX-Web", "imageFont": None,
                                "styles": {"@font-face": {"font-family": "MathJax_Blank",
                                                          "src": "local('MathJax_Blank')"}}},
                   # the hidden MathML for screen readers (AssistiveMML) takes NativeMML's styles, which
                   # ask for TeX .otf web fonts the package does not ship (404s): local fonts only
                   "NativeMML": {"styles": {
                       **{f'[class="MJX-tex-{v}"]': {"font-family": "MathJax_Caligraphic"}
                          for v in ("caligraphic", "caligraphic-bold", "oldstyle", "oldstyle-bold")},
                       **{f'[mathvariant="{v}"]': {"font-family": family} for v, family in (
                           ("double-struck", "MathJax_AMS"), ("script", "MathJax_Script"),
                           ("bold-script", "MathJax_Script"), ("fraktur", "MathJax_Fraktur"),
                           ("bold-fraktur", "MathJax_Fraktur"))}}}}


def _copy_mathjax(app, exception):
    import shutil

    if exception is None and app.builder.format == "html":
        target = Path(app.outdir) / "_static" / "mathjax"
        if not target.exists():
            shutil.copytree(MATHJAX, target, ignore=shutil.ignore_patterns("*.md", "test"))


def setup(app):
    app.connect("build-finished", _copy_mathjax)
