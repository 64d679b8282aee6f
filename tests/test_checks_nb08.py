"""Notebook 08's exercises: PCA by an SVD, PSNR and filling a hole from the prior, run on the
exercise cells as they stand."""

import numpy as np
import pytest
import torch

from vae_course.checks.core import FAILED, NOT_ATTEMPTED, PASSED
from vae_course.checks.nb08 import _inpaint_variant, _psnr_variant, _svd_variant, ex1, ex2, ex3
from vae_course.corruption import psnr as package_psnr

NAME = "08_what_vaes_are_for.ipynb"


@pytest.mark.parametrize("ex, number, name", [(ex1, 1, "pca_directions"), (ex2, 2, "psnr"),
                                              (ex3, 3, "inpaint")])
def test_solution_passes_and_untouched_student_cell_is_not_attempted(ex, number, name, exercise_function):
    assert ex.evaluate(exercise_function(NAME, "solutions", number, name)).status == PASSED
    assert ex.evaluate(exercise_function(NAME, "notebooks", number, name)).status == NOT_ATTEMPTED


def test_pca_directions_pass_whatever_their_signs_or_the_route_to_them():
    def flipped(X, d):
        mean, comps = _svd_variant()(X, d)
        return mean, comps * torch.tensor([-1.0] + [1.0] * (d - 1))[:, None]

    def via_eigh(X, d):
        mean = X.mean(0)
        values, vectors = torch.linalg.eigh(torch.cov((X - mean).T.double()))
        return mean, vectors.flip(1)[:, :d].T.float()

    for answer in (flipped, via_eigh):
        assert ex1.evaluate(answer).status == PASSED


@pytest.mark.parametrize("answer, named", [
    (_svd_variant(centre=False), "not centred"),
    (_svd_variant(smallest=True), "last d directions"),
    (_svd_variant(rows_of_u=True), "columns of U"),
    (_svd_variant(reversed_order=True), "reverse order"),
])
def test_pca_mistakes_are_named(answer, named):
    result = ex1.evaluate(answer)
    assert result.status == FAILED and named in result.message


def test_pca_directions_from_eigh_left_in_its_ascending_order_fail_and_are_named():
    # the top d eigenvectors, smallest first: the right subspace, the wrong order (notebook 08
    # truncates its PCA to the first rows, so this order would give it the wrong small codes)
    def eigh_ascending(X, d):
        mean = X.mean(0)
        values, vectors = torch.linalg.eigh(torch.cov((X - mean).T.double()))
        return mean, vectors[:, -d:].T.float()

    result = ex1.evaluate(eigh_ascending)
    assert result.status == FAILED and "reverse order" in str(result)


def test_pca_that_is_not_orthonormal_fails_even_in_the_right_subspace():
    def scaled(X, d):
        mean, comps = _svd_variant()(X, d)
        return mean, 2 * comps

    result = ex1.evaluate(scaled)
    assert result.status == FAILED and "orthonormal" in result.message


@pytest.mark.parametrize("answer, named", [
    (_psnr_variant(log=torch.log), "natural log"),
    (_psnr_variant(factor=20.0), "20 log10"),
    (_psnr_variant(peak=255.0), "peak of 255"),
    (_psnr_variant(batch_mse=True), "one number for the batch"),
])
def test_psnr_mistakes_are_named(answer, named):
    result = ex2.evaluate(answer)
    assert result.status == FAILED and named in result.message


def test_the_psnr_reference_is_the_packages_psnr():
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    x_hat = (x + 0.05).clamp(0, 1)
    np.testing.assert_allclose(ex2.reference(x_hat, x).numpy(), package_psnr(x_hat, x).numpy(), rtol=1e-5)


@pytest.mark.parametrize("answer, named", [
    (_inpaint_variant(keep=False), "visible pixels were replaced"),
    (_inpaint_variant(prior=False), "prior term log p(z) is missing"),
    (_inpaint_variant(masked=False), "hidden pixels count in the likelihood"),
    (_inpaint_variant(start="zero"), "z starts at zero"),
    (_inpaint_variant(move=False), "z never moved"),
    (_inpaint_variant(weights=True), "weights were optimised too"),
    (_inpaint_variant(pixel_mean=True), "averaged over the pixels"),
    (_inpaint_variant(last_inside=True), "one step before the last"),
])
def test_inpaint_mistakes_are_named(answer, named):
    result = ex3.evaluate(answer)
    assert result.status == FAILED and named in result.message


def test_inpaint_passes_with_a_summed_loss_and_the_library_cross_entropy():
    """Adam does not see the loss's scale: a sum over the batch instead of a mean, and
    F.binary_cross_entropy instead of the written-out logs, reach the same code."""
    def inpaint(model, x, visible, steps=200, lr=0.05):
        z = model.encode(x)[0].detach().clone().requires_grad_(True)
        opt = torch.optim.Adam([z], lr=lr)
        for _ in range(steps):
            bce = torch.nn.functional.binary_cross_entropy(model.decode(z), x, reduction="none")
            loss = (bce * visible).sum() + 0.5 * (z ** 2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            return torch.where(visible, x, model.decode(z))

    assert ex3.evaluate(inpaint).status == PASSED


def test_inpaint_whose_z_is_not_a_leaf_fails_with_the_reason():
    """The check's VAEs need gradients, as the notebook's do: a z taken from the encoder without
    detaching it cannot be optimised, and the learner reads why."""
    def inpaint(model, x, visible, steps=200, lr=0.05):
        z = model.encode(x)[0].requires_grad_(True)
        opt = torch.optim.Adam([z], lr=lr)
        return torch.where(visible, x, model.decode(z).detach()), opt

    result = ex3.evaluate(inpaint)
    assert result.status == FAILED and "leaf" in result.message
