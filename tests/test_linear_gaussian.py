"""The exact linear-Gaussian model: if these fail, notebook 01's "identity to float precision"
and notebook 07's estimator check are testing against a wrong truth."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.distributions import MultivariateNormal, kl_divergence

from vae_course.linear_gaussian import LinearGaussian, random_linear_gaussian


def _random_q(d, g):
    mu = torch.randn(d, generator=g, dtype=torch.float64)
    A = torch.randn(d, d, generator=g, dtype=torch.float64)
    cov = A @ A.T / d + 0.1 * torch.eye(d, dtype=torch.float64)
    return mu, cov


def test_log_marginal_matches_torch_multivariate_normal():
    model = random_linear_gaussian(D=5, d=3, seed=1)
    x, _ = model.sample(7, generator=torch.Generator().manual_seed(2))
    ref = MultivariateNormal(model.b, model.marginal_cov()).log_prob(x)
    assert torch.allclose(model.log_marginal(x), ref, atol=1e-12, rtol=0)


def test_posterior_satisfies_bayes_rule_at_any_z():
    model = random_linear_gaussian(D=4, d=2, seed=3)
    g = torch.Generator().manual_seed(4)
    x, _ = model.sample(1, generator=g)
    x = x[0]
    m, S = model.posterior(x)
    z = torch.randn(10, 2, generator=g, dtype=torch.float64)
    lhs = MultivariateNormal(m, S).log_prob(z)
    rhs = model.log_joint(x, z) - model.log_marginal(x)
    assert torch.allclose(lhs, rhs, atol=1e-10, rtol=0)


def test_elbo_matches_monte_carlo():
    model = random_linear_gaussian(D=4, d=2, seed=5)
    g = torch.Generator().manual_seed(6)
    x = model.sample(1, generator=g)[0][0]
    mu, cov = _random_q(2, g)
    q = MultivariateNormal(mu, cov)
    torch.manual_seed(0)
    z = q.sample((200_000,))
    log_w = model.log_joint(x, z) - q.log_prob(z)
    stderr = log_w.std() / math.sqrt(len(log_w))
    assert abs(log_w.mean() - model.elbo(x, mu, cov)) < 5 * stderr


@settings(max_examples=40, deadline=None)
@given(
    D=st.integers(1, 6),
    d=st.integers(1, 4),
    sigma2=st.floats(0.05, 3.0),
    seed=st.integers(0, 10_000),
)
def test_identity_log_px_equals_elbo_plus_kl_for_any_gaussian_q(D, d, sigma2, seed):
    model = random_linear_gaussian(D=D, d=d, sigma2=sigma2, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    x = model.sample(1, generator=g)[0][0]
    mu, cov = _random_q(d, g)
    m, S = model.posterior(x)
    kl = kl_divergence(MultivariateNormal(mu, cov), MultivariateNormal(m, S))
    elbo = model.elbo(x, mu, cov)
    log_px = model.log_marginal(x)
    assert abs(elbo + kl - log_px) < 1e-8 * (1 + abs(log_px))
    assert elbo <= log_px + 1e-10


def test_elbo_equals_log_px_at_the_true_posterior():
    model = random_linear_gaussian(D=6, d=3, seed=7)
    x = model.sample(4, generator=torch.Generator().manual_seed(8))[0]  # a batch of 4
    m, S = model.posterior(x)
    gap = model.log_marginal(x) - model.elbo(x, m, S.expand(4, 3, 3))
    assert gap.abs().max() < 1e-10


def test_bad_parameters_raise_value_errors():
    W = torch.ones(3, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="sigma2"):
        LinearGaussian(W, torch.zeros(3, dtype=torch.float64), 0.0)
    with pytest.raises(ValueError, match="b must have shape"):
        LinearGaussian(W, torch.zeros(2, dtype=torch.float64), 1.0)
    with pytest.raises(ValueError, match="W must be"):
        LinearGaussian(torch.ones(3), torch.zeros(3), 1.0)
