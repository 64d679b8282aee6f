"""Copies of the course package without answers.

``graded_package(notebook, dest)`` writes the copy of ``vae_course`` that a submission's kernel
imports while it is graded (the sandbox binds it over the installed package, so nothing else of the
course is in reach). For every exercise of ``notebook`` that the grader judges in its own process:

- the checks module ``checks/nbNN.py`` keeps the exercise's cases and hidden cases but loses its
  ``reference``, its named mistakes' variants (``like=``), its ``solution`` and its hints, and every
  function or class that only those used;
- the package's own version of the answer (``vae_course.curriculum.ANSWERS``) is replaced by a stub
  that raises, naming the notebook that teaches it.

The copy also leaves out every other notebook's checks module, the benchmark and the instructor's
tools (but ``in_kernel`` and ``wire``, which run in the kernel) and ``speed.py`` (the benchmark's
fused VAE loss). Edits are made on the syntax tree, so
comments of the edited modules are gone from the copy; nothing of the repository is changed.

``build_release(notebook, out)`` (``make release ASSIGNMENT=05``, or ``python -m
vae_course.instructor.release 05 --out DIR``) writes what an instructor hands a class for one
assignment: the student notebook, a wheel of the package without that assignment's answers nor those
of later notebooks, and a README for the instructor. In the wheel:

- the assignment's checks module keeps every exercise's cases, messages and bands but no reference,
  no named mistake's variant, no solution and not the last hint (the one that gives the answer away);
  what the references and the variants return on the public cases is recorded as data
  (``checks/recorded/nbNN.pt``, loaded with ``weights_only=True``), so ``exN.check(f)`` still names
  the mistakes;
- the package's own version of each answer of this notebook and of every later one
  (``curriculum.ANSWERS``) is a stub that names the notebook teaching it, except what the student
  notebook's own cells use (listed in its README with the reason);
- other notebooks' checks, the benchmark (and its fused VAE loss, ``speed.py``) and the
  instructor's tools are left out.
"""

from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import importlib
import json
import re
import shutil
import sys
import zipfile
from pathlib import Path

import torch

from vae_course import curriculum

PACKAGE = Path(__file__).resolve().parents[1]
REPOSITORY = PACKAGE.parent
KEPT_INSTRUCTOR = ("__init__.py", "in_kernel.py", "wire.py")
DROPPED = ("bench", "speed.py")  # the benchmark and its fast path (a whole VAE loss, fused)
STRIPPED_KEYWORDS = ("reference", "rebuilt_as", "solution", "hints")


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


def _strip_call(call: ast.Call, last_hint_only: bool = False) -> set[str]:
    """Take the answers out of one exercise's constructor call; return the names they used.
    ``last_hint_only``: keep the hints but the last one (a release), instead of dropping them all."""
    used: set[str] = set()
    kept = []
    for kw in call.keywords:
        if (kw.arg == "hints" and last_hint_only and isinstance(kw.value, (ast.List, ast.Tuple))
                and len(kw.value.elts) > 1):
            kw.value.elts = kw.value.elts[:-1]
            kept.append(kw)
            continue
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


def strip_checks(source: str, numbers: set[int], last_hint_only: bool = False) -> str:
    """``source`` of a checks module with the answers of exercises ``numbers`` taken out, and every
    top-level definition that only they used (``last_hint_only``: see :func:`_strip_call`)."""
    tree = ast.parse(source)
    candidates: set[str] = set()
    for statement in tree.body:
        if _exercise_number(statement) in numbers:
            candidates |= _strip_call(statement.value, last_hint_only)
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
    message = (f"{what} is what notebook {notebook[2:]} asks you to write: this copy of the course "
               "(for a graded class) leaves it out")
    return [ast.Raise(ast.Call(ast.Name("NotImplementedError", ast.Load()),
                               [ast.Constant(message)], []), None)]


