"""What the grader runs inside a submission's kernel, in place of each check cell.

**Function exercises** (``collect``): the kernel only *runs* the learner's function, on the grader's
hidden cases (drawn from a seed the grader chose for this run and wrote into the cell), and writes
what it returned as plain numbers (:mod:`vae_course.instructor.wire`). The verdict is computed later,
in the grader's own process, against the reference there: nothing this process patches, forges or
prints can reach it.

**The other exercises** (``graded_check``: models and training loops, checked by their behaviour)
are still judged here, in the submission's kernel: ``graded_check`` reloads the checks modules from
disk, refuses an answer that is the course's own code, runs the check and writes one JSON line with
the grader's per-run secret to a result file of that exercise. Code of the submission that runs in
the same process can still interfere with that (see the README's "What the grader cannot prevent").
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

MAX_MESSAGE = 4000  # characters of feedback kept


def _fresh_checks(notebook: str) -> Any:
    """``vae_course.checks.<notebook>`` as its file on disk defines it, with ``core`` and every
    other loaded checks module reloaded first."""
    core = importlib.reload(importlib.import_module("vae_course.checks.core"))
    target = f"vae_course.checks.{notebook}"
    for name in sorted(sys.modules):
        if name.startswith("vae_course.checks.") and name not in (core.__name__, target):
            importlib.reload(sys.modules[name])
    if target in sys.modules:
        return importlib.reload(sys.modules[target])
    return importlib.import_module(target)


def _exercise(notebook: str, number: int) -> Any:
    module = _fresh_checks(notebook)
    core = sys.modules["vae_course.checks.core"]  # reloaded in place by _fresh_checks
    return core, next(ex for ex in core.exercises_in(module) if ex.number == number)


def collect(notebook: str, number: int, answer_name: str, seed: int, out: str) -> None:
    """Run the learner's ``answer_name`` on the hidden cases of ``seed``; write the outcomes."""
    from IPython import get_ipython

    from vae_course.instructor import wire

    core, exercise = _exercise(notebook, number)
    namespace = get_ipython().user_ns
    if answer_name not in namespace:
        outcomes = [core.Outcome("not callable", detail=f"nothing: `{answer_name}` is not "
                                 "defined (did the exercise cell run without an error?)")]
    else:
        import torch

        dtype = torch.get_default_dtype()
        torch.set_default_dtype(torch.float32)  # the cases as the grader builds them
        try:
            cases = exercise.hidden_cases(seed)
        finally:
            torch.set_default_dtype(dtype)
        outcomes = exercise.run(namespace[answer_name], cases)
    wire.dump(outcomes, out)
    print(f"Exercise {number}: your function ran on the grader's hidden cases; the grader "
          "compares what it returned with the reference.")


def _course_code(answer: Any) -> str | None:
    """The qualified name of ``answer`` when the course wrote it (a reference, a package model)."""
    module = getattr(answer, "__module__", None) or ""
    if isinstance(module, str) and module.split(".")[0] == "vae_course":
        return f"{module}.{getattr(answer, '__qualname__', type(answer).__name__)}"
    return None


def graded_check(notebook: str, number: int, answer_name: str, secret: str, out: str) -> None:
    """Check the learner's ``answer_name`` for exercise ``number`` here; write the result to ``out``."""
    from IPython import get_ipython

    _, exercise = _exercise(notebook, number)
    namespace = get_ipython().user_ns
    if answer_name not in namespace:
        result = exercise.failed(f"`{answer_name}` is not defined: did the exercise cell run "
                                 "without an error?")
    elif owner := _course_code(namespace[answer_name]):
        result = exercise.failed(f"`{answer_name}` is the course's own `{owner}`, not your answer")
    else:
        try:
            result = exercise.evaluate(namespace[answer_name])
        except Exception as e:  # the checker itself failed on this answer
            result = exercise.failed(f"checking it raised {type(e).__name__}: {str(e)[:300]}")
    print(result.message)
    line = {"secret": secret, "notebook": notebook, "exercise": number, "status": result.status,
            "message": str(result.message)[:MAX_MESSAGE]}
    with open(out, "x", encoding="utf-8") as f:  # "x": a file planted before it is not used
        f.write(json.dumps(line) + "\n")
