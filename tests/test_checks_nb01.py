"""Notebook 01's exercises, run on the exercise cells as they stand in solutions/ and notebooks/."""

import pytest
import torch

from vae_course.checks.core import FAILED, NOT_ATTEMPTED, PASSED
from vae_course.checks.nb01 import _problem, ex1, ex2
from vae_course.linear_gaussian import random_linear_gaussian

NAME = "01_latent_variables_and_elbo.ipynb"


@pytest.mark.parametrize("ex, number, name", [(ex1, 1, "mc_elbo"), (ex2, 2, "iw_bound")])
def test_solution_passes_and_untouched_student_cell_is_not_attempted(ex, number, name, exercise_function):
    assert ex.evaluate(exercise_function(NAME, "solutions", number, name)).status == PASSED
    assert ex.evaluate(exercise_function(NAME, "notebooks", number, name)).status == NOT_ATTEMPTED


@pytest.mark.parametrize("answer, named", [
    (lambda lj, lq, z: torch.log(torch.exp(lj(z) - lq(z)).mean()), "log of the average weight"),
    (lambda lj, lq, z: (lj(z) + lq(z)).mean(), "sign of log q is flipped"),
    (lambda lj, lq, z: lj(z).mean(), "log q is missing"),
    (lambda lj, lq, z: (lj(z) - lq(z)).sum(), "average them"),
])
def test_elbo_mistakes_are_named(answer, named):
    result = ex1.evaluate(answer)
    assert result.status == FAILED and named in result.message


@pytest.mark.parametrize("answer, named", [
    (lambda lj, lq, z: torch.log(torch.exp(lj(z) - lq(z)).mean()), "logsumexp"),
    (lambda lj, lq, z: torch.logsumexp(lj(z) - lq(z), 0), "- log K is missing"),
    (lambda lj, lq, z: (lj(z) - lq(z)).mean(), "that is the ELBO"),
])
def test_importance_weighted_mistakes_are_named(answer, named):
    result = ex2.evaluate(answer)
    assert result.status == FAILED and named in result.message


def test_with_the_exact_posterior_every_log_weight_is_log_p_x():
    """The property the first test case relies on: q = p(z|x) makes the estimators exact."""
    log_joint, log_q, z = _problem(seed=1, n=50, exact_posterior=True)
    log_w = log_joint(z) - log_q(z)
    assert torch.allclose(log_w, log_w[0].expand(50), atol=1e-10)
    model = random_linear_gaussian(D=4, d=2, sigma2=0.3, seed=1)
    x = model.sample(1, generator=torch.Generator().manual_seed(101))[0][0]
    assert torch.allclose(log_w[0], model.log_marginal(x), atol=1e-10)
