"""Copies of the course package without answers.

``graded_package(notebook, dest)`` writes the copy of ``vae_course`` that a submission's kernel
imports while it is graded (the sandbox binds it over the installed package, so nothing else of the
course is in reach). For every exercise of ``notebook`` that the grader judges in its own process:

- the checks module ``checks/nbNN.py`` keeps the exercise's cases and hidden cases but loses its
  ``reference``, its named mistakes' variants (``like=``), its ``solution`` and its hints, and every
  function or class that only those used;
- the package's own version of the answer (``vae_course.curriculum.ANSWERS``, except what
  ``curriculum.KEPT`` must keep) is replaced by a stub that raises, naming the notebook that teaches it.

The copy also leaves out every other notebook's checks module, the benchmark and the instructor's
tools (but ``in_kernel`` and ``wire``, which run in the kernel). Edits are made on the syntax tree, so
comments of the edited modules are gone from the copy; nothing of the repository is changed.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

from vae_course import curriculum

PACKAGE = Path(__file__).resolve().parents[1]
KEPT_INSTRUCTOR = ("__init__.py", "in_kernel.py", "wire.py")
DROPPED = ("bench",)
STRIPPED_KEYWORDS = ("reference", "solution", "hints")


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _exercise_number(statement: ast.stmt) -> int | None:
    """N for a top-level ``exN = SomeExercise(...)``."""
    if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id.startswith("ex") and statement.targets[0].id[2:].isdigit()
            and isinstance(statement.value, ast.Call)):
        return int(statement.targets[0].id[2:])
    return None


def _strip_call(call: ast.Call) -> set[str]:
    """Take the answers out of one exercise's constructor call; return the names they used."""
    used: set[str] = set()
    kept = []
    for kw in call.keywords:
        if kw.arg in STRIPPED_KEYWORDS:
            used |= _names(kw.value)
            if kw.arg == "reference":
                kept.append(ast.keyword("reference", ast.Constant(None)))
            continue
        if kw.arg == "mistakes" and isinstance(kw.value, (ast.List, ast.Tuple)):
            for mistake in kw.value.elts:
                if isinstance(mistake, ast.Call):
                    for m_kw in [k for k in mistake.keywords if k.arg == "like"]:
                        used |= _names(m_kw.value)
                    mistake.keywords = [k for k in mistake.keywords if k.arg != "like"]
        kept.append(kw)
    positional = list(call.args)
    if len(positional) >= 3:  # FunctionExercise(number, title, reference, ...)
        used |= _names(positional[2])
        positional[2] = ast.Constant(None)
    call.args, call.keywords = positional, kept
    return used


def _defined(statement: ast.stmt) -> str | None:
    if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
        return statement.name
    if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)):
        return statement.targets[0].id
    return None


def strip_checks(source: str, numbers: set[int]) -> str:
    """``source`` of a checks module with the answers of exercises ``numbers`` taken out, and every
    top-level definition that only they used."""
    tree = ast.parse(source)
    candidates: set[str] = set()
    for statement in tree.body:
        if _exercise_number(statement) in numbers:
            candidates |= _strip_call(statement.value)
    while candidates:
        defs = {_defined(s): s for s in tree.body if _defined(s)}
        keep = set().union(*(_names(s) for s in tree.body if _defined(s) not in candidates))
        grew = True
        while grew:  # what a kept candidate uses is kept too
            more = set().union(*(_names(defs[n]) for n in candidates & keep if n in defs))
            grew = not more <= keep
            keep |= more
        drop = {n for n in candidates if n in defs and n not in keep}
        if not drop:
            break
        freed = set().union(*(_names(defs[n]) for n in drop))  # helpers only they used
        tree.body = [s for s in tree.body if _defined(s) not in drop]
        candidates = (candidates - drop) | (freed & set(defs))
    return ast.unparse(tree) + "\n"


def _stub_body(what: str, notebook: str) -> list[ast.stmt]:
    message = (f"{what} is what notebook {notebook[2:]} asks you to write: the copy of the course "
               "a graded submission runs with leaves it out")
    return [ast.Raise(ast.Call(ast.Name("NotImplementedError", ast.Load()),
                               [ast.Constant(message)], []), None)]


def stub_objects(source: str, names: list[str], notebook: str, module: str) -> str:
    """``source`` with each function, class or ``Class.method`` of ``names`` replaced by a stub."""
    tree = ast.parse(source)
    found = set()
    for statement in tree.body:
        for name in names:
            top, _, method = name.partition(".")
            if not isinstance(statement, (ast.FunctionDef, ast.ClassDef)) or statement.name != top:
                continue
            if isinstance(statement, ast.FunctionDef) and not method:
                statement.body = _stub_body(f"{module}.{name}", notebook)
                found.add(name)
            elif isinstance(statement, ast.ClassDef) and method:
                for item in statement.body:
                    if isinstance(item, ast.FunctionDef) and item.name == method:
                        item.body = _stub_body(f"{module}.{name}", notebook)
                        found.add(name)
            elif isinstance(statement, ast.ClassDef):  # the whole class: it cannot be built
                init = ast.parse("def __init__(self, *args, **kwargs):\n    pass").body[0]
                init.body = _stub_body(f"{module}.{name}", notebook)
                statement.body = [init]
                found.add(name)
    missing = sorted(set(names) - found)
    if missing:
        raise ValueError(f"vae_course/{module}.py has no {', '.join(missing)} (curriculum.ANSWERS)")
    return ast.unparse(tree) + "\n"


def answers_taken_out(notebook: str, numbers: set[int]) -> dict[str, list[str]]:
    """``{module: [object, ...]}``: the package's answers to exercises ``numbers`` of ``notebook``
    that the graded copy replaces by stubs."""
    out: dict[str, list[str]] = {}
    for (nb, number), objects in curriculum.ANSWERS.items():
        if nb != notebook or number not in numbers:
            continue
        for qualified in objects:
            if (notebook, qualified) in curriculum.KEPT:
                continue
            module, _, name = qualified.partition(".")
            if name not in out.setdefault(module, []):
                out[module].append(name)
    return out


def graded_package(notebook: str, numbers: set[int], dest: Path) -> Path:
    """Write the copy of the package for grading ``notebook``'s exercises ``numbers`` (those the
    grader judges) under ``dest``; returns the copy's ``vae_course`` folder."""
    target = Path(dest) / "vae_course"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in DROPPED:
        shutil.rmtree(target / name, ignore_errors=True)
    for path in (target / "instructor").iterdir():
        if path.name not in KEPT_INSTRUCTOR:
            path.unlink() if path.is_file() else shutil.rmtree(path)
    for path in (target / "checks").glob("nb*.py"):
        if path.stem != notebook:
            path.unlink()
    checks = target / "checks" / f"{notebook}.py"
    if checks.exists():
        checks.write_text(strip_checks(checks.read_text(), numbers))
    for module, names in answers_taken_out(notebook, numbers).items():
        path = target / f"{module}.py"
        path.write_text(stub_objects(path.read_text(), names, notebook, module))
    return target
