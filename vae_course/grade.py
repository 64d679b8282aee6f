"""Grade submitted notebooks headless and write a CSV of per-exercise results.

    python -m vae_course.grade SUBMISSIONS_DIR --out grades.csv [--timeout 600]
        [--notebook-timeout 1800] [--full]

Every ``*.ipynb`` under ``SUBMISSIONS_DIR`` is one submission; the student is its path relative to
that folder without ``.ipynb`` (``alice.ipynb`` -> ``alice``, ``alice/05_vae.ipynb`` ->
``alice/05_vae``). Which course notebook it is comes from its file name (``NN_name.ipynb`` ->
``nbNN``), else from the checks it imports (``from vae_course.checks.nbNN import ...``).

Each submission runs in a fresh kernel, in a temporary folder holding a copy of it, with its own
empty model cache (``VAE_COURSE_CACHE``: no student loads a model another one trained), fast mode
on (``VAE_COURSE_FAST=1``; ``--full`` turns it off), errors allowed (a failing cell does not stop
the run), a time limit per cell (``--timeout``) and one for the whole notebook, counted from its
first cell (``--notebook-timeout``: past it the kernel is shut down and the remaining exercises are
``not run``). Datasets come from ``VAE_COURSE_DATA`` as usual.

Every ``exN.check(...)`` a submission runs appends a line to the log named by
``VAE_COURSE_GRADE_LOG`` (see ``vae_course.checks.core``). The CSV has one row per student and
exercise of that notebook (``vae_course/checks/nbNN.py`` lists them): columns
``student, notebook, exercise, title, status, message``, status one of ``passed``, ``failed``,
``not attempted`` or ``not run`` (the check never ran). The last check of an exercise counts, and
only checks of the notebook the file was taken to be (the log line's ``module`` is
``vae_course.checks.nbNN``): a ``05_vae.ipynb`` that runs notebook 00's checks gets ``not run``.

One broken submission only affects its own rows, all ``not run`` with a message saying why: a file
that is not a readable notebook (not JSON, not a notebook, a cell without a source), or a grade log
with a malformed line (not a JSON object with the keys above, of the right types). Cells a
spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) are written with a leading ``'`` (OWASP's advice against CSV injection).

Submissions are code: run this where running a stranger's code is acceptable (a container).
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import math
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from vae_course.checks.core import FAILED, NOT_ATTEMPTED, PASSED, Exercise, exercises_in

NOT_RUN = "not run"
COLUMNS = ["student", "notebook", "exercise", "title", "status", "message"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula
LOG_TEXT_FIELDS = ("title", "status", "message", "module")  # besides the number "exercise"


class MalformedLog(ValueError):
    """A grade log line that is not what ``Exercise.check`` writes."""


def find_submissions(folder: Path) -> list[Path]:
    """Every notebook under ``folder``, skipping Jupyter's checkpoints and hidden folders."""
    return sorted(p for p in Path(folder).rglob("*.ipynb")
                  if not any(part.startswith(".") for part in p.relative_to(folder).parts))


def unreadable_because(nb: nbformat.NotebookNode) -> str | None:
    """Why ``nb`` (as nbformat read it) cannot be graded, or None: every cell needs a source."""
    for index, cell in enumerate(nb.cells):
        if not isinstance(cell, dict) or not isinstance(cell.get("source"), str):
            return f"cell {index + 1} has no source"
    return None


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


def run_notebook(nb: nbformat.NotebookNode, name: str, timeout: int, fast: bool,
                 notebook_timeout: int = 1800) -> tuple[str, str | None]:
    """Execute ``nb`` in a temporary folder; return the text of its grade log and why the run
    fell short (the time limit, a dead kernel, or else the first cell that raised), if it did."""
    with tempfile.TemporaryDirectory(prefix="vae_course_grade_") as tmp:
        log = Path(tmp) / "grade_log.jsonl"
        nbformat.write(nb, Path(tmp) / name)
        env = dict(os.environ, VAE_COURSE_GRADE_LOG=str(log), VAE_COURSE_FAST="1" if fast else "0",
                   VAE_COURSE_CACHE=str(Path(tmp) / "cache"))  # no models shared between students
        client = NotebookClient(nb, timeout=timeout, allow_errors=True, interrupt_on_timeout=True,
                                kernel_name="python3", resources={"metadata": {"path": tmp}})
        error = None
        try:
            with client.setup_kernel(env=env):  # leaving it shuts the kernel down
                deadline = time.monotonic() + notebook_timeout
                for index, cell in enumerate(nb.cells):
                    # a cell may use what is left of the notebook's time, at most --timeout
                    left = math.ceil(deadline - time.monotonic())
                    client.timeout = max(1, min(timeout, left))
                    client.execute_cell(cell, index,
                                        execution_count=client.code_cells_executed + 1)
                    if time.monotonic() >= deadline:
                        error = (f"the notebook ran past its time limit of {notebook_timeout} s "
                                 f"(--notebook-timeout) in cell {index + 1}; it was stopped there")
                        break
        except Exception as e:  # the kernel died or did not start: keep what was logged
            error = f"the run stopped: {type(e).__name__}: {e}"
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    for index, cell in enumerate(nb.cells):  # cells counted from 1, as a reader counts
        for output in cell.get("outputs", []):
            if error is None and output.get("output_type") == "error":
                error = f"cell {index + 1} raised {output['ename']}: {output['evalue']}"
    return text, error


