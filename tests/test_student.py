"""The student-notebook generator: solutions/ -> notebooks/, and the two never drift apart."""

import copy
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from vae_course.instructor import student
from vae_course.instructor.student import RegionError, strip_solutions, student_notebook

REPO = Path(__file__).resolve().parents[1]

FUNCTION_CELL = '''# Exercise 1: scale raw images to [0, 1]
def to_unit_interval(images_uint8):
    """(N, 28, 28) uint8 in 0..255 -> float32 in [0, 1], same shape."""
    ### BEGIN SOLUTION
    x = images_uint8.float()
    return x / 255
    ### END SOLUTION
'''

STUDENT_FUNCTION_CELL = '''# Exercise 1: scale raw images to [0, 1]
def to_unit_interval(images_uint8):
    """(N, 28, 28) uint8 in 0..255 -> float32 in [0, 1], same shape."""
    # YOUR CODE HERE
    raise NotImplementedError()
'''


# ----------------------------------------------------------------------- one cell's source


def test_a_function_body_region_becomes_nbgrader_s_placeholder():
    assert strip_solutions(FUNCTION_CELL) == STUDENT_FUNCTION_CELL
    namespace = {}
    exec(strip_solutions(FUNCTION_CELL), namespace)
    with pytest.raises(NotImplementedError):
        namespace["to_unit_interval"](0)


def test_a_region_outside_a_function_is_refused():
    source = "# Exercise 3: choose beta\n### BEGIN SOLUTION\nbeta = 4.0\n### END SOLUTION\n"
    with pytest.raises(RegionError, match="line 2: a solution region must lie inside a function"):
        strip_solutions(source)


def test_a_region_inside_a_method_keeps_its_indentation():
    source = ("# Exercise 4: the encoder\nclass Encoder:\n    def forward(self, x):\n"
              "        h = x\n        ### BEGIN SOLUTION\n        return h\n"
              "        ### END SOLUTION\n")
    out = strip_solutions(source)
    assert out.endswith("        h = x\n        # YOUR CODE HERE\n"
                        "        raise NotImplementedError()\n")
    compile(out, "cell", "exec")


def test_hidden_tests_are_removed_as_nbgrader_removes_them():
    check = "ex1.check(f)\n### BEGIN HIDDEN TESTS\nex1.assert_passed()\n### END HIDDEN TESTS"
    assert student.strip_hidden_tests(check) == "ex1.check(f)"
    assert student.strip_hidden_tests("x = 1\n") == "x = 1\n"
    with pytest.raises(RegionError, match="without an ### END HIDDEN TESTS"):
        student.strip_hidden_tests("ex1.check(f)\n### BEGIN HIDDEN TESTS\nex1.assert_passed()")


def test_each_region_takes_the_nearest_exercise_comment_above_it():
    source = ("# Exercise 1: first\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n"
              "    ### END SOLUTION\n\n# Exercise 2: second\ndef g():\n    ### BEGIN SOLUTION\n"
              "    return 2\n    ### END SOLUTION")
    out = strip_solutions(source)
    assert out.count("raise NotImplementedError()") == 2
    assert out.endswith("    raise NotImplementedError()")  # no newline added


def test_cells_without_regions_and_ipython_magics_are_left_alone():
    plain = "%matplotlib inline\nx = 1\n"
    assert strip_solutions(plain) == plain
    with_magic = ("%time y = 2\n# Exercise 1: t\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n"
                  "    ### END SOLUTION\n")
    assert strip_solutions(with_magic) == (
        "%time y = 2\n# Exercise 1: t\ndef f():\n    # YOUR CODE HERE\n"
        "    raise NotImplementedError()\n")


@pytest.mark.parametrize("source, says", [
    ("# Exercise 1: t\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n",
     "line 3: BEGIN SOLUTION without an END"),
    ("# Exercise 1: t\ndef f():\n    x = 1\n    ### END SOLUTION\n",
     "line 4: END SOLUTION without a BEGIN"),
    ("# Exercise 1: t\ndef f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    return 1\n"
     "    ### END SOLUTION\n", "line 4: BEGIN SOLUTION inside the region opened on line 3"),
    ("# Exercise 1: t\nwith open('f') as f:\n    ### BEGIN SOLUTION\n    x = 1\n"
     "    ### END SOLUTION\n", "line 3: a solution region must lie inside a function"),
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n",
     "line 2: no `# Exercise N: title` comment"),
    ("# Exercise 1: t\ndef f():\n    pass\n    ### BEGIN SOLUTION\n    # nothing\n"
     "    ### END SOLUTION\n", "holds no code"),
    ("# Exercise 1: t\ndef f(:\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n",
     "not valid Python"),
])
def test_malformed_regions_raise_a_clear_error(source, says):
    with pytest.raises(RegionError, match=re.escape(says)):
        strip_solutions(source)



