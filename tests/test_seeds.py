"""A claim about random numbers must survive another seed.

Every notebook's setup cell seeds itself from ``VAE_COURSE_SEED`` (``vae_course.train.course_seed``,
default 0, the seed of the saved outputs). Notebooks 01-03 train nothing, so here each of them runs
afresh with three other seeds, in fast mode, and every cell must run without an error: every assert
(each states what holds up to the noise, e.g. a mean within a few standard errors of its prediction,
a difference beyond 3 SE) passes on fresh random numbers too. About 15 seconds a run on a 2-core CPU.
"""

import re
from pathlib import Path

import nbformat
import pytest
from nbconvert.preprocessors import ExecutePreprocessor

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
UNTRAINED = ["01_latent_variables_and_elbo.ipynb", "02_gaussian_kl.ipynb", "03_reparameterization.ipynb"]
OTHER_SEEDS = [1, 2, 3]


def _setup_cell(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", sorted(SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.name)
def test_every_setup_cell_takes_its_seed_from_vae_course_seed(path):
    source = _setup_cell(path)
    seeded = re.findall(r"^seed_everything\((.*)\)", source, re.MULTILINE)
    assert seeded in (["course_seed()"], ["SEED"]), f"{path.name}'s setup cell seeds with {seeded}"
    if seeded == ["SEED"]:
        assert re.search(r"^SEED = course_seed\(\)", source, re.MULTILINE), f"{path.name}: SEED is not set"


@pytest.mark.parametrize("seed", OTHER_SEEDS)
@pytest.mark.parametrize("name", UNTRAINED)
def test_every_assert_of_an_untrained_notebook_passes_with_another_seed(monkeypatch, name, seed):
    monkeypatch.setenv("VAE_COURSE_SEED", str(seed))   # the kernel inherits this environment
    monkeypatch.setenv("VAE_COURSE_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")            # no figures to render
    nb = nbformat.read(SOLUTIONS / name, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        f"assert SEED == {seed}, f'the notebook ran with seed {{SEED}}, not {seed}'"))
    # raises CellExecutionError, with the cell and its traceback, at the first cell that fails
    run = ExecutePreprocessor(timeout=600, kernel_name="python3")
    run.preprocess(nb, {"metadata": {"path": str(SOLUTIONS)}})
