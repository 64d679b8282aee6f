"""The student-notebook generator: solutions/ -> notebooks/, and the two never drift apart."""

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from vae_course import student
from vae_course.student import RegionError, strip_solutions, student_notebook

REPO = Path(__file__).resolve().parents[1]

FUNCTION_CELL = '''# Exercise 2: the KL divergence to the standard normal
def kl_std_normal(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)), summed over the last dim: (B, D) -> (B,)."""
    ### BEGIN SOLUTION
    var = logvar.exp()
    return 0.5 * (var + mu**2 - 1 - logvar).sum(-1)
    ### END SOLUTION
'''

STUDENT_FUNCTION_CELL = '''# Exercise 2: the KL divergence to the standard normal
def kl_std_normal(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)), summed over the last dim: (B, D) -> (B,)."""
    # YOUR CODE HERE
    raise NotImplementedError("Exercise 2: the KL divergence to the standard normal")
'''


# ----------------------------------------------------------------------- one cell's source


def test_a_function_body_region_becomes_a_raise_naming_the_exercise():
    assert strip_solutions(FUNCTION_CELL) == STUDENT_FUNCTION_CELL
    namespace = {}
    exec(strip_solutions(FUNCTION_CELL), namespace)
    with pytest.raises(NotImplementedError, match="Exercise 2: the KL divergence"):
        namespace["kl_std_normal"](0, 0)


def test_a_top_level_region_keeps_one_placeholder_per_assignment():
    source = ("# Exercise 3: choose the knobs\n### BEGIN SOLUTION\nbeta = 4.0  # strong\n"
              "latent_dim = (\n    2\n)\n### END SOLUTION\nprint(beta)")
    assert strip_solutions(source) == ("# Exercise 3: choose the knobs\n"
                                       "beta = ...  # YOUR CODE HERE\n"
                                       "latent_dim = ...  # YOUR CODE HERE\n"
                                       "print(beta)")


def test_a_region_inside_a_method_or_a_with_block_keeps_its_indentation():
    source = ("# Exercise 4: the encoder\nimport torch\nclass Encoder:\n    def forward(self, x):\n"
              "        h = x\n        ### BEGIN SOLUTION\n        return h\n"
              "        ### END SOLUTION\nwith torch.no_grad():\n    ### BEGIN SOLUTION\n"
              "    z = 1\n    ### END SOLUTION\n")
    out = strip_solutions(source)
    assert ('        h = x\n        # YOUR CODE HERE\n        raise NotImplementedError('
            '"Exercise 4: the encoder")\nwith torch.no_grad():\n'
            '    z = ...  # YOUR CODE HERE\n') in out
    compile(out, "cell", "exec")


def test_each_region_takes_the_nearest_exercise_comment_above_it():
    source = ("# Exercise 1: first\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n"
              "    ### END SOLUTION\n\n# Exercise 2: second\ndef g():\n    ### BEGIN SOLUTION\n"
              "    return 2\n    ### END SOLUTION")
    out = strip_solutions(source)
    assert '"Exercise 1: first"' in out and '"Exercise 2: second"' in out
    assert out.endswith('raise NotImplementedError("Exercise 2: second")')  # no newline added


def test_cells_without_regions_and_ipython_magics_are_left_alone():
    plain = "%matplotlib inline\nx = 1\n"
    assert strip_solutions(plain) == plain
    with_magic = "%time y = 2\n# Exercise 1: t\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n"
    assert strip_solutions(with_magic) == (
        "%time y = 2\n# Exercise 1: t\nx = ...  # YOUR CODE HERE\n")


