"""Generate the student notebooks (``notebooks/``) from the solved ones (``solutions/``).

    python -m vae_course.instructor.student            # tag solutions/, write notebooks/
    python -m vae_course.instructor.student --check    # write nothing; list what is out of date

Run from the repository root (``make student``). The solved notebooks are the one source of truth,
in the format nbgrader reads as it is (``nbgrader generate_assignment`` on ``solutions/`` gives the
same code as ``notebooks/``; ``tests/test_nbgrader.py`` runs it):

- **Exercise cells** start with ``# Exercise N: title``; what the learner writes lies between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines, always inside a function or method body.
  Each region becomes nbgrader's placeholder, at the region's indentation::

      # YOUR CODE HERE
      raise NotImplementedError()

  These are nbgrader *solution* cells (``grade_id`` ``exN``).
- **Check cells** are ``exN.check(name)``, then nbgrader's hidden test ``exN.assert_passed()``
  between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` (added here when missing; removed
  from the student version). They are autograded, locked *test* cells (``grade_id`` ``exN-check``)
  worth the exercise's ``points`` in ``vae_course/checks/nbNN.py``.
- **The setup cell** (the first code cell: imports and seeds) is a locked read-only cell
  (``grade_id`` ``setup``).
- **Grading with nbgrader**: ``vae_course.instructor.nbgrader_steps.restore_hidden_tests``, an
  ``autograde`` step the ``nbgrader_config.py`` of docs/instructors.md names, spares an untouched check cell
  nbgrader's tamper warning.

- **Prose cells**, whose every statement is ``display(Markdown(...))`` (a sentence rendered from
  the run's numbers), are marked so that a reader meets the prose, not the f-string behind it: the
  ``remove-input`` tag (the static site leaves the code out) and ``jupyter.source_hidden`` (JupyterLab
  shows the code collapsed, one click away).

``tag`` writes that metadata (and the hidden lines) into the solved notebooks, changing nothing
else. The student version then clears outputs (except in cells containing
``# NBVAL_CHECK_OUTPUT``), execution counts and nbclient's timing metadata, and marks cells as
nbgrader's ``LockCells`` does (``editable``/``deletable``). A malformed region raises
:class:`RegionError` naming the notebook, the cell and the line (both counted from 1); so does a
marker written any other way than exactly (``## begin solution``, ``### BEGIN SOLUTION here``), an
exercise comment with no region below it, a region outside a function (its placeholder would raise
at the top level and stop a learner's *Run All*), and a notebook whose exercise and check cells do
not match its checks module one to one.
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib
import itertools
import json
import re
import sys
from pathlib import Path

import nbformat

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\s*$")
END = re.compile(r"^[ \t]*### END SOLUTION\s*$")
# what may have been meant as a marker: any number of #, any case, words after it
MARKER_LIKE = re.compile(r"^\s*#+\s*(BEGIN|END)[ _-]*(SOLUTION|HIDDEN TESTS)", re.IGNORECASE)
EXERCISE = re.compile(r"^\s*#\s*Exercise\s+(?P<number>\d+)\s*:\s*(?P<title>\S.*?)\s*$")
CHECK = re.compile(r"^ex(?P<number>\d+)\.check\((?P<answer>[A-Za-z_][A-Za-z_0-9]*)\)$")
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]  # nbgrader's ClearSolutions.code_stub
CHECK_OUTPUT = "# NBVAL_CHECK_OUTPUT"
SCHEMA_VERSION = 3  # nbgrader's cell metadata schema
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class RegionError(ValueError):
    """A solution region the generator cannot turn into a student exercise."""


def _python_only(source: str) -> str:
    """The cell with IPython magics (``%...``, ``!...``) turned into comments, lines kept."""
    return "\n".join(re.sub(r"^(\s*)[%!]", r"\1#", line) for line in source.split("\n"))


def _in_function(tree: ast.AST, line: int) -> bool:
    """Whether source line ``line`` (1-based) lies inside the body of a ``def``."""
    return any(isinstance(node, FUNCTIONS) and node.lineno < line <= node.end_lineno
               for node in ast.walk(tree))


def _check_markers(lines: list[str]) -> None:
    """Refuse a marker written another way than exactly ``### BEGIN SOLUTION`` /
    ``### END SOLUTION``: it would be copied through, and its solution with it."""
    for i, line in enumerate(lines):
        exact = BEGIN.match(line) or END.match(line) or line.strip() in (BEGIN_HIDDEN, END_HIDDEN)
        if MARKER_LIKE.match(line) and not exact:
            raise RegionError(f"line {i + 1}: `{line.strip()}` is not a marker; write exactly "
                              f"`### BEGIN SOLUTION`, `### END SOLUTION`, `{BEGIN_HIDDEN}` or "
                              f"`{END_HIDDEN}`")


