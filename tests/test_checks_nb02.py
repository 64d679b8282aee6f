"""Notebook 02's exercises, run on the exercise cells as they stand in solutions/ and notebooks/."""

import pytest
import torch

from vae_course.checks.core import FAILED, NOT_ATTEMPTED, PASSED
from vae_course.checks.nb02 import _diag_variant, _full_variant, ex1, ex2

NAME = "02_gaussian_kl.ipynb"


@pytest.mark.parametrize("ex, number, name", [(ex1, 1, "kl_diag"), (ex2, 2, "kl_full")])
def test_solution_passes_and_untouched_student_cell_is_not_attempted(ex, number, name, exercise_function):
    assert ex.evaluate(exercise_function(NAME, "solutions", number, name)).status == PASSED
    assert ex.evaluate(exercise_function(NAME, "notebooks", number, name)).status == NOT_ATTEMPTED


@pytest.mark.parametrize("answer, named", [
    (_diag_variant(half=1.0), "1/2 in front is missing"),
    (_diag_variant(log_scale=0.5), "log sigma where log sigma^2 belongs"),
    (_diag_variant(half=1.0, log_scale=0.5), "circulates on slides"),
    (_diag_variant(minus_one=1.0), "sign of the -1 term"),
    (_diag_variant(swapped=True), "KL(p || q) instead of KL(q || p)"),
    (_diag_variant(summed=False), "sum over the last dimension"),
])
def test_diagonal_kl_mistakes_are_named(answer, named):
    result = ex1.evaluate(answer)
    assert result.status == FAILED and named in result.message


def test_the_diagonal_reference_is_torch_distributions_not_a_formula():
    assert ex1.evaluate(_diag_variant()).status == PASSED  # the formula agrees with the reference


def naive_determinant(mu0, cov0, mu1, cov1):
    k, inv, diff = mu0.shape[-1], torch.linalg.inv(cov1), mu1 - mu0
    logdets = torch.log(torch.det(cov1)) - torch.log(torch.det(cov0))
    return 0.5 * (torch.trace(inv @ cov0) + diff @ inv @ diff - k + logdets)


@pytest.mark.parametrize("answer, named", [
    (_full_variant(half=1.0), "1/2 in front is missing"),
    (_full_variant(logdet_sign=-1.0), "wrong sign"),
    (_full_variant(minus_k=False), "- k (the dimension) term is missing"),
    (naive_determinant, "Cholesky"),
])
def test_full_covariance_mistakes_are_named(answer, named):
    result = ex2.evaluate(answer)
    assert result.status == FAILED and named in result.message


def test_the_naive_determinant_is_right_in_small_dimensions_and_caught_only_by_the_200d_case():
    assert ex2.evaluate(naive_determinant).message.count("200-D") >= 1
