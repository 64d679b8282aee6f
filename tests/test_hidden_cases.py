"""The grader's hidden cases of every function exercise (``FunctionExercise(..., hidden=...)``).

For each function exercise of notebooks 00 to 10: the hidden cases exist, are a function of the seed
alone (the same inputs, bit for bit, for the same seed; other inputs for another seed; the global
random state untouched), and are as valid as the public cases: the reference and the solution shown
to learners pass on them, every mistake the public cases name is named on them too, and the untouched
placeholder is "not attempted".
"""

import copy
import importlib
import math
import types

import numpy as np
import pytest
import torch
from torch import nn
from torch.distributions import Normal
from torch.nn import functional as F

from vae_course import losses
from vae_course.checks.core import FAILED, NOT_ATTEMPTED, PASSED, FunctionExercise, exercises_in
from vae_course.checks.rebuild import BehaviourProbedExercise, GradedModuleExercise

SEEDS = (0, 7, 2**40 + 3)


def _function_exercises():
    found = []
    for nn_ in range(11):
        module = importlib.import_module(f"vae_course.checks.nb{nn_:02d}")
        found += [(f"nb{nn_:02d}.ex{ex.number}", ex) for ex in exercises_in(module)
                  if isinstance(ex, FunctionExercise)]
    return found


EXERCISES = _function_exercises()
IDS = [name for name, _ in EXERCISES]


class _OnCases:
    """``ex`` checked on ``cases`` instead of its public ones: a copy of a function exercise, or,
    for a model or loop exercise (checked by its behaviour in the notebook), its grader's path:
    ``run`` (the probe) then ``judge`` (the verdict)."""

    def __init__(self, ex, cases):
        self.ex, self.cases = ex, list(cases)

    def evaluate(self, answer):
        if isinstance(self.ex, BehaviourProbedExercise):
            if answer is _placeholder and isinstance(self.ex, GradedModuleExercise):
                answer = _PlaceholderModel
            return self.ex.judge(self.cases, self.ex.run(answer, self.cases))
        hidden = copy.copy(self.ex)
        hidden.cases = self.cases
        return hidden.evaluate(answer)


def _with_cases(ex, cases):
    return _OnCases(ex, cases)


def _leaves(obj, path="case", seen=None):
    """(where, value) for every tensor, number and string an input holds, looking through lists,
    dicts, modules (their layers and weights), functions (their closures, so nb01's log_joint and
    its model), bound methods (their object, so a distribution's parameters) and plain objects."""
    seen = set() if seen is None else seen
    if isinstance(obj, torch.Tensor):
        yield path, obj
        return
    if obj is None or isinstance(obj, (bool, int, float, str, torch.dtype, torch.Size)):
        yield path, obj
        return
    if id(obj) in seen:  # the same object twice (nb09's `a, a`): a marker, not a second walk
        yield path, "<the same object again>"
        return
    seen.add(id(obj))
    if isinstance(obj, (list, tuple)):
        yield path, f"{type(obj).__name__} of {len(obj)}"
        for i, v in enumerate(obj):
            yield from _leaves(v, f"{path}[{i}]", seen)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, f"{path}[{k!r}]", seen)
    elif isinstance(obj, nn.Module):
        yield path, str(obj)
        yield from _leaves(dict(obj.state_dict()), f"{path}.state_dict", seen)
    elif isinstance(obj, types.MethodType):
        yield path, obj.__func__.__qualname__
        yield from _leaves(obj.__self__, f"{path}.__self__", seen)
    elif isinstance(obj, types.FunctionType):
        yield path, obj.__qualname__
        for i, cell in enumerate(obj.__closure__ or ()):
            yield from _leaves(cell.cell_contents, f"{path}.closure[{i}]", seen)
    elif hasattr(obj, "__dict__"):
        yield path, type(obj).__qualname__
        yield from _leaves(dict(vars(obj)), f"{path}.vars", seen)
    else:
        yield path, repr(obj)


def _inputs(cases):
    """Everything the cases hand to a function, as a flat list of (where, value)."""
    return [leaf for k, case in enumerate(cases)
            for leaf in _leaves((case.args, case.kwargs), f"case {k}")]


def _same(a, b):
    """Whether two ``_inputs`` lists are identical: the same structure, tensors equal bit for bit
    with the same dtype."""
    if len(a) != len(b):
        return False
    for (path_a, va), (path_b, vb) in zip(a, b):
        if path_a != path_b or type(va) is not type(vb):
            return False
        if isinstance(va, torch.Tensor):
            if va.dtype != vb.dtype or va.shape != vb.shape or not torch.equal(va, vb):
                return False
        elif va != vb:
            return False
    return True


@pytest.mark.parametrize("name, ex", EXERCISES, ids=IDS)
def test_every_function_exercise_has_hidden_cases(name, ex):
    assert ex.hidden is not None, f"{name} ({ex.title}) has no hidden cases (hidden=...)"
    cases = ex.hidden_cases(0)
    assert cases, f"{name}: hidden(0) gave no cases"
    names = [case.name for case in cases]
    assert all(n.startswith("hidden case: ") for n in names), names
    assert len(set(names)) == len(names), f"{name}: two hidden cases share a name: {names}"


