"""The whole course: wall time to execute every solution notebook, top to bottom, in a fresh kernel.

Each notebook in ``solutions/`` runs through ``jupyter nbconvert --execute`` in course order, its
output written to a temporary folder (``solutions/`` is left untouched), with ``VAE_COURSE_FAST``
set to the mode asked for and ``VAE_COURSE_CACHE`` pointed at a fresh, empty folder (a cold model
cache: every model is trained, none is loaded).
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"


def run_course(fast: bool, notebooks: list[Path] | None = None, timeout: int = 3600) -> dict:
    """Execute the notebooks (default: all of ``solutions/*.ipynb``) in ``fast`` or full mode.

    Returns ``{"seconds": total, "per_notebook": {name: seconds}, "failed": [names]}``. A notebook
    that raises counts its time and is listed in ``failed``.
    """
    notebooks = sorted(SOLUTIONS.glob("*.ipynb")) if notebooks is None else notebooks
    per_notebook, failed = {}, []
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, VAE_COURSE_FAST="1" if fast else "0", VAE_COURSE_CACHE=cache)
        env.pop("CI", None)
        for nb in notebooks:
            start = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute",
                 f"--ExecutePreprocessor.timeout={timeout}", "--output-dir", out, str(nb)],
                env=env, capture_output=True, text=True)
            per_notebook[nb.stem] = time.perf_counter() - start
            if result.returncode != 0:
                failed.append(nb.stem)
                print(f"{nb.name} failed:\n{result.stderr[-2000:]}", file=sys.stderr)
    return {"seconds": sum(per_notebook.values()), "per_notebook": per_notebook, "failed": failed}
