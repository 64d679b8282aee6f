"""Class releases tried from the learner's side (``make release ASSIGNMENT=NN``).

For every notebook with exercises: build its release, install the wheel into a fresh virtual
environment that cannot import the repository's package (the dependencies come from this
environment through a ``.pth`` file, so no download), and run the student notebook there with
``tests/release_runner.py``:

- untouched, every check says "not attempted";
- with the solutions of ``solutions/`` pasted in, the whole notebook runs and every public check
  passes (the checks judge from what the release recorded, without a reference);
- answered by functions that call the course's reference (``exN.reference``), no check passes;
- the installed package holds none of the assignment's reference code: no reference function's
  body, no named mistake's variant, no solution, no last hint, and each stubbed answer is a stub;
  what it keeps of the answers is exactly what its README lists, with the reason.
"""

import ast
import importlib
import inspect
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

from vae_course.checks.core import FunctionExercise, exercises_in
from vae_course.instructor import release

TESTS = Path(__file__).resolve().parent
NOTEBOOKS = [f"nb{n:02d}" for n in range(11)]


@pytest.fixture(scope="module")
def release_env(tmp_path_factory):
    """A fresh venv whose only route to this environment's packages is a .pth file: it has torch,
    nbclient, ipykernel, ... but no ``vae_course`` until a release's wheel is installed."""
    root = tmp_path_factory.mktemp("release-env")
    venv.create(root / "env", with_pip=False)
    python = root / "env" / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                              "['purelib'])"], capture_output=True, text=True, check=True)
    Path(purelib.stdout.strip(), "_course_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environment.update(MPLBACKEND="Agg", VAE_COURSE_CACHE=str(root / "cache"))
    environment.setdefault("CI", "true")  # the notebooks in fast mode
    bare = subprocess.run([python, "-c", "import vae_course"], capture_output=True, text=True,
                          cwd=root, env=environment)
    assert "No module named 'vae_course'" in bare.stderr, "the fresh venv sees the repository"
    return python, root, environment


def _run(python, root, environment, notebook):
    out = root / notebook
    made = release.build_release(notebook, out)
    install = subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-index",
                              "--force-reinstall", "-q", made["wheel"]],
                             capture_output=True, text=True, cwd=root, env=environment)
    assert install.returncode == 0, install.stderr[-2000:]
    student = made["notebook"]
    solved = release.notebook_file(notebook, "solutions")
    result = root / f"{notebook}.json"
    done = subprocess.run([python, TESTS / "release_runner.py", student, solved, result],
                          capture_output=True, text=True, cwd=root, env=environment, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                                "['purelib'])"], capture_output=True, text=True).stdout.strip())
    return json.loads(result.read_text()), site / "vae_course", made


def _statements(fn) -> list[str]:
    """The statements of ``fn``'s body that say something (not ``return x``), as unparsed (none
    for a lambda: the test looks for ``like=`` instead)."""
    if getattr(fn, "__name__", "") == "<lambda>":
        return []
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError):
        return []
    body = tree.body[0].body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return [ast.unparse(s) for s in body if len(ast.unparse(s)) > 25]


def _code(trees) -> tuple[set[str], set[str], set[str]]:
    """What modules' syntax trees hold as code: every statement (at any depth) as ``ast.unparse``
    writes it, the names of the functions and classes they define, and their string constants.
    Code only: a docstring or a hint that describes the answer in words is not a leak."""
    statements, names, strings = set(), set(), set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.stmt) and not (isinstance(node, ast.Expr) and isinstance(
                    node.value, ast.Constant)):
                statements.add(ast.unparse(node))
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
    return statements, names, strings


def _installed(package: Path) -> tuple[set[str], set[str], set[str]]:
    return _code(ast.parse(p.read_text()) for p in sorted(package.rglob("*.py")))


def _kept_code(notebook, inventory) -> set[str]:
    """The statements of what a release keeps of the answers (its README's list), from the
    repository's source."""
    nodes = [release._definition(q)[1] for q in inventory["kept"] if "." not in
             q.partition(".")[2]]
    tree = ast.parse((release.PACKAGE / "checks" / f"{notebook}.py").read_text())
    nodes += [n for n in tree.body if getattr(n, "name", None) in inventory["checks_keep"]]
    return _code(nodes)[0]