@pytest.mark.parametrize("source, says", [
    ("# Exercise 1: t\ndef f():\n    return 1\n",
     "line 1: `# Exercise 1: t` has no `### BEGIN SOLUTION` region"),
    ("# Exercise 1: t\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
     "# Exercise 2: u\ndef g():\n    return 2\n", "line 6: `# Exercise 2: u` has no"),
    ("# Exercise 1: t\ndef f():\n    ### begin solution\n    return 1\n    ### end solution\n",
     "line 3: `### begin solution` is not a marker"),
    ("# Exercise 1: t\ndef f():\n    ### BEGIN SOLUTION here\n    return 1\n"
     "    ### END SOLUTION\n", "line 3: `### BEGIN SOLUTION here` is not a marker"),
    ("# Exercise 1: t\ndef f():\n    ## BEGIN SOLUTION\n    return 1\n    ## END SOLUTION\n",
     "line 3: `## BEGIN SOLUTION` is not a marker"),
    ("# Exercise 1: t\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n    #END SOLUTION\n",
     "line 5: `#END SOLUTION` is not a marker"),
    ("ex1.check(f)\n## begin hidden tests\nex1.assert_passed()\n### END HIDDEN TESTS",
     "line 2: `## begin hidden tests` is not a marker"),
])
def test_an_exercise_whose_solution_would_be_handed_out_is_an_error(source, says):
    with pytest.raises(RegionError, match=re.escape(says)):
        strip_solutions(source)


def generate(tmp_path, capsys):
    """Run the generator from tmp_path/solutions into tmp_path/notebooks: (exit code, stderr)."""
    code = student.main(["--solutions", str(tmp_path / "solutions"),
                         "--notebooks", str(tmp_path / "notebooks")])
    return code, capsys.readouterr().err


def test_the_command_names_the_notebook_and_cell_of_an_exercise_without_markers(tmp_path, capsys):
    nb = solved_notebook()
    nb.cells[2].source = nb.cells[2].source.replace("### BEGIN SOLUTION", "### begin solution")
    write(tmp_path / "solutions" / "00_typo.ipynb", nb)
    code, err = generate(tmp_path, capsys)
    assert code == 2
    assert "00_typo.ipynb, cell 3: line 4: `### begin solution` is not a marker" in err
    assert not (tmp_path / "notebooks").exists()


# ---------------------------------------------------------------------- a whole notebook


def solved_notebook():
    """A small solved notebook for notebook 00 (one exercise), before ``make student`` tags it."""
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    setup = new_code_cell("from vae_course.checks.nb00 import ex1", execution_count=1)
    setup.metadata["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00"}
    exercise = new_code_cell(FUNCTION_CELL, execution_count=2, metadata={"tags": ["exercise"]})
    check = new_code_cell("ex1.check(to_unit_interval)", execution_count=3,
                          outputs=[new_output("stream", name="stdout", text="✔ correct\n")])
    checked = new_code_cell("# NBVAL_CHECK_OUTPUT\nround(0.1234, 2)", execution_count=4,
                            outputs=[new_output("execute_result", data={"text/plain": "0.12"},
                                                execution_count=4)])
    nb.cells = [new_markdown_cell("# Title\n### BEGIN SOLUTION in prose is left alone"),
                setup, exercise, check, checked]
    return nb


def tagged_notebook():
    return student.tag_notebook(solved_notebook(), student.exercise_points("nb00"))


