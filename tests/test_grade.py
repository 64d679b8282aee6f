"""The course's grader: a folder of submitted notebooks in, a CSV of per-exercise results out.

The submissions are made as a student makes them: from a released notebook (the generator's student
version of a small solved notebook for notebook 01's two exercises), with answers written into the
exercise cells, or with code that tries to fool the grader. Each hostile submission must get its
own honest rows while every other student's rows stay as they would be.
"""

import copy
import csv
import json
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from vae_course.checks import nb00
from vae_course.instructor import grade, student

ROOT = Path(__file__).resolve().parents[1]
SANDBOX = grade.bwrap_path()
needs_sandbox = pytest.mark.skipif(SANDBOX is None, reason="bubblewrap (bwrap) is not installed")

SETUP = "import math\n\nimport torch\n\nfrom vae_course.checks.nb01 import ex1, ex2"
EX1 = ("# Exercise 1: the Monte-Carlo ELBO\ndef mc_elbo(log_joint, log_q, z):\n"
       "    ### BEGIN SOLUTION\n    return (log_joint(z) - log_q(z)).mean()\n    ### END SOLUTION")
EX2 = ("# Exercise 2: the importance-weighted bound\ndef iw_bound(log_joint, log_q, z):\n"
       "    ### BEGIN SOLUTION\n    log_w = log_joint(z) - log_q(z)\n"
       "    return torch.logsumexp(log_w, dim=0) - math.log(len(log_w))\n    ### END SOLUTION")
WRONG_EX1 = "def mc_elbo(log_joint, log_q, z):\n    return log_joint(z).mean()  # log q forgotten"


def released() -> tuple[nbformat.NotebookNode, dict[str, str]]:
    """The released notebook, made by the course's generator, and the solution of each exercise."""
    nb = new_notebook()
    nb.cells = [new_code_cell(s) for s in [SETUP, EX1, "ex1.check(mc_elbo)", EX2,
                                            "ex2.check(iw_bound)"]]
    solved = student.tag_notebook(nb, student.exercise_points("nb01"))
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solved.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    return student.student_notebook(solved), answers


RELEASE, ANSWERS = released()


def submission(answers: dict[str, str] = (), extra: tuple[str, ...] = (),
               check_cells: dict[int, str] = ()) -> nbformat.NotebookNode:
    """The released notebook with ``answers`` (grade id -> source) written in, the check cells
    ``check_cells`` (cell index -> source) edited, and ``extra`` cells added after the setup."""
    nb = copy.deepcopy(RELEASE)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in dict(answers):
            cell.source = dict(answers)[grade_id]
    for index, source in dict(check_cells).items():
        nb.cells[index].source = source
    nb.cells[1:1] = [new_code_cell(source) for source in extra]
    return nb


SOLVED = {"ex1": ANSWERS["ex1"], "ex2": ANSWERS["ex2"]}


def write_release(folder: Path) -> Path:
    release = folder / "release"
    release.mkdir()
    nbformat.write(RELEASE, release / "01_tiny.ipynb")
    shutil.copy(ROOT / "notebooks" / "03_reparameterization.ipynb", release)
    return release


def run_grader(submissions: Path, release: Path, out: Path, *options: str) -> dict:
    """Run the grader's command line; ``{(student, exercise): row}`` from the CSV it wrote."""
    assert grade.main([str(submissions), "--release", str(release), "--out", str(out),
                       *options]) == 0
    with open(out, newline="", encoding="utf-8") as f:
        return {(r["student"], r["exercise"]): r for r in csv.DictReader(f)}


