"""The graded copy of the package: what a submission's kernel imports while it is graded.

For every exercise the grader judges in its own process, the copy holds neither the course's
reference nor the package's own version of the answer; what the notebook needs to run (its cases,
hidden cases, the rest of the package) is still there. ``vae_course.curriculum`` is the map of which
package object answers which exercise, and must name every exercise.
"""

import ast
import importlib
import inspect
import json
import subprocess
import sys
import textwrap

import pytest

from vae_course import curriculum
from vae_course.checks.core import exercises_in
from vae_course.instructor import grade, release

NOTEBOOKS = [f"nb{n:02d}" for n in range(11)]


def judged(notebook):
    return {ex.number: ex for ex in grade.exercises_for(notebook) if grade.judged_by_grader(ex)}


def test_the_map_names_every_exercise_and_only_what_exists():
    every = {(nb, ex.number) for nb in NOTEBOOKS
             for ex in exercises_in(importlib.import_module(f"vae_course.checks.{nb}"))}
    assert set(curriculum.ANSWERS) == every
    for objects in curriculum.ANSWERS.values():
        for qualified in objects:
            module, _, name = qualified.partition(".")
            target = importlib.import_module(f"vae_course.{module}")
            for part in name.split("."):
                target = getattr(target, part)  # raises when the map names nothing


def _body_statements(fn) -> list[str]:
    """The statements of ``fn``'s body (docstring left out), as ``ast.unparse`` writes them."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    body = tree.body[0].body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return [ast.unparse(s) for s in body]


@pytest.mark.parametrize("notebook", [nb for nb in NOTEBOOKS if judged(nb)])
def test_the_graded_copy_holds_no_answer_of_the_exercises_the_grader_judges(notebook, tmp_path):
    exercises = judged(notebook)
    copy = release.graded_package(notebook, set(exercises), tmp_path)
    text = {p.relative_to(copy).as_posix(): p.read_text() for p in copy.rglob("*.py")}
    assert f"checks/{notebook}.py" in text
    assert not any(name.startswith("checks/nb") and name != f"checks/{notebook}.py"
                   for name in text)  # no other notebook's checks
    assert not any(name.startswith("instructor/") and name.split("/")[-1] not in
                   release.KEPT_INSTRUCTOR for name in text)
    assert not any(name.startswith("bench/") or name == "speed.py" for name in text)  # a whole VAE loss
    checks = text[f"checks/{notebook}.py"]
    code = {ast.unparse(n) for n in ast.walk(ast.parse(checks)) if isinstance(n, ast.stmt)}
    for ex in exercises.values():
        if inspect.isfunction(ex.reference) and ex.reference.__name__ != "<lambda>":
            assert f"def {ex.reference.__name__}(" not in checks
            for statement in _body_statements(ex.reference):
                if len(statement) > 25:  # a line that says something, not `return x`
                    assert statement not in code, (ex, statement)  # as code: a hint may say it
        for mistake in ex.mistakes:
            if inspect.isfunction(mistake.like) and mistake.like.__name__ != "<lambda>":
                assert f"def {mistake.like.__name__}(" not in checks
        if ex._solution:
            assert ex._solution.strip().splitlines()[-1].strip() not in checks
    taken = release.answers_taken_out(notebook, set(exercises))
    assert {f"{m}.{n}" for m, names in taken.items() for n in names} == {
        q for (nb, number), objects in curriculum.ANSWERS.items()
        if nb == notebook and number in exercises for q in objects}  # every one: none is kept
    for module, names in taken.items():
        tree = ast.parse(text[f"{module}.py"])
        for name in names:
            top, _, method = name.partition(".")
            node = next(n for n in tree.body if getattr(n, "name", None) == top)
            if method and top in names:  # a method of a class stubbed whole: its __init__ raises
                continue
            if method:
                node = next(n for n in node.body if getattr(n, "name", None) == method)
            raises = node.body[0] if isinstance(node, ast.FunctionDef) else node.body[0].body[0]
            assert isinstance(raises, ast.Raise), f"{module}.{name} is not a stub"
    # it imports, and its exercises still build their hidden cases, without a reference
    probe = (f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n"
             "import json, vae_course\n"
             f"from vae_course.checks import {notebook} as m\n"
             "from vae_course.checks.core import exercises_in\n"
             "print(json.dumps([vae_course.__file__, "
             "{ex.number: [ex.reference is None, len(ex.hidden_cases(3))] for ex in exercises_in(m) "
             f"if ex.number in {sorted(exercises)}}}]))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    where, found = json.loads(done.stdout.strip().splitlines()[-1])
    assert where.startswith(str(tmp_path))
    assert {int(k) for k in found} == set(exercises)
    assert all(no_reference and n_cases > 0 for no_reference, n_cases in found.values())


def test_a_stub_says_where_the_answer_is_taught(tmp_path):
    copy = release.graded_package("nb01", {1, 2}, tmp_path)
    probe = (f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n"
             "import torch\nfrom vae_course.losses import importance_weighted_bound as f\n"
             "try:\n    f(torch.zeros(3))\nexcept NotImplementedError as e:\n    print(e)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=300)
    assert "notebook 01 asks you to write" in done.stdout, done.stderr[-2000:]
    assert (copy / "losses.py").is_file()


def test_a_map_entry_that_names_nothing_is_an_error():
    with pytest.raises(ValueError, match="has no nothing_here"):
        release.stub_objects("def f():\n    return 1\n", ["nothing_here"], "nb01", "losses")