def stub_objects(source: str, names: list[str] | dict[str, str], notebook: str, module: str) -> str:
    """``source`` with each function, class or ``Class.method`` of ``names`` replaced by a stub that
    names ``notebook`` (or, for a dict ``{name: notebook}``, the notebook of each)."""
    teaches = names if isinstance(names, dict) else dict.fromkeys(names, notebook)
    names = list(teaches)
    tree = ast.parse(source)
    whole = {n for n in names if "." not in n}
    found = {n for n in names if n.partition(".")[0] in whole and "." in n}  # in a stubbed class
    for statement in tree.body:
        for name in names:
            if name in found:
                continue
            top, _, method = name.partition(".")
            if not isinstance(statement, (ast.FunctionDef, ast.ClassDef)) or statement.name != top:
                continue
            if isinstance(statement, ast.FunctionDef) and not method:
                statement.body = _stub_body(f"{module}.{name}", teaches[name])
                found.add(name)
            elif isinstance(statement, ast.ClassDef) and method:
                for item in statement.body:
                    if isinstance(item, ast.FunctionDef) and item.name == method:
                        item.body = _stub_body(f"{module}.{name}", teaches[name])
                        found.add(name)
            elif isinstance(statement, ast.ClassDef):  # the whole class: it cannot be built
                init = ast.parse("def __init__(self, *args, **kwargs):\n    pass").body[0]
                init.body = _stub_body(f"{module}.{name}", teaches[name])
                statement.body = [init]
                found.add(name)
    missing = sorted(set(names) - found)
    if missing:
        raise ValueError(f"vae_course/{module}.py has no {', '.join(missing)} (curriculum.ANSWERS)")
    return ast.unparse(tree) + "\n"


def answers_taken_out(notebook: str, numbers: set[int] | None,
                      later: bool = False) -> dict[str, list[str]]:
    """``{module: [object, ...]}``: the package's answers to exercises ``numbers`` of ``notebook``
    (None: all of them), and with ``later`` to every exercise of the notebooks after it, that a copy
    replaces by stubs."""
    out: dict[str, dict[str, str]] = {}
    for (nb, number), objects in sorted(curriculum.ANSWERS.items()):
        mine = nb == notebook and (numbers is None or number in numbers)
        if not (mine or (later and nb > notebook)):
            continue
        for qualified in objects:
            module, _, name = qualified.partition(".")
            out.setdefault(module, {}).setdefault(name, nb)  # the first notebook that teaches it
    return out


def _copy_package(dest: Path, notebook: str, instructor: tuple[str, ...]) -> Path:
    target = Path(dest) / "vae_course"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc",
                                                                   "recorded"))
    for name in DROPPED:
        path = target / name
        path.unlink() if path.is_file() else shutil.rmtree(path, ignore_errors=True)
    for path in (target / "instructor").iterdir():
        if path.name not in instructor:
            path.unlink() if path.is_file() else shutil.rmtree(path)
    for path in (target / "checks").glob("nb*.py"):
        if path.stem != notebook:
            path.unlink()
    return target


def graded_package(notebook: str, numbers: set[int], dest: Path) -> Path:
    """Write the copy of the package for grading ``notebook``'s exercises ``numbers`` (those the
    grader judges) under ``dest``; returns the copy's ``vae_course`` folder."""
    target = _copy_package(dest, notebook, KEPT_INSTRUCTOR)
    checks = target / "checks" / f"{notebook}.py"
    if checks.exists():
        checks.write_text(strip_checks(checks.read_text(), numbers))
    for module, names in answers_taken_out(notebook, numbers).items():
        path = target / f"{module}.py"
        path.write_text(stub_objects(path.read_text(), names, notebook, module))
    return target


# ------------------------------------------------------------------------------ class releases


def notebook_file(notebook: str, folder: str = "notebooks") -> Path:
    """``notebooks/05_vae.ipynb`` for ``"nb05"``."""
    (path,) = sorted((REPOSITORY / folder).glob(f"{notebook[2:]}_*.ipynb"))
    return path


def record_checks(notebook: str) -> dict[int, dict]:
    """What a release's checks keep of each exercise of ``notebook`` with a reference: its
    ``record()`` (the reference's and named mistakes' results on the public cases), made with the
    full package in this process."""
    from vae_course.checks.core import Exercise, exercises_in

    module = importlib.import_module(f"vae_course.checks.{notebook}")
    out = {}
    for exercise in exercises_in(module):
        if type(exercise).evaluate is Exercise.evaluate or hasattr(exercise, "cases"):
            out[exercise.number] = exercise.record()
    return out


