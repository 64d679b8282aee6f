"""The presenter's demos: the same models as notebooks 05 and 06, and `make demo` serves them offline."""

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from vae_course.budget import Budget
from vae_course.demos import presenter
from vae_course.demos.fallback import WidgetWithFallback

ROOT = Path(__file__).resolve().parents[1]


def notebook_recipe_numbers(name: str, fast: bool) -> dict:
    """N_TRAIN and EPOCHS as the notebook's own setup cell computes them."""
    nb = nbformat.read(ROOT / "solutions" / name, as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    out = {}
    for var in ("N_TRAIN", "EPOCHS"):
        (expr,) = re.findall(rf"^{var} = (B\.pick\([^)]*\))", source, re.M)
        out[var] = eval(expr, {"B": Budget(fast=fast)})
    return out


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("notebook", ["05_vae.ipynb", "06_cvae.ipynb"])
def test_the_demos_load_the_models_the_notebooks_trained(monkeypatch, notebook, fast):
    monkeypatch.setenv("VAE_COURSE_FAST", "1" if fast else "0")
    recipe = presenter.course_recipe("vae")
    assert notebook_recipe_numbers(notebook, fast) == {"N_TRAIN": recipe.n_train, "EPOCHS": recipe.epochs}


def test_the_kl_demo_is_a_widget_with_its_static_picture():
    demo = presenter.kl_demo()
    assert isinstance(demo, WidgetWithFallback) and demo.png[:4] == b"\x89PNG"


def test_every_demo_notebook_calls_one_presenter_demo():
    names = {"kl_demo", "latent_demo", "mixer_demo"}
    called = set()
    for path in sorted((ROOT / "demos").glob("*.ipynb")):
        code = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        assert len(code) == 1, f"{path.name}: one code cell, so that Voila shows the demo at once"
        called |= {n for n in names if f"{n}()" in code[0]}
    assert called == names


def test_make_demo_serves_the_demos_with_the_offline_presenter_template():
    make = shutil.which("make")
    if make is None:
        pytest.skip("no make on this machine")
    line = subprocess.run([make, "-n", "-C", str(ROOT), "demo"], capture_output=True, text=True,
                          check=True).stdout
    assert "voila --template=presenter" in line and "share/jupyter" in line and re.search(r"\sdemos\b", line)
    template = (ROOT / "share/jupyter/voila/templates/presenter/index.html.j2").read_text()
    assert "cdn." not in template and "http" not in template