def test_tagging_adds_nbgrader_metadata_and_the_hidden_test_line_only():
    solved = solved_notebook()
    tagged = student.tag_notebook(solved, {1: 3})
    markdown, setup, exercise, check, checked = tagged.cells
    assert setup.metadata["nbgrader"] == {"grade": False, "grade_id": "setup", "locked": True,
                                          "schema_version": 3, "solution": False, "task": False}
    assert exercise.metadata["nbgrader"]["solution"] and exercise.metadata["nbgrader"][
        "grade_id"] == "ex1"
    assert check.metadata["nbgrader"] == {"grade": True, "grade_id": "ex1-check", "locked": True,
                                          "points": 3, "schema_version": 3, "solution": False,
                                          "task": False}
    assert check.source == ("ex1.check(to_unit_interval)\n### BEGIN HIDDEN TESTS\n"
                            "ex1.assert_passed()\n### END HIDDEN TESTS")
    assert "nbgrader" not in markdown.metadata and "nbgrader" not in checked.metadata
    assert check.outputs == solved.cells[3].outputs and exercise.source == FUNCTION_CELL
    assert student.tag_notebook(tagged, {1: 3}) == tagged  # tagging twice changes nothing


@pytest.mark.parametrize("source, prose", [
    ('display(Markdown(f"The VAE pays **{kl:.1f} nats**."))', True),
    ('display(Markdown("a"))\ndisplay(Markdown(f"b {x}"))', True),
    ('# a comment\ndisplay(Markdown(f"b {x}"));', True),
    ('kl = 5.0\ndisplay(Markdown(f"{kl}"))', False),     # computes: a reader should see how
    ('display(fig)', False),
    ('print("prose")', False),
    ("", False),
])
def test_a_prose_cell_is_one_that_only_renders_markdown(source, prose):
    assert student.is_prose(source) is prose


def test_prose_cells_are_marked_for_the_site_and_collapsed_in_jupyterlab_in_both_versions():
    nb = solved_notebook()
    nb.cells.append(new_code_cell('display(Markdown(f"It took {t:.0f} s."))'))
    nb.cells.append(new_code_cell('t = 3\ndisplay(Markdown(f"{t}"))', metadata={
        "tags": ["remove-input", "keep-me"], "jupyter": {"source_hidden": True}}))  # no longer prose
    tagged = student.tag_notebook(nb, {1: 3})
    prose, computing = tagged.cells[-2:]
    for cell in (prose, student.student_notebook(tagged).cells[-2]):
        assert cell.metadata["tags"] == ["remove-input"] and cell.metadata["jupyter"]["source_hidden"]
    assert computing.metadata["tags"] == ["keep-me"] and "jupyter" not in computing.metadata
    assert not any("remove-input" in c.metadata.get("tags", []) for c in tagged.cells[:-2])
    assert student.tag_notebook(tagged, {1: 3}) == tagged


@pytest.mark.parametrize("edit, says", [
    (lambda nb: nb.cells.pop(3), "exercise 1 of the checks module has no check cell"),
    (lambda nb: nb.cells.pop(2), "exercise 1 of the checks module has no exercise cell"),
    (lambda nb: nb.cells.append(copy.deepcopy(nb.cells[3])), "exercise 1 has 2 check cells"),
    (lambda nb: setattr(nb.cells[3], "source", "assert ex1.check(to_unit_interval)"),
     "cell 4: write a check cell as exactly `exN.check(name)`"),
    (lambda nb: setattr(nb.cells[3], "source", "ex1.check(to_unit_interval)\nprint(1)"),
     "cell 4: a check cell holds only"),
    (lambda nb: setattr(nb.cells[3], "source", "ex7.check(to_unit_interval)"),
     "cell 4: exercise 7 is not in the checks module"),
    (lambda nb: nb.cells.insert(2, nb.cells.pop(3)), "the check cell of exercise 1 comes before"),
])
def test_exercises_and_check_cells_must_match_the_checks_module(edit, says):
    nb = solved_notebook()
    edit(nb)
    with pytest.raises(RegionError, match=re.escape(says)):
        student.tag_notebook(nb, {1: 1})


