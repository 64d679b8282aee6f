"""Exercise checkers: the machinery behind ``ex1.check(f)``, ``ex1.hint()`` and ``ex1.solution()``.

Each notebook's exercises live in ``vae_course/checks/nbNN.py``, one object per exercise, named
``ex1``, ``ex2``, ... after the ``# Exercise N: title`` comment of the exercise cell. An exercise
about a function is a :class:`FunctionExercise`: it calls the learner's function and an
independent reference on the same named test cases, and compares the results::

    import torch
    from torch.distributions import Normal, kl_divergence
    from vae_course.checks.core import Case, FunctionExercise, Mistake

    def _kl_reference(mu, logvar):  # independent of the formula the learner writes
        q = Normal(mu, (0.5 * logvar).exp())
        return kl_divergence(q, Normal(0.0, 1.0)).sum(-1)

    ex2 = FunctionExercise(
        2, "the KL divergence to the standard normal",
        reference=_kl_reference,
        cases=[Case("mu=0, logvar=0", torch.zeros(1, 3), torch.zeros(1, 3)),
               Case("mu=1, logvar=-2", torch.ones(2, 3), torch.full((2, 3), -2.0))],
        mistakes=[Mistake("It looks like the -1 term is missing.",
                          like=lambda mu, logvar: 0.5 * (logvar.exp() + mu**2 - logvar).sum(-1))],
        hints=["Write the KL for one dimension first.", "Sum over the last dimension."],
        solution="return 0.5 * (logvar.exp() + mu**2 - 1 - logvar).sum(-1)",
    )

In the notebook: ``ex2.check(kl_std_normal)``, ``ex2.hint()``, ``ex2.solution()`` and
``kl_std_normal = ex2.yours_or_reference(kl_std_normal)``.

An exercise whose answer is a value (a top-level ``beta = ...``) is a plain :class:`Exercise` whose
``reference`` is the expected value. For anything else, subclass :class:`Exercise` and override
``evaluate(answer) -> Result`` (use ``self.passed()``, ``self.failed(...)``,
``self.not_attempted()``), or pass ``compare=`` (a function ``(got, expected) -> str | None``).

A check cell is graded by nbgrader through its hidden line ``exN.assert_passed()``, which raises
unless the check just above it passed; the course's own grader (``vae_course.instructor.grade``)
does not trust the kernel's ``exN``. For a :class:`FunctionExercise` it splits the check in two:
:meth:`FunctionExercise.run` (the learner's function on the cases ``hidden(seed)`` draws, in the
submission's kernel) and :meth:`FunctionExercise.judge` (the verdict from those outcomes, in the
grader's own process, with the reference there).
"""

from __future__ import annotations

import copy
import functools
import inspect
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"

# A class release of one assignment (``vae_course.instructor.release``) ships its checks without the
# references: what the reference and each named mistake return on the public cases is recorded when
# the release is built, as data (``checks/recorded/nbNN.pt``, tensors and numbers only).
RECORDED = Path(__file__).resolve().with_name("recorded")


@functools.cache
def _recorded_file(stem: str) -> dict:
    path = RECORDED / f"{stem}.pt"
    return torch.load(path, weights_only=True) if path.exists() else {}


def in_a_release(module: str) -> bool:
    """Whether this copy of the course is a class release of ``module``'s notebook: a release
    records its checks (``checks/recorded/nbNN.pt``); the full course and the grader's copy do not."""
    return (RECORDED / f"{module.rpartition('.')[2]}.pt").exists()


def recorded(module: str, number: int) -> dict | None:
    """What the release recorded for exercise ``number`` of checks module ``module`` (None outside a
    release): ``expected`` (the reference's result on each public case, or the value), ``mistakes``
    (each named mistake's results, None where it has no variant) and, for a function exercise,
    ``cases`` (their names) and ``arguments`` (the reference's argument names)."""
    return _recorded_file(module.rpartition(".")[2]).get(number)


