"""The exercise machinery: feedback a learner reads, hints, solutions, and the grading log."""

import re
import textwrap
import types

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from vae_course.checks import core
from vae_course.checks.core import (
    FAILED,
    NOT_ATTEMPTED,
    PASSED,
    Case,
    Exercise,
    FunctionExercise,
    Mistake,
    compare,
    describe,
    exercises_in,
)


def kl_reference(mu, logvar):
    return kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1)


def kl_right(mu, logvar):
    return 0.5 * (logvar.exp() + mu**2 - 1 - logvar).sum(-1)


def kl_without_minus_one(mu, logvar):
    return 0.5 * (logvar.exp() + mu**2 - logvar).sum(-1)


def kl_with_log_sigma(mu, logvar):  # log sigma = logvar / 2 used where log sigma^2 belongs
    return 0.5 * (logvar.exp() + mu**2 - 1 - 0.5 * logvar).sum(-1)


def make_kl_exercise():
    g = torch.Generator().manual_seed(0)
    return FunctionExercise(
        2, "the KL divergence to the standard normal",
        reference=kl_reference,
        cases=[Case("mu=0, logvar=0", torch.zeros(1, 3), torch.zeros(1, 3)),
               Case("random mu and logvar", torch.randn(4, 3, generator=g),
                    torch.randn(4, 3, generator=g))],
        mistakes=[Mistake("It looks like the -1 term is missing.", like=kl_without_minus_one),
                  Mistake("It looks like you used log σ instead of log σ².",
                          like=kl_with_log_sigma),
                  Mistake("Sum over the last dimension only.",
                          when=lambda got, expected: got.dim() == 0)],
        hints=["first hint", "second hint"],
        solution="return 0.5 * (logvar.exp() + mu**2 - 1 - logvar).sum(-1)",
    )


@pytest.fixture
def ex2():
    return make_kl_exercise()


# ------------------------------------------------------------------------------- compare


def test_compare_says_what_differs_in_tensors():
    x = torch.zeros(2, 3)
    assert compare(x.clone(), x) is None
    assert "shape (3, 2), expected (2, 3)" in compare(torch.zeros(3, 2), x)
    assert "dtype torch.float64, expected torch.float32" in compare(x.double(), x)
    assert compare(x.double(), x, check_dtype=False) is None
    assert "expected a torch tensor" in compare([0.0] * 6, x)
    assert "`return`" in compare(None, x)
    assert compare(torch.tensor([0.5]), torch.tensor([0.0])) == "the result is [0.5], expected [0]"


def test_compare_points_at_a_wrong_entry_in_a_big_tensor():
    expected = torch.zeros(10, 10)
    got = expected.clone()
    got[3, 4] = 1.0
    problem = compare(got, expected)
    assert "1 of 100 values are wrong" in problem
    assert "index (3, 4) yours is 1, expected 0" in problem


def test_compare_tolerates_float_rounding_but_not_real_errors():
    x = torch.tensor([1.0, 2.0])
    assert compare(x * (1 + 1e-6), x) is None
    assert compare(x * 1.01, x) is not None
    assert compare(torch.tensor([float("nan")]), torch.tensor([float("nan")])) is None


def test_compare_numbers_sequences_and_other_values():
    assert compare(0.5, 0.5) is None
    assert compare(torch.tensor(0.5), 0.5) is None  # a 0-d tensor counts as a number
    assert compare(0.6, 0.5) == "the result is 0.6, expected 0.5"
    assert "expected a number" in compare("0.5", 0.5)
    assert compare((torch.ones(2), 1.0), (torch.ones(2), 1.0)) is None
    assert compare((torch.ones(2), 2.0), (torch.ones(2), 1.0)).startswith("in value 1")
    assert "expected 2 values" in compare((1.0,), (1.0, 2.0))
    assert compare("relu", "relu") is None and "'tanh'" in compare("tanh", "relu")


def test_describe_shows_small_tensors_and_summarises_big_ones():
    assert describe(torch.tensor([1.0, 2.0])) == "float32 tensor [1, 2]"
    assert describe(torch.full((3, 4), 7)) == "int64 tensor of shape (3, 4), every value 7"
    assert describe(torch.arange(10.0)) == "float32 tensor of shape (10,), values from 0 to 9"


# ------------------------------------------------------------------------ function exercises


def test_a_right_answer_passes(ex2, capsys):
    result = ex2.check(kl_right)
    assert result and result.status == PASSED
    assert "correct" in capsys.readouterr().out


def test_a_missing_term_is_named_with_the_input_and_the_numbers(ex2, capsys):
    result = ex2.check(kl_without_minus_one)
    out = capsys.readouterr().out
    assert not result and result.status == FAILED
    assert out.strip() == result.message
    assert "mu=0, logvar=0" in out and "mu = float32 tensor [[0, 0, 0]]" in out
    assert "the result is [1.5], expected [0]" in out
    assert "the -1 term is missing" in out and "log σ instead" not in out
    assert "ex2.hint()" in out


