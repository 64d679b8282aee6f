"""Notebook 03's exercises, run on the exercise cells as they stand in solutions/ and notebooks/."""

import pytest
import torch

from vae_course.checks.core import FAILED, NOT_ATTEMPTED, PASSED
from vae_course.checks.nb03 import ex1, ex2

NAME = "03_reparameterization.ipynb"


@pytest.mark.parametrize("ex, number, name", [(ex1, 1, "reparameterize"), (ex2, 2, "pathwise_gradient")])
def test_solution_passes_and_untouched_student_cell_is_not_attempted(
    ex, number, name, capsys, exercise_function
):
    assert ex.check(exercise_function(NAME, "solutions", number, name)).status == PASSED
    assert ex.check(exercise_function(NAME, "notebooks", number, name)).status == NOT_ATTEMPTED
    out = capsys.readouterr().out
    assert "correct" in out and "not attempted yet" in out


@pytest.mark.parametrize("answer, named", [
    (lambda mu, logvar, eps: mu + torch.exp(logvar) * eps, "the variance"),
    (lambda mu, logvar, eps: mu + logvar * eps, "logvar itself"),
    (lambda mu, logvar, eps: mu + torch.exp(logvar) / 2 * eps, "inside the exponential"),
    (lambda mu, logvar, eps: torch.exp(0.5 * logvar) * eps, "mean is missing"),
])
def test_reparameterization_mistakes_are_named(answer, named):
    result = ex1.evaluate(answer)
    assert result.status == FAILED and named in result.message


def test_a_sample_that_ignores_eps_fails_with_the_inputs_shown():
    result = ex1.evaluate(lambda mu, logvar, eps: mu + torch.exp(0.5 * logvar) * torch.randn_like(mu))
    assert result.status == FAILED and "Input:" in result.message


def _summed(f, mu, log_sigma, eps):
    mu, log_sigma = mu.detach().requires_grad_(), log_sigma.detach().requires_grad_()
    f(mu + torch.exp(log_sigma) * eps).sum().backward()
    return mu.grad, log_sigma.grad


def _sigma_as_log_sigma(f, mu, log_sigma, eps):
    mu, log_sigma = mu.detach().requires_grad_(), log_sigma.detach().requires_grad_()
    f(mu + log_sigma * eps).mean().backward()
    return mu.grad, log_sigma.grad


def _score_function(f, mu, log_sigma, eps):
    """A different, also unbiased, estimator: right on average, wrong sample by sample."""
    mu, log_sigma = mu.detach().requires_grad_(), log_sigma.detach().requires_grad_()
    z = (mu + torch.exp(log_sigma) * eps).detach()
    log_q = torch.distributions.Normal(mu, torch.exp(log_sigma)).log_prob(z).sum(-1)
    (f(z) * log_q).mean().backward()
    return mu.grad, log_sigma.grad


@pytest.mark.parametrize("answer, named", [(_summed, "n times too large"),
                                           (_sigma_as_log_sigma, "sigma = exp(log_sigma)")])
def test_pathwise_mistakes_are_named(answer, named):
    result = ex2.evaluate(answer)
    assert result.status == FAILED and named in result.message


def test_the_score_function_estimator_is_not_accepted_as_pathwise():
    assert ex2.evaluate(_score_function).status == FAILED


def test_the_pathwise_reference_matches_autograd_in_float64(exercise_function):
    mu = torch.tensor([0.3, -1.0], dtype=torch.float64)
    log_sigma = torch.tensor([0.1, -0.2], dtype=torch.float64)
    eps = torch.randn(20, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def f(z):
        return torch.sin(z).sum(-1)

    got = ex2.reference(f, mu, log_sigma, eps)
    want = exercise_function(NAME, "solutions", 2, "pathwise_gradient")(f, mu, log_sigma, eps)
    assert got[0].dtype == torch.float64
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-8)