@dataclass
class Result:
    """What a check found: ``status`` (passed / failed / not attempted) and the feedback text.

    Truthy when the answer passed, so ``assert ex1.check(f)`` works in a solution notebook.
    """

    number: int
    status: str
    message: str
    reported: bool = False  # the grader took this verdict from what the submission's kernel said

    def __bool__(self) -> bool:
        return self.status == PASSED

    def __str__(self) -> str:
        return self.message

    def _ipython_display_(self) -> None:
        """``check`` has already printed the feedback: show nothing more under the cell."""


@dataclass
class Outcome:
    """What a learner's function did on one case: ``kind`` is ``"returned"`` (with its ``value``),
    ``"raised"``, ``"not attempted"`` or ``"not callable"``, with a ``detail`` for the feedback."""

    kind: str
    value: Any = None
    detail: str = ""


class Case:
    """One named test input of a function exercise: ``Case("all-black images", x)``.

    ``name`` is shown to the learner; ``args`` and ``kwargs`` are passed to their function
    (a fresh deep copy on every call, so a function that edits its input in place harms nothing).
    """

    def __init__(self, name: str, *args: Any, **kwargs: Any):
        self.name, self.args, self.kwargs = name, args, kwargs

    def __repr__(self) -> str:
        return f"Case({self.name!r})"


@dataclass
class Mistake:
    """A known wrong answer, and the sentence that tells a learner who made it what went wrong.

    like: a wrong variant of the reference (for a FunctionExercise a function with the same
        arguments, for a value Exercise a wrong value); the mistake is recognised when the
        learner's results equal the variant's on every case (dtypes ignored).
    when: ``when(got, expected) -> bool``, applied to the first result that was wrong.
    """

    message: str
    like: Any = None
    when: Callable[[Any, Any], bool] | None = None


# ---------------------------------------------------------------- describing and comparing values


def _fmt(t: torch.Tensor) -> str:
    """A small tensor as a nested list with 4 significant digits: ``[[0.5, 1], [0, 2]]``."""
    if t.dim() == 0:
        return f"{t.item():.4g}"
    return "[" + ", ".join(_fmt(s) for s in t) + "]"


def describe(x: Any) -> str:
    """A short description of a value for feedback: small tensors in full, big ones by shape."""
    if isinstance(x, torch.Tensor):
        dtype = str(x.dtype).replace("torch.", "")
        if x.numel() <= 8:
            return f"{dtype} tensor {_fmt(x.detach().cpu())}"
        low, high = x.detach().cpu().double().aminmax()
        values = (f"every value {low.item():.4g}" if low == high
                  else f"values from {low.item():.4g} to {high.item():.4g}")
        return f"{dtype} tensor of shape {tuple(x.shape)}, {values}"
    if isinstance(x, np.ndarray):
        return f"a numpy array of shape {x.shape} ({x.dtype})"
    if x is None or isinstance(x, (bool, int, float, str)):
        return repr(x)
    return f"a {type(x).__name__}"


def compare(got: Any, expected: Any, rtol: float = 1e-4, atol: float = 1e-5,
            check_dtype: bool = True) -> str | None:
    """How ``got`` differs from ``expected``, as a phrase for the learner; None when they agree.

    Tensors: type, then shape, then dtype (unless ``check_dtype=False``), then values within
    ``rtol``/``atol`` (nan equals nan). Tuples and lists: element by element. Numbers: with
    the same tolerances. Anything else: ``==``.
    """
    if got is None and expected is not None:
        return "the result is None: is the `return` statement missing?"
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return f"the result is {describe(got)}, expected a torch tensor"
        if got.shape != expected.shape:
            return f"the result has shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
        if check_dtype and got.dtype != expected.dtype:
            return f"the result has dtype {got.dtype}, expected {expected.dtype}"
        g, e = got.detach().cpu().double(), expected.detach().cpu().double()
        wrong = ~torch.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
        if not wrong.any():
            return None
        if g.numel() <= 8:
            return f"the result is {_fmt(g)}, expected {_fmt(e)}"
        i = tuple(int(k) for k in wrong.nonzero()[0])
        return (f"{int(wrong.sum())} of {g.numel()} values are wrong; at index {i} yours is "
                f"{g[i].item():.4g}, expected {e[i].item():.4g} (yours: {describe(got)})")
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"the result is {describe(got)}, expected {len(expected)} values"
        for k, (g, e) in enumerate(zip(got, expected, strict=True)):
            problem = compare(g, e, rtol, atol, check_dtype)
            if problem:
                return f"in value {k} of the result, {problem}"
        return None
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        try:
            if isinstance(got, str):
                raise TypeError
            g = float(got)  # also accepts one-element tensors and numpy scalars
        except (TypeError, ValueError, RuntimeError):
            return f"the result is {describe(got)}, expected a number"
        if math.isclose(g, expected, rel_tol=rtol, abs_tol=atol) or (
                math.isnan(g) and math.isnan(expected)):
            return None
        return f"the result is {g:.4g}, expected {expected:.4g}"
    try:
        if bool(got == expected):
            return None
    except Exception:  # e.g. comparing a tensor with a string
        pass
    return f"the result is {describe(got)}, expected {describe(expected)}"


