"""Grade submitted notebooks headless and write a CSV of per-exercise results.

    python -m vae_course.grade SUBMISSIONS_DIR --out grades.csv [--timeout 600] [--full]

Every ``*.ipynb`` under ``SUBMISSIONS_DIR`` is one submission; the student is its path relative to
that folder without ``.ipynb`` (``alice.ipynb`` -> ``alice``, ``alice/05_vae.ipynb`` ->
``alice/05_vae``). Which course notebook it is comes from its file name (``NN_name.ipynb`` ->
``nbNN``), else from the checks it imports (``from vae_course.checks.nbNN import ...``).

Each submission runs in a fresh kernel, in a temporary folder holding a copy of it, with its own
empty model cache (``VAE_COURSE_CACHE``: no student loads a model another one trained), fast mode
on (``VAE_COURSE_FAST=1``; ``--full`` turns it off), errors allowed (a failing cell does not stop
the run) and a time limit per cell. Datasets come from ``VAE_COURSE_DATA`` as usual.

Every ``exN.check(...)`` a submission runs appends a line to the log named by
``VAE_COURSE_GRADE_LOG`` (see ``vae_course.checks.core``). The CSV has one row per student and
exercise of that notebook (``vae_course/checks/nbNN.py`` lists them): columns
``student, notebook, exercise, title, status, message``, status one of ``passed``, ``failed``,
``not attempted`` or ``not run`` (the check never ran). The last check of an exercise counts.

Submissions are code: run this where running a stranger's code is acceptable (a container).
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from vae_course.checks.core import Exercise, exercises_in

NOT_RUN = "not run"
COLUMNS = ["student", "notebook", "exercise", "title", "status", "message"]


def find_submissions(folder: Path) -> list[Path]:
    """Every notebook under ``folder``, skipping Jupyter's checkpoints and hidden folders."""
    return sorted(p for p in Path(folder).rglob("*.ipynb")
                  if not any(part.startswith(".") for part in p.relative_to(folder).parts))


def notebook_id(path: Path, nb: nbformat.NotebookNode) -> str | None:
    """``nbNN`` from the file name ``NN_*.ipynb``, else from the checks module the code imports."""
    if m := re.match(r"(\d\d)_", Path(path).name):
        return f"nb{m[1]}"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    m = re.search(r"vae_course\.checks\.(nb\d\d)\b|from\s+vae_course\.checks\s+import\s+(nb\d\d)",
                  code)
    return (m[1] or m[2]) if m else None


def exercises_for(notebook: str) -> list[Exercise]:
    """The exercises of ``vae_course/checks/<notebook>.py`` (empty when there is no such module)."""
    try:
        module = importlib.import_module(f"vae_course.checks.{notebook}")
    except ModuleNotFoundError:
        return []
    return exercises_in(module)


def run_notebook(nb: nbformat.NotebookNode, name: str, timeout: int, fast: bool
                 ) -> tuple[list[dict], str | None]:
    """Execute ``nb`` in a temporary folder; return its check-log entries and its first error."""
    with tempfile.TemporaryDirectory(prefix="vae_course_grade_") as tmp:
        log = Path(tmp) / "grade_log.jsonl"
        nbformat.write(nb, Path(tmp) / name)
        env = dict(os.environ, VAE_COURSE_GRADE_LOG=str(log), VAE_COURSE_FAST="1" if fast else "0",
                   VAE_COURSE_CACHE=str(Path(tmp) / "cache"))  # no models shared between students
        client = NotebookClient(nb, timeout=timeout, allow_errors=True, interrupt_on_timeout=True,
                                kernel_name="python3", resources={"metadata": {"path": tmp}})
        error = None
        try:
            client.execute(env=env)
        except Exception as e:  # the kernel died or did not start: keep what was logged
            error = f"the run stopped: {type(e).__name__}: {e}"
        entries = ([json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()
                    if line.strip()] if log.exists() else [])
    for index, cell in enumerate(nb.cells):  # cells counted from 1, as a reader counts
        for output in cell.get("outputs", []):
            if error is None and output.get("output_type") == "error":
                error = f"cell {index + 1} raised {output['ename']}: {output['evalue']}"
    return entries, error


def one_line(message: str) -> str:
    """A multi-line feedback message as one CSV-friendly line."""
    return " | ".join(line.strip() for line in message.splitlines() if line.strip())


def grade_submission(path: Path, student: str, timeout: int = 600, fast: bool = True
                     ) -> list[dict]:
    """The CSV rows (dicts with ``COLUMNS``) of one submitted notebook."""
    row = {"student": student, "notebook": "", "exercise": "", "title": "", "status": NOT_RUN}
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:
        return [dict(row, message=f"could not read the notebook: {type(e).__name__}: {e}")]
    notebook = notebook_id(path, nb)
    if notebook is None:
        return [dict(row, message="could not tell which course notebook this is: name the file "
                                  "NN_name.ipynb or keep its `from vae_course.checks.nbNN` import")]
    entries, error = run_notebook(nb, Path(path).name, timeout, fast)
    last = {int(e["exercise"]): e for e in entries}  # the last check of each exercise counts
    titles = {ex.number: ex.title for ex in exercises_for(notebook)}
    rows = []
    for number in sorted(set(titles) | set(last)):
        if number in last:
            entry = last[number]
            status, title, message = entry["status"], entry["title"], one_line(entry["message"])
        else:
            status, title = NOT_RUN, titles[number]
            message = "the check did not run" + (f" ({error})" if error else "")
        rows.append(dict(row, notebook=notebook, exercise=number, title=title, status=status,
                         message=message))
    return rows or [dict(row, notebook=notebook, message="no exercises found for " + notebook)]


def grade_folder(folder: Path, timeout: int = 600, fast: bool = True) -> list[dict]:
    """The CSV rows of every submission under ``folder``, printing one summary line for each."""
    rows = []
    for path in find_submissions(folder):
        student = path.relative_to(folder).with_suffix("").as_posix()
        mine = grade_submission(path, student, timeout, fast)
        passed = sum(r["status"] == "passed" for r in mine if r["exercise"] != "")
        total = sum(r["exercise"] != "" for r in mine)
        print(f"{student} ({mine[0]['notebook'] or '?'}): {passed}/{total} passed", flush=True)
        rows += mine
    return rows


def write_csv(rows: list[dict], out: Path) -> None:
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_course.grade",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"), help="the CSV to write")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    parser.add_argument("--full", action="store_true",
                        help="run in full mode (VAE_COURSE_FAST=0) instead of fast mode")
    args = parser.parse_args(argv)
    if not find_submissions(args.submissions):
        print(f"error: no .ipynb files under {args.submissions}", file=sys.stderr)
        return 2
    rows = grade_folder(args.submissions, args.timeout, fast=not args.full)
    write_csv(rows, args.out)
    print(f"wrote {args.out} ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