def _mentions(tree: ast.AST, module: str = "") -> set[str]:
    """The package objects a piece of code mentions, as ``module.name``: names imported from the
    package (``from vae_course.losses import kl_mvn``), attributes of an imported package module
    (``losses.kl_mvn``), and inside package module ``module`` its own top-level names and
    ``self.method``. ``.attr`` is added for every attribute (a method's name)."""
    imported: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vae_course"):
            base = node.module.removeprefix("vae_course").lstrip(".")
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{base}.{alias.name}".lstrip(".")
    found = set(imported.values())
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(imported.get(node.id, f"{module}.{node.id}" if module else node.id))
        elif isinstance(node, ast.Attribute):
            found.add(f".{node.attr}")
            if isinstance(node.value, ast.Name):
                owner = imported.get(node.value.id, node.value.id)
                found.add(f"{owner}.{node.attr}")
    return found


def _definition(qualified: str) -> tuple[str, ast.AST] | None:
    """``(module, node)`` of the package's top-level function or class ``qualified``
    (``losses.kl_mvn``, ``demos.kl_explorer.kl_explorer``), or None."""
    parts = qualified.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        path = PACKAGE.joinpath(*parts[:cut]).with_suffix(".py")
        if path.is_file():
            tree = ast.parse(path.read_text())
            node = next((n for n in tree.body if getattr(n, "name", None) == parts[cut]), None)
            return (".".join(parts[:cut]), node) if node is not None else None
    return None


def _gives_loss_fn(call: ast.Call) -> bool:
    """``load_or_train(build, recipe, loss_fn)`` or ``..., loss_fn=...)``: trains with its own loss."""
    return len(call.args) >= 3 or any(kw.arg == "loss_fn" for kw in call.keywords)


def _recipe_losses(cells: list[tuple[int, ast.AST]]) -> dict[str, int]:
    """``{"losses.ae_loss": cell}``: the training losses that ``Recipe(loss="ae")`` and the like name
    by a string (``train.LOSSES`` maps it to ``losses.ae_loss``), which following names alone does
    not see. A recipe bound to a name whose every use is ``name.train_data()``,
    ``name.test_data()``, printing it or ``load_or_train(build, name, loss_fn)`` never reaches its
    named loss: the notebook trains it with a loss of its own (notebook 05 with the learner's), so
    it is not counted."""
    from vae_course.train import LOSSES

    def named_loss(node: ast.AST) -> str | None:
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) \
                == "Recipe":
            for kw in node.keywords:
                if kw.arg == "loss" and isinstance(kw.value, ast.Constant) and kw.value.value in LOSSES:
                    return f"losses.{LOSSES[kw.value.value].__name__}"
        return None

    parents: dict[ast.AST, ast.AST] = {}
    for _, tree in cells:
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                parents[child] = node

    def harmless(use: ast.Name) -> bool:
        up = parents.get(use)
        if isinstance(up, ast.FormattedValue) or isinstance(up, ast.Call) \
                and getattr(up.func, "id", "") in ("print", "str", "repr"):
            return True
        if isinstance(up, ast.Attribute) and up.attr in ("train_data", "test_data") \
                and isinstance(parents.get(up), ast.Call):
            return True
        return (isinstance(up, ast.Call) and getattr(up.func, "id", "") == "load_or_train"
                and len(up.args) >= 2 and up.args[1] is use and _gives_loss_fn(up))

    found: dict[str, int] = {}
    for index, tree in cells:
        for node in ast.walk(tree):
            loss = named_loss(node)
            if loss is None:
                continue
            bound = parents.get(node)
            if isinstance(bound, ast.Assign) and len(bound.targets) == 1 \
                    and isinstance(bound.targets[0], ast.Name):
                name = bound.targets[0].id
                uses = [n for _, t in cells for n in ast.walk(t) if isinstance(n, ast.Name)
                        and n.id == name and isinstance(n.ctx, ast.Load)]
                if all(harmless(use) for use in uses):
                    continue
            found.setdefault(loss, index)
    return found


