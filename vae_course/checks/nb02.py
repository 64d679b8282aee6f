"""Checkers for notebook 02 (the Gaussian KL divergence in closed form).

Exercise 1, "the diagonal Gaussian KL": ``kl_diag(mu_q, logvar_q, mu_p, logvar_p)`` returns
KL(N(mu_q, diag exp(logvar_q)) || N(mu_p, diag exp(logvar_p))) summed over the last dimension,
(B, D) -> (B,). Reference: ``torch.distributions.kl_divergence``.
Exercise 2, "the full-covariance Gaussian KL": ``kl_full(mu0, cov0, mu1, cov1)`` returns
KL(N(mu0, cov0) || N(mu1, cov1)) for one pair, (D,), (D, D) -> scalar, with log-determinants from
Cholesky factors. Reference: ``torch.distributions.MultivariateNormal``.
"""

import math

import torch
from torch.distributions import Independent, MultivariateNormal, Normal, kl_divergence

from vae_course.checks.core import Case, FunctionExercise, Mistake


def _kl_diag_reference(mu_q, logvar_q, mu_p, logvar_p):
    q = Independent(Normal(mu_q, torch.exp(0.5 * logvar_q)), 1)
    p = Independent(Normal(mu_p, torch.exp(0.5 * logvar_p)), 1)
    return kl_divergence(q, p)