def test_log_sigma_instead_of_log_sigma_squared_is_recognised(ex2):
    message = ex2.check(kl_with_log_sigma).message
    assert "log σ instead of log σ²" in message and "-1 term" not in message


def test_a_when_rule_names_a_mistake_no_variant_reproduces(ex2):
    message = ex2.check(lambda mu, logvar: kl_right(mu, logvar).sum()).message
    assert "shape ()" in message and "Sum over the last dimension only" in message


def test_an_unknown_wrong_answer_fails_without_a_diagnosis(ex2):
    result = ex2.check(lambda mu, logvar: 2 * kl_right(mu, logvar))
    assert result.status == FAILED and "It looks like" not in result.message


@pytest.mark.parametrize("placeholder", [
    "# YOUR CODE HERE\n    raise NotImplementedError()",  # nbgrader's placeholder
    "raise NotImplementedError('Exercise 2: the KL divergence to the standard normal')",
    "return ...",
])
def test_the_untouched_placeholder_is_not_attempted(ex2, placeholder, capsys):
    namespace = {}
    exec(f"def kl_std_normal(mu, logvar):\n    {placeholder}\n", namespace)
    result = ex2.check(namespace["kl_std_normal"])
    assert result.status == NOT_ATTEMPTED and not result
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "Traceback" not in out


def test_an_ellipsis_answer_is_not_attempted(ex2):
    assert ex2.check(...).status == NOT_ATTEMPTED


def test_an_unwritten_earlier_exercise_is_named(ex2):
    def uses_exercise_1(mu, logvar):
        raise NotImplementedError("Exercise 1: something else")

    result = ex2.check(uses_exercise_1)
    assert result.status == NOT_ATTEMPTED and "Exercise 1: something else" in result.message


def test_a_crash_is_reported_with_its_type_message_and_inputs(ex2, capsys):
    def crashes(mu, logvar):
        return mu @ logvar  # (1, 3) @ (1, 3): a shape error

    result = ex2.check(crashes)
    assert result.status == FAILED
    assert re.search(r"raised RuntimeError: .*shapes cannot be multiplied", result.message)
    assert "mu=0, logvar=0: mu = float32 tensor [[0, 0, 0]]" in result.message


def test_calling_the_function_instead_of_passing_it_is_explained(ex2):
    message = ex2.check(kl_right(torch.zeros(1, 3), torch.zeros(1, 3))).message
    assert "expects your function itself" in message


def test_a_function_that_edits_its_input_in_place_does_not_spoil_later_cases():
    seen = []

    def doubles_in_place(x):
        seen.append(x.clone())
        return x.mul_(2)

    ex = FunctionExercise(1, "double", lambda x: 2 * x, [Case("ones", torch.ones(3))])
    assert ex.check(doubles_in_place) and ex.check(doubles_in_place)
    assert all(torch.equal(s, torch.ones(3)) for s in seen)


def test_a_seeded_exercise_gives_learner_and_reference_the_same_noise():
    def reparameterize(mu, logvar):
        return mu + (0.5 * logvar).exp() * torch.randn_like(mu)

    ex = FunctionExercise(3, "reparameterize", reparameterize,
                          [Case("batch", torch.zeros(5, 2), torch.zeros(5, 2))], seed=0)
    state = torch.get_rng_state()
    assert ex.check(lambda mu, logvar: mu + logvar.mul(0.5).exp() * torch.randn(mu.shape))
    assert torch.equal(torch.get_rng_state(), state)  # the notebook's random stream is untouched
    assert not ex.check(lambda mu, logvar: mu + logvar.exp() * torch.randn_like(mu) + 1)


def test_a_custom_comparison_replaces_the_default():
    def same_sign(got, expected):
        return None if (got > 0) == (expected > 0) else "the sign is wrong"

    ex = FunctionExercise(4, "sign", lambda x: 3.0 * x, [Case("x=2", 2.0)], compare=same_sign)
    assert ex.check(lambda x: x)
    assert "the sign is wrong" in ex.check(lambda x: -x).message


# ---------------------------------------------------------------------------- value exercises


def test_a_value_exercise_compares_with_its_reference():
    ex = Exercise(5, "choose beta", reference=4.0,
                  mistakes=[Mistake("β = 1 is the plain VAE.", like=1.0)])
    assert ex.check(...).status == NOT_ATTEMPTED
    assert ex.check(4.0)
    wrong = ex.check(1.0)
    assert wrong.status == FAILED and "expected 4" in wrong.message
    assert "plain VAE" in wrong.message
    assert "plain VAE" not in ex.check(2.0).message


