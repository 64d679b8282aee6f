"""Evaluating a trained VAE honestly: log p(x) by importance sampling, the test ELBO, active units.

Every number is per image, in nats, on binarized MNIST (a Bernoulli decoder), averaged over the
images given, with its standard error across images (:class:`Estimate`)::

    from vae_course.evaluate import log_px, negative_elbo, active_units
    log_px(model, x_test, K=1000)      # Estimate(mean=-96.3, se=0.3, n=10000, K=1000), say
    elbo(model, x_test, samples=100)   # the ELBO itself, averaged over 100 draws per image
    negative_elbo(model, x_test)       # the bound the model was trained on, sign flipped
    active_units(model, x_test)        # Burda et al. (2016): Cov_x(E_q[z_u]) > 0.01
    fit_posterior(model, x)            # a q(z|x) per image, optimised (no encoder): (mu, logvar)

Each of ``log_px``, ``elbo`` takes ``posterior=(mu, logvar)`` to use a q(z|x) of your own (one
Gaussian per image, e.g. from ``fit_posterior``) instead of the encoder's.

The importance-weighted estimate uses K samples from q(z|x) per image, drawn ``chunk`` at a time and
combined with a running log-sum-exp, so memory stays bounded for K = 5000 and nothing overflows. It is
a lower bound on log p(x) for every K, rising towards it as K grows (Burda et al., 2016).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from vae_course.losses import bernoulli_log_likelihood, kl_normal_std

LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class Estimate:
    """A mean over images with its standard error (``se``), from ``per_image`` (n,) values."""

    mean: float
    se: float
    n: int
    per_image: torch.Tensor
    K: int | None = None  # importance samples per image, when it is an importance-sampled bound

    @classmethod
    def of(cls, per_image: torch.Tensor, K: int | None = None) -> Estimate:
        values = per_image.detach().double().cpu()
        se = (values.std() / math.sqrt(len(values))).item() if len(values) > 1 else float("nan")
        return cls(values.mean().item(), se, len(values), values, K)

    def __str__(self) -> str:
        return f"{self.mean:.2f} ± {self.se:.2f} nats per image ({self.n} images)"


def iw_bound(log_weights: Callable[[int], torch.Tensor], K: int, chunk: int = 100) -> torch.Tensor:
    """``log (1/K) sum_k w_k`` per image, with ``log_weights(k)`` returning ``k`` fresh log-weights
    per image, shape ``(k, B)``; drawn ``chunk`` at a time (memory ~ chunk x B), combined stably."""
    if K < 1 or chunk < 1:
        raise ValueError(f"K and chunk must be at least 1, got K={K}, chunk={chunk}.")
    total = None
    for start in range(0, K, chunk):
        log_w = log_weights(min(chunk, K - start))  # (k, B)
        part = torch.logsumexp(log_w, dim=0)        # (B,)
        total = part if total is None else torch.logaddexp(total, part)
    return total - math.log(K)


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``log N(z; mu, diag exp(logvar))`` summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mu) ** 2 / logvar.exp()).sum(-1)


def standard_normal_log_density(z: torch.Tensor) -> torch.Tensor:
    """``log N(z; 0, I)`` summed over the last dimension: the prior's ``log p(z)``."""
    return -0.5 * (LOG_2PI + z**2).sum(-1)


def _posterior(model, x: torch.Tensor, posterior) -> tuple[torch.Tensor, torch.Tensor]:
    """The encoder's ``(mu, logvar)`` for ``x``, or ``posterior`` checked against ``x``."""
    if posterior is None:
        return model.encode(x)
    mu, logvar = posterior
    if mu.shape != logvar.shape or mu.dim() != 2 or len(mu) != len(x):
        raise ValueError(f"posterior must be (mu, logvar) of shape (B, D) each with B = {len(x)} "
                         f"images, got {tuple(mu.shape)} and {tuple(logvar.shape)}.")
    return mu, logvar


def vae_log_weights(model, x: torch.Tensor, posterior=None) -> Callable[[int], torch.Tensor]:
    """``k -> (k, B)`` log-weights ``log p(x|z) + log p(z) - log q(z|x)``, ``z ~ q(z|x)``, for a
    VAE with ``encode(x) -> (mu, logvar)`` and ``decode(z) -> pixel probabilities``; q is the
    encoder's, or ``posterior = (mu, logvar)`` ``(B, D)`` each when given."""
    mu, logvar = _posterior(model, x, posterior)                   # (B, D) each

    def draw(k: int) -> torch.Tensor:
        eps = torch.randn(k, *mu.shape, dtype=mu.dtype, device=mu.device)
        z = mu + (0.5 * logvar).exp() * eps                        # (k, B, D)
        x_hat = model.decode(z.reshape(-1, mu.shape[1]))           # (k B, 1, 28, 28)
        log_px_z = bernoulli_log_likelihood(x_hat, x.repeat(k, *[1] * (x.dim() - 1)))
        log_pz = standard_normal_log_density(z)                    # (k, B)
        return log_px_z.reshape(k, -1) + log_pz - gaussian_log_density(z, mu, logvar)

    return draw