def _package_without(stubbed):
    """:func:`_code` of the repository's package without the objects ``stubbed`` names
    (``models.AE``, ``reduction.fit_pca``): what the release may share with them without leaking
    them."""
    trees = []
    for path in sorted(release.PACKAGE.rglob("*.py")):
        module = path.relative_to(release.PACKAGE).with_suffix("").as_posix().replace("/", ".")
        # the checks are judged by their references; the rest is not in a release
        if module.split(".")[0] in ("checks", "instructor", "bench", "speed"):
            continue
        tree = ast.parse(path.read_text())
        mine = [q.removeprefix(module + ".") for q in stubbed if q.startswith(module + ".")]
        tree.body = [n for n in tree.body if getattr(n, "name", None) not in mine]
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                node.body = [m for m in node.body
                             if f"{node.name}.{getattr(m, 'name', '')}" not in mine]
        trees.append(tree)
    return _code(trees)


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_a_release_from_the_learners_side(release_env, notebook):
    results, package, made = _run(*release_env, notebook)
    assert Path(results["vae_course"]).is_relative_to(package)
    exercises = exercises_in(importlib.import_module(f"vae_course.checks.{notebook}"))
    checks = [f"ex{ex.number}-check" for ex in exercises]
    for run in ("untouched", "cheat", "solved"):
        assert sorted(results[run]) == sorted(checks), run

    for ex in exercises:
        untouched = results["untouched"][f"ex{ex.number}-check"]
        solved = results["solved"][f"ex{ex.number}-check"]
        cheat = results["cheat"][f"ex{ex.number}-check"]
        assert f"Exercise {ex.number} ({ex.title}): not attempted yet" in untouched, untouched
        assert f"✔ Exercise {ex.number} ({ex.title}): correct." in solved, solved
        assert "✔" not in cheat, cheat
        # a function answer called exN.reference, which is not there (a class answer is left as is)
        if isinstance(ex, FunctionExercise) and getattr(ex, "expects", "function") == "function":
            assert "'NoneType' object is not callable" in cheat, cheat

    inventory = json.loads((made["readme"].parent / "release.json").read_text())
    statements, _, strings = _installed(package)
    checks_module = (package / "checks" / f"{notebook}.py").read_text()
    _, checks_names, _ = _code([ast.parse(checks_module)])
    assert "like=" not in checks_module  # no mistake variant, lambdas included
    kept = _kept_code(notebook, inventory)  # what the README says the release keeps
    # what the release may hold without leaking: the package but its stubbed answers (earlier
    # notebooks' answers and shared helpers), e.g. 05's `x_hat, mu, logvar = model(x)` in 09
    shared, _, _ = _package_without(inventory["stubbed"])
    for ex in exercises:
        for fn in [ex.reference] + [m.like for m in ex.mistakes]:
            if inspect.isfunction(fn) or inspect.isclass(fn):
                if fn.__name__ != "<lambda>" and fn.__module__.startswith("vae_course.checks"):
                    assert (fn.__name__ not in checks_names
                            or fn.__name__ in inventory["checks_keep"]), (ex, fn.__name__)
                    for statement in _statements(fn):
                        assert (statement not in statements or statement in kept
                                or statement in shared), (ex, statement)
        if ex._solution:  # the solution as written (each whole def or class) is not there
            solution = {ast.unparse(n) for n in ast.parse(textwrap.dedent(ex._solution)).body}
            assert not solution & (statements - kept), ex
        if len(ex.hints) > 1:
            assert ex.hints[-1] not in strings, ex
    readme = made["readme"].read_text()
    outside_checks, _, _ = _code(ast.parse(p.read_text()) for p in sorted(package.rglob("*.py"))
                                 if p.parent.name != "checks")  # the checks: by their references
    for qualified in inventory["stubbed"]:  # a stub, and no statement of the course's version
        module, _, name = qualified.partition(".")
        target = importlib.import_module(f"vae_course.{module}")
        for part in name.split("."):
            target = getattr(target, part)
        methods = ([target] if inspect.isfunction(target) else
                   [v for v in vars(target).values() if inspect.isfunction(v)])
        for fn in methods:
            for statement in _statements(fn):
                if statement not in shared:  # e.g. an input check other functions make too
                    assert statement not in outside_checks, (qualified, statement)
        assert f"`vae_course.{qualified}`" in readme
    for qualified, why in inventory["kept"].items():
        assert f"`vae_course.{qualified}`: {why}" in readme
    for name, why in inventory["checks_keep"].items():
        assert f"`vae_course.checks.{notebook}.{name}`: {why}" in readme
    assert set(inventory["kept"]) == set(release.used_by_notebook(notebook))


def test_the_release_command_names_what_it_wrote(tmp_path):
    done = subprocess.run([sys.executable, "-m", "vae_course.instructor.release", "03", "--out",
                           tmp_path], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "03_reparameterization.ipynb", "README.md", "release.json",
        "vae_course-0.1.0+assignment03-py3-none-any.whl"]
    wrong = subprocess.run([sys.executable, "-m", "vae_course.instructor.release", "42", "--out",
                            tmp_path / "x"], capture_output=True, text=True, timeout=300)
    assert wrong.returncode == 2 and "no notebook 42 with exercises" in wrong.stderr


def test_the_instructors_page_lists_what_each_release_keeps():
    page = (release.REPOSITORY / "docs" / "instructors.md").read_text(encoding="utf-8")
    assert release.kept_table() in page, "refresh docs/instructors.md's table: release.kept_table()"
