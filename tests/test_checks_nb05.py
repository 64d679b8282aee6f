"""Notebook 05's exercises: the reparameterized sample and the VAE loss in nats per image."""

import pytest
import torch
from torch.nn import functional as F

from vae_course.checks.core import FAILED, NOT_ATTEMPTED
from vae_course.checks.nb05 import ex1, ex2
from vae_course.losses import neg_elbo
from vae_course.student import strip_solutions

EX1 = '''import torch
# Exercise 1: the reparameterized sample
def reparameterize(mu, logvar):
    ### BEGIN SOLUTION
    eps = torch.randn_like(mu)
    return mu + torch.exp(0.5 * logvar) * eps
    ### END SOLUTION
'''

EX2 = '''import torch
from torch.nn import functional as F
# Exercise 2: the VAE loss in nats per image
def vae_loss(x_hat, x, mu, logvar):
    ### BEGIN SOLUTION
    rec = F.binary_cross_entropy(x_hat, x, reduction="none").reshape(len(x), -1).sum(1)
    kl = 0.5 * (logvar.exp() + mu**2 - 1 - logvar).sum(1)
    return (rec + kl).mean()
    ### END SOLUTION
'''


def define(source, name):
    namespace = {}
    exec(source, namespace)
    return namespace[name]


def kl(mu, logvar):
    return 0.5 * (logvar.exp() + mu**2 - 1 - logvar).sum(1)


def test_reference_sampler_and_other_right_forms_pass():
    assert ex1.check(define(EX1, "reparameterize"))
    assert ex1.check(lambda mu, logvar: mu + logvar.mul(0.5).exp() * torch.randn(mu.shape))
    assert ex1.check(lambda mu, logvar: torch.distributions.Normal(mu, (0.5 * logvar).exp()).rsample())


def test_untouched_sampler_is_not_attempted():
    assert ex1.check(define(strip_solutions(EX1), "reparameterize")).status == NOT_ATTEMPTED


@pytest.mark.parametrize("answer, named", [
    (lambda mu, logvar: mu + logvar.exp() * torch.randn_like(mu), "exp(logvar) = sigma²"),
    (lambda mu, logvar: mu + logvar * torch.randn_like(mu), "multiplied eps by logvar"),
    (lambda mu, logvar: torch.exp(0.5 * logvar) * torch.randn_like(mu), "Is mu added"),
    (lambda mu, logvar: (mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)).detach(), "gradient"),
    (lambda mu, logvar: torch.normal(mu.detach(), torch.exp(0.5 * logvar).detach()), "gradient"),
    (lambda mu, logvar: mu[:, :1], "shape (1, 3)"),
])
def test_sampler_mistakes_are_named(answer, named):
    result = ex1.check(answer)
    assert result.status == FAILED and named in result.message


def test_reference_loss_passes_and_agrees_with_the_package():
    assert ex2.check(define(EX2, "vae_loss"))
    assert ex2.check(neg_elbo)


def test_untouched_loss_is_not_attempted():
    assert ex2.check(define(strip_solutions(EX2), "vae_loss")).status == NOT_ATTEMPTED


def rec(x_hat, x):
    return F.binary_cross_entropy(x_hat, x, reduction="none").reshape(len(x), -1).sum(1)


@pytest.mark.parametrize("answer, named", [
    (lambda x_hat, x, mu, lv: F.binary_cross_entropy(x_hat, x) + kl(mu, lv).mean(), "784 times"),
    (lambda x_hat, x, mu, lv: F.binary_cross_entropy(x_hat, x) + kl(mu, lv).sum() / (784 * len(x)),
     "up to a constant"),
    (lambda x_hat, x, mu, lv: (rec(x_hat, x) + kl(mu, lv)).sum(), "summed over the batch"),
    (lambda x_hat, x, mu, lv: (rec(x_hat, x) + 2 * kl(mu, lv)).mean(), "factor 1/2"),
    (lambda x_hat, x, mu, lv: rec(x_hat, x).mean(), "KL term is missing"),
    (lambda x_hat, x, mu, lv: (rec(x_hat, x) - kl(mu, lv)).mean(), "wrong sign"),
    (lambda x_hat, x, mu, lv: (rec(x_hat, x) + kl(mu, 2 * lv)).mean(), "log sigma"),
])
def test_loss_mistakes_are_named(answer, named):
    result = ex2.check(answer)
    assert result.status == FAILED and named in result.message