def _per_batch(model, x, posterior, batch_size, seed, per_image, log_weights=None) -> torch.Tensor:
    """``per_image(log_weights)`` on batches of ``x`` (and of ``posterior``), in eval mode, seeded,
    without gradients and without touching the caller's random state. ``log_weights`` builds the
    draws, ``(model, x, posterior) -> (k -> (k, B))``; default :func:`vae_log_weights`."""
    log_weights = log_weights or vae_log_weights
    if len(x) == 0:
        raise ValueError("need at least one image.")
    if posterior is not None:
        _posterior(model, x, posterior)  # checks the shapes once, for the whole of x
    was_training = model.training
    model.eval()
    parts = []
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i in range(0, len(x), batch_size):
            q = None if posterior is None else tuple(p[i:i + batch_size] for p in posterior)
            parts.append(per_image(log_weights(model, x[i:i + batch_size], q)))
    model.train(was_training)
    return torch.cat(parts)


def log_px(model, x: torch.Tensor, K: int = 1000, chunk: int = 100, batch_size: int = 100,
           seed: int = 0, posterior=None, log_weights=None) -> Estimate:
    """The importance-weighted estimate of log p(x) per image (a lower bound for every K), with
    its standard error across the images of ``x``; seeded, the caller's random state untouched.
    ``log_weights``: another way to compute the same log-weights (default :func:`vae_log_weights`;
    the benchmark passes one that works from the decoder's logits)."""
    return Estimate.of(_per_batch(model, x, posterior, batch_size, seed,
                                  lambda draw: iw_bound(draw, K, chunk), log_weights), K)


def elbo(model, x: torch.Tensor, samples: int = 100, chunk: int = 100, batch_size: int = 100,
         seed: int = 0, posterior=None) -> Estimate:
    """The ELBO per image, ``E_q[log w]``, averaged over ``samples`` draws from q(z|x) (so its
    Monte Carlo noise is small): the K = 1 bound, and the quantity the model was trained on."""
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}.")

    def mean_log_weight(draw):
        sizes = [min(chunk, samples - s) for s in range(0, samples, chunk)]
        return sum(draw(k).sum(0) for k in sizes) / samples

    return Estimate.of(_per_batch(model, x, posterior, batch_size, seed, mean_log_weight))


@torch.no_grad()
def negative_elbo(model, x: torch.Tensor, batch_size: int = 500, seed: int = 0) -> Estimate:
    """The test-set negative ELBO per image: ``-log p(x|z)`` for one ``z ~ q(z|x)`` plus the
    closed-form ``KL(q(z|x) || N(0, I))``, as training computes it (beta = 1)."""
    was_training = model.training
    model.eval()
    parts = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size]
            mu, logvar = model.encode(xb)
            z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
            parts.append(-bernoulli_log_likelihood(model.decode(z), xb) + kl_normal_std(mu, logvar))
    model.train(was_training)
    return Estimate.of(torch.cat(parts))


@torch.no_grad()
def active_units(model, x: torch.Tensor, threshold: float = 0.01, batch_size: int = 1000
                 ) -> tuple[int, torch.Tensor]:
    """How many latent units are active (Burda et al., 2016): ``A_u = Cov_x(E_q(z|x)[z_u])`` above
    ``threshold``. Returns the count and ``A`` (D,), the variance of each posterior mean over ``x``."""
    mu = torch.cat([model.encode(x[i:i + batch_size])[0] for i in range(0, len(x), batch_size)])
    activity = mu.double().var(dim=0)
    return int((activity > threshold).sum()), activity


def fit_posterior(model, x: torch.Tensor, steps: int = 300, lr: float = 0.05, samples: int = 4,
                  seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A Gaussian q(z|x) for each image, optimised on its own: gradient ascent on the ELBO with
    respect to ``(mu, logvar)`` only, starting from the encoder's, the model's weights untouched.

    Each step estimates every image's ELBO with ``samples`` reparameterized draws and the closed-form
    KL; the images' losses are summed, so each image gets its own gradient (Adam per coordinate).
    Returns ``(mu, logvar)``, ``(B, D)`` each, detached. This is the "optimal" q of Cremer et al.
    (2018): the ELBO it reaches, minus the encoder's, is the amortization gap.
    """
    was_training = model.training
    model.eval()
    with torch.no_grad():
        mu0, logvar0 = model.encode(x)
    mu = mu0.clone().requires_grad_(True)
    logvar = logvar0.clone().requires_grad_(True)
    opt = torch.optim.Adam([mu, logvar], lr=lr)
    frozen = [p for p in model.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for _ in range(steps):
                eps = torch.randn(samples, *mu.shape)                       # (S, B, D)
                z = mu + (0.5 * logvar).exp() * eps                         # (S, B, D)
                x_hat = model.decode(z.reshape(-1, mu.shape[1]))            # (S B, 1, 28, 28)
                rec = bernoulli_log_likelihood(x_hat, x.repeat(samples, *[1] * (x.dim() - 1)))
                neg_elbo = -rec.reshape(samples, -1).mean(0) + kl_normal_std(mu, logvar)  # (B,)
                opt.zero_grad()
                neg_elbo.sum().backward()
                opt.step()
    finally:
        for p in frozen:
            p.requires_grad_(True)
        model.train(was_training)
    return mu.detach(), logvar.detach()