@pytest.mark.parametrize("name, ex", EXERCISES, ids=IDS)
def test_hidden_cases_are_a_function_of_the_seed_alone(name, ex):
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    first = {seed: _inputs(ex.hidden_cases(seed)) for seed in SEEDS}
    again = {seed: _inputs(ex.hidden_cases(seed)) for seed in SEEDS}
    assert torch.equal(torch_state, torch.get_rng_state()), f"{name}: the global torch RNG moved"
    after = np.random.get_state()
    assert numpy_state[0] == after[0] and np.array_equal(numpy_state[1], after[1]), (
        f"{name}: the global numpy RNG moved")
    for seed in SEEDS:
        assert _same(first[seed], again[seed]), f"{name}: seed {seed} gave other inputs the 2nd time"
    for s, t in zip(SEEDS, SEEDS[1:]):
        assert not _same(first[s], first[t]), f"{name}: seeds {s} and {t} gave the same inputs"


def test_hidden_cases_do_not_depend_on_the_number_of_threads():
    """The grader's kernel runs with one thread: the inputs built there and here must agree."""
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = [_inputs(ex.hidden_cases(SEEDS[-1])) for _, ex in EXERCISES]
        torch.set_num_threads(max(2, threads))
        more = [_inputs(ex.hidden_cases(SEEDS[-1])) for _, ex in EXERCISES]
    finally:
        torch.set_num_threads(threads)
    different = [name for name, a, b in zip(IDS, one, more) if not _same(a, b)]
    assert not different, f"inputs differ between 1 and more threads: {different}"


@pytest.mark.parametrize("name, ex", EXERCISES, ids=IDS)
def test_reference_passes_on_hidden_cases(name, ex):
    for seed in SEEDS:
        # No time limit here (performance lives in benchmarks, not in timed tests: under load the
        # CPU time of nb08's PCA went from 0.16 s to 8 s). The cost of hidden cases is what
        # `make bench-grader` measures.
        cases = ex.hidden_cases(seed)
        result = _with_cases(ex, cases).evaluate(ex.reference)
        assert result.status == PASSED, f"{name}, seed {seed}: {result.message}"


def _solution_function(ex):
    """The function that ``ex.solution()`` shows, defined from its text."""
    names = {"torch": torch, "math": math, "np": np, "nn": nn, "F": F, "losses": losses,
             "Normal": Normal,  # what the notebooks' setup cells import for these answers
             # and what earlier exercises of the notebook define, that the model answers use
             "reconstruction_loss": lambda x_hat, x: -losses.bernoulli_log_likelihood(x_hat, x),
             "reparameterize": lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.randn_like(mu),
             "condition": lambda h, y: torch.cat([h, F.one_hot(y, 10).float()], dim=1)}
    namespace = dict(names)
    exec(ex._solution, namespace)
    (fn,) = [v for k, v in namespace.items() if callable(v) and names.get(k) is not v]
    return fn


@pytest.mark.parametrize("name, ex", EXERCISES, ids=IDS)
def test_shown_solution_passes_on_hidden_cases(name, ex):
    """The solution text is written independently of the reference (autograd against finite
    differences, an SVD against eigh, F.binary_cross_entropy against torch.distributions): it must
    pass within the exercise's tolerances on inputs it was not tuned on."""
    solution = _solution_function(ex)
    assert ex.evaluate(solution).status == PASSED
    for seed in SEEDS:
        result = _with_cases(ex, ex.hidden_cases(seed)).evaluate(solution)
        assert result.status == PASSED, f"{name}, seed {seed}: {result.message}"


MISTAKES = [(f"{name}-mistake{k}", ex, mistake) for name, ex in EXERCISES
            for k, mistake in enumerate(ex.mistakes) if mistake.like is not None]


@pytest.mark.parametrize("name, ex, mistake", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistakes_named_on_public_cases_are_named_on_hidden_cases(name, ex, mistake):
    public = ex.evaluate(mistake.like)
    if not (public.status == FAILED and mistake.message in public.message):
        pytest.skip("the public cases do not name this mistake either")
    for seed in SEEDS:
        result = _with_cases(ex, ex.hidden_cases(seed)).evaluate(mistake.like)
        assert result.status == FAILED, f"{name}, seed {seed}: the mistake passes"
        assert mistake.message in result.message, f"{name}, seed {seed}: {result.message}"


def _placeholder(*args, **kwargs):
    raise NotImplementedError()


class _PlaceholderModel(nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        raise NotImplementedError()


@pytest.mark.parametrize("name, ex", EXERCISES, ids=IDS)
def test_untouched_placeholder_is_not_attempted_on_hidden_cases(name, ex):
    for seed in SEEDS:
        result = _with_cases(ex, ex.hidden_cases(seed)).evaluate(_placeholder)
        assert result.status == NOT_ATTEMPTED, f"{name}, seed {seed}: {result.message}"
