"""Notebook 04's exercises: the reconstruction loss and the linear interpolation."""

import pytest
import torch
from torch.nn import functional as F

from vae_course.checks.core import FAILED, NOT_ATTEMPTED
from vae_course.checks.nb04 import ex1, ex2
from vae_course.student import strip_solutions

EX1 = '''import torch
from torch.nn import functional as F
# Exercise 1: the reconstruction loss in nats per image
def reconstruction_loss(x_hat, x):
    ### BEGIN SOLUTION
    bce = F.binary_cross_entropy(x_hat, x, reduction="none")  # (B, 1, 28, 28)
    return bce.reshape(len(x), -1).sum(dim=1)                  # (B,)
    ### END SOLUTION
'''

EX2 = '''import torch
# Exercise 2: linear interpolation between two codes
def interpolate(z0, z1, steps):
    ### BEGIN SOLUTION
    t = torch.linspace(0, 1, steps).unsqueeze(1)  # (steps, 1)
    return (1 - t) * z0 + t * z1                   # (steps, D)
    ### END SOLUTION
'''


def define(source, name):
    namespace = {}
    exec(source, namespace)
    return namespace[name]


def test_reference_reconstruction_loss_passes():
    assert ex1.check(define(EX1, "reconstruction_loss"))


def test_untouched_reconstruction_loss_is_not_attempted():
    assert ex1.check(define(strip_solutions(EX1), "reconstruction_loss")).status == NOT_ATTEMPTED


@pytest.mark.parametrize("answer, named", [
    (lambda x_hat, x: F.binary_cross_entropy(x_hat, x), "averaged over the pixels"),
    (lambda x_hat, x: F.binary_cross_entropy(x_hat, x, reduction="sum"), "summed over the whole batch"),
    (lambda x_hat, x: F.binary_cross_entropy(x_hat, x, reduction="none").reshape(len(x), -1).mean(1),
     "averaged over the pixels of each image"),
    (lambda x_hat, x: ((x_hat - x) ** 2).reshape(len(x), -1).sum(1), "squared error"),
    (lambda x_hat, x: -F.binary_cross_entropy(x_hat, x, reduction="none").reshape(len(x), -1).sum(1),
     "sign is flipped"),
])
def test_reconstruction_loss_mistakes_are_named(answer, named):
    result = ex1.check(answer)
    assert result.status == FAILED and named in result.message


def test_reference_interpolation_passes():
    assert ex2.check(define(EX2, "interpolate"))
    assert ex2.check(lambda z0, z1, steps: torch.stack([torch.lerp(z0, z1, w)
                                                        for w in torch.linspace(0, 1, steps)]))


def test_untouched_interpolation_is_not_attempted():
    assert ex2.check(define(strip_solutions(EX2), "interpolate")).status == NOT_ATTEMPTED


@pytest.mark.parametrize("answer, named", [
    (lambda z0, z1, s: z0 + (torch.arange(s) / s).unsqueeze(1) * (z1 - z0), "last point is missing"),
    (lambda z0, z1, s: (1 - torch.linspace(1, 0, s)[:, None]) * z0
     + torch.linspace(1, 0, s)[:, None] * z1, "backwards"),
    (lambda z0, z1, s: ((1 - torch.linspace(0, 1, s)[:, None]) * z0
                        + torch.linspace(0, 1, s)[:, None] * z1).T, "transposed"),
])
def test_interpolation_mistakes_are_named(answer, named):
    result = ex2.check(answer)
    assert result.status == FAILED and named in result.message
