"""Generate the student notebooks (``notebooks/``) from the solved ones (``solutions/``).

    python -m vae_course.student            # write notebooks/ from solutions/*.ipynb
    python -m vae_course.student --check    # only report the notebooks that are out of date

Run from the repository root (``make student``). In a code cell, each region between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's markers) is replaced:

- inside a function body, by ``# YOUR CODE HERE`` and
  ``raise NotImplementedError("Exercise N: title")`` at the region's indentation;
- outside any function, where it may hold only ``name = value`` assignments, by one
  ``name = ...  # YOUR CODE HERE`` line per assignment.

``N`` and ``title`` come from the nearest ``# Exercise N: title`` comment above the region, in
the same cell; every such comment needs a region below it. Outputs are cleared except in cells
containing ``# NBVAL_CHECK_OUTPUT``; execution counts and nbclient's timing metadata are cleared;
everything else is copied unchanged. A malformed region raises :class:`RegionError`, which names
the notebook, the cell and the line (both counted from 1); so does a marker written any other way
than exactly (``## begin solution``, ``### BEGIN SOLUTION here``), and an exercise comment with
no region below it: either would hand the solution out.
"""

from __future__ import annotations

import argparse
import ast
import copy
import itertools
import json
import re
import sys
import textwrap
from pathlib import Path

import nbformat

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\s*$")
END = re.compile(r"^[ \t]*### END SOLUTION\s*$")
# what may have been meant as a marker: any number of #, any case, words after it
MARKER_LIKE = re.compile(r"^\s*#+\s*(BEGIN|END)[ _-]*SOLUTION", re.IGNORECASE)
EXERCISE = re.compile(r"^\s*#\s*Exercise\s+(?P<number>\d+)\s*:\s*(?P<title>\S.*?)\s*$")
CHECK_OUTPUT = "# NBVAL_CHECK_OUTPUT"
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


def _placeholder_assignments(region: list[str], indent: str, first_line: int) -> list[str]:
    """``name = ...  # YOUR CODE HERE`` for each ``name = value`` in a region outside functions."""
    code = textwrap.dedent("".join(region))
    try:
        statements = ast.parse(_python_only(code)).body
    except SyntaxError as e:
        raise RegionError(f"line {first_line + (e.lineno or 1)}: {e.msg}") from None
    if not statements:
        raise RegionError(f"line {first_line}: the solution region holds no code")
    names = []
    for s in statements:
        if not (isinstance(s, ast.Assign) and len(s.targets) == 1
                and isinstance(s.targets[0], ast.Name)):
            raise RegionError(
                f"line {first_line + s.lineno}: outside a function, a solution region may only "
                f"hold `name = value` assignments, found `{ast.get_source_segment(code, s)}`")
        if s.targets[0].id not in names:
            names.append(s.targets[0].id)
    return [f"{indent}{name} = ...  # YOUR CODE HERE\n" for name in names]


def _check_markers(lines: list[str]) -> None:
    """Refuse a marker written another way than exactly ``### BEGIN SOLUTION`` /
    ``### END SOLUTION``: it would be copied through, and its solution with it."""
    for i, line in enumerate(lines):
        if MARKER_LIKE.match(line) and not (BEGIN.match(line) or END.match(line)):
            raise RegionError(f"line {i + 1}: `{line.strip()}` is not a solution marker; write "
                              "exactly `### BEGIN SOLUTION` or `### END SOLUTION`")


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
        if _in_function(tree, i + 1):
            if not any(r.strip() and not r.strip().startswith("#") for r in region):
                raise RegionError(f"line {i + 1}: the solution region holds no code")
            title = json.dumps(exercise, ensure_ascii=False)
            new = [f"{indent}# YOUR CODE HERE\n", f"{indent}raise NotImplementedError({title})\n"]
        else:
            new = _placeholder_assignments(region, indent, i + 1)
        if not lines[end].endswith("\n"):  # the region closed the cell: so does its replacement
            new[-1] = new[-1].rstrip("\n")
        out += new
        i = end + 1
    _check_every_exercise_has_a_region(lines)
    return "".join(out)


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version of a solved notebook (a new object; ``nb`` is left unchanged)."""
    nb = copy.deepcopy(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            source = strip_solutions(cell.source)
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


def generate(solutions: Path, notebooks: Path) -> dict[Path, str]:
    """``{student notebook path: its text}`` for every ``solutions/*.ipynb``."""
    result = {}
    for path in sorted(Path(solutions).glob("*.ipynb")):
        try:
            nb = student_notebook(read_notebook(path))
        except RegionError as e:
            raise RegionError(f"{path}, {e}") from None
        result[Path(notebooks) / path.name] = render(nb)
    return result


def out_of_date(solutions: Path, notebooks: Path) -> list[str]:
    """What differs between ``notebooks/`` and what ``generate`` produces, one line per notebook."""
    expected = generate(solutions, notebooks)
    stale = [f"{path} is out of date" if path.exists() else f"{path} is missing"
             for path, text in expected.items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    stale += [f"{path} has no source in {solutions}/"
              for path in sorted(Path(notebooks).glob("*.ipynb")) if path not in expected]
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_course.student", description=__doc__.split(
        "\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
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
                print("Run `make student` (python -m vae_course.student) to regenerate.")
            return 1 if stale else 0
        for path, text in generate(args.solutions, args.notebooks).items():
            if path.exists() and path.read_text(encoding="utf-8") == text:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote {path}")
    except RegionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path in sorted(args.notebooks.glob("*.ipynb")):
        if not (args.solutions / path.name).exists():
            print(f"warning: {path} has no source in {args.solutions}/; delete it if obsolete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