@pytest.mark.parametrize("source, says", [
    ("# Exercise 1: t\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n",
     "line 3: BEGIN SOLUTION without an END"),
    ("# Exercise 1: t\nx = 1\n### END SOLUTION\n", "line 3: END SOLUTION without a BEGIN"),
    ("# Exercise 1: t\ndef f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    return 1\n"
     "    ### END SOLUTION\n", "line 4: BEGIN SOLUTION inside the region opened on line 3"),
    ("# Exercise 1: t\n### BEGIN SOLUTION\nprint(1)\n### END SOLUTION\n",
     "only hold `name = value` assignments, found `print(1)`"),
    ("# Exercise 1: t\n### BEGIN SOLUTION\nmu, logvar = 0, 1\n### END SOLUTION\n",
     "found `mu, logvar = 0, 1`"),
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
     "line 3: `### begin solution` is not a solution marker"),
    ("# Exercise 1: t\ndef f():\n    ### BEGIN SOLUTION here\n    return 1\n"
     "    ### END SOLUTION\n", "line 3: `### BEGIN SOLUTION here` is not a solution marker"),
    ("# Exercise 1: t\ndef f():\n    ## BEGIN SOLUTION\n    return 1\n    ## END SOLUTION\n",
     "line 3: `## BEGIN SOLUTION` is not a solution marker"),
    ("# Exercise 1: t\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n    #END SOLUTION\n",
     "line 5: `#END SOLUTION` is not a solution marker"),
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
    write(tmp_path / "solutions" / "04_typo.ipynb", nb)
    code, err = generate(tmp_path, capsys)
    assert code == 2
    assert "04_typo.ipynb, cell 3: line 4: `### begin solution` is not a solution marker" in err
    assert not (tmp_path / "notebooks").exists()


# ---------------------------------------------------------------------- a whole notebook


def solved_notebook():
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    setup = new_code_cell("from vae_course.checks.nb02 import ex2", execution_count=1)
    setup.metadata["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00"}
    exercise = new_code_cell(FUNCTION_CELL, execution_count=2, metadata={"tags": ["exercise"]})
    check = new_code_cell("ex2.check(kl_std_normal)", execution_count=3,
                          outputs=[new_output("stream", name="stdout", text="✔ correct\n")])
    checked = new_code_cell("# NBVAL_CHECK_OUTPUT\nround(0.1234, 2)", execution_count=4,
                            outputs=[new_output("execute_result", data={"text/plain": "0.12"},
                                                execution_count=4)])
    nb.cells = [new_markdown_cell("# Title\n### BEGIN SOLUTION in prose is left alone"),
                setup, exercise, check, checked]
    return nb


def test_student_notebook_clears_outputs_and_counts_but_keeps_checked_outputs_with_their_count():
    solved = solved_notebook()
    before = nbformat.writes(solved)
    nb = student_notebook(solved)
    assert nbformat.writes(solved) == before  # the solution is not modified
    markdown, setup, exercise, check, checked = nb.cells
    assert markdown == solved.cells[0]
    assert exercise.source == STUDENT_FUNCTION_CELL and exercise.metadata == {"tags": ["exercise"]}
    # nbval treats a cell with outputs but no execution count as "unrun" and fails it
    assert [c.execution_count for c in nb.cells[1:]] == [None, None, None, 4]
    assert check.outputs == [] and check.source == "ex2.check(kl_std_normal)"
    assert checked.outputs[0]["data"] == {"text/plain": "0.12"}
    assert checked.outputs[0]["execution_count"] == 4
    assert "execution" not in setup.metadata
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
    write(solutions / "02_kl.ipynb", solved_notebook())
    dirs = ["--solutions", str(solutions), "--notebooks", str(notebooks)]
    assert student.main(["--check", *dirs]) == 1
    assert "02_kl.ipynb is missing" in capsys.readouterr().out

    assert student.main(dirs) == 0
    written = (notebooks / "02_kl.ipynb").read_bytes()
    assert "wrote" in capsys.readouterr().out
    assert student.main(dirs) == 0 and capsys.readouterr().out == ""  # nothing to rewrite
    assert (notebooks / "02_kl.ipynb").read_bytes() == written  # same bytes every run
    assert student.main(["--check", *dirs]) == 0

    nb = nbformat.read(notebooks / "02_kl.ipynb", as_version=4)
    nb.cells[2].source = nb.cells[2].source.replace("raise", "return 0  #")  # a hand edit
    nbformat.write(nb, notebooks / "02_kl.ipynb")
    write(notebooks / "99_orphan.ipynb", new_notebook())
    assert student.main(["--check", *dirs]) == 1
    out = capsys.readouterr().out
    assert "02_kl.ipynb is out of date" in out and "99_orphan.ipynb has no source" in out
    assert "make student" in out


def test_the_command_names_the_notebook_and_cell_of_a_malformed_region(tmp_path, capsys):
    nb = solved_notebook()
    nb.cells[2].source = nb.cells[2].source.replace("    ### END SOLUTION\n", "")
    write(tmp_path / "solutions" / "03_bad.ipynb", nb)
    code, err = generate(tmp_path, capsys)
    assert code == 2 and "03_bad.ipynb, cell 3: line 4: BEGIN SOLUTION without an END" in err
    assert not (tmp_path / "notebooks").exists()


def test_cells_saved_without_ids_get_the_same_ids_every_run(tmp_path):
    nb = solved_notebook()
    path = tmp_path / "solutions" / "01_x.ipynb"
    write(path, nb)
    text = path.read_text().replace(f'"id": "{nb.cells[1].id}",', "")  # as an old tool saves it
    path.write_text(text)
    first = student.generate(tmp_path / "solutions", tmp_path / "notebooks")
    second = student.generate(tmp_path / "solutions", tmp_path / "notebooks")
    assert first == second and '"id": "cell-1"' in next(iter(first.values()))


# ------------------------------------------------------------------- the repository itself


def test_the_committed_student_notebooks_are_what_make_student_produces():
    stale = student.out_of_date(REPO / "solutions", REPO / "notebooks")
    assert not stale, "\n".join(stale) + "\nRun `make student` and commit notebooks/."
