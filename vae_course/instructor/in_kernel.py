"""What the grader runs inside a submission's kernel, in place of each check cell.

**Function exercises** (``collect``): the kernel only *runs* the learner's function, on the grader's
hidden cases (drawn from a seed the grader chose for this run and wrote into the cell), and writes
what it returned as plain numbers (:mod:`vae_course.instructor.wire`). The verdict is computed later,
in the grader's own process, against the reference there: nothing this process patches, forges or
prints can reach it.

Models and training loops go the same way: the kernel builds and trains the learner's class with
the checks' harness and hands over parameters, outputs and gradients; the grader rebuilds the model
from those weights (:mod:`vae_course.checks.rebuild`).
"""

from __future__ import annotations

import importlib
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