def used_by_notebook(notebook: str) -> dict[str, str]:
    """``{"losses.kl_normal_std": why}``: the answers of ``notebook`` and of later notebooks that its
    release must keep because the student notebook's own code cells (outside its exercise cells)
    reach them: directly, or through the package code they call (followed through the package's
    source: ``load_or_train`` -> ``Recipe.fit`` -> ``train.fit``). A class that is kept keeps its
    methods."""
    cells = json.loads(notebook_file(notebook).read_text(encoding="utf-8"))["cells"]
    later = sorted({q for (nb, _), objects in curriculum.ANSWERS.items() if nb >= notebook
                    for q in objects})
    why: dict[str, str] = {}  # package object reached -> how
    frontier: list[str] = []
    trees = []
    for index, cell in enumerate(cells, start=1):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        if cell["cell_type"] != "code" or re.fullmatch(r"ex\d+", grade_id):
            continue
        code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                         for line in "".join(cell["source"]).splitlines())
        trees.append((index, ast.parse(code)))
    reached = [(index, name) for index, tree in trees for name in sorted(_mentions(tree))]
    reached += sorted((index, name) for name, index in _recipe_losses(trees).items())
    for index, name in sorted(reached):
        if name not in why and "." in name.strip(".") and _definition(name):
            why[name] = (index, [name])
            frontier.append(name)
    while frontier:
        name = frontier.pop()
        module, node = _definition(name)
        mentioned = _mentions(node, module)
        if isinstance(node, ast.ClassDef):  # self.method of this class
            mentioned |= {f"{name}.{m[1:]}" for m in mentioned if m.startswith(".")}
        for other in sorted(mentioned):
            top = ".".join(other.split(".")[:2]) if other.count(".") >= 2 else other
            if top not in why and "." in top.strip(".") and not top.startswith(".") \
                    and _definition(top):
                why[top] = (why[name][0], why[name][1] + [top])
                frontier.append(top)

    def reason(name: str) -> str:
        index, chain = why[name]
        if len(chain) == 1:
            return f"cell {index} of the notebook uses it"
        return f"cell {index} of the notebook reaches it: " + " → ".join(f"`{c}`" for c in chain)

    used = {}
    for qualified in later:
        module, _, rest = qualified.partition(".")
        owner = f"{module}.{rest.partition('.')[0]}"
        if qualified in why:
            used[qualified] = reason(qualified)
        elif owner in why:
            used[qualified] = f"a method of `{owner}`, which is kept ({reason(owner)})"
    return used


def release_package(notebook: str, dest: Path) -> Path:
    """Write the package a class gets with assignment ``notebook`` under ``dest`` (see the module's
    docstring); returns its ``vae_course`` folder."""
    module = importlib.import_module(f"vae_course.checks.{notebook}")
    from vae_course.checks.core import exercises_in

    numbers = {ex.number for ex in exercises_in(module)}
    target = _copy_package(dest, notebook, ("__init__.py",))
    checks = target / "checks" / f"{notebook}.py"
    checks.write_text(strip_checks(checks.read_text(), numbers, last_hint_only=True))
    for name, names in release_stubs(notebook).items():
        path = target / f"{name}.py"
        path.write_text(stub_objects(path.read_text(), names, notebook, name))
    data = record_checks(notebook)
    (target / "checks" / "recorded").mkdir()
    temporary = target / "checks" / "recorded" / f".{notebook}.pt.tmp"
    torch.save(data, temporary)
    loaded = torch.load(temporary, weights_only=True)  # what the learner's copy will read
    if sorted(loaded) != sorted(data):
        raise ValueError(f"the recorded checks of {notebook} do not load back")
    temporary.replace(temporary.with_name(f"{notebook}.pt"))
    return target


