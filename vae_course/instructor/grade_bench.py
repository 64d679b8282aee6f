"""How fast the grader grades: notebooks per minute at ``--jobs 1`` and ``--jobs 2``, same process.

    python -m vae_course.instructor.grade_bench [--notebook 01] [--copies 20] [--jobs 1 2]

Grades a folder of ``--copies`` copies of one solved notebook (``solutions/NN_*.ipynb``) once per
``--jobs`` value, in fast mode, sandboxed when bubblewrap is installed, and prints the time, the
notebooks per minute and the speed-up over the first value. Run it on an otherwise quiet machine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

from vae_course.instructor import grade


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_course.instructor.grade_bench",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--notebook", default="01", help="the course notebook, by number")
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--solutions", type=Path, default=Path("solutions"))
    parser.add_argument("--release", type=Path, default=Path("notebooks"))
    args = parser.parse_args(argv)
    found = sorted(args.solutions.glob(f"{args.notebook}_*.ipynb"))
    if not found:
        print(f"error: no {args.solutions}/{args.notebook}_*.ipynb", file=sys.stderr)
        return 2
    bwrap = grade.bwrap_path()
    settings = grade.Settings(args.release.resolve(), timeout=600, notebook_timeout=1800,
                              fast=True, bwrap=bwrap)
    print(f"{args.copies} copies of {found[0].name}, fast mode, "
          f"{'sandboxed (bwrap)' if bwrap else 'NOT sandboxed (no bwrap)'}")
    baseline = None
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.copies):
            shutil.copy(found[0], Path(tmp) / f"student{k:02d}_{found[0].name}")
        for jobs in args.jobs:
            started = time.monotonic()
            with contextlib.redirect_stdout(io.StringIO()):
                rows = grade.grade_folder(Path(tmp), settings, jobs)
            took = time.monotonic() - started
            passed = sum(r["status"] == "passed" for r in rows)
            baseline = baseline or took
            print(f"--jobs {jobs}: {took:6.1f} s, {60 * args.copies / took:5.1f} notebooks per "
                  f"minute, {baseline / took:.2f}x the first ({passed}/{len(rows)} checks passed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