def test_student_notebook_clears_outputs_and_counts_but_keeps_checked_outputs_with_their_count():
    solved = tagged_notebook()
    before = nbformat.writes(solved)
    nb = student_notebook(solved)
    assert nbformat.writes(solved) == before  # the solution is not modified
    markdown, setup, exercise, check, checked = nb.cells
    assert markdown == solved.cells[0]
    assert exercise.source == STUDENT_FUNCTION_CELL and exercise.metadata["tags"] == ["exercise"]
    # nbval treats a cell with outputs but no execution count as "unrun" and fails it
    assert [c.execution_count for c in nb.cells[1:]] == [None, None, None, 4]
    assert check.outputs == [] and check.source == "ex1.check(to_unit_interval)"
    assert checked.outputs[0]["data"] == {"text/plain": "0.12"}
    assert checked.outputs[0]["execution_count"] == 4
    assert "execution" not in setup.metadata
    # as nbgrader's LockCells: solution cells undeletable, locked cells also read-only
    assert (setup.metadata["editable"], setup.metadata["deletable"]) == (False, False)
    assert (check.metadata["editable"], check.metadata["deletable"]) == (False, False)
    assert exercise.metadata["deletable"] is False and "editable" not in exercise.metadata
    assert "deletable" not in checked.metadata
    assert [c.id for c in nb.cells] == [c.id for c in solved.cells]
    assert nb.metadata == solved.metadata
    nbformat.validate(nb)


def test_a_region_in_a_checked_output_cell_is_refused():
    nb = solved_notebook()
    nb.cells[2].source = "# NBVAL_CHECK_OUTPUT\n" + FUNCTION_CELL
    with pytest.raises(RegionError, match="cell 3: a cell with a solution region cannot"):
        student_notebook(nb)


def write(path, nb):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def test_the_command_writes_then_reports_up_to_date_then_catches_an_edit(tmp_path, capsys):
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    write(solutions / "00_kl.ipynb", solved_notebook())
    dirs = ["--solutions", str(solutions), "--notebooks", str(notebooks)]
    assert student.main(["--check", *dirs]) == 1
    out = capsys.readouterr().out
    assert "00_kl.ipynb is missing" in out and "00_kl.ipynb lacks its nbgrader metadata" in out

    assert student.main(dirs) == 0
    written = (notebooks / "00_kl.ipynb").read_bytes()
    assert "nbgrader" in (solutions / "00_kl.ipynb").read_text()  # the source was tagged
    assert "wrote" in capsys.readouterr().out
    assert student.main(dirs) == 0 and capsys.readouterr().out == ""  # nothing to rewrite
    assert (notebooks / "00_kl.ipynb").read_bytes() == written  # same bytes every run
    assert student.main(["--check", *dirs]) == 0

    nb = nbformat.read(notebooks / "00_kl.ipynb", as_version=4)
    nb.cells[2].source = nb.cells[2].source.replace("raise", "return 0  #")  # a hand edit
    nbformat.write(nb, notebooks / "00_kl.ipynb")
    write(notebooks / "99_orphan.ipynb", new_notebook())
    assert student.main(["--check", *dirs]) == 1
    out = capsys.readouterr().out
    assert "00_kl.ipynb is out of date" in out and "99_orphan.ipynb has no source" in out
    assert "make student" in out


def test_the_command_names_the_notebook_and_cell_of_a_malformed_region(tmp_path, capsys):
    nb = solved_notebook()
    nb.cells[2].source = nb.cells[2].source.replace("    ### END SOLUTION\n", "")
    write(tmp_path / "solutions" / "00_bad.ipynb", nb)
    code, err = generate(tmp_path, capsys)
    assert code == 2 and "00_bad.ipynb, cell 3: line 4: BEGIN SOLUTION without an END" in err
    assert not (tmp_path / "notebooks").exists()


def test_cells_saved_without_ids_get_the_same_ids_every_run(tmp_path):
    nb = solved_notebook()
    path = tmp_path / "solutions" / "00_x.ipynb"
    write(path, nb)
    text = path.read_text().replace(f'"id": "{nb.cells[1].id}",', "")  # as an old tool saves it
    path.write_text(text)
    first = student.generate(tmp_path / "solutions", tmp_path / "notebooks")
    second = student.generate(tmp_path / "solutions", tmp_path / "notebooks")
    assert first == second and '"id": "cell-1"' in next(iter(first.values()))[1]


# ------------------------------------------------------------------- the repository itself


def test_the_committed_student_notebooks_are_what_make_student_produces():
    stale = student.out_of_date(REPO / "solutions", REPO / "notebooks")
    assert not stale, "\n".join(stale) + "\nRun `make student` and commit notebooks/."
