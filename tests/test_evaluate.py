"""Evaluation: the importance-weighted log p(x), checked where the exact answer is known."""

import math

import pytest
import torch
from torch.distributions import MultivariateNormal

from vae_course import evaluate
from vae_course.linear_gaussian import random_linear_gaussian
from vae_course.models import VAE


@pytest.fixture(scope="module")
def lg():
    """A linear-Gaussian model, 20 data points, and a deliberately poor proposal per point:
    the exact posterior shifted and widened, so the bound's gap is large and K matters."""
    model = random_linear_gaussian(D=6, d=3, sigma2=0.3, seed=0)
    x, _ = model.sample(20, generator=torch.Generator().manual_seed(1))
    m, S = model.posterior(x)                                    # (20, 3), (3, 3)
    q = MultivariateNormal(m + 0.5, covariance_matrix=3.0 * S)   # batch of 20 proposals

    def log_weights(k):
        z = q.sample((k,))                                       # (k, 20, 3)
        return model.log_joint(x, z) - q.log_prob(z)             # (k, 20)

    return model, x, q, log_weights


def test_the_bound_rises_with_k_towards_the_exact_log_px(lg):
    model, x, q, log_weights = lg
    exact = model.log_marginal(x).double()                       # (20,)
    elbo = model.elbo(x, q.mean, q.covariance_matrix).double()   # closed form
    torch.manual_seed(2)
    gaps = {K: (exact - evaluate.iw_bound(log_weights, K, chunk=64).double()) for K in
            (1, 10, 100, 5000)}
    means = {K: g.mean().item() for K, g in gaps.items()}
    assert means[1] > means[10] > means[100] > means[5000] > -0.05  # the gap shrinks to 0
    one_sample_error = gaps[1] - (exact - elbo)  # K = 1 is a one-sample ELBO: unbiased for it
    assert abs(one_sample_error.mean()) < 3 * one_sample_error.std() / math.sqrt(len(x))
    se = (gaps[5000].std() / math.sqrt(len(x))).item()
    assert abs(means[5000]) < max(3 * se, 0.05), "K = 5000 matches the exact log p(x)"


def test_with_the_exact_posterior_every_weight_is_p_of_x():
    model = random_linear_gaussian(D=4, d=2, sigma2=0.5, seed=3)
    x, _ = model.sample(5, generator=torch.Generator().manual_seed(4))
    m, S = model.posterior(x)
    p = MultivariateNormal(m, covariance_matrix=S)

    def log_weights(k):
        z = p.sample((k,))
        return model.log_joint(x, z) - p.log_prob(z)

    for K in (1, 7):
        assert torch.allclose(evaluate.iw_bound(log_weights, K, chunk=3), model.log_marginal(x),
                              atol=1e-3)


def test_chunking_changes_nothing_and_far_weights_do_not_underflow():
    draws = torch.randn(50, 4, generator=torch.Generator().manual_seed(0)) - 3000.0  # (K, B)

    def replay():
        position = 0

        def log_weights(k):
            nonlocal position
            position += k
            return draws[position - k:position]
        return log_weights

    whole = evaluate.iw_bound(replay(), 50, chunk=50)
    assert torch.isfinite(whole).all() and (whole > -3010).all()
    for chunk in (1, 7, 49):
        assert torch.allclose(evaluate.iw_bound(replay(), 50, chunk=chunk), whole, atol=1e-9)
    with pytest.raises(ValueError, match="at least 1"):
        evaluate.iw_bound(replay(), 0)


@pytest.fixture(scope="module")
def vae_and_images():
    torch.manual_seed(0)
    model = VAE(latent_dim=4, hidden=(32,))
    x = (torch.rand(40, 1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.7).float()
    return model, x


def test_on_a_vae_the_iw_estimate_lies_above_the_elbo_and_rises_with_k(vae_and_images):
    model, x = vae_and_images
    state = torch.random.get_rng_state()
    elbo = evaluate.negative_elbo(model, x)
    estimates = {K: evaluate.log_px(model, x, K=K, chunk=16, batch_size=16) for K in (1, 50)}
    assert torch.equal(state, torch.random.get_rng_state())  # the caller's random stream is kept
    assert estimates[1].mean == pytest.approx(-elbo.mean, abs=3 * elbo.se + 1.0)
    assert estimates[50].mean > estimates[1].mean > -elbo.mean - 3 * elbo.se - 1.0
    assert estimates[50].K == 50 and estimates[50].n == 40 and "nats per image" in str(
        estimates[50])
    again = evaluate.log_px(model, x, K=50, chunk=16, batch_size=16)
    assert again.mean == estimates[50].mean  # seeded
    with pytest.raises(ValueError, match="at least one image"):
        evaluate.log_px(model, x[:0])


def test_a_unit_whose_posterior_mean_never_moves_is_inactive(vae_and_images):
    model, x = vae_and_images
    count, activity = evaluate.active_units(model, x)
    assert activity.shape == (4,)
    with torch.no_grad():
        model.encoder[-1].weight[1] = 0.0  # mu of unit 1 is now the same for every image
    dead_count, dead = evaluate.active_units(model, x, threshold=0.0)
    assert dead[1] == 0 and dead_count == int((dead > 0).sum()) and dead_count <= 3


def test_elbo_is_the_average_of_many_one_sample_bounds():
    # evaluate.elbo averages many K = 1 bounds in one call: the same as many one-sample log_px calls
    torch.manual_seed(0)
    model = VAE(latent_dim=3).eval()
    x = torch.rand(8, 1, 28, 28).bernoulli()
    e = evaluate.elbo(model, x, samples=2000)
    one = evaluate.log_px(model, x, K=1, batch_size=8)
    many = torch.stack([evaluate.log_px(model, x, K=1, seed=s).per_image for s in range(200)]).mean(0)
    assert abs(e.mean - many.mean().item()) < 0.5
    assert one.n == e.n == 8


def test_a_posterior_of_your_own_is_used_and_checked():
    torch.manual_seed(0)
    model = VAE(latent_dim=3).eval()
    x = torch.rand(6, 1, 28, 28).bernoulli()
    mu, logvar = model.encode(x)
    enc = evaluate.log_px(model, x, K=50, seed=1)
    same = evaluate.log_px(model, x, K=50, seed=1, posterior=(mu.detach(), logvar.detach()))
    assert torch.allclose(enc.per_image, same.per_image)
    with pytest.raises(ValueError, match="posterior must be"):
        evaluate.log_px(model, x, K=5, posterior=(mu[:3], logvar[:3]))


def test_fit_posterior_raises_each_images_elbo_and_leaves_the_model_unchanged():
    torch.manual_seed(0)
    model = VAE(latent_dim=4)
    x = torch.rand(10, 1, 28, 28).bernoulli()
    before = [p.detach().clone() for p in model.parameters()]
    mu, logvar = evaluate.fit_posterior(model, x, steps=200, lr=0.05)
    assert mu.shape == logvar.shape == (10, 4) and not mu.requires_grad
    assert all(torch.equal(a, p) for a, p in zip(before, model.parameters()))
    assert all(p.requires_grad for p in model.parameters())
    start = evaluate.elbo(model, x, samples=300, seed=3)
    fitted = evaluate.elbo(model, x, samples=300, seed=3, posterior=(mu, logvar))
    assert (fitted.per_image > start.per_image).all()