def _diag_variant(half=0.5, minus_one=-1.0, log_scale=1.0, summed=True, swapped=False):
    """The closed form with one knob turned: the mistakes a learner (or a slide) makes."""

    def kl(mu_q, logvar_q, mu_p, logvar_p):
        if swapped:
            mu_q, logvar_q, mu_p, logvar_p = mu_p, logvar_p, mu_q, logvar_q
        terms = (log_scale * (logvar_p - logvar_q)
                 + (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp() + minus_one)
        terms = half * terms
        return terms.sum(-1) if summed else terms

    return kl


def _cases_ex1():
    g = torch.Generator().manual_seed(11)
    z = torch.zeros(1, 3)
    return [
        Case("q = p = N(0, I): the KL must be 0", z, z, z, z),
        Case("q = N(1, I), p = N(0, I): only the means differ", torch.ones(1, 3), z, z, z),
        Case("q = N(0, 4 I), p = N(0, I): only the variances differ",
             z, torch.full((1, 3), math.log(4.0)), z, z),
        Case("random q and p, batch of 4, 5 dims",
             *[torch.randn(4, 5, generator=g) for _ in range(4)]),
    ]


def _hidden_ex1(seed):
    """The grader's cases for ``seed``: the four kinds of ``_cases_ex1`` (q = p, only the means
    differ, only the variances differ, both random) with random values, batch sizes and widths."""
    g = torch.Generator().manual_seed(seed)
    B = torch.randint(1, 7, (4,), generator=g).tolist()
    D = torch.randint(1, 9, (4,), generator=g).tolist()

    def randn(k, scale=1.0):
        return scale * torch.randn(B[k], D[k], generator=g)

    same_mu, same_logvar = randn(0), randn(0)
    shared_logvar, shared_mu = randn(1), randn(2)
    return [
        Case(f"hidden case: q = p, a random diagonal Gaussian, batch of {B[0]}, {D[0]} dims: the "
             "KL must be 0", same_mu, same_logvar, same_mu.clone(), same_logvar.clone()),
        Case(f"hidden case: q and p with the same variances, only the means differ, batch of "
             f"{B[1]}, {D[1]} dims", randn(1, 2.0), shared_logvar, randn(1, 2.0), shared_logvar.clone()),
        Case(f"hidden case: q and p with the same means, only the variances differ, batch of "
             f"{B[2]}, {D[2]} dims", shared_mu, randn(2, 1.5), shared_mu.clone(), randn(2, 1.5)),
        Case(f"hidden case: random q and p, batch of {B[3]}, {D[3]} dims",
             *[randn(3) for _ in range(4)]),
    ]


ex1 = FunctionExercise(
    1,
    "the diagonal Gaussian KL",
    reference=_kl_diag_reference,
    cases=_cases_ex1(),
    hidden=_hidden_ex1,
    mistakes=[
        Mistake("It looks like the 1/2 in front is missing: every term is twice too large.",
                like=_diag_variant(half=1.0)),
        Mistake("It looks like you used log sigma where log sigma^2 belongs (a half too small on the "
                "log-variance terms): logvar already is log sigma^2.", like=_diag_variant(log_scale=0.5)),
        Mistake("It looks like both the 1/2 is missing and log sigma stands where log sigma^2 belongs, "
                "the two slips of a formula that circulates on slides.",
                like=_diag_variant(half=1.0, log_scale=0.5)),
        Mistake("It looks like the sign of the -1 term is flipped: KL(q||q) must be 0, and with +1 it "
                "is the number of dimensions.", like=_diag_variant(minus_one=1.0)),
        Mistake("It looks like you computed KL(p || q) instead of KL(q || p): the KL is not symmetric, "
                "the expectation is under q (the first argument).", like=_diag_variant(swapped=True)),
        Mistake("Your result keeps one value per dimension: sum over the last dimension, (B, D) -> (B,).",
                like=_diag_variant(summed=False)),
    ],
    hints=[
        "In one dimension, KL(q||p) = log(sigma_p / sigma_q) + (sigma_q^2 + (mu_q - mu_p)^2) / (2 sigma_p^2) "
        "- 1/2. Rewrite it with logvar = log sigma^2, then sum over the dimensions.",
        "log(sigma_p / sigma_q) = (logvar_p - logvar_q) / 2, and sigma^2 = logvar.exp().",
        "0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p)**2) / logvar_p.exp() - 1).sum(-1)",
    ],
    solution=("def kl_diag(mu_q, logvar_q, mu_p, logvar_p):\n"
              "    ratio = (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp()\n"
              "    return 0.5 * (logvar_p - logvar_q + ratio - 1).sum(-1)\n"),
)


def _kl_full_reference(mu0, cov0, mu1, cov1):
    return kl_divergence(MultivariateNormal(mu0.double(), cov0.double()),
                         MultivariateNormal(mu1.double(), cov1.double())).to(mu0.dtype)


def _full_variant(half=0.5, logdet_sign=1.0, minus_k=True):
    def kl(mu0, cov0, mu1, cov1):
        k = mu0.shape[-1]
        L0, L1 = torch.linalg.cholesky(cov0), torch.linalg.cholesky(cov1)
        logdet0 = 2 * torch.log(torch.diagonal(L0)).sum()
        logdet1 = 2 * torch.log(torch.diagonal(L1)).sum()
        diff = mu1 - mu0
        trace = torch.trace(torch.cholesky_solve(cov0, L1))
        maha = diff @ torch.cholesky_solve(diff.unsqueeze(-1), L1).squeeze(-1)
        return half * (trace + maha - (k if minus_k else 0) + logdet_sign * (logdet1 - logdet0))

    return kl


def _naive_logdet_is_not_finite(got, expected):
    return isinstance(got, torch.Tensor) and not torch.isfinite(got).all()


def _spd(d, g, scale=1.0, jitter=0.1):
    A = torch.randn(d, d, generator=g, dtype=torch.float64)
    return scale * (A @ A.T / d + jitter * torch.eye(d, dtype=torch.float64))


def _cases_ex2():
    g = torch.Generator().manual_seed(5)
    d = 200
    return [
        Case("identical 2-D Gaussians: the KL must be 0",
             torch.zeros(2), torch.eye(2), torch.zeros(2), torch.eye(2)),
        Case("N(0, diag(4, 1)) vs N(0, I): matches the diagonal formula", torch.zeros(2),
             torch.diag(torch.tensor([4.0, 1.0])), torch.zeros(2), torch.eye(2)),
        Case("correlated 3-D Gaussians", torch.randn(3, generator=g, dtype=torch.float64), _spd(3, g),
             torch.randn(3, generator=g, dtype=torch.float64), _spd(3, g)),
        Case("200-D, covariances 1e-3 I and 2e-3 I: det underflows to 0, log det must not",
             torch.zeros(d, dtype=torch.float64), 1e-3 * torch.eye(d, dtype=torch.float64),
             torch.full((d,), 0.01, dtype=torch.float64), 2e-3 * torch.eye(d, dtype=torch.float64)),
    ]


def _hidden_ex2(seed):
    """The grader's cases for ``seed``: the four kinds of ``_cases_ex2``, with random values and
    sizes: identical Gaussians, a diagonal one against N(0, I) (float32), two correlated ones, and
    150 to 250 dimensions at a scale where det underflows to 0 (float64)."""
    g = torch.Generator().manual_seed(seed)
    d_same, d_diag, d_corr = torch.randint(2, 6, (3,), generator=g).tolist()
    d_big = int(torch.randint(150, 251, (), generator=g))
    scale = float(torch.empty(()).uniform_(5e-4, 2e-3, generator=g))  # det < scale ** d_big ~ 1e-450

    def randn(d):
        return torch.randn(d, generator=g, dtype=torch.float64)

    mu, cov = randn(d_same), _spd(d_same, g)
    variances = torch.empty(d_diag).uniform_(0.2, 5.0, generator=g)
    return [
        Case(f"hidden case: identical correlated {d_same}-D Gaussians: the KL must be 0",
             mu, cov, mu.clone(), cov.clone()),
        Case(f"hidden case: N(0, diag({', '.join(f'{v:.2f}' for v in variances)})) vs N(0, I): "
             "matches the diagonal formula", torch.zeros(d_diag), torch.diag(variances),
             torch.zeros(d_diag), torch.eye(d_diag)),
        Case(f"hidden case: correlated {d_corr}-D Gaussians", randn(d_corr), _spd(d_corr, g),
             randn(d_corr), _spd(d_corr, g)),
        Case(f"hidden case: {d_big}-D, correlated covariances of scale {scale:.1e}: det underflows "
             "to 0, log det must not", 0.05 * randn(d_big), _spd(d_big, g, scale=scale),
             0.05 * randn(d_big), _spd(d_big, g, scale=2 * scale)),
    ]


ex2 = FunctionExercise(
    2,
    "the full-covariance Gaussian KL",
    reference=_kl_full_reference,
    cases=_cases_ex2(),
    hidden=_hidden_ex2,
    rtol=1e-5,
    atol=1e-6,
    check_dtype=False,
    mistakes=[
        Mistake("It looks like the 1/2 in front is missing.", like=_full_variant(half=1.0)),
        Mistake("It looks like the log-determinant terms have the wrong sign: it is + log det cov1 "
                "- log det cov0.", like=_full_variant(logdet_sign=-1.0)),
        Mistake("It looks like the - k (the dimension) term is missing: KL(p||p) must be 0.",
                like=_full_variant(minus_k=False)),
        Mistake("Your result is not finite: det() of a 200-D covariance with eigenvalues 1e-3 underflows "
                "to 0 and its log is -inf. Use the Cholesky factor L (cov = L L^T): "
                "log det cov = 2 * sum(log diag L).", when=_naive_logdet_is_not_finite),
    ],
    hints=[
        "KL = 1/2 [ tr(cov1^-1 cov0) + (mu1 - mu0)^T cov1^-1 (mu1 - mu0) - k "
        "+ log det cov1 - log det cov0 ].",
        "Factor once: L1 = torch.linalg.cholesky(cov1). Then cov1^-1 B = torch.cholesky_solve(B, L1), and "
        "log det cov1 = 2 * torch.log(torch.diagonal(L1)).sum(). Never form det() itself.",
        "trace = torch.trace(torch.cholesky_solve(cov0, L1)); "
        "maha = diff @ torch.cholesky_solve(diff[:, None], L1)[:, 0] with diff = mu1 - mu0.",
    ],
    solution=("def kl_full(mu0, cov0, mu1, cov1):\n"
              "    k = mu0.shape[-1]\n"
              "    L0, L1 = torch.linalg.cholesky(cov0), torch.linalg.cholesky(cov1)\n"
              "    logdet0 = 2 * torch.log(torch.diagonal(L0)).sum()\n"
              "    logdet1 = 2 * torch.log(torch.diagonal(L1)).sum()\n"
              "    diff = mu1 - mu0\n"
              "    trace = torch.trace(torch.cholesky_solve(cov0, L1))\n"
              "    maha = diff @ torch.cholesky_solve(diff[:, None], L1)[:, 0]\n"
              "    return 0.5 * (trace + maha - k + logdet1 - logdet0)\n"),
)
