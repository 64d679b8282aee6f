"""Headless grading: a folder of submitted notebooks in, a CSV of per-exercise results out."""

import csv
import json
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from vae_course import grade
from vae_course.checks import nb00
from vae_course.checks.core import Exercise

# Notebook 00 has a single exercise; two value exercises defined inside the test notebooks make
# "partly solved" possible. The grader learns them through a patched `exercises_for`, and the
# notebook claims them for nb00 (the grader ignores checks of another notebook).
EX2 = Exercise(2, "choose beta", reference=4.0)
EX3 = Exercise(3, "choose the latent size", reference=2)

SETUP = """import os
# what the grader promises: fast mode on, a model cache of this submission's own, in its folder
graded_as_promised = (os.environ["VAE_COURSE_FAST"] == "1" and os.path.realpath(
    os.environ["VAE_COURSE_CACHE"]).startswith(os.path.realpath(os.getcwd())))
from vae_course.checks.nb00 import ex1
from vae_course.checks.core import Exercise
ex2 = Exercise(2, "choose beta", reference=4.0)
ex3 = Exercise(3, "choose the latent size", reference=2)
ex2.module = ex3.module = "vae_course.checks.nb00"  # the grader counts only nb00's checks here"""

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


def grade_to_rows(folder, out, **env):
    """Run the grader on ``folder`` (the test exercises stand in for nb00's) and read the CSV back."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(grade, "exercises_for", lambda notebook: [nb00.ex1, EX2, EX3])
        for name, value in env.items():
            mp.setenv(name, value)
        code = grade.main([str(folder), "--out", str(out), "--timeout", "120"])
    with open(out, newline="", encoding="utf-8") as f:
        return code, list(csv.DictReader(f))


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
    # the grader must turn fast mode on by itself, and give each submission its own cache
    return grade_to_rows(folder, out, VAE_COURSE_FAST="0", VAE_COURSE_CACHE=str(folder))


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


# ----------------------------------------------------------------- robustness: one bad apple

def test_cells_a_spreadsheet_would_run_as_formulas_are_written_as_text(tmp_path):
    row = {"student": "@alice", "notebook": "nb00", "exercise": 1, "title": "-1 + 2",
           "status": "failed", "message": '=HYPERLINK("http://x","click")'}
    risky = ["+1", "\tx", "\rx"]
    rows = [row] + [dict(row, student=s, title=s, message=s) for s in risky]
    grade.write_csv(rows, tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as f:
        written = list(csv.DictReader(f))
    assert written[0] == {"student": "'@alice", "notebook": "nb00", "exercise": "1",
                          "title": "'-1 + 2", "status": "failed",
                          "message": '\'=HYPERLINK("http://x","click")'}
    assert [(r["student"], r["title"], r["message"]) for r in written[1:]] == [
        ("'" + s, "'" + s, "'" + s) for s in risky]


def writes_to_the_grade_log(line):
    """A cell that appends ``line`` to the grade log, as a student's code could."""
    return new_code_cell(f"with open(os.environ['VAE_COURSE_GRADE_LOG'], 'a') as f:\n"
                         f"    f.write({line!r} + '\\n')")


@pytest.fixture(scope="module")
def troubled(tmp_path_factory):
    """alice (solved) graded beside submissions that used to stop the whole run."""
    folder = tmp_path_factory.mktemp("troubled")
    nbformat.write(submission(SOLVED), folder / "alice.ipynb")
    frank = submission(SOLVED)  # all checks pass, then one garbage line in the log
    frank.cells.append(writes_to_the_grade_log("{not json"))
    nbformat.write(frank, folder / "frank.ipynb")
    gina = submission(SOLVED)  # a cell saved without its source
    del gina.cells[3]["source"]
    (folder / "gina.ipynb").write_text(json.dumps(gina))
    (folder / "hank.ipynb").write_text('["valid JSON", "but not a notebook"]')
    out = tmp_path_factory.mktemp("grades") / "grades.csv"
    return grade_to_rows(folder, out)


def test_one_broken_submission_gets_honest_rows_and_the_others_are_graded(troubled):
    code, rows = troubled
    assert code == 0
    statuses = {(r["student"], r["exercise"]): r["status"] for r in rows}
    assert statuses == {
        ("alice", "1"): "passed", ("alice", "2"): "passed", ("alice", "3"): "passed",
        ("frank", "1"): "not run", ("frank", "2"): "not run", ("frank", "3"): "not run",
        ("gina", ""): "not run", ("hank", ""): "not run",
    }
    message = {(r["student"], r["exercise"]): r["message"] for r in rows}
    assert "the grade log had a malformed line" in message["frank", "1"]
    assert "line 4 is not JSON" in message["frank", "1"]
    assert "not a readable notebook" in message["gina", ""]
    assert "cell 4 has no source" in message["gina", ""]
    assert "not a readable notebook" in message["hank", ""]


