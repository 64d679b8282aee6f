"""Shared test setup: a headless matplotlib and the data folder CI uses when none is set."""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if "VAE_COURSE_DATA" not in os.environ and _SHARED.is_dir():
    os.environ["VAE_COURSE_DATA"] = str(_SHARED)
