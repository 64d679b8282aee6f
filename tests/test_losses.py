import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.distributions import Bernoulli, Independent, MultivariateNormal, Normal, kl_divergence

from vae_course.losses import (
    ae_loss,
    bernoulli_log_likelihood,
    cvae_loss,
    gaussian_log_likelihood,
    importance_weighted_bound,
    kl_mvn,
    kl_normal,
    kl_normal_std,
    neg_elbo,
    vae_loss,
)
from vae_course.models import AE, CVAE, VAE


@pytest.fixture(autouse=True)
def float64():
    """The property tests compare to ~1e-9: run this module in double precision."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


floats = st.floats(-3, 3)
seeds = st.integers(0, 2**31 - 1)


def diag_normal(mu, logvar):
    return Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)


@settings(max_examples=50, deadline=None)
@given(seed=seeds, d=st.integers(1, 6))
def test_kl_to_standard_normal_agrees_with_torch_distributions(seed, d):
    g = torch.Generator().manual_seed(seed)
    mu, logvar = torch.randn(4, d, generator=g) * 2, torch.randn(4, d, generator=g) * 2
    expected = kl_divergence(diag_normal(mu, logvar), diag_normal(torch.zeros(d), torch.zeros(d)))
    torch.testing.assert_close(kl_normal_std(mu, logvar), expected)


@settings(max_examples=50, deadline=None)
@given(seed=seeds, d=st.integers(1, 6))
def test_diagonal_kl_agrees_with_torch_distributions_and_is_nonnegative(seed, d):
    g = torch.Generator().manual_seed(seed)
    mq, lq, mp, lp = (torch.randn(3, d, generator=g) * 1.5 for _ in range(4))
    got = kl_normal(mq, lq, mp, lp)
    torch.testing.assert_close(got, kl_divergence(diag_normal(mq, lq), diag_normal(mp, lp)))
    assert (got >= -1e-12).all()
    torch.testing.assert_close(kl_normal(mq, lq, mq, lq), torch.zeros(3), atol=1e-12, rtol=0)


def random_spd(d, g):
    A = torch.randn(d, d, generator=g)
    return A @ A.T + 0.1 * torch.eye(d)


@settings(max_examples=50, deadline=None)
@given(seed=seeds, d=st.integers(1, 5))
def test_full_covariance_kl_agrees_with_torch_distributions(seed, d):
    g = torch.Generator().manual_seed(seed)
    mu0, mu1 = torch.randn(d, generator=g), torch.randn(d, generator=g)
    cov0, cov1 = random_spd(d, g), random_spd(d, g)
    expected = kl_divergence(MultivariateNormal(mu0, cov0), MultivariateNormal(mu1, cov1))
    torch.testing.assert_close(kl_mvn(mu0, cov0, mu1, cov1), expected, rtol=1e-7, atol=1e-9)
    assert kl_mvn(mu0, cov0, mu1, cov1) >= -1e-10
    torch.testing.assert_close(kl_mvn(mu0, cov0, mu0, cov0), torch.tensor(0.0), atol=1e-9, rtol=0)


@settings(max_examples=50, deadline=None)
@given(mu=floats, logvar=floats)
def test_full_covariance_kl_reduces_to_the_diagonal_formula(mu, logvar):
    m, lv = torch.tensor([[mu, -mu]]), torch.tensor([[logvar, 0.5 * logvar]])
    full = kl_mvn(m, torch.diag_embed(lv.exp()), torch.zeros(1, 2), torch.eye(2).expand(1, 2, 2))
    torch.testing.assert_close(full, kl_normal_std(m, lv))


def test_kl_keeps_batch_dimensions_and_sums_the_last():
    assert kl_normal_std(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4)).shape == (2, 3)
    one = kl_normal_std(torch.tensor([[1.0]]), torch.tensor([[0.0]]))
    assert kl_normal_std(torch.ones(1, 5), torch.zeros(1, 5)) == pytest.approx(5 * one.item())


def test_kl_uses_log_variance_not_log_sigma():
    # sigma = 2: logvar = log 4. KL = 0.5 (4 - 1 - log 4)
    got = kl_normal_std(torch.zeros(1, 1), torch.tensor([[math.log(4.0)]]))
    assert got.item() == pytest.approx(0.5 * (4 - 1 - math.log(4)))


def test_a_covariance_that_is_not_positive_definite_is_rejected():
    bad = torch.tensor([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="cov1 is not positive definite"):
        kl_mvn(torch.zeros(2), torch.eye(2), torch.zeros(2), bad)
    with pytest.raises(ValueError, match="not symmetric"):
        kl_mvn(torch.zeros(2), torch.tensor([[1.0, 0.5], [0.0, 1.0]]), torch.zeros(2), torch.eye(2))


def test_non_finite_inputs_are_rejected():
    with pytest.raises(ValueError, match="mu contains NaN"):
        kl_normal_std(torch.tensor([float("nan")]), torch.zeros(1))
    with pytest.raises(ValueError, match="logvar_p contains NaN or infinite"):
        kl_normal(torch.zeros(1), torch.zeros(1), torch.zeros(1), torch.tensor([float("inf")]))


def test_bernoulli_log_likelihood_matches_torch_distributions_on_binary_images():
    g = torch.Generator().manual_seed(0)
    x = torch.bernoulli(torch.full((3, 1, 28, 28), 0.4), generator=g)
    x_hat = torch.rand(3, 1, 28, 28, generator=g) * 0.98 + 0.01
    expected = Independent(Bernoulli(probs=x_hat), 3).log_prob(x)
    torch.testing.assert_close(bernoulli_log_likelihood(x_hat, x), expected)


def test_bernoulli_targets_outside_unit_range_are_rejected_with_the_fix():
    with pytest.raises(ValueError, match="divide 0..255 pixels by 255"):
        bernoulli_log_likelihood(torch.full((1, 4), 0.5), torch.full((1, 4), 255.0))
    with pytest.raises(ValueError, match="sigmoid"):
        bernoulli_log_likelihood(torch.full((1, 4), 3.0), torch.full((1, 4), 0.5))
    with pytest.raises(ValueError, match="shapes must match"):
        bernoulli_log_likelihood(torch.full((1, 4), 0.5), torch.full((1, 5), 0.5))


def test_gaussian_log_likelihood_matches_torch_distributions():
    x, x_hat = torch.randn(2, 5), torch.randn(2, 5)
    expected = Independent(Normal(x_hat, math.exp(0.5 * 0.3)), 1).log_prob(x)
    torch.testing.assert_close(gaussian_log_likelihood(x_hat, x, logvar=0.3), expected)


def test_neg_elbo_is_per_image_sum_then_batch_mean():
    x = torch.rand(4, 784)
    x_hat, mu, logvar = torch.rand(4, 784) * 0.9 + 0.05, torch.randn(4, 3), torch.randn(4, 3)
    per_image = -bernoulli_log_likelihood(x_hat, x) + kl_normal_std(mu, logvar)
    assert neg_elbo(x_hat, x, mu, logvar).item() == pytest.approx(per_image.mean().item())
    doubled = -bernoulli_log_likelihood(x_hat, x) + 2 * kl_normal_std(mu, logvar)
    assert neg_elbo(x_hat, x, mu, logvar, beta=2).item() == pytest.approx(doubled.mean().item())


@settings(max_examples=30, deadline=None)
@given(seed=seeds, K=st.integers(1, 50))
def test_importance_weighted_bound_is_log_mean_exp_and_between_mean_and_max(seed, K):
    log_w = torch.randn(K, 3, generator=torch.Generator().manual_seed(seed)) * 5 - 300
    got = importance_weighted_bound(log_w)
    expected = torch.log(torch.exp(log_w + 300).mean(0)) - 300
    torch.testing.assert_close(got, expected)
    assert (got >= log_w.mean(0) - 1e-9).all() and (got <= log_w.max(0).values + 1e-9).all()


def test_importance_weighted_bound_wants_samples_first():
    with pytest.raises(ValueError, match=r"\(K, ...\)"):
        importance_weighted_bound(torch.tensor(1.0))


def test_model_objectives_return_scalar_nats_per_image():
    torch.manual_seed(0)
    x = torch.rand(6, 1, 28, 28)
    y = torch.arange(6)
    for loss in (ae_loss(AE(2, (8,)), x), vae_loss(VAE(2, (8,)), x), cvae_loss(CVAE(2, (8,)), x, y)):
        assert loss.dim() == 0 and 400 < loss.item() < 700  # ~ 784 * log 2 for an untrained model


def elbo_inputs(batch=4, latent=3, dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 784, generator=g, dtype=dtype)
    x_hat = torch.rand(batch, 784, generator=g, dtype=dtype) * 0.9 + 0.05
    return x_hat, x, torch.randn(batch, latent, generator=g, dtype=dtype), torch.randn(
        batch, latent, generator=g, dtype=dtype)


def test_neg_elbo_value_is_unchanged_by_the_input_checks():
    x_hat, x, mu, logvar = elbo_inputs()
    for beta in (0, 0.5, 3, torch.tensor(2.0)):
        expected = (-bernoulli_log_likelihood(x_hat, x) + beta * kl_normal_std(mu, logvar)).mean()
        assert torch.equal(neg_elbo(x_hat, x, mu, logvar, beta=beta), expected)


def test_latents_without_a_batch_dimension_are_rejected_instead_of_broadcast():
    x_hat, x, mu, logvar = elbo_inputs()
    with pytest.raises(ValueError, match=r"mu and logvar must have shape \(B, D\).*got mu \(3,\)"):
        neg_elbo(x_hat, x, mu[0], logvar[0])
    with pytest.raises(ValueError, match=r"mu \(4, 3\) and logvar \(4, 2\)"):
        neg_elbo(x_hat, x, mu, logvar[:, :2])
    with pytest.raises(ValueError, match=r"\(B, D\)"):  # the same check reaches the model objectives
        vae_loss(lambda x: (x_hat, mu[0], logvar[0]), x)


def test_latents_from_a_different_batch_than_the_images_are_rejected():
    x_hat, x, mu, logvar = elbo_inputs(batch=4)
    with pytest.raises(ValueError, match="x_hat and x have 4 examples but mu and logvar have 1"):
        neg_elbo(x_hat, x, mu[:1], logvar[:1])
    with pytest.raises(ValueError, match="4 examples but mu and logvar have 1"):
        cvae_loss(lambda x, y: (x_hat, mu[:1], logvar[:1]), x, torch.arange(4))


def test_mixed_float32_and_float64_inputs_say_which_tensor_has_which_dtype():
    x_hat, x, mu, logvar = elbo_inputs()
    with pytest.raises(ValueError, match=r"x_hat torch.float32, x torch.float64.*\.to\(x.dtype\)"):
        neg_elbo(x_hat.float(), x, mu, logvar)
    with pytest.raises(ValueError, match=r"mu torch.float32, logvar torch.float32"):
        neg_elbo(x_hat, x, mu.float(), logvar.float())
    with pytest.raises(ValueError, match=r"x_hat torch.float32, x torch.float64"):
        ae_loss(lambda x: (x_hat.float(), None), x)


def test_an_empty_batch_is_an_error_not_a_nan_loss():
    x_hat, x, mu, logvar = elbo_inputs(batch=0)
    with pytest.raises(ValueError, match="empty batch"):
        neg_elbo(x_hat, x, mu, logvar)
    with pytest.raises(ValueError, match="empty batch"):
        ae_loss(lambda x: (x_hat, None), x)


def test_a_list_instead_of_a_tensor_is_named_in_the_error():
    x_hat, x, mu, logvar = elbo_inputs()
    with pytest.raises(ValueError, match=r"mu must be a tensor, got list.*torch.tensor"):
        neg_elbo(x_hat, x, mu.tolist(), logvar)
    with pytest.raises(ValueError, match="x must be a tensor, got list"):
        neg_elbo(x_hat, x.tolist(), mu, logvar)


@pytest.mark.parametrize("beta", [-0.5, float("nan"), float("inf"), torch.tensor(-1.0), "1", [1.0]])
def test_beta_must_be_a_finite_number_at_least_zero(beta):
    x_hat, x, mu, logvar = elbo_inputs()
    with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
        neg_elbo(x_hat, x, mu, logvar, beta=beta)
    with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
        vae_loss(lambda x: (x_hat, mu, logvar), x, beta=beta)