def _check_every_exercise_has_a_region(lines: list[str]) -> None:
    """Refuse an exercise comment with no region below it (before the next exercise comment)."""
    starts = [i for i, line in enumerate(lines) if EXERCISE.match(line)]
    for start, stop in itertools.pairwise([*starts, len(lines)]):
        if not any(BEGIN.match(line) for line in lines[start:stop]):
            raise RegionError(f"line {start + 1}: `{lines[start].strip()}` has no "
                              "`### BEGIN SOLUTION` region below it (its solution would be "
                              "handed out)")


def strip_solutions(source: str) -> str:
    """The student version of one code cell's source (unchanged when it has no region)."""
    lines = source.splitlines(keepends=True)
    _check_markers(lines)
    if not any(BEGIN.match(line) or END.match(line) for line in lines):
        _check_every_exercise_has_a_region(lines)
        return source
    try:
        tree = ast.parse(_python_only(source))
    except SyntaxError as e:
        raise RegionError(f"line {e.lineno}: the exercise cell is not valid Python ({e.msg})"
                          ) from None
    out, i, exercise = [], 0, None
    while i < len(lines):
        line = lines[i]
        if m := EXERCISE.match(line):
            exercise = f"Exercise {int(m['number'])}: {m['title']}"
        if END.match(line):
            raise RegionError(f"line {i + 1}: END SOLUTION without a BEGIN SOLUTION before it")
        begin = BEGIN.match(line)
        if not begin:
            out.append(line)
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines))
                    if END.match(lines[j]) or BEGIN.match(lines[j])), None)
        if end is None:
            raise RegionError(f"line {i + 1}: BEGIN SOLUTION without an END SOLUTION after it")
        if BEGIN.match(lines[end]):
            raise RegionError(f"line {end + 1}: BEGIN SOLUTION inside the region opened on line "
                              f"{i + 1}; close that one with END SOLUTION first")
        if exercise is None:
            raise RegionError(f"line {i + 1}: no `# Exercise N: title` comment above the "
                              "solution region in this cell")
        indent, region = begin["indent"], lines[i + 1:end]
        if not any(r.strip() and not r.strip().startswith("#") for r in region):
            raise RegionError(f"line {i + 1}: the solution region holds no code")
        if not _in_function(tree, i + 1):
            raise RegionError(f"line {i + 1}: a solution region must lie inside a function or "
                              "method body (outside one, its placeholder `raise "
                              "NotImplementedError()` would stop the notebook)")
        new = [f"{indent}{stub}\n" for stub in STUB]
        if not lines[end].endswith("\n"):  # the region closed the cell: so does its replacement
            new[-1] = new[-1].rstrip("\n")
        out += new
        i = end + 1
    _check_every_exercise_has_a_region(lines)
    return "".join(out)


def strip_hidden_tests(source: str) -> str:
    """The cell without its ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` lines, removed
    as nbgrader's ``ClearHiddenTests`` removes them."""
    out, hidden = [], False
    for line in source.split("\n"):
        if line.strip() == BEGIN_HIDDEN:
            hidden = True
        elif line.strip() == END_HIDDEN:
            hidden = False
        elif not hidden:
            out.append(line)
    if hidden:
        raise RegionError(f"{BEGIN_HIDDEN} without an {END_HIDDEN} after it")
    return "\n".join(out)


def _nbgrader(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
              points: int | None = None) -> dict:
    """A cell's ``nbgrader`` metadata, schema 3."""
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked,
            "schema_version": SCHEMA_VERSION, "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


def exercise_points(notebook: str) -> dict[int, int]:
    """``{exercise number: points}`` of ``vae_course/checks/<notebook>.py`` (empty if none)."""
    from vae_course.checks.core import exercises_in  # torch: imported only when tagging
    try:
        module = importlib.import_module(f"vae_course.checks.{notebook}")
    except ModuleNotFoundError:
        return {}
    return {ex.number: ex.points for ex in exercises_in(module)}