# ------------------------------------------------------------------------------------ exercises


class Exercise:
    """An exercise whose answer is a value, compared with ``reference``. Base of the others.

    number, title: as in the exercise cell's ``# Exercise N: title`` comment.
    reference: the expected answer (here a value; a function for :class:`FunctionExercise`).
    hints: hint layers, from a nudge to nearly the answer; shown one at a time by ``hint()``.
    solution: the code ``solution()`` shows; by default the source of ``reference``.
    mistakes: known wrong answers, each with a sentence that names the mistake.
    rtol, atol, check_dtype, compare: how results are compared (see :func:`compare`).
    points: what the exercise is worth when graded (nbgrader's ``points``, the grader's CSV).
    """

    def __init__(self, number: int, title: str, reference: Any, *, hints: Sequence[str] = (),
                 solution: str | None = None, mistakes: Sequence[Mistake] = (),
                 rtol: float = 1e-4, atol: float = 1e-5, check_dtype: bool = True,
                 compare: Callable[[Any, Any], str | None] | None = None, points: int = 1):
        self.number, self.title, self.reference, self.points = number, title, reference, points
        self.hints, self.mistakes = list(hints), list(mistakes)
        self._solution, self._compare = solution, compare
        self.rtol, self.atol, self.check_dtype = rtol, atol, check_dtype
        self._hints_shown = 0
        self.last_result: Result | None = None  # what the latest ``check`` found
        self.module = _calling_module()  # e.g. vae_course.checks.nb02: which notebook it is for

    def __repr__(self) -> str:
        return f"<Exercise {self.number}: {self.title}>"

    @property
    def has_answers(self) -> bool:
        """False in a class release, which holds neither the reference nor the solution."""
        return self.reference is not None or self._solution is not None

    def _recorded(self) -> dict:
        data = recorded(self.module, self.number)
        if data is None:
            raise RuntimeError(f"exercise {self.number} ({self.title}) has no reference here and "
                               "nothing was recorded for it: this copy of the course is incomplete")
        return data

    # ------------------------------------------------------------------ what learners call

    def check(self, answer: Any) -> Result:
        """Check ``answer``, print the feedback and return the :class:`Result`."""
        result = self.evaluate(answer)
        print(result.message)
        self.last_result = result
        return result

    def assert_passed(self) -> None:
        """Raise AssertionError unless the latest ``check`` passed: the hidden line of a check cell
        that nbgrader's autograder runs (a cell that raises scores 0 points)."""
        result = self.last_result
        if result is None:
            raise AssertionError(f"Exercise {self.number} ({self.title}) was not checked.")
        if not result:
            raise AssertionError(f"Exercise {self.number} ({self.title}): {result.status}.")

    def hint(self, n: int | None = None) -> None:
        """Print the next hint layer, or layer ``n`` (counting from 1)."""
        me, total = f"ex{self.number}", len(self.hints)
        if total == 0:
            print(f"Exercise {self.number} has no hints" + (f"; {me}.solution() shows the answer."
                                                            if self.has_answers else "."))
            return
        n = min(self._hints_shown + 1, total) if n is None else n
        if not 1 <= n <= total:
            print(f"Exercise {self.number} has hints 1 to {total}.")
            return
        self._hints_shown = max(self._hints_shown, n)
        more = (f"{me}.hint() shows the next one" if n < total
                else f"that was the last hint; {me}.solution() shows the answer" if self.has_answers
                else "that was the last hint this copy of the course gives")
        print(f"Hint {n} of {total} (exercise {self.number}): {self.hints[n - 1]}\n({more})")

    def solution(self) -> None:
        """Print the reference answer."""
        if not self.has_answers:
            print(f"This copy of the course (a class release) holds no solution to exercise "
                  f"{self.number}: ask your instructor.")
            return
        code = self._solution
        if code is None:
            try:
                code = inspect.getsource(self.reference)
            except (TypeError, OSError):
                code = repr(self.reference)
        print(f"Solution to exercise {self.number} ({self.title}):\n")
        print(textwrap.indent(textwrap.dedent(code).strip("\n"), "    "))

    def yours_or_reference(self, answer: Any) -> Any:
        """Return ``answer`` if it passes the check, else the reference; print which one."""
        if (self.reference is None and isinstance(self, FunctionExercise)
                and not in_a_release(self.module)):  # the grader's copy
            print(f"Exercise {self.number}: using your answer (the grader checks it).")
            return answer
        result = self.evaluate(answer)
        if result:
            print(f"Exercise {self.number}: using your answer (it passes the check).")
            return answer
        why = ("is not attempted yet" if result.status == NOT_ATTEMPTED
               else f"does not pass yet (ex{self.number}.check shows why)")
        if self.reference is None:
            print(f"Exercise {self.number}: yours {why}, and this copy of the course (a class "
                  "release) has no reference to use instead: the cells below that need it will "
                  "fail until it passes. Once it passes, run this cell again.")
            return answer
        print(f"Exercise {self.number}: using the reference solution, because yours {why}. Once "
              "yours passes its check, run this cell again to use yours.")
        return self.reference

    # ------------------------------------------------------------ what checker authors use

    def evaluate(self, answer: Any) -> Result:
        """Compare ``answer`` with the reference and build the feedback, printing nothing."""
        if answer is Ellipsis:
            return self.not_attempted()
        if self.reference is None:  # a class release: the recorded value and mistakes
            data = self._recorded()
            expected, variants = data["expected"], [None if v is None else [v]
                                                    for v in data["mistakes"]]
        else:
            expected = self.reference
            variants = [None if m.like is None else [m.like] for m in self.mistakes]
        problem = self.compare(answer, expected)
        if problem is None:
            return self.passed()
        return self.failed(problem, self.diagnose([answer], [expected], variants, 0))

    def record(self) -> dict:
        """What a class release keeps of this exercise instead of its reference (see
        :func:`recorded`): the expected value and each named mistake's value."""
        return {"expected": _detached(self.reference),
                "mistakes": [_detached(m.like) if m.like is not None else None
                             for m in self.mistakes]}

    def compare(self, got: Any, expected: Any, check_dtype: bool | None = None) -> str | None:
        """The exercise's comparison: ``compare=`` if given, else :func:`compare`."""
        if self._compare is not None:
            return self._compare(got, expected)
        dtype = self.check_dtype if check_dtype is None else check_dtype
        return compare(got, expected, self.rtol, self.atol, dtype)

    def diagnose(self, gots: list, expecteds: list, variants: list[list | None], bad: int
                 ) -> list[str]:
        """The messages of the mistakes that match: ``variants[k]`` holds the outputs of
        ``mistakes[k].like`` on every case (None when it has none); ``bad`` is the first wrong case.
        """
        found = []
        for mistake, outputs in zip(self.mistakes, variants, strict=True):
            try:
                if outputs is not None and all(
                        self.compare(g, w, check_dtype=False) is None
                        for g, w in zip(gots, outputs, strict=True)):
                    found.append(mistake.message)
                elif mistake.when is not None and mistake.when(gots[bad], expecteds[bad]):
                    found.append(mistake.message)
            except Exception:  # a rule that cannot be applied to this answer does not match
                pass
        return found

    def passed(self, detail: str = "") -> Result:
        """A passing result, with an optional sentence after "correct."."""
        text = f"✔ Exercise {self.number} ({self.title}): correct."
        return Result(self.number, PASSED, text + (f" {detail}" if detail else ""))

    def not_attempted(self, reason: str = "") -> Result:
        """A "not attempted yet" result that says what to do, with an optional reason."""
        text = (f"… Exercise {self.number} ({self.title}): not attempted yet. Write your answer in "
                "the exercise cell (in place of `raise NotImplementedError()`), run "
                "that cell, then run this check again.")
        return Result(self.number, NOT_ATTEMPTED, text + (f"\n  ({reason})" if reason else ""))

    def failed(self, problem: str, diagnosis: Sequence[str] = (), tried: str = "") -> Result:
        """A failing result: the input ``tried``, the ``problem`` found, the mistakes recognised."""
        lines = [f"✘ Exercise {self.number} ({self.title}): not right yet."]
        if tried:
            lines.append(f"  Input:   {tried}")
        lines.append(f"  Problem: {problem}" + ("" if problem[-1] in ".?!" else "."))
        lines += [f"  {d}" for d in diagnosis]
        lines.append(f"  Stuck? ex{self.number}.hint() gives a hint" +
                     (f"; ex{self.number}.solution() shows the answer." if self.has_answers else "."))
        return Result(self.number, FAILED, "\n".join(lines))


