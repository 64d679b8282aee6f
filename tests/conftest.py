"""Shared test setup: a headless matplotlib and the data folder CI uses when none is set."""

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if "VAE_COURSE_DATA" not in os.environ and _SHARED.is_dir():
    os.environ["VAE_COURSE_DATA"] = str(_SHARED)


@pytest.fixture
def exercise_function():
    """Run a notebook's `# Exercise N:` cell as it stands and return the function it defines.

    ``exercise_function("02_gaussian_kl.ipynb", "solutions", 1, "kl_diag")``: the solved function, or
    from ``"notebooks"`` the student placeholder that the generator wrote.
    """
    import math

    import nbformat
    import torch
    from torch import nn
    from torch.distributions import Normal
    from torch.nn import functional as F

    from vae_course.checks.nb10 import _entropy_reference as entropy
    from vae_course.perceptual import feature_distance

    def load(notebook: str, folder: str, number: int, name: str):
        nb = nbformat.read(Path(__file__).resolve().parents[1] / folder / notebook, as_version=4)
        (source,) = [c.source for c in nb.cells
                     if c.cell_type == "code" and c.source.startswith(f"# Exercise {number}:")]
        # what the setup cells import, and earlier exercises' answers that later ones call
        # (09's training step calls the learner's feature_distance; the package's stands in)
        # (10's unlabelled loss calls the learner's entropy of exercise 2; the checks' reference stands in)
        namespace = {"torch": torch, "math": math, "nn": nn, "Normal": Normal, "F": F,
                     "feature_distance": feature_distance, "entropy": entropy}
        exec(source, namespace)
        return namespace[name]

    return load
