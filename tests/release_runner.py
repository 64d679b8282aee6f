"""Run a class release's student notebook as a learner would, in the release's environment.

Run with the Python of the virtual environment the release's wheel is installed in (not imported by
pytest): ``python release_runner.py STUDENT.ipynb SOLVED.ipynb OUT.json``. It executes

- ``untouched``: the setup cell, every exercise cell as released and every check cell;
- ``solved``: the whole notebook with the exercise cells of ``SOLVED.ipynb`` pasted in;
- ``cheat``: the setup cell, then each function exercise answered by a function that calls the
  course's reference (``exN.reference``), and each check cell;

and writes, for each run, ``{grade_id: text output}`` of the check cells, plus where ``vae_course``
was imported from, as JSON.
"""

import json
import re
import sys

import nbformat
from nbclient import NotebookClient

EXERCISE = re.compile(r"# Exercise (\d+):")


def grade_id(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def text_of(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        elif out.get("output_type") == "error":
            parts.append(f"{out['ename']}: {out['evalue']}")
        elif "text/plain" in out.get("data", {}):
            parts.append(out["data"]["text/plain"])
    return "".join(parts)


def execute(nb, allow_errors: bool) -> dict[str, str]:
    NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=allow_errors).execute()
    return {grade_id(c): text_of(c) for c in nb.cells if grade_id(c).endswith("-check")}


def only_graded(nb):
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.cells = [c for c in nb.cells if grade_id(c) == "setup" or re.fullmatch(r"ex\d+(-check)?",
                                                                               grade_id(c))]
    return nb


def cheat(nb):
    """Each function exercise's answer forwards to the course's reference."""
    nb = only_graded(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and (m := EXERCISE.match(cell.source)):
            names = re.findall(r"^def (\w+)\(", cell.source, re.M)
            if names:
                cell.source = (f"# Exercise {m[1]}: calls the course's reference\n"
                               f"def {names[0]}(*args, **kwargs):\n"
                               f"    return ex{m[1]}.reference(*args, **kwargs)\n")
    return nb


def main(student: str, solved: str, out: str) -> None:
    released = nbformat.read(student, as_version=4)
    solution = {grade_id(c): c.source for c in nbformat.read(solved, as_version=4).cells
                if grade_id(c)}
    full = nbformat.from_dict(json.loads(json.dumps(released)))
    for cell in full.cells:
        if re.fullmatch(r"ex\d+", grade_id(cell)):
            cell.source = solution[grade_id(cell)]
    import vae_course

    results = {"vae_course": vae_course.__file__,
               "untouched": execute(only_graded(released), allow_errors=True),
               "cheat": execute(cheat(released), allow_errors=True),
               "solved": execute(full, allow_errors=False)}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