class FunctionExercise(Exercise):
    """An exercise where the learner writes a function, run on ``cases`` next to ``reference``.

    A function that raises ``NotImplementedError`` or returns ``...`` is "not attempted"; any other
    exception is reported with its type, message and the inputs. ``seed``: when set, every call
    (learner's, reference's, mistakes') starts from ``torch.manual_seed(seed)``, for exercises that
    draw random numbers; the notebook's own random state is left as it was.

    ``hidden``: ``hidden(seed) -> [Case, ...]``, the grader's cases: new inputs of the same kinds as
    ``cases``, drawn from ``seed`` (which the grader draws afresh for every run, so that no answer can
    be written for known inputs). It must be deterministic in ``seed`` and use no global random state.
    """

    def __init__(self, number: int, title: str, reference: Callable, cases: Sequence[Case], *,
                 seed: int | None = None, hidden: Callable[[int], Sequence[Case]] | None = None,
                 **options: Any):
        super().__init__(number, title, reference, **options)
        self.cases, self.seed, self.hidden = list(cases), seed, hidden

    def hidden_cases(self, seed: int) -> list[Case]:
        """The grader's cases for ``seed`` (see ``hidden``)."""
        if self.hidden is None:
            raise ValueError(f"exercise {self.number} ({self.title}) has no hidden cases")
        return list(self.hidden(seed))

    def evaluate(self, answer: Any) -> Result:
        return self.judge(self.cases, self.run(answer, self.cases))

    def run(self, answer: Any, cases: Sequence[Case]) -> list[Outcome]:
        """What ``answer`` does on each of ``cases``: the part of a check that runs the learner's
        code. It stops at the first case that raises or is not attempted."""
        if answer is Ellipsis:
            return [Outcome(NOT_ATTEMPTED)]
        if not callable(answer):
            return [Outcome("not callable", detail=describe(answer))]
        outcomes = []
        for case in cases:
            try:
                got = self._call(answer, case)
            except NotImplementedError as e:
                placeholder = str(e) == "" or str(e).startswith(f"Exercise {self.number}:")
                detail = getattr(e, "detail", "")  # what a behaviour probe saw (rebuild.py)
                return outcomes + [Outcome(NOT_ATTEMPTED, detail=detail if placeholder else
                                           f"it stopped at NotImplementedError: {e}")]
            except Exception as e:
                return outcomes + [Outcome("raised", detail=f"{type(e).__name__}: {e}")]
            if got is Ellipsis:
                return outcomes + [Outcome(NOT_ATTEMPTED)]
            outcomes.append(Outcome("returned", value=got))
        return outcomes

    def judge(self, cases: Sequence[Case], outcomes: Sequence[Outcome]) -> Result:
        """The verdict on ``outcomes`` (from :meth:`run`, here or in another process) for ``cases``:
        the reference and the named mistakes run here, on the same cases."""
        for case, outcome in zip(cases, outcomes):
            if outcome.kind == NOT_ATTEMPTED:
                return self.not_attempted(outcome.detail)
            if outcome.kind == "not callable":
                return self.failed(f"ex{self.number}.check expects your function itself, without "
                                   f"calling it, e.g. ex{self.number}.check(my_function); what it "
                                   f"got: {outcome.detail}")
            if outcome.kind == "raised":
                return self.failed(f"your function raised {outcome.detail}",
                                   tried=self._describe_case(case))
            if outcome.kind != "returned":
                return self.failed(f"the check got an outcome it does not know: {outcome.kind!r}")
        if len(outcomes) != len(cases):
            return self.failed("the answer did not return a result for every case")
        gots = [o.value for o in outcomes]
        if self.reference is None:  # a class release: what was recorded on the public cases
            data = self._recorded()
            if [c.name for c in cases] != data["cases"]:
                raise ValueError(f"exercise {self.number}: this copy of the course can only judge "
                                 "the public cases it recorded (the grader judges hidden cases "
                                 "with the full course)")
            expecteds = data["expected"]
        else:
            expecteds = [self._call(self.reference, case) for case in cases]
        for k, (case, got, expected) in enumerate(zip(cases, gots, expecteds, strict=True)):
            problem = self.compare(got, expected)
            if problem:
                variants = (self._recorded()["mistakes"] if self.reference is None else
                            [self._variant_outputs(m.like, cases) for m in self.mistakes])
                return self.failed(problem, self.diagnose(gots, expecteds, variants, k),
                                   tried=self._describe_case(case))
        return self.passed("Tested on: " + "; ".join(c.name for c in cases) + ".")

    def record(self) -> dict:
        """What a class release keeps of this exercise instead of its reference (see
        :func:`recorded`): the reference's and each named mistake's results on the public cases."""
        return {"cases": [c.name for c in self.cases],
                "arguments": list(inspect.signature(self.reference).parameters),
                "expected": [_detached(self._call(self.reference, c)) for c in self.cases],
                "mistakes": [_detached(self._variant_outputs(m.like, self.cases))
                             for m in self.mistakes]}

    def _call(self, fn: Callable, case: Case) -> Any:
        args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
        if self.seed is None:
            return fn(*args, **kwargs)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return fn(*args, **kwargs)

    def _variant_outputs(self, variant: Callable | None, cases: Sequence[Case]) -> list | None:
        if variant is None:
            return None
        try:
            return [self._call(variant, case) for case in cases]
        except Exception:
            return None

    def _describe_case(self, case: Case) -> str:
        """``name: arg = description; ...``, naming the arguments as the reference does."""
        try:
            if self.reference is None:  # a class release: the recorded argument names
                names = self._recorded()["arguments"]
                signature = inspect.Signature([inspect.Parameter(
                    n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names])
            else:
                signature = inspect.signature(self.reference)
            bound = signature.bind(*case.args, **case.kwargs)
            parts = [f"{k} = {describe(v)}" for k, v in bound.arguments.items()]
        except (TypeError, ValueError):
            parts = [describe(a) for a in case.args]
            parts += [f"{k} = {describe(v)}" for k, v in case.kwargs.items()]
        return f"{case.name}: {'; '.join(parts)}"


def _detached(value: Any) -> Any:
    """``value`` with every tensor detached and on the CPU (tuples and lists kept), for recording."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, (tuple, list)):
        return type(value)(_detached(v) for v in value)
    return value


def _calling_module() -> str:
    """The name of the first module up the call stack outside this one: where an exercise is made."""
    frame = inspect.currentframe()
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    return frame.f_globals.get("__name__", "") if frame is not None else ""


def exercises_in(module: Any) -> list[Exercise]:
    """The exercises a checks module defines (its ``Exercise`` attributes), by number."""
    found = {id(v): v for v in vars(module).values() if isinstance(v, Exercise)}
    return sorted(found.values(), key=lambda ex: ex.number)
