"""The linear-Gaussian latent variable model, where everything a VAE approximates is exact.

The model (probabilistic PCA with a general noise level)::

    z ~ N(0, I_d)                     latent,   shape (d,)
    x | z ~ N(W z + b, sigma2 I_D)    observed, shape (D,)

Integrating z out gives the marginal ``x ~ N(b, W W^T + sigma2 I)``, and Bayes' rule gives a
Gaussian posterior ``p(z | x) = N(m, S)`` with ``S = (I + W^T W / sigma2)^-1`` and
``m = S W^T (x - b) / sigma2``. For a Gaussian ``q(z) = N(mu_q, cov_q)`` the ELBO has a closed
form too, so notebook 01 can check ``log p(x) = ELBO(q) + KL(q || p(z|x))`` to float precision
and any marginal-likelihood estimator (such as the importance-weighted bound) can be tested
against the truth.

All quantities are in nats. Use float64 tensors when you want agreement to ~1e-10.
"""

import math
from dataclasses import dataclass

import torch

LOG_2PI = math.log(2 * math.pi)


@dataclass
class LinearGaussian:
    """``z ~ N(0, I_d)``, ``x | z ~ N(W z + b, sigma2 I_D)``.

    Attributes:
        W: (D, d) loading matrix.
        b: (D,) offset.
        sigma2: observation noise variance, a positive float.
    """

    W: torch.Tensor
    b: torch.Tensor
    sigma2: float

    def __post_init__(self):
        if self.W.dim() != 2:
            raise ValueError(f"W must be a (D, d) matrix, got shape {tuple(self.W.shape)}.")
        if self.b.shape != self.W.shape[:1]:
            raise ValueError(
                f"b must have shape (D,) = ({self.W.shape[0]},), got {tuple(self.b.shape)}."
            )
        if not self.sigma2 > 0:
            raise ValueError(f"sigma2 must be a positive variance, got {self.sigma2}.")

    @property
    def D(self) -> int:
        """Dimension of x."""
        return self.W.shape[0]

    @property
    def d(self) -> int:
        """Dimension of z."""
        return self.W.shape[1]

    # --- the generative story -------------------------------------------------------------
    def sample(self, n: int, generator: torch.Generator | None = None):
        """Draw ``n`` pairs from the joint: returns ``(x, z)`` with shapes (n, D), (n, d)."""
        z = torch.randn(n, self.d, dtype=self.W.dtype, generator=generator)
        eps = torch.randn(n, self.D, dtype=self.W.dtype, generator=generator)
        x = z @ self.W.T + self.b + math.sqrt(self.sigma2) * eps
        return x, z

    def log_prior(self, z: torch.Tensor) -> torch.Tensor:
        """``log N(z; 0, I)``: (..., d) -> (...,)."""
        return -0.5 * (z**2).sum(-1) - 0.5 * self.d * LOG_2PI

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``log N(x; W z + b, sigma2 I)``: x (..., D), z (..., d) broadcast -> (...,)."""
        resid = x - (z @ self.W.T + self.b)
        return -0.5 * (resid**2).sum(-1) / self.sigma2 - 0.5 * self.D * (
            LOG_2PI + math.log(self.sigma2)
        )

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``log p(x, z) = log p(x | z) + log p(z)``: x (..., D), z (..., d) -> (...,)."""
        return self.log_likelihood(x, z) + self.log_prior(z)

    # --- exact inference -------------------------------------------------------------------
    def marginal_cov(self) -> torch.Tensor:
        """Covariance of the marginal ``p(x)``: ``W W^T + sigma2 I``, shape (D, D)."""
        eye = torch.eye(self.D, dtype=self.W.dtype)
        return self.W @ self.W.T + self.sigma2 * eye

    def log_marginal(self, x: torch.Tensor) -> torch.Tensor:
        """Exact ``log p(x) = log N(x; b, W W^T + sigma2 I)``: (..., D) -> (...,), nats."""
        L = torch.linalg.cholesky(self.marginal_cov())  # (D, D)
        resid = (x - self.b).unsqueeze(-1)  # (..., D, 1)
        white = torch.linalg.solve_triangular(L, resid, upper=False).squeeze(-1)  # (..., D)
        logdet = 2 * torch.log(torch.diagonal(L)).sum()
        return -0.5 * (white**2).sum(-1) - 0.5 * logdet - 0.5 * self.D * LOG_2PI

    def posterior(self, x: torch.Tensor):
        """Exact posterior ``p(z | x) = N(m, S)``: x (..., D) -> m (..., d), S (d, d).

        ``S`` does not depend on x, so a single (d, d) matrix is returned.
        """
        eye = torch.eye(self.d, dtype=self.W.dtype)
        precision = eye + self.W.T @ self.W / self.sigma2  # (d, d)
        S = torch.linalg.inv(precision)
        S = 0.5 * (S + S.T)  # exactly symmetric
        m = (x - self.b) @ self.W @ S / self.sigma2  # (..., d)   (S is symmetric)
        return m, S

    def elbo(self, x: torch.Tensor, mu_q: torch.Tensor, cov_q: torch.Tensor) -> torch.Tensor:
        """Closed-form ELBO of a Gaussian ``q(z) = N(mu_q, cov_q)``, nats.

        ``E_q[log p(x | z)] - KL(q || N(0, I))`` with
        ``E_q[log p(x|z)] = -D/2 log(2 pi sigma2)
        - (|x - W mu_q - b|^2 + tr(W cov_q W^T)) / (2 sigma2)``.

        Shapes: x (..., D), mu_q (..., d), cov_q (..., d, d) -> (...,).
        """
        resid = x - (mu_q @ self.W.T + self.b)  # (..., D)
        trace_term = torch.einsum("ij,...jk,ik->...", self.W, cov_q, self.W)  # tr(W cov W^T)
        expected_loglik = -0.5 * self.D * (LOG_2PI + math.log(self.sigma2)) - 0.5 * (
            (resid**2).sum(-1) + trace_term
        ) / self.sigma2
        L = torch.linalg.cholesky(cov_q)
        logdet = 2 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
        trace_cov = torch.diagonal(cov_q, dim1=-2, dim2=-1).sum(-1)
        kl_to_prior = 0.5 * (trace_cov + (mu_q**2).sum(-1) - self.d - logdet)
        return expected_loglik - kl_to_prior


def random_linear_gaussian(
    D: int, d: int, sigma2: float = 0.5, seed: int = 0, dtype=torch.float64
) -> LinearGaussian:
    """A reproducible random model: W and b have standard-normal entries scaled by 1/sqrt(d)."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(D, d, generator=g, dtype=dtype) / math.sqrt(d)
    b = torch.randn(D, generator=g, dtype=dtype)
    return LinearGaussian(W, b, sigma2)