@pytest.mark.parametrize("line, says", [
    ("{not json", "line 2 is not JSON"),
    ('["a", "list"]', "line 2 is not a JSON object"),
    ('{"exercise": 1, "title": "t", "status": "passed", "message": "m"}', "no 'module'"),
    ('{"exercise": "1", "title": "t", "status": "passed", "message": "m", "module": "m"}',
     "'exercise' is not a whole number"),
    ('{"exercise": true, "title": "t", "status": "passed", "message": "m", "module": "m"}',
     "'exercise' is not a whole number"),
    ('{"exercise": 1, "title": "t", "status": "passed", "message": null, "module": "m"}',
     "'message' is not text"),
    ('{"exercise": 1, "title": "t", "status": "great", "message": "m", "module": "m"}',
     "'status' is not one of"),
])
def test_a_malformed_grade_log_line_is_named(line, says):
    good = json.dumps({"exercise": 1, "title": "t", "status": "passed", "message": "m",
                       "module": "vae_course.checks.nb00"})
    assert grade.read_grade_log(good + "\n\n") == [json.loads(good)]
    with pytest.raises(grade.MalformedLog, match=re.escape(says)):
        grade.read_grade_log(f"{good}\n{line}\n")


def test_a_file_named_for_another_notebook_does_not_get_that_notebook_s_checks(tmp_path,
                                                                               monkeypatch):
    # named 05_vae.ipynb, but what it runs is notebook 00 (ex1 of nb00, plus the two extra ones)
    nbformat.write(submission(SOLVED), tmp_path / "05_vae.ipynb")
    monkeypatch.setattr(grade, "exercises_for", lambda notebook: [nb00.ex1, EX2, EX3])
    rows = grade.grade_submission(tmp_path / "05_vae.ipynb", "erin", timeout=120)
    assert [(r["notebook"], r["exercise"], r["status"]) for r in rows] == [
        ("nb05", 1, "not run"), ("nb05", 2, "not run"), ("nb05", 3, "not run")]
    assert "vae_course.checks.nb00" in rows[0]["message"]


def test_a_notebook_past_its_time_limit_is_stopped_and_the_next_student_is_graded(
        tmp_path, monkeypatch, capsys):
    slow = new_notebook()  # each cell stays under the 2 s cell limit; together they exceed 3 s
    slow.cells = [new_code_cell("import time\ntime.sleep(1.5)") for _ in range(3)]
    slow.cells.append(new_code_cell("print('the last cell ran')"))
    (tmp_path / "a_slow").mkdir()
    nbformat.write(slow, tmp_path / "a_slow" / "00_setup.ipynb")
    quick = new_notebook()  # a passing check, logged without importing torch under 2 s limits
    quick.cells = [new_code_cell("import os"), writes_to_the_grade_log(json.dumps(
        {"exercise": 1, "title": nb00.ex1.title, "status": "passed", "message": "well done",
         "module": "vae_course.checks.nb00"}))]
    (tmp_path / "b_next").mkdir()
    nbformat.write(quick, tmp_path / "b_next" / "00_setup.ipynb")
    monkeypatch.setattr(grade, "exercises_for", lambda notebook: [nb00.ex1, EX2])
    out = tmp_path / "grades.csv"
    assert grade.main([str(tmp_path), "--out", str(out), "--timeout", "2",
                       "--notebook-timeout", "3"]) == 0
    with open(out, newline="", encoding="utf-8") as f:
        rows = {(r["student"], r["exercise"]): r for r in csv.DictReader(f)}
    assert {key: r["status"] for key, r in rows.items()} == {
        ("a_slow/00_setup", "1"): "not run", ("a_slow/00_setup", "2"): "not run",
        ("b_next/00_setup", "1"): "passed", ("b_next/00_setup", "2"): "not run"}
    for exercise in "12":
        assert "time limit of 3 s (--notebook-timeout)" in rows["a_slow/00_setup", exercise][
            "message"]
    assert "time limit" not in rows["b_next/00_setup", "2"]["message"]