def release_stubs(notebook: str) -> dict[str, dict[str, str]]:
    """``{module: {name: notebook teaching it}}``: what the release of ``notebook`` replaces by stubs:
    the answers of it and of later notebooks, but what its own cells (:func:`used_by_notebook`)
    need."""
    used = used_by_notebook(notebook)
    out = {}
    for module, names in answers_taken_out(notebook, None, later=True).items():
        kept = {n: nb for n, nb in names.items() if f"{module}.{n}" not in used}
        if kept:
            out[module] = kept
    return out


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_wheel(package: Path, version: str, out: Path) -> Path:
    """A wheel (pure Python, PEP 427) of the folder ``package`` (a ``vae_course`` copy) as project
    ``vae-course`` ``version``, with the dependencies of the repository's pyproject.toml."""
    import tomllib  # Python 3.11: the instructor's tools only

    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]
    dist = f"vae_course-{version}"
    info = f"{dist}.dist-info"
    metadata = "\n".join(["Metadata-Version: 2.1", "Name: vae-course", f"Version: {version}",
                           f"Summary: {project['description']}",
                           f"Requires-Python: {project['requires-python']}"]
                          + [f"Requires-Dist: {d}" for d in project["dependencies"]]) + "\n"
    files = {f"vae_course/{p.relative_to(package).as_posix()}": p.read_bytes()
             for p in sorted(package.rglob("*")) if p.is_file()}
    files[f"{info}/METADATA"] = metadata.encode()
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: vae_course.instructor.release\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    files[f"{info}/top_level.txt"] = b"vae_course\n"
    record = [_record_line(name, data) for name, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = Path(out) / f"{dist}-py3-none-any.whl"
    temporary = wheel.with_name(wheel.name + ".tmp")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            info_ = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info_.external_attr = 0o644 << 16
            z.writestr(info_, data, zipfile.ZIP_DEFLATED)
    temporary.replace(wheel)
    return wheel


def references_kept_by_checks(notebook: str) -> dict[str, str]:
    """``{name: why}``: the references and mistake variants of ``notebook``'s checks module that its
    release keeps, because a behaviour check runs them (on a model it trained, say)."""
    from vae_course.checks.core import exercises_in

    module = importlib.import_module(f"vae_course.checks.{notebook}")
    exercises = exercises_in(module)
    path = PACKAGE / "checks" / f"{notebook}.py"
    stripped = ast.parse(strip_checks(path.read_text(), {ex.number for ex in exercises}, True))
    defined = {n.name for n in stripped.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    kept = {}
    for ex in exercises:
        for fn in [ex.reference] + [m.like for m in ex.mistakes]:
            name = getattr(fn, "__name__", "")
            if getattr(fn, "__module__", "") == module.__name__ and name in defined:
                kept.setdefault(name, f"exercise {ex.number}'s check runs it")
    return kept


def _inventory(notebook: str) -> dict:
    """What a release of ``notebook`` leaves out and keeps, for its README and its tests."""
    from vae_course.checks.core import exercises_in

    module = importlib.import_module(f"vae_course.checks.{notebook}")
    return {"exercises": [(ex.number, ex.title, ex.points) for ex in exercises_in(module)],
            "stubbed": {f"{m}.{n}": nb for m, names in release_stubs(notebook).items()
                        for n, nb in names.items() if n.partition(".")[0] == n
                        or n.partition(".")[0] not in names},  # a method of a stubbed class: no
            "kept": {q: f"the notebook itself uses it ({why})"
                     for q, why in used_by_notebook(notebook).items()},
            "checks_keep": references_kept_by_checks(notebook)}


def kept_table() -> str:
    """The table of what each release keeps of the answers (a test keeps it in
    step): per notebook with exercises, the kept objects (a kept class stands for its methods)."""
    rows = ["| release | answers it keeps |", "|---|---|"]
    for path in sorted((PACKAGE / "checks").glob("nb*.py")):
        inventory = _inventory(path.stem)
        kept = inventory["kept"]
        tops = sorted(q for q in kept if not any(q.startswith(o + ".") for o in kept))
        tops += [f"checks.{path.stem}.{q}" for q in sorted(inventory["checks_keep"])]
        rows.append(f"| {path.stem[2:]} | " + (", ".join(f"`{q}`" for q in tops) or "none") + " |")
    return "\n".join(rows)


def instructor_readme(notebook: str, wheel: str, student: str) -> str:
    """The README of a release: what is in it, what is not, how to hand it to a class."""
    inv = _inventory(notebook)
    lines = [f"# Assignment {notebook[2:]}: a class release of the VAE course", "",
             "## What is here", "",
             f"- `{student}`: the student notebook (nbgrader metadata included).",
             f"- `{wheel}`: the course package for this assignment. Install it where the class "
             f"works (a JupyterHub's user environment): `pip install {wheel}`. It pulls torch, "
             "torchvision and the rest from the package index as the full course does. Set "
             "`VAE_COURSE_DATA` for the class to a folder with MNIST and Fashion-MNIST in "
             "torchvision's layout (read-only is fine); otherwise each learner's copy looks in "
             "`~/.cache/vae_course/data` and downloads there when online. Trained models go to "
             "`~/.cache/vae_course/cache` (`VAE_COURSE_CACHE` to change).",
             "- In this release the cells after an exercise run the learner's own answer: until it "
             "passes, the cells that need it fail (its `yours_or_reference` cell says so).",
             "- `release.json`: the same inventory as this page, for scripts.", "",
             "## What the package holds, and what it does not", "",
             "The checks in the notebook (`exN.check(...)`) still give the course's feedback: on "
             "the public cases they compare with the reference's results, recorded when this "
             "release was built (data, not code), and name the usual mistakes. Behaviour checks "
             "train the learner's model briefly and compare with measured bands, as in self-study.",
             "", "Left out of the package:", "",
             "- the references, the named mistakes' code and the solutions of this assignment's "
             "exercises (`exN.solution()` says to ask the instructor), and the last hint of each "
             "(the one that is the answer);",
             "- the checks of every other notebook, the benchmark and the instructor's tools "
             "(grader, release, student-notebook generator);"]
    lines += ["- the package's own version of these answers (each is a stub that says which "
              "notebook teaches it):", ""]
    lines += [f"  - `vae_course.{q}` (notebook {nb[2:]})" for q, nb in sorted(inv["stubbed"].items())]
    if inv["kept"] or inv["checks_keep"]:
        lines += ["", "Still in the package, because this notebook's checks or its own cells run "
                  "them (a learner could call or read them):", ""]
        lines += [f"- `vae_course.{q}`: {why}" for q, why in sorted(inv["kept"].items())]
        lines += [f"- `vae_course.checks.{notebook}.{q}`: {why}"
                  for q, why in sorted(inv["checks_keep"].items())]
    lines += ["", "## Grading", "",
              "Grade with the full course (the instructor's clone), never with this package: "
              "`python -m vae_course.instructor.grade SUBMISSIONS --assignment "
              f"{notebook[2:]} --out grades.csv` runs each submission in a sandbox and judges the "
              "function exercises on hidden cases in the grader's own process (see the course's "
              "docs/instructors.md). nbgrader's `autograde` also works with the full course "
              "installed, but runs its tests inside the student's kernel.", "",
              "## Exercises", "", "| exercise | title | points |", "|---|---|---|"]
    lines += [f"| {n} | {title} | {points} |" for n, title, points in inv["exercises"]]
    return "\n".join(lines) + "\n"


def build_release(notebook: str, out: Path) -> dict[str, Path]:
    """Write the class release of ``notebook`` (``"nb05"``) into ``out``: the student notebook, the
    wheel, the README and ``release.json``. Returns their paths."""
    from vae_course import __version__

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    work = out / ".build"
    shutil.rmtree(work, ignore_errors=True)
    package = release_package(notebook, work)
    wheel = build_wheel(package, f"{__version__}+assignment{notebook[2:]}", out)
    shutil.rmtree(work)
    student = notebook_file(notebook)
    shutil.copyfile(student, out / student.name)
    (out / "README.md").write_text(instructor_readme(notebook, wheel.name, student.name))
    (out / "release.json").write_text(json.dumps(_inventory(notebook), indent=1) + "\n")
    return {"wheel": wheel, "notebook": out / student.name, "readme": out / "README.md"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vae_course.instructor.release",
        description="Write the class release of one assignment: the student notebook, a wheel of "
                    "the course without its answers, and a README for the instructor.")
    parser.add_argument("assignment", help="the notebook's number, e.g. 05")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write it (default: releases/NN)")
    args = parser.parse_args(argv)
    number = args.assignment.removeprefix("nb").zfill(2)
    notebook = f"nb{number}"
    try:
        importlib.import_module(f"vae_course.checks.{notebook}")
    except ModuleNotFoundError:
        parser.error(f"no notebook {number} with exercises (vae_course/checks/{notebook}.py)")
    made = build_release(notebook, args.out or REPOSITORY / "releases" / number)
    for what, path in made.items():
        print(f"{what}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
