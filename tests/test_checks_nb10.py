"""Notebook 10's exercises: the conditional importance-sampled estimate, the entropy of q(y|x) and
M2's unlabelled loss with y summed out."""

import pytest
import torch

from vae_course.checks.core import FAILED, NOT_ATTEMPTED, PASSED
from vae_course.checks.nb10 import ProbeM2, _cll_variant, _entropy_variant, _unlabelled_variant, ex1, ex2, ex3

NAME = "10_what_the_cvae_was_invented_for.ipynb"


@pytest.mark.parametrize("ex, number, name", [(ex1, 1, "cll_estimate"), (ex2, 2, "entropy"),
                                              (ex3, 3, "m2_unlabelled_loss")])
def test_solution_passes_and_untouched_student_cell_is_not_attempted(ex, number, name, exercise_function):
    assert ex.evaluate(exercise_function(NAME, "solutions", number, name)).status == PASSED
    assert ex.evaluate(exercise_function(NAME, "notebooks", number, name)).status == NOT_ATTEMPTED


@pytest.mark.parametrize("answer, named", [
    (_cll_variant(proposal_as_prior=True), "scored under q in place of the prior network"),
    (_cll_variant(average_logs=True), "averaged the log-weights"),
    (_cll_variant(no_mean=True), "summed, not averaged"),
    (_cll_variant(swapped=True), "prior and proposal are swapped"),
    (_cll_variant(std_is_logvar=True), "exp(logvar) was used as the standard deviation"),
])
def test_using_the_recognition_network_at_test_time_and_other_estimator_mistakes_are_named(answer, named):
    result = ex1.evaluate(answer)
    assert result.status == FAILED and named in result.message, result.message


@pytest.mark.parametrize("answer, named", [
    (_entropy_variant(sign=1.0), "sign is missing"),
    (_entropy_variant(logits_as_logs=True), "logits were used as log-probabilities"),
    (_entropy_variant(bits=True), "in bits"),
    (_entropy_variant(reduce="mean"), "averaged over the classes"),
    (_entropy_variant(dim=0), "over the batch"),
    (lambda logits: -(logits.softmax(-1) * logits.softmax(-1).log()).sum(-1), "underflows to 0"),
])
def test_entropy_mistakes_are_named(answer, named):
    result = ex2.evaluate(answer)
    assert result.status == FAILED and named in result.message, result.message


@pytest.mark.parametrize("answer, named", [
    (_unlabelled_variant(entropy=0.0), "entropy of q(y|x) is missing"),
    (_unlabelled_variant(entropy=1.0), "entropy is added"),
    (_unlabelled_variant(weights="uniform"), "uniform p(y)"),
    (_unlabelled_variant(weights="argmax"), "most probable label only"),
    (_unlabelled_variant(weights="detached"), "detached"),
    (_unlabelled_variant(reduce="sum"), "summed over the batch"),
])
def test_forgotten_entropy_and_wrong_weighting_distribution_are_named(answer, named):
    result = ex3.evaluate(answer)
    assert result.status == FAILED and named in result.message, result.message


def test_a_batched_answer_and_a_loop_over_labels_both_pass():
    """One call on the batch repeated ten times and ten calls, one per label, give the same loss and
    gradients on the checks' model (its L(x, y) draws nothing)."""
    def batched(model, x):
        n = len(x)
        logits = model.classify(x)
        log_q = logits.log_softmax(dim=-1)
        y = torch.arange(10).repeat_interleave(n)
        neg_elbo = model.labelled_neg_elbo(x.repeat(10, 1, 1, 1), y).view(10, n).T
        return ((log_q.exp() * neg_elbo).sum(1) + (log_q.exp() * log_q).sum(1)).mean()
    assert ex3.evaluate(batched).status == PASSED


def test_a_loss_returned_as_a_number_is_told_to_return_the_tensor():
    result = ex3.evaluate(lambda model, x: _unlabelled_variant()(model, x).item())
    assert result.status == FAILED and "Python number" in result.message


def test_the_probe_model_is_deterministic_and_positive():
    model = ProbeM2()
    x = (torch.rand(3, 1, 28, 28) < 0.3).float()
    y = torch.tensor([1, 4, 9])
    a, b = model.labelled_neg_elbo(x, y), model.labelled_neg_elbo(x, y)
    assert torch.equal(a, b) and a.shape == (3,) and bool((a > 0).all())