def read_grade_log(text: str) -> list[dict]:
    """The entries of a grade log, one JSON object per line as ``Exercise.check`` writes them;
    :class:`MalformedLog` names the first line that is not one."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise MalformedLog(f"line {number} is not JSON") from None
        if not isinstance(entry, dict):
            raise MalformedLog(f"line {number} is not a JSON object")
        for key in ("exercise", *LOG_TEXT_FIELDS):
            if key not in entry:
                raise MalformedLog(f"line {number} has no {key!r}")
        if not isinstance(entry["exercise"], int) or isinstance(entry["exercise"], bool):
            raise MalformedLog(f"line {number}: 'exercise' is not a whole number")
        for key in LOG_TEXT_FIELDS:
            if not isinstance(entry[key], str):
                raise MalformedLog(f"line {number}: {key!r} is not text")
        if entry["status"] not in (PASSED, FAILED, NOT_ATTEMPTED):
            raise MalformedLog(f"line {number}: 'status' is not one of {PASSED}, {FAILED}, "
                               f"{NOT_ATTEMPTED}")
        entries.append(entry)
    return entries


def one_line(message: str) -> str:
    """A multi-line feedback message as one CSV-friendly line."""
    return " | ".join(line.strip() for line in message.splitlines() if line.strip())


def not_run_row(student: str, message: str = "") -> dict:
    """A CSV row for a submission (or an exercise of it) whose checks did not run."""
    return {"student": student, "notebook": "", "exercise": "", "title": "", "status": NOT_RUN,
            "message": message}


def grade_submission(path: Path, student: str, timeout: int = 600, fast: bool = True,
                     notebook_timeout: int = 1800) -> list[dict]:
    """The CSV rows (dicts with ``COLUMNS``) of one submitted notebook."""
    row = not_run_row(student)
    try:
        nb = nbformat.read(path, as_version=4)
        problem = unreadable_because(nb)
    except Exception as e:
        problem = f"{type(e).__name__}: {e}"
    if problem:
        return [dict(row, message=f"could not read the notebook: not a readable notebook "
                                  f"({problem})")]
    notebook = notebook_id(path, nb)
    if notebook is None:
        return [dict(row, message="could not tell which course notebook this is: name the file "
                                  "NN_name.ipynb or keep its `from vae_course.checks.nbNN` import")]
    titles = {ex.number: ex.title for ex in exercises_for(notebook)}
    if not titles:
        return [dict(row, notebook=notebook, message="no exercises found for " + notebook)]
    rows = [dict(row, notebook=notebook, exercise=number, title=title)
            for number, title in sorted(titles.items())]
    log, error = run_notebook(nb, Path(path).name, timeout, fast, notebook_timeout)
    try:
        entries = read_grade_log(log)
    except MalformedLog as e:
        return [dict(r, message=f"the grade log had a malformed line ({e}): none of this "
                                f"submission's checks is counted") for r in rows]
    module = f"vae_course.checks.{notebook}"
    # the last check of each exercise counts; checks of another notebook's module do not
    last = {e["exercise"]: e for e in entries if e["module"] == module}
    others = sorted({e["module"] for e in entries if e["module"] != module})
    reasons = [error] if error else []
    if others:
        reasons.append(f"checks of {', '.join(others)} were ignored: this file is graded as "
                       f"{notebook}")
    why = "; ".join(reasons)
    for r in rows:
        if r["exercise"] in last:
            entry = last[r["exercise"]]
            r.update(status=entry["status"], message=one_line(entry["message"]))
        else:
            r["message"] = "the check did not run" + (f" ({why})" if why else "")
    return rows


def grade_folder(folder: Path, timeout: int = 600, fast: bool = True,
                 notebook_timeout: int = 1800) -> list[dict]:
    """The CSV rows of every submission under ``folder``, printing one summary line for each."""
    rows = []
    for path in find_submissions(folder):
        student = path.relative_to(folder).with_suffix("").as_posix()
        try:
            mine = grade_submission(path, student, timeout, fast, notebook_timeout)
        except Exception as e:  # a bug of the grader's own costs this student only, and says so
            mine = [not_run_row(student, f"the grader failed on this submission: "
                                         f"{type(e).__name__}: {e}")]
        passed = sum(r["status"] == PASSED for r in mine if r["exercise"] != "")
        total = sum(r["exercise"] != "" for r in mine)
        print(f"{student} ({mine[0]['notebook'] or '?'}): {passed}/{total} passed", flush=True)
        rows += mine
    return rows


def spreadsheet_safe(value: object) -> object:
    """``value``, with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(rows: list[dict], out: Path) -> None:
    """Write ``rows`` with ``COLUMNS``, every cell made spreadsheet-safe."""
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: spreadsheet_safe(v) for k, v in row.items()} for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_course.grade",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"), help="the CSV to write")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    parser.add_argument("--notebook-timeout", type=int, default=1800,
                        help="seconds allowed per notebook, counted from its first cell")
    parser.add_argument("--full", action="store_true",
                        help="run in full mode (VAE_COURSE_FAST=0) instead of fast mode")
    args = parser.parse_args(argv)
    if not find_submissions(args.submissions):
        print(f"error: no .ipynb files under {args.submissions}", file=sys.stderr)
        return 2
    rows = grade_folder(args.submissions, args.timeout, fast=not args.full,
                        notebook_timeout=args.notebook_timeout)
    write_csv(rows, args.out)
    print(f"wrote {args.out} ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