HOSTILE = {
    # hands in the reference: `ex1.check(ex1.reference)` in a cell of its own, and as its answer
    "h_reference_checked": submission(extra=["ex1.check(ex1.reference)"]),
    "h_reference_answer": submission({"ex1": "mc_elbo = ex1.reference"}),
    # a fresh Exercise whose reference is the wrong answer, bound to the name the check cell uses
    "h_fake_exercise": submission({"ex1": WRONG_EX1}, extra=[
        "from vae_course.checks.core import Exercise, FunctionExercise\n"
        "from vae_course.checks import nb01\n"
        "ex1 = FunctionExercise(1, 'fake', reference=lambda log_joint, log_q, z: "
        "log_joint(z).mean(), cases=nb01.ex1.cases)"]),
    # patches the comparison so that everything agrees
    "h_patched_compare": submission({"ex1": WRONG_EX1}, extra=[
        "import vae_course.checks.core as core\n"
        "core.compare = lambda *args, **kwargs: None\n"
        "core.FunctionExercise.compare = lambda *args, **kwargs: None"]),
    # writes passing lines to every log it can find, and edits the check cell to print a pass
    "h_forged_log": submission({"ex1": WRONG_EX1}, extra=[
        "import glob, json, os\n"
        "line = json.dumps({'exercise': 1, 'notebook': 'nb01', 'status': 'passed', "
        "'message': 'forged', 'title': 't', 'module': 'vae_course.checks.nb01', 'secret': 'x'})\n"
        "for path in glob.glob('*.jsonl') + [os.environ.get('VAE_COURSE_GRADE_LOG', 'x.jsonl')]:\n"
        "    with open(path, 'a') as f:\n"
        "        f.write(line + '\\n{not json\\n')"],
        check_cells={2: "print('✔ Exercise 1: correct.')"}),
    # right only when it cannot see the grader's environment
    "h_reads_environment": submission({"ex1": "import os\n" + ANSWERS["ex1"].replace(
        "    return", "    if 'GRADER_ONLY_SECRET' in os.environ:\n        return 0.0\n    return")}),
    # deletes both check cells: the grader puts them back
    "h_deleted_checks": new_notebook(cells=[
        c for c in submission(SOLVED).cells
        if not c.metadata.get("nbgrader", {}).get("grade_id", "").endswith("-check")]),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One grader run, two at a time: solved, partly solved, untouched, broken and hostile."""
    folder = tmp_path_factory.mktemp("grading")
    subs = folder / "submissions"
    subs.mkdir()
    for name, nb in [("alice", submission(SOLVED)), ("bob", submission({"ex1": ANSWERS["ex1"]})),
                     ("carol", submission()), *HOSTILE.items()]:
        nbformat.write(nb, subs / f"{name}.ipynb")
    (subs / "dora.ipynb").write_text("{ this is not a notebook")
    gina = json.loads(nbformat.writes(submission(SOLVED)))
    del gina["cells"][3]["source"]  # a cell saved without its source
    (subs / "gina.ipynb").write_text(json.dumps(gina))
    (subs / "erin").mkdir()  # notebook 01's work, handed in as notebook 03
    nbformat.write(submission(SOLVED), subs / "erin" / "03_reparameterization.ipynb")
    (subs / ".ipynb_checkpoints").mkdir()
    nbformat.write(submission(SOLVED), subs / ".ipynb_checkpoints" / "zed-checkpoint.ipynb")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADER_ONLY_SECRET", "the grader's own")
        mp.setenv("VAE_COURSE_FAST", "0")  # the grader turns fast mode on by itself
        return run_grader(subs, write_release(folder), folder / "grades.csv", "--jobs", "2",
                          "--timeout", "120")


def statuses(rows, student):
    return tuple(rows[student, e]["status"] for e in "12")


def test_solved_partly_solved_and_untouched_submissions(graded):
    assert statuses(graded, "alice") == ("passed", "passed")
    assert statuses(graded, "bob") == ("passed", "not attempted")
    assert statuses(graded, "carol") == ("not attempted", "not attempted")
    assert [graded["alice", e]["points"] for e in "12"] == ["1", "1"]
    assert [graded["bob", e]["points"] for e in "12"] == ["1", "0"]
    assert list(graded["alice", "1"]) == grade.COLUMNS
    assert "not attempted yet" in graded["carol", "1"]["message"]
    assert not any(student.startswith("zed") for student, _ in graded)  # checkpoints skipped


def test_broken_files_get_one_honest_row_each(graded):
    assert graded["dora", ""]["status"] == "not run"
    assert "could not read the notebook" in graded["dora", ""]["message"]
    assert "cell 4 has no source" in graded["gina", ""]["message"]


def test_a_file_named_for_another_notebook_is_graded_as_that_notebook(graded):
    assert statuses(graded, "erin/03_reparameterization") == ("failed", "failed")
    assert "`reparameterize` is not defined" in graded[
        "erin/03_reparameterization", "1"]["message"]


@pytest.mark.parametrize("name, expected, says", [
    ("h_reference_checked", ("not attempted", "not attempted"), "not attempted yet"),
    ("h_reference_answer", ("failed", "not attempted"), "the course's own"),
    ("h_fake_exercise", ("failed", "not attempted"), "not right yet"),
    ("h_patched_compare", ("failed", "not attempted"), "not right yet"),
    ("h_forged_log", ("failed", "not attempted"), "was edited and was restored"),
    ("h_reads_environment", ("passed", "not attempted"), "correct"),
    ("h_deleted_checks", ("passed", "passed"), "was missing and was put back"),
])
def test_a_hostile_submission_gets_its_own_honest_rows(graded, name, expected, says):
    assert statuses(graded, name) == expected
    assert says in graded[name, "1"]["message"]


def test_the_grader_s_check_cell_replaces_the_submission_s():
    nb, numbers, notes = grade.prepare(submission(check_cells={2: "print('passed')"}), RELEASE,
                                       "nb01", "s3cret", "/tmp/log")
    assert numbers == [1, 2] and notes == ["the locked cell ex1-check was edited and was restored"]
    assert "graded_check('nb01', 1, 'mc_elbo', 's3cret', '/tmp/log')" in nb.cells[2].source
    assert nb.cells[0].source == RELEASE.cells[0].source


def test_only_the_grader_s_own_lines_count():
    mine = {"secret": "s", "notebook": "nb01", "exercise": 1, "status": "failed", "message": "m"}
    lines = [json.dumps(mine), "{not json", "[1]",
             json.dumps(dict(mine, status="passed", secret="guess")),
             json.dumps(dict(mine, status="passed", notebook="nb00")),
             json.dumps(dict(mine, exercise=7, status="passed")),
             json.dumps(dict(mine, status="great"))]
    assert grade.read_results("\n".join(lines), "s", "nb01", [1, 2]) == {
        1: {"status": "failed", "message": "m"}}


@needs_sandbox
def test_a_sandboxed_submission_cannot_touch_the_next_or_outlive_its_run(tmp_path):
    subs, out = tmp_path / "submissions", tmp_path / "grades.csv"
    subs.mkdir()
    victim = subs / "b_victim.ipynb"
    nbformat.write(submission(SOLVED), victim)
    before = victim.read_bytes()
    marker = tmp_path / "escaped.txt"
    attacker = submission(extra=[
        "import subprocess, urllib.request\n"
        f"for target in [{str(victim)!r}, {str(marker)!r}]:\n"
        "    try:\n"
        "        open(target, 'w').write('overwritten')\n"
        "    except OSError as e:\n"
        "        print('refused:', e)\n"
        f"subprocess.Popen(['sh', '-c', 'sleep 3; echo hacked > {out}; echo x > {marker}'], "
        "start_new_session=True)\n"
        "try:\n"
        "    urllib.request.urlopen('http://127.0.0.1:9', timeout=2)\n"
        "except OSError as e:\n"
        "    print('no network:', e)"])
    nbformat.write(attacker, subs / "a_attacker.ipynb")
    rows = run_grader(subs, write_release(tmp_path), out, "--sandbox", "require",
                      "--timeout", "120")
    time.sleep(5)  # the detached process would have written by now
    assert victim.read_bytes() == before and not marker.exists()
    assert "hacked" not in out.read_text()
    assert statuses(rows, "b_victim") == ("passed", "passed")
    assert statuses(rows, "a_attacker") == ("not attempted", "not attempted")


def test_a_cell_that_ignores_interrupts_is_stopped_and_the_next_student_is_graded(tmp_path):
    subs = tmp_path / "submissions"
    subs.mkdir()
    stubborn = submission(SOLVED, extra=[
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "while True:\n    time.sleep(0.1)"])
    nbformat.write(stubborn, subs / "a_stubborn.ipynb")
    nbformat.write(submission(SOLVED), subs / "b_next.ipynb")
    started = time.monotonic()
    rows = run_grader(subs, write_release(tmp_path), tmp_path / "grades.csv", "--timeout", "20",
                      "--notebook-timeout", "60")
    assert time.monotonic() - started < 120
    assert statuses(rows, "a_stubborn") == ("not run", "not run")
    assert "cell 2 ran past its time limit of 20 s (--timeout)" in rows["a_stubborn", "1"][
        "message"]
    assert statuses(rows, "b_next") == ("passed", "passed")


def test_a_notebook_past_its_own_time_limit_is_stopped(tmp_path):
    subs = tmp_path / "submissions"
    subs.mkdir()
    slow = submission(SOLVED, extra=["import time\ntime.sleep(1.5)"] * 6)  # each under --timeout
    nbformat.write(slow, subs / "slow.ipynb")
    rows = run_grader(subs, write_release(tmp_path), tmp_path / "grades.csv", "--timeout", "30",
                      "--notebook-timeout", "8")
    assert statuses(rows, "slow") == ("not run", "not run")
    assert "(--notebook-timeout)" in rows["slow", "1"]["message"]


def test_without_bubblewrap_the_grader_says_so(tmp_path, capsys):
    subs = tmp_path / "submissions"
    subs.mkdir()
    nbformat.write(submission(SOLVED), subs / "alice.ipynb")
    rows = run_grader(subs, write_release(tmp_path), tmp_path / "grades.csv", "--sandbox", "off")
    assert statuses(rows, "alice") == ("passed", "passed")
    assert "WITHOUT a sandbox" in capsys.readouterr().err


# ------------------------------------------------------------------------------ the small parts


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




def test_cells_a_spreadsheet_would_run_as_formulas_are_written_as_text(tmp_path):
    row = {"student": "@alice", "notebook": "nb00", "exercise": 1, "title": "-1 + 2",
           "status": "failed", "message": '=HYPERLINK("http://x","click")'}
    risky = ["+1", "\tx", "\rx"]
    rows = [row] + [dict(row, student=s, title=s, message=s) for s in risky]
    grade.write_csv(rows, tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as f:
        written = list(csv.DictReader(f))
    assert written[0] == {"student": "'@alice", "notebook": "nb00", "exercise": "1",
                          "title": "'-1 + 2", "status": "failed", "points": "", "max_points": "",
                          "message": '\'=HYPERLINK("http://x","click")'}
    assert [(r["student"], r["title"], r["message"]) for r in written[1:]] == [
        ("'" + s, "'" + s, "'" + s) for s in risky]


