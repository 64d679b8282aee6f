"""nbgrader, a client no one here wrote, runs the course as it is.

``nbgrader generate_assignment`` on ``solutions/`` must give the code and the nbgrader metadata of
``notebooks/`` (the course's own generator), and ``nbgrader autograde`` must score a solved, a partly
solved and an untouched submission of one notebook as expected, warning of a changed locked cell
only when the learner changed it. The course folder, and its ``nbgrader_config.py`` read from
docs/instructors.md, are the ones that page describes.
"""

import copy
import json
import os
import re
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
CHEAP = "02_gaussian_kl"  # two exercises, no training: the cheapest graded notebook to autograde
RESTORE = "vae_course.instructor.nbgrader_steps.restore_hidden_tests"
CHANGED = re.compile(r"Attribute 'checksum' for cell (\S+) has changed!")


def readme_config() -> str:
    """The ``nbgrader_config.py`` that the instructors' page's *Grade with nbgrader* commands write."""
    readme = (ROOT / "docs" / "instructors.md").read_text(encoding="utf-8")
    found = re.search(r"^    cat > nbgrader_config\.py <<'EOF'\n(.*?)^    EOF$", readme, re.M | re.S)
    assert found, "docs/instructors.md writes nbgrader_config.py with a `cat > nbgrader_config.py <<'EOF'`"
    return "".join(line.removeprefix("    ") for line in found[1].splitlines(keepends=True))


CONFIG = readme_config()
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


def submit(course: Path, student: str, nb: nbformat.NotebookNode, name: str = GRADED) -> None:
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{name}.ipynb")


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


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


def test_the_readme_config_adds_one_step_to_nbgrader_s_own_sanitizing_before_its_tamper_check():
    from nbgrader.converters import Autograde
    from traitlets.config import Config
    from traitlets.utils.importstring import import_item

    config = Config()
    exec(CONFIG, {"get_config": lambda: config})
    default = Autograde.class_traits()["sanitize_preprocessors"].default()
    ours = config.Autograde.sanitize_preprocessors
    assert ours.index(RESTORE) == ours.index("nbgrader.preprocessors.OverwriteCells") - 1
    assert [import_item(name) for name in ours if name != RESTORE] == default, \
        "nbgrader's own list, in its order: update docs/instructors.md's list to this nbgrader's"


def test_autograde_warns_of_a_changed_check_cell_only_when_the_learner_changed_it(tmp_path, monkeypatch):
    """nbgrader's own sanitizing warns for every check cell of an untouched release
    (jupyter/nbgrader#1961); with docs/instructors.md's config only a locked cell the learner edited gets the
    warning, and the hidden ``exN.assert_passed()`` is graded in both."""
    (tmp_path / "nbgrader_config.py").write_text(CONFIG)
    source = tmp_path / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / f"{CHEAP}.ipynb", source)
    nbgrader(tmp_path, "generate_assignment", ASSIGNMENT)
    released = nbformat.read(tmp_path / "release" / ASSIGNMENT / f"{CHEAP}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / f"{CHEAP}.ipynb", as_version=4)
    points = {grade_id(c): c.metadata.nbgrader["points"] for c in released.cells
              if c.metadata.get("nbgrader", {}).get("grade")}
    assert set(points) == {"ex1-check", "ex2-check"}
    authored = {grade_id(c): c.source for c in solution.cells if grade_id(c) in points}
    submit(tmp_path, "ursula", released, CHEAP)  # the release as it is
    tom = solved(released, solution, {"ex1", "ex2"})  # both solved, and a locked check cell edited
    next(c for c in tom.cells if grade_id(c) == "ex2-check").source = "print('passed')"
    submit(tmp_path, "tom", tom, CHEAP)

    logs = {}
    for student in ("ursula", "tom"):  # one run each: each log is one student's
        run = nbgrader(tmp_path, "autograde", ASSIGNMENT, "--create", f"--student={student}")
        logs[student] = run.stdout + run.stderr

    assert "has changed" not in logs["ursula"], logs["ursula"]
    assert CHANGED.findall(logs["tom"]) == ["ex2-check"], logs["tom"]
    monkeypatch.setenv("PATH", PATH)
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        scores = {(student, check): gradebook.find_grade(check, CHEAP, ASSIGNMENT, student).score
                  for student in logs for check in points}
    # the hidden test ran: the untouched exercises fail it, tom's restored check cell passes it
    assert scores == {("ursula", "ex1-check"): 0, ("ursula", "ex2-check"): 0,
                      ("tom", "ex1-check"): points["ex1-check"],
                      ("tom", "ex2-check"): points["ex2-check"]}
    for student in logs:
        graded = nbformat.read(tmp_path / "autograded" / student / ASSIGNMENT / f"{CHEAP}.ipynb", 4)
        restored = {grade_id(c): c.source for c in graded.cells if grade_id(c) in points}
        assert restored == authored, f"{student}'s check cells are graded as authored, hidden test and all"
