"""Log-likelihoods, Gaussian KL divergences in closed form, and the (negative) ELBO.

Every function says its reduction. The building blocks return **one value per example**, summed
over the data or latent dimensions and keeping the batch dimensions: ``(B, ...) -> (B,)``. The
training objectives (``neg_elbo``, ``vae_loss``, ...) average those over the batch, so their value
is in **nats per image**, the unit in which VAE results are published.
"""

import math
import numbers

import torch
from torch.nn import functional as F

from .data import outside_unit_interval

LOG_2PI = math.log(2 * math.pi)


def _check_finite(**tensors: torch.Tensor) -> None:
    for name, t in tensors.items():
        if not torch.is_tensor(t):
            raise ValueError(f"{name} must be a tensor, got {type(t).__name__}.")
        if not torch.isfinite(t).all():
            raise ValueError(f"{name} contains NaN or infinite values.")


def _check_same_shape(**tensors: torch.Tensor) -> None:
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    if len(set(shapes.values())) > 1:
        raise ValueError("shapes must match, got " + ", ".join(f"{n} {s}" for n, s in shapes.items()))


def _check_batch(x_hat, x, mu=None, logvar=None) -> None:
    """What the training objectives need before they average over a batch, checked up front.

    ``x_hat`` and ``x`` are ``(B, ...)`` with the same shape; ``mu`` and ``logvar`` (when given) are
    ``(B, D)`` with the same B; all are tensors of one dtype; B > 0. Without these checks a wrong
    shape broadcasts silently and gives a plausible-looking but wrong loss.
    """
    named = {"x_hat": x_hat, "x": x} | ({} if mu is None else {"mu": mu, "logvar": logvar})
    for name, t in named.items():
        if not torch.is_tensor(t):
            raise ValueError(f"{name} must be a tensor, got {type(t).__name__}: "
                             f"convert it with torch.tensor(...) or torch.stack(...).")
    dtypes = {name: t.dtype for name, t in named.items()}
    if len(set(dtypes.values())) > 1:
        raise ValueError("all inputs must have the same dtype, got "
                         + ", ".join(f"{n} {d}" for n, d in dtypes.items())
                         + ": convert them with .to(x.dtype) (or keep the data and model both float32).")
    if x.dim() == 0:
        raise ValueError("x must have a batch dimension, shape (B, ...), got a 0-dim tensor.")
    _check_same_shape(x_hat=x_hat, x=x)
    if len(x) == 0:
        raise ValueError(f"empty batch: x has shape {tuple(x.shape)}, so there is nothing to average "
                         f"over; pass at least one example.")
    if mu is None:
        return
    if mu.dim() != 2 or logvar.dim() != 2:
        raise ValueError(f"mu and logvar must have shape (B, D), one row per image, got mu "
                         f"{tuple(mu.shape)} and logvar {tuple(logvar.shape)}: keep the batch "
                         f"dimension (for a single image use mu.unsqueeze(0)).")
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape (B, D), got mu {tuple(mu.shape)} "
                         f"and logvar {tuple(logvar.shape)}.")
    if len(mu) != len(x):
        raise ValueError(f"x_hat and x have {len(x)} examples but mu and logvar have {len(mu)}: "
                         f"pass the encoder outputs of the same batch of images.")


def _check_beta(beta) -> None:
    if isinstance(beta, torch.Tensor) and beta.dim() == 0:
        value = beta.item()
    elif isinstance(beta, numbers.Real):
        value = beta
    else:
        raise ValueError(f"beta must be a finite number >= 0, got {type(beta).__name__} {beta!r}.")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"beta must be a finite number >= 0, got {value}: beta weighs the KL term "
                         f"(1 gives the ELBO, 0 an autoencoder).")


# --------------------------------------------------------------------- reconstruction terms