def test_a_rule_that_crashes_does_not_break_the_check():
    ex = Exercise(6, "x", reference=torch.ones(2),
                  mistakes=[Mistake("never shown", when=lambda got, expected: got.nope)])
    assert ex.check(torch.zeros(2)).message.count("never shown") == 0


# ------------------------------------------------------------------ hints, solution, fallback


def test_hints_come_one_layer_at_a_time(ex2, capsys):
    ex2.hint()
    first = capsys.readouterr().out
    ex2.hint()
    second = capsys.readouterr().out
    ex2.hint()
    again = capsys.readouterr().out
    assert "Hint 1 of 2" in first and "first hint" in first and "ex2.hint()" in first
    assert "Hint 2 of 2" in second and "last hint" in second and "ex2.solution()" in second
    assert again == second
    ex2.hint(1)
    assert "first hint" in capsys.readouterr().out
    ex2.hint(3)
    assert "hints 1 to 2" in capsys.readouterr().out


def test_an_exercise_without_hints_points_to_the_solution(capsys):
    Exercise(7, "x", reference=1).hint()
    assert "no hints" in capsys.readouterr().out


def test_solution_shows_the_given_code_or_the_reference_source(ex2, capsys):
    ex2.solution()
    out = capsys.readouterr().out
    assert "Solution to exercise 2" in out and "logvar.exp() + mu**2 - 1 - logvar" in out
    FunctionExercise(8, "y", kl_reference, []).solution()
    assert "def kl_reference(mu, logvar):" in capsys.readouterr().out


def test_yours_or_reference_keeps_a_passing_answer_and_replaces_others(ex2, capsys):
    assert ex2.yours_or_reference(kl_right) is kl_right
    assert capsys.readouterr().out.strip() == (
        "Exercise 2: using your answer (it passes the check).")
    assert ex2.yours_or_reference(...) is kl_reference
    said = capsys.readouterr().out
    assert "reference solution, because yours is not attempted yet" in said
    assert "run this cell again" in said  # a learner whose answer passes later knows what to do
    assert ex2.yours_or_reference(kl_without_minus_one) is kl_reference
    assert "does not pass yet" in capsys.readouterr().out


def test_a_result_shows_nothing_extra_under_a_notebook_cell(ex2):
    result = ex2.evaluate(kl_right)
    assert result._ipython_display_() is None and str(result) == result.message


# ------------------------------------------------------------- what nbgrader's hidden line asks


def test_assert_passed_follows_the_latest_check(ex2, capsys):
    with pytest.raises(AssertionError, match="was not checked"):
        ex2.assert_passed()
    ex2.check(kl_without_minus_one)
    with pytest.raises(AssertionError, match="failed"):
        ex2.assert_passed()
    ex2.check(kl_right)
    ex2.assert_passed()
    ex2.yours_or_reference(kl_without_minus_one)  # not a check: the verdict stays
    ex2.assert_passed()
    ex2.check(...)
    with pytest.raises(AssertionError, match="not attempted"):
        ex2.assert_passed()


def test_exercises_in_lists_a_module_s_exercises_by_number(ex2):
    ex1 = Exercise(1, "a", reference=0)
    module = types.SimpleNamespace(ex2=ex2, ex1=ex1, alias=ex1, torch=torch)
    assert exercises_in(module) == [ex1, ex2]


def test_the_module_docstring_example_runs_and_checks():
    after = core.__doc__.split("::\n", 1)[1].splitlines()
    code = []
    for line in after:
        if line.strip() and not line.startswith("    "):
            break  # the end of the indented example
        code.append(line)
    namespace = {}
    exec(textwrap.dedent("\n".join(code)), namespace)
    ex = namespace["ex2"]
    assert ex.check(kl_right)
    assert "-1 term is missing" in ex.check(kl_without_minus_one).message


def test_a_release_exercise_without_recorded_cases_is_not_taken_for_the_graders_copy(
        tmp_path, monkeypatch, capsys):
    # a class release records its checks in checks/recorded/nbNN.pt; an exercise judged by behaviour
    # (05's VAE class) has no recorded cases there, and must still say the release has no reference
    ex = make_kl_exercise()
    ex.reference = None
    monkeypatch.setattr(ex, "evaluate", lambda answer: ex.not_attempted())
    monkeypatch.setattr(core, "RECORDED", tmp_path)
    assert ex.yours_or_reference(...) is Ellipsis
    assert "the grader checks it" in capsys.readouterr().out  # the grader's copy: nothing recorded
    torch.save({}, tmp_path / f"{ex.module.rpartition('.')[2]}.pt")
    assert ex.yours_or_reference(...) is Ellipsis
    said = capsys.readouterr().out
    assert "not attempted yet" in said and "a class release) has no reference" in said
