"""What the grader runs inside a submission's kernel, in place of each check cell.

``graded_check`` does not trust what the submission's code may have changed before it ran: it reloads
the checks modules from disk (undoing a rebound ``ex1``, a patched ``core.compare`` or a fake
``Exercise``), refuses an answer that is the course's own code (``ex1.reference`` handed in), runs
the check, prints its feedback and appends one JSON line, carrying the grader's per-run secret, to
the grader's log. The grader counts only lines with its secret, for the exercises it asked about.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any


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


def _course_code(answer: Any) -> str | None:
    """The qualified name of ``answer`` when the course wrote it (a reference, a package model)."""
    module = getattr(answer, "__module__", None) or ""
    if isinstance(module, str) and module.split(".")[0] == "vae_course":
        return f"{module}.{getattr(answer, '__qualname__', type(answer).__name__)}"
    return None


def graded_check(notebook: str, number: int, answer_name: str, secret: str, log: str) -> None:
    """Check the learner's ``answer_name`` for exercise ``number`` of ``notebook``; log the result."""
    from IPython import get_ipython

    module = _fresh_checks(notebook)
    core = sys.modules["vae_course.checks.core"]  # reloaded in place by _fresh_checks
    exercise = next(ex for ex in core.exercises_in(module) if ex.number == number)
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
            result = exercise.failed(f"checking it raised {type(e).__name__}: {e}")
    print(result.message)
    line = {"secret": secret, "notebook": notebook, "exercise": number, "status": result.status,
            "message": result.message}
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")
