"""nbgrader, a client no one here wrote, runs the course as it is.

``nbgrader generate_assignment`` on ``solutions/`` must give the code and the nbgrader metadata of
``notebooks/`` (the course's own generator), and ``nbgrader autograde`` must score a solved, a partly
solved and an untouched submission of one notebook as expected. The course folder is the one the
README's instructor section describes.
"""

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader")
from nbgrader.api import Gradebook  # noqa: E402

from vae_course.instructor.student import STUB  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
GRADED = "01_latent_variables_and_elbo"  # two exercises, a few seconds in fast mode
ASSIGNMENT = "ps"
CONFIG = """\
c = get_config()
c.CourseDirectory.course_id = "vae-course"
c.ExecutePreprocessor.timeout = 600
"""
LOCK_FLAGS = ("editable", "deletable")
# nbgrader runs `alembic` from PATH: the one installed beside this Python
PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
COMPARED = ("grade", "grade_id", "locked", "points", "schema_version", "solution", "task")


def nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the nbgrader command line in the course folder ``root``; fail with its output."""
    env = dict(os.environ, VAE_COURSE_FAST="1", PATH=PATH)
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"
    return run


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course folder with every solved notebook as the source of one assignment, released."""
    root = tmp_path_factory.mktemp("course")
    (root / "nbgrader_config.py").write_text(CONFIG)
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for path in SOLUTIONS:
        shutil.copy(path, source / path.name)
    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    return root


def cells(path: Path) -> list[dict]:
    """What a released notebook is made of: type, source, nbgrader metadata and lock flags."""
    nb = nbformat.read(path, as_version=4)
    return [{"type": c.cell_type, "source": c.source,
             "nbgrader": {k: v for k, v in c.metadata.get("nbgrader", {}).items() if k in COMPARED},
             **{k: c.metadata[k] for k in LOCK_FLAGS if k in c.metadata}} for c in nb.cells]


@pytest.mark.parametrize("name", [p.name for p in SOLUTIONS])
def test_generate_assignment_gives_the_student_notebooks(course, name):
    released = cells(course / "release" / ASSIGNMENT / name)
    ours = cells(ROOT / "notebooks" / name)
    assert len(released) == len(ours)
    for index, (theirs, mine) in enumerate(zip(released, ours, strict=True)):
        assert theirs == mine, f"cell {index + 1} differs"
    stubs = sum(c["source"].count(STUB[-1]) for c in released if c["nbgrader"].get("solution"))
    assert stubs >= 1, "every notebook has exercises with nbgrader's placeholder"
    assert not any("HIDDEN TESTS" in c["source"] or "assert_passed" in c["source"]
                   for c in released), "the hidden test lines are removed"


def submit(course: Path, student: str, nb: nbformat.NotebookNode) -> None:
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{GRADED}.ipynb")


def solved(released: nbformat.NotebookNode, solution: nbformat.NotebookNode,
           exercises: set[str]) -> nbformat.NotebookNode:
    """The released notebook with the solution cells ``exercises`` (grade ids) written in."""
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = copy.deepcopy(released)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in exercises:
            cell.source = answers[grade_id]
    return nb


def test_autograde_scores_solved_partly_solved_and_untouched_submissions(course, monkeypatch):
    released = nbformat.read(course / "release" / ASSIGNMENT / f"{GRADED}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / f"{GRADED}.ipynb", as_version=4)
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in released.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert set(points) == {"ex1-check", "ex2-check"}
    submit(course, "alice", solved(released, solution, {"ex1", "ex2"}))
    submit(course, "bob", solved(released, solution, {"ex1"}))
    submit(course, "carol", released)
    # carol also edits a locked check cell to print a pass: nbgrader restores it from the source
    carol = nbformat.read(course / "submitted" / "carol" / ASSIGNMENT / f"{GRADED}.ipynb", 4)
    check = next(c for c in carol.cells if c.metadata.get("nbgrader", {}).get("grade"))
    check.source = "print('passed')"
    nbformat.write(carol, course / "submitted" / "carol" / ASSIGNMENT / f"{GRADED}.ipynb")

    nbgrader(course, "autograde", ASSIGNMENT, "--create", "--force")

    expected = {"alice": {"ex1-check": points["ex1-check"], "ex2-check": points["ex2-check"]},
                "bob": {"ex1-check": points["ex1-check"], "ex2-check": 0},
                "carol": {"ex1-check": 0, "ex2-check": 0}}
    monkeypatch.setenv("PATH", PATH)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student, scores in expected.items():
            for grade_id, score in scores.items():
                grade = gradebook.find_grade(grade_id, GRADED, ASSIGNMENT, student)
                assert grade.score == score, (student, grade_id)
    feedback = json.dumps(nbformat.read(
        course / "autograded" / "bob" / ASSIGNMENT / f"{GRADED}.ipynb", 4).cells)
    assert "not attempted yet" in feedback  # the learner-facing message reaches the autograded copy