PROSE_TAG = "remove-input"  # MyST-NB: the site shows the cell's output without its code


def is_prose(source: str) -> bool:
    """Whether a code cell only renders prose: every statement is ``display(Markdown(...))``."""
    try:
        body = ast.parse(_python_only(source)).body
    except SyntaxError:
        return False

    def named(node, name):
        return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name

    return bool(body) and all(isinstance(st, ast.Expr) and named(st.value, "display")
                              and st.value.args and named(st.value.args[0], "Markdown")
                              for st in body)


def _mark_prose(cell: nbformat.NotebookNode) -> None:
    tags = [t for t in cell.metadata.get("tags", []) if t != PROSE_TAG]
    jupyter = {k: v for k, v in cell.metadata.get("jupyter", {}).items() if k != "source_hidden"}
    if cell.cell_type == "code" and is_prose(cell.source):
        tags.append(PROSE_TAG)
        jupyter["source_hidden"] = True
    for key, value in (("tags", tags), ("jupyter", jupyter)):
        if value:
            cell.metadata[key] = value
        else:
            cell.metadata.pop(key, None)


def tag_notebook(nb: nbformat.NotebookNode, points: dict[int, int]) -> nbformat.NotebookNode:
    """``nb`` with nbgrader metadata on its setup, exercise and check cells, and the hidden test
    line in each check cell (a new object). ``points``: ``{exercise: points}`` of its checks module.
    """
    nb = copy.deepcopy(nb)
    solutions, checks, first_code = {}, {}, None
    for index, cell in enumerate(nb.cells):
        cell.metadata.pop("nbgrader", None)
        cell.metadata.pop("editable", None)
        cell.metadata.pop("deletable", None)
        _mark_prose(cell)
        if cell.cell_type != "code":
            continue
        first_code = index if first_code is None else first_code
        try:  # a malformed region is named before anything else
            strip_hidden_tests(strip_solutions(cell.source))
        except RegionError as e:
            raise RegionError(f"cell {index + 1}: {e}") from None
        lines = cell.source.split("\n")
        if m := CHECK.match(lines[0].strip()):
            number = int(m["number"])
            hidden = [BEGIN_HIDDEN, f"ex{number}.assert_passed()", END_HIDDEN]
            if lines[1:] not in ([], hidden):
                raise RegionError(f"cell {index + 1}: a check cell holds only `{lines[0]}` (and "
                                  f"the hidden lines {hidden}), found more")
            checks.setdefault(number, []).append(index)
            cell.source = "\n".join([lines[0], *hidden])
        elif re.search(r"\bex\d+\.check\(", cell.source):
            raise RegionError(f"cell {index + 1}: write a check cell as exactly `exN.check(name)`, "
                              "alone in its cell")
        elif any(BEGIN.match(line) for line in lines):
            numbers = {int(m["number"]) for line in lines if (m := EXERCISE.match(line))}
            if len(numbers) != 1:
                raise RegionError(f"cell {index + 1}: an exercise cell holds one exercise, found "
                                  f"{sorted(numbers) or 'no `# Exercise N: title` comment'}")
            solutions.setdefault(numbers.pop(), []).append(index)
    for kind, found in (("exercise", solutions), ("check", checks)):
        for number, cells in found.items():
            if number not in points:
                raise RegionError(f"cell {cells[0] + 1}: exercise {number} is not in the checks "
                                  f"module (it has {sorted(points) or 'none'})")
            if len(cells) > 1:
                raise RegionError(f"exercise {number} has {len(cells)} {kind} cells "
                                  f"({', '.join(str(c + 1) for c in cells)}); write one")
    for number in points:
        if number not in solutions or number not in checks:
            raise RegionError(f"exercise {number} of the checks module has no "
                              f"{'exercise' if number not in solutions else 'check'} cell")
        if checks[number][0] < solutions[number][0]:
            raise RegionError(f"the check cell of exercise {number} comes before its exercise")
    if first_code is not None and first_code not in [c[0] for c in solutions.values()]:
        nb.cells[first_code].metadata["nbgrader"] = _nbgrader("setup", locked=True)
    for number, (index,) in solutions.items():
        nb.cells[index].metadata["nbgrader"] = _nbgrader(f"ex{number}", solution=True)
    for number, (index,) in checks.items():
        nb.cells[index].metadata["nbgrader"] = _nbgrader(
            f"ex{number}-check", grade=True, locked=True, points=points[number])
    return nb


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version of a solved (tagged) notebook (a new object; ``nb`` is unchanged)."""
    nb = copy.deepcopy(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            source = strip_hidden_tests(strip_solutions(cell.source))
        except RegionError as e:
            raise RegionError(f"cell {index + 1}: {e}") from None
        keep_outputs = CHECK_OUTPUT in cell.source
        if keep_outputs and source != cell.source:
            raise RegionError(f"cell {index + 1}: a cell with a solution region cannot be marked "
                              f"{CHECK_OUTPUT} (its outputs would differ in the student version)")
        cell.source = source
        cell.metadata.pop("execution", None)
        if not keep_outputs:  # a kept output keeps its execution count: nbval skips "unrun" cells
            cell.execution_count = None
            cell.outputs = []
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") or meta.get("grade") or meta.get("locked"):  # as LockCells does
            cell.metadata["deletable"] = False
            if not meta.get("solution"):
                cell.metadata["editable"] = False
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    """The notebook as text, the same for the same notebook on every run."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a notebook; cells saved without an id get ``cell-<index>`` (nbformat would draw a
    random one, and the student notebook would change on every run)."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if raw.get("nbformat", 0) == 4 and raw.get("nbformat_minor", 0) >= 5:
        for index, cell in enumerate(raw.get("cells", [])):
            cell.setdefault("id", f"cell-{index}")
    return nbformat.reads(json.dumps(raw), as_version=4)


