"""Notebook 09's exercises: sharpness, the feature distance, the feature-consistent loss and a
convolutional decoder."""

import pytest
import torch
from torch import nn

from vae_course.checks.core import FAILED, NOT_ATTEMPTED, PASSED
from vae_course.checks.nb09 import _dfc_variant, _distance_variant, _sharpness_variant, ex1, ex2, ex3, ex4
from vae_course.perceptual import feature_distance as package_distance
from vae_course.perceptual import sharpness as package_sharpness

NAME = "09_sharper_samples_and_conv_vae.ipynb"


@pytest.mark.parametrize("ex, number, name", [(ex1, 1, "sharpness"), (ex2, 2, "feature_distance"),
                                              (ex3, 3, "dfc_loss"), (ex4, 4, "ConvDecoder")])
def test_solution_passes_and_untouched_student_cell_is_not_attempted(ex, number, name, exercise_function):
    assert ex.evaluate(exercise_function(NAME, "solutions", number, name)).status == PASSED
    assert ex.evaluate(exercise_function(NAME, "notebooks", number, name)).status == NOT_ATTEMPTED


def test_the_package_versions_pass_their_own_exercises():
    assert ex1.evaluate(package_sharpness).status == PASSED
    assert ex2.evaluate(package_distance).status == PASSED


@pytest.mark.parametrize("answer, named", [
    (_sharpness_variant(power=1), "absolute differences"),
    (_sharpness_variant(directions="across"), "one direction"),
    (_sharpness_variant(directions="down"), "one direction"),
    (_sharpness_variant(reduce="sum"), "summed"),
    (_sharpness_variant(per_image=False), "one number for the batch"),
])
def test_sharpness_mistakes_are_named(answer, named):
    result = ex1.evaluate(answer)
    assert result.status == FAILED and named in result.message


@pytest.mark.parametrize("answer, named", [
    (_distance_variant(reduce="mean"), "averaged over the features"),
    (_distance_variant(square=False), "absolute differences"),
    (_distance_variant(root=True), "square root"),
    (_distance_variant(layers=1), "only the first layer"),
    (_distance_variant(per_image=False), "one number for the batch"),
])
def test_feature_distance_mistakes_are_named(answer, named):
    result = ex2.evaluate(answer)
    assert result.status == FAILED and named in result.message


def _decoder(relu=True, transposed=True, fixed=False, sigmoid=True):
    class ConvDecoder(nn.Module):
        def __init__(self, latent_dim, channels=(16, 32)):
            super().__init__()
            c1, c2 = (16, 32) if fixed else channels
            latent = 20 if fixed else latent_dim
            act = nn.ReLU if relu else nn.Identity
            if transposed:
                up = [nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), act(),
                      nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1)]
            else:  # upsampling by interpolation and plain convolutions
                up = [nn.Upsample(scale_factor=2), nn.Conv2d(c2, c1, 3, padding=1), act(),
                      nn.Upsample(scale_factor=2), nn.Conv2d(c1, 1, 3, padding=1)]
            self.net = nn.Sequential(nn.Linear(latent, c2 * 49), act(), nn.Unflatten(1, (c2, 7, 7)), *up)

        def forward(self, z):
            out = self.net(z)
            return torch.sigmoid(out) if sigmoid else out
    return ConvDecoder


@pytest.mark.parametrize("answer, named", [
    (_decoder(relu=False), "affine"),
    (_decoder(transposed=False), "ConvTranspose2d"),
    (_decoder(fixed=True), "from the arguments"),
    (_decoder(sigmoid=False), "sigmoid"),
])
def test_conv_decoder_mistakes_are_named(answer, named):
    result = ex4.evaluate(answer)
    assert result.status == FAILED and named in result.message


def test_conv_decoder_check_wants_the_class_itself():
    result = ex4.evaluate(_decoder()(20))
    assert result.status == FAILED and "your class itself" in result.message
    assert ex4.evaluate(_decoder()).status == PASSED


@pytest.mark.parametrize("answer, named", [
    (_dfc_variant(kl=False), "KL term is missing"),
    (_dfc_variant(weighted=False), "lam is not used"),
    (_dfc_variant(feature_gradient=False), "no gradient reaches the VAE"),
    (_dfc_variant(reduce="sum"), "summed over the batch"),
    (_dfc_variant(item=True), "returned as loss.item()"),
])
def test_dfc_loss_mistakes_are_named(answer, named):
    result = ex3.evaluate(answer)
    assert result.status == FAILED and named in result.message


def test_the_package_loss_passes_as_the_learners_loss():
    """The package's feature_consistent_loss(net, lam) is exercise 3's loss as an objective: a
    dfc_loss that calls it passes the check (so a graded copy must stub it)."""
    from vae_course.perceptual import feature_consistent_loss

    def dfc_loss(model, net, x, lam):
        return feature_consistent_loss(net, lam)(model, x)

    assert ex3.evaluate(dfc_loss).status == PASSED


def test_dfc_loss_without_a_graph_a_shape_or_a_tensor_is_told_which():
    def detached(model, net, x, lam):
        return _dfc_variant()(model, net, x, lam).detach()

    result = ex3.evaluate(detached)
    assert result.status == FAILED and "no graph" in result.message

    def per_image(model, net, x, lam):
        return _dfc_variant()(model, net, x, lam).expand(len(x))

    result = ex3.evaluate(per_image)
    assert result.status == FAILED and "one number for the batch" in result.message

    def nothing(model, net, x, lam):
        _dfc_variant()(model, net, x, lam)

    result = ex3.evaluate(nothing)
    assert result.status == FAILED and "no tensor" in result.message
