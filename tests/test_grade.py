"""Headless grading: a folder of submitted notebooks in, a CSV of per-exercise results out."""

import csv

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from vae_course import grade
from vae_course.checks import nb00
from vae_course.checks.core import Exercise

# Notebook 00 has a single exercise; two value exercises defined inside the test notebooks make
# "partly solved" possible. The grader learns them through a patched `exercises_for`.
EX2 = Exercise(2, "choose beta", reference=4.0)
EX3 = Exercise(3, "choose the latent size", reference=2)

SETUP = """import os
# what the grader promises: fast mode on, a model cache of this submission's own, in its folder
graded_as_promised = (os.environ["VAE_COURSE_FAST"] == "1" and os.path.realpath(
    os.environ["VAE_COURSE_CACHE"]).startswith(os.path.realpath(os.getcwd())))
from vae_course.checks.nb00 import ex1
from vae_course.checks.core import Exercise
ex2 = Exercise(2, "choose beta", reference=4.0)
ex3 = Exercise(3, "choose the latent size", reference=2)"""

SOLVED = {
    "ex1": "    return images_uint8.float() / 255",
    "beta": "beta = 4.0",
    "latent": "latent_dim = 2 if graded_as_promised else 99",
}
PARTLY = {
    "ex1": "    return images_uint8.float() / 255",
    "beta": "beta = 0.5",
    "latent": "latent_dim = undefined_name  # raises NameError: its check cannot run",
}
UNTOUCHED = {
    "ex1": '    # YOUR CODE HERE\n    raise NotImplementedError("Exercise 1: scale raw images")',
    "beta": "beta = ...  # YOUR CODE HERE",
    "latent": "latent_dim = ...  # YOUR CODE HERE",
}


def submission(answers):
    nb = new_notebook()
    nb.cells = [new_code_cell(SETUP),
                new_code_cell("def to_unit_interval(images_uint8):\n" + answers["ex1"]),
                new_code_cell("ex1.check(to_unit_interval)"),
                new_code_cell(answers["beta"]),
                new_code_cell("ex2.check(beta)"),
                new_code_cell(answers["latent"]),
                new_code_cell("ex3.check(latent_dim)")]
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade alice (solved), bob (partly solved), carol (untouched) and a broken file."""
    folder = tmp_path_factory.mktemp("submissions")
    for student, answers in [("alice", SOLVED), ("bob", PARTLY), ("carol", UNTOUCHED)]:
        nbformat.write(submission(answers), folder / f"{student}.ipynb")
    (folder / "dora.ipynb").write_text("{ this is not a notebook")
    (folder / ".ipynb_checkpoints").mkdir()
    nbformat.write(submission(SOLVED), folder / ".ipynb_checkpoints" / "alice-checkpoint.ipynb")
    out = tmp_path_factory.mktemp("grades") / "grades.csv"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(grade, "exercises_for", lambda notebook: [nb00.ex1, EX2, EX3])
        mp.setenv("VAE_COURSE_FAST", "0")  # the grader must turn fast mode on by itself
        mp.setenv("VAE_COURSE_CACHE", str(folder))  # and give each submission its own cache
        code = grade.main([str(folder), "--out", str(out), "--timeout", "120"])
    with open(out, newline="", encoding="utf-8") as f:
        return code, list(csv.DictReader(f))


def test_the_csv_has_one_row_per_student_and_exercise_with_its_status(graded):
    code, rows = graded
    assert code == 0
    assert list(rows[0]) == grade.COLUMNS
    statuses = {(r["student"], r["exercise"]): r["status"] for r in rows}
    assert statuses == {
        ("alice", "1"): "passed", ("alice", "2"): "passed", ("alice", "3"): "passed",
        ("bob", "1"): "passed", ("bob", "2"): "failed", ("bob", "3"): "not run",
        ("carol", "1"): "not attempted", ("carol", "2"): "not attempted",
        ("carol", "3"): "not attempted",
        ("dora", ""): "not run",
    }
    assert {r["notebook"] for r in rows if r["student"] != "dora"} == {"nb00"}


def test_the_messages_say_what_went_wrong(graded):
    _, rows = graded
    message = {(r["student"], r["exercise"]): r["message"] for r in rows}
    assert "expected 4" in message["bob", "2"] and "\n" not in message["bob", "2"]
    assert "cell 6 raised NameError" in message["bob", "3"]
    assert "not attempted yet" in message["carol", "1"]
    assert "could not read the notebook" in message["dora", ""]
    titles = {r["exercise"]: r["title"] for r in rows if r["student"] == "alice"}
    assert titles == {"1": "scale raw images to [0, 1]", "2": "choose beta",
                      "3": "choose the latent size"}


def test_an_empty_folder_is_an_error(tmp_path, capsys):
    assert grade.main([str(tmp_path), "--out", str(tmp_path / "g.csv")]) == 2
    assert "no .ipynb files" in capsys.readouterr().err


def test_the_notebook_is_known_from_its_file_name_or_its_checks_import():
    nb = new_notebook()
    assert grade.notebook_id("05_vae.ipynb", nb) == "nb05"
    assert grade.notebook_id("alice.ipynb", nb) is None
    nb.cells = [new_code_cell("from vae_course.checks.nb03 import ex1, ex2")]
    assert grade.notebook_id("alice.ipynb", nb) == "nb03"
    nb.cells = [new_code_cell("from vae_course.checks import nb06")]
    assert grade.notebook_id("alice.ipynb", nb) == "nb06"


def test_a_notebook_s_exercises_come_from_its_checks_module():
    assert grade.exercises_for("nb00") == [nb00.ex1]
    assert grade.exercises_for("nb99") == []


def test_students_in_subfolders_are_named_by_their_path(tmp_path):
    (tmp_path / "alice").mkdir()
    nbformat.write(new_notebook(), tmp_path / "alice" / "05_vae.ipynb")
    nbformat.write(new_notebook(), tmp_path / "bob.ipynb")
    found = [p.relative_to(tmp_path).as_posix() for p in grade.find_submissions(tmp_path)]
    assert found == ["alice/05_vae.ipynb", "bob.ipynb"]