def bernoulli_log_likelihood(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x | x_hat) for independent Bernoulli pixels with means ``x_hat``.

    ``sum_i x_i log x_hat_i + (1 - x_i) log(1 - x_hat_i)``, summed over every non-batch dimension:
    ``(B, ...) -> (B,)``, in nats. ``x`` may be binary or grey levels in [0, 1] (the shortcut
    pytorch/examples takes: then the value is a cross-entropy, not a normalized log-likelihood).
    Logs are clamped at -100 like ``F.binary_cross_entropy``.
    """
    _check_same_shape(x_hat=x_hat, x=x)
    x_hat_range, x_range = outside_unit_interval(x_hat), outside_unit_interval(x)
    if x_range is not None or x_hat_range is not None:
        _check_finite(x_hat=x_hat, x=x)
    if x_range is not None:
        lo, hi = x_range
        raise ValueError(f"targets x must lie in [0, 1], got [{lo:.3g}, {hi:.3g}]"
                         + (": divide 0..255 pixels by 255." if hi > 1.5 else "."))
    if x_hat_range is not None:
        raise ValueError("x_hat must be probabilities in [0, 1] (did you forget the sigmoid?).")
    bce = F.binary_cross_entropy(x_hat, x, reduction="none")
    return -bce.reshape(len(x), -1).sum(dim=1)


def gaussian_log_likelihood(x_hat: torch.Tensor, x: torch.Tensor, logvar=0.0) -> torch.Tensor:
    """log N(x | x_hat, exp(logvar) I), summed over every non-batch dimension: ``(B, ...) -> (B,)``.

    ``logvar`` is a float or a tensor broadcastable to ``x``. In nats.
    """
    _check_same_shape(x_hat=x_hat, x=x)
    logvar = torch.as_tensor(logvar, dtype=x.dtype, device=x.device)
    _check_finite(x_hat=x_hat, x=x, logvar=logvar)
    logp = -0.5 * (LOG_2PI + logvar + (x - x_hat) ** 2 / logvar.exp())
    return logp.expand_as(x).reshape(len(x), -1).sum(dim=1)


# --------------------------------------------------------------------- KL divergences


def kl_normal_std(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, diag(exp(logvar))) || N(0, I) ), summed over the last dimension.

    ``0.5 * sum_j (exp(logvar_j) + mu_j^2 - 1 - logvar_j)``. ``(..., D) -> (...)``, in nats.
    Note ``logvar`` is log sigma^2, not log sigma.
    """
    _check_same_shape(mu=mu, logvar=logvar)
    _check_finite(mu=mu, logvar=logvar)
    return 0.5 * (logvar.exp() + mu**2 - 1.0 - logvar).sum(dim=-1)