def notebook_name(path: Path) -> str:
    """``nbNN`` for ``NN_anything.ipynb``; a RegionError for any other name."""
    m = re.match(r"(\d\d)_", Path(path).name)
    if not m:
        raise RegionError(f"{path}: a course notebook is named NN_name.ipynb")
    return f"nb{m[1]}"


def generate(solutions: Path, notebooks: Path) -> dict[Path, tuple[str, str]]:
    """``{solved notebook path: (its tagged text, its student version's text)}`` for every
    ``solutions/*.ipynb``; the student version goes to ``notebooks/`` under the same name."""
    result = {}
    for path in sorted(Path(solutions).glob("*.ipynb")):
        try:
            tagged = tag_notebook(read_notebook(path), exercise_points(notebook_name(path)))
            result[path] = render(tagged), render(student_notebook(tagged))
        except RegionError as e:
            raise RegionError(f"{path}, {e}") from None
    return result


def out_of_date(solutions: Path, notebooks: Path) -> list[str]:
    """What differs from what ``generate`` produces, one line per notebook."""
    stale = []
    for path, (tagged, student) in generate(solutions, notebooks).items():
        if path.read_text(encoding="utf-8") != tagged:
            stale.append(f"{path} lacks its nbgrader metadata or hidden test lines")
        target = Path(notebooks) / path.name
        if not target.exists() or target.read_text(encoding="utf-8") != student:
            stale.append(f"{target} is " + ("out of date" if target.exists() else "missing"))
    stale += [f"{path} has no source in {solutions}/"
              for path in sorted(Path(notebooks).glob("*.ipynb"))
              if not (Path(solutions) / path.name).exists()]
    return stale


def _write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    tmp.replace(path)  # atomic: an interrupted run leaves the old file whole
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_course.instructor.student",
                                     description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and list the notebooks that are out of date")
    parser.add_argument("--solutions", type=Path, default=Path("solutions"))
    parser.add_argument("--notebooks", type=Path, default=Path("notebooks"))
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = out_of_date(args.solutions, args.notebooks)
            for line in stale:
                print(line)
            if stale:
                print("Run `make student` (python -m vae_course.instructor.student) to regenerate.")
            return 1 if stale else 0
        for path, (tagged, student) in generate(args.solutions, args.notebooks).items():
            _write_if_changed(path, tagged)
            _write_if_changed(args.notebooks / path.name, student)
    except RegionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path in sorted(args.notebooks.glob("*.ipynb")):
        if not (args.solutions / path.name).exists():
            print(f"warning: {path} has no source in {args.solutions}/; delete it if obsolete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