def kl_normal(mu_q, logvar_q, mu_p, logvar_p) -> torch.Tensor:
    """KL( N(mu_q, diag exp(logvar_q)) || N(mu_p, diag exp(logvar_p)) ), summed over the last dim.

    ``0.5 * sum_j (logvar_p - logvar_q + (exp(logvar_q) + (mu_q - mu_p)^2) / exp(logvar_p) - 1)``.
    Arguments broadcast against each other; ``(..., D) -> (...)``, in nats.
    """
    _check_finite(mu_q=mu_q, logvar_q=logvar_q, mu_p=mu_p, logvar_p=logvar_p)
    ratio = (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp()
    return 0.5 * (logvar_p - logvar_q + ratio - 1.0).sum(dim=-1)


def _cholesky(cov: torch.Tensor, name: str) -> torch.Tensor:
    if cov.dim() < 2 or cov.shape[-1] != cov.shape[-2]:
        raise ValueError(f"{name} must be a (..., D, D) square matrix, got {tuple(cov.shape)}.")
    if not torch.allclose(cov, cov.transpose(-1, -2), rtol=1e-5, atol=1e-8):
        raise ValueError(f"{name} is not symmetric.")
    L, info = torch.linalg.cholesky_ex(cov)
    if (info > 0).any():
        raise ValueError(f"{name} is not positive definite (its Cholesky factorization failed).")
    return L


def kl_mvn(mu0, cov0, mu1, cov1) -> torch.Tensor:
    """KL( N(mu0, cov0) || N(mu1, cov1) ) for full covariance matrices.

    ``0.5 * (tr(cov1^-1 cov0) + (mu1 - mu0)^T cov1^-1 (mu1 - mu0) - D + log det cov1 - log det cov0)``,
    with the log-determinants and solves done through Cholesky factors (stable, no explicit inverse).
    Shapes ``mu (..., D)``, ``cov (..., D, D)`` -> ``(...)``, in nats.
    """
    _check_finite(mu0=mu0, cov0=cov0, mu1=mu1, cov1=cov1)
    L0, L1 = _cholesky(cov0, "cov0"), _cholesky(cov1, "cov1")
    D = mu0.shape[-1]
    if cov0.shape[-1] != D or cov1.shape[-1] != D or mu1.shape[-1] != D:
        raise ValueError(f"dimensions disagree: mu0 {tuple(mu0.shape)}, cov0 {tuple(cov0.shape)}, "
                         f"mu1 {tuple(mu1.shape)}, cov1 {tuple(cov1.shape)}.")
    M = torch.linalg.solve_triangular(L1, L0, upper=False)  # L1^-1 L0, so tr(cov1^-1 cov0) = ||M||^2
    diff = (mu1 - mu0).unsqueeze(-1)
    a = torch.linalg.solve_triangular(L1, diff, upper=False).squeeze(-1)  # L1^-1 (mu1 - mu0)
    logdet0 = 2 * torch.log(torch.diagonal(L0, dim1=-2, dim2=-1)).sum(-1)
    logdet1 = 2 * torch.log(torch.diagonal(L1, dim1=-2, dim2=-1)).sum(-1)
    return 0.5 * ((M**2).sum((-1, -2)) + (a**2).sum(-1) - D + logdet1 - logdet0)


# --------------------------------------------------------------------- the ELBO


def neg_elbo(x_hat, x, mu, logvar, beta: float = 1.0) -> torch.Tensor:
    """The VAE objective: mean over the batch of  -log p(x|z) + beta * KL(q(z|x) || N(0, I)).

    Reconstruction (Bernoulli, summed over the 784 pixels) and KL (summed over latent dims) are both
    per image, then averaged over the batch: a scalar in **nats per image**. With ``beta = 1`` this
    is the negative ELBO, an upper bound on -log p(x).

    Shapes: ``x_hat`` and ``x`` ``(B, ...)`` with values in [0, 1], ``mu`` and ``logvar`` ``(B, D)``,
    one dtype for all four, B > 0; ``beta`` a finite number >= 0. Anything else is a ValueError
    rather than a silent broadcast.
    """
    _check_batch(x_hat, x, mu, logvar)
    _check_beta(beta)
    rec = -bernoulli_log_likelihood(x_hat, x)  # (B,)
    kl = kl_normal_std(mu, logvar)             # (B,)
    return (rec + beta * kl).mean()


def importance_weighted_bound(log_w: torch.Tensor) -> torch.Tensor:
    """The importance-weighted bound from K log-weights: ``log (1/K) sum_k exp(log_w_k)``.

    ``log_w`` is ``(K, ...)`` with ``log_w_k = log p(x, z_k) - log q(z_k | x)``, ``z_k ~ q``.
    Returns ``(...)`` in nats. K = 1 gives a one-sample ELBO estimate; the bound rises towards
    log p(x) as K grows (Burda et al., 2016). Computed with logsumexp, so no exp overflows.
    """
    _check_finite(log_w=log_w)
    if log_w.dim() < 1 or log_w.shape[0] < 1:
        raise ValueError("log_w must have the K samples in its first dimension, shape (K, ...).")
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


# --------------------------------------------------------------------- objectives for train.fit


def ae_loss(model, x, y=None) -> torch.Tensor:
    """Autoencoder objective: Bernoulli reconstruction loss summed over pixels, batch mean: nats/image."""
    x_hat, _ = model(x)
    _check_batch(x_hat, x)
    return -bernoulli_log_likelihood(x_hat, x).mean()


def vae_loss(model, x, y=None, beta: float = 1.0) -> torch.Tensor:
    """VAE objective: :func:`neg_elbo` of one reparameterized sample, nats per image."""
    x_hat, mu, logvar = model(x)
    return neg_elbo(x_hat, x, mu, logvar, beta=beta)


def cvae_loss(model, x, y, beta: float = 1.0) -> torch.Tensor:
    """CVAE objective: negative conditional ELBO -log p(x|z,y) + beta * KL(q(z|x,y) || N(0, I))."""
    x_hat, mu, logvar = model(x, y)
    return neg_elbo(x_hat, x, mu, logvar, beta=beta)
