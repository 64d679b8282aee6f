"""Checkers for notebook 01 (latent variable models and the ELBO).

Both exercises take the model and the approximate posterior as functions, and samples drawn
outside, so that the answer is a deterministic number:

Exercise 1, "the Monte-Carlo ELBO": ``mc_elbo(log_joint, log_q, z)`` with ``z`` (n, d) drawn from q
returns the average of ``log_joint(z) - log_q(z)``, a scalar (nats).
Exercise 2, "the importance-weighted bound": ``iw_bound(log_joint, log_q, z)`` with ``z`` (K, d)
returns ``log (1/K) sum_k exp(log_joint(z_k) - log_q(z_k))``, computed stably, a scalar.
"""

import torch
from torch.distributions import MultivariateNormal

from vae_course.checks.core import Case, FunctionExercise, Mistake
from vae_course.linear_gaussian import random_linear_gaussian
from vae_course.losses import importance_weighted_bound


def _mc_elbo_reference(log_joint, log_q, z):
    return (log_joint(z) - log_q(z)).mean()


def _iw_reference(log_joint, log_q, z):
    return importance_weighted_bound(log_joint(z) - log_q(z))


def _problem(seed, n, exact_posterior=False, shift=0.0, D=4, d=2):
    """(log_joint, log_q, z) for a small linear-Gaussian model (x: D numbers, z: d); q is the
    posterior or a guess. Everything is drawn from ``seed`` (0 <= seed < 2**62)."""
    model = random_linear_gaussian(D=D, d=d, sigma2=0.3, seed=seed)
    g = torch.Generator().manual_seed(seed + 100)
    x, _ = model.sample(1, generator=g)
    x = x[0] + shift
    m, S = model.posterior(x)
    q = MultivariateNormal(m, S) if exact_posterior else MultivariateNormal(m + 0.5, 2.0 * S)
    L = torch.linalg.cholesky(q.covariance_matrix)
    z = q.loc + torch.randn(n, d, generator=g, dtype=torch.float64) @ L.T  # (n, d) samples of q

    def log_joint(z):
        return model.log_joint(x, z)

    return log_joint, q.log_prob, z


def _cases(n):
    return [
        Case(f"q = the exact posterior, {n} samples (every log-weight equals log p(x))",
             *_problem(seed=1, n=n, exact_posterior=True)),
        Case(f"q = a shifted, widened guess, {n} samples", *_problem(seed=2, n=n)),
        Case("an x far from the data (log-weights around -2700)", *_problem(seed=3, n=n, shift=25.0)),
        Case("a single sample", *_problem(seed=4, n=1)),
    ]


def _hidden_cases(seed):
    """The grader's cases for ``seed``: the four kinds of ``_cases``, each from its own random
    model, with the number of samples, the sizes of x and z and the shift of the far x drawn too."""
    g = torch.Generator().manual_seed(seed)
    models = torch.randint(0, 2**62, (4,), generator=g).tolist()
    n = torch.randint(20, 81, (3,), generator=g).tolist()
    d = torch.randint(1, 4, (4,), generator=g).tolist()                   # z: 1 to 3 numbers
    D = [k + int(torch.randint(2, 4, (), generator=g)) for k in d]        # x: 2 or 3 more
    # the far x: moved along a random direction, as far as it takes for every log-weight to lie
    # below -1000 (exp underflows below -745), like the public case's -2700
    direction = torch.randn(D[2], generator=g, dtype=torch.float64)
    shift = float(torch.empty(()).uniform_(20.0, 30.0, generator=g)) * direction / direction.norm()
    while True:
        far = _problem(seed=models[2], n=n[2], shift=shift * D[2] ** 0.5, D=D[2], d=d[2])
        log_w = far[0](far[2]) - far[1](far[2])
        if log_w.max() < -1000:
            break
        shift = 1.5 * shift
    return [
        Case(f"hidden case: q = the exact posterior, {n[0]} samples of a {d[0]}-D z (every "
             "log-weight equals log p(x))",
             *_problem(seed=models[0], n=n[0], exact_posterior=True, D=D[0], d=d[0])),
        Case(f"hidden case: q = a shifted, widened guess, {n[1]} samples of a {d[1]}-D z",
             *_problem(seed=models[1], n=n[1], D=D[1], d=d[1])),
        Case(f"hidden case: an x far from the data, {n[2]} samples (log-weights around "
             f"{log_w.mean().item():.0f})", *far),
        Case(f"hidden case: a single sample of a {d[3]}-D z",
             *_problem(seed=models[3], n=1, D=D[3], d=d[3])),
    ]


def _mean_of_weights(log_joint, log_q, z):
    return torch.log(torch.exp(log_joint(z) - log_q(z)).mean())


ex1 = FunctionExercise(
    1,
    "the Monte-Carlo ELBO",
    reference=_mc_elbo_reference,
    cases=_cases(50),
    hidden=_hidden_cases,
    rtol=1e-7,
    atol=1e-8,
    check_dtype=False,
    mistakes=[
        Mistake("It looks like you returned log of the average weight (that is the importance-weighted "
                "bound of exercise 2): the ELBO averages the log-weights.", like=_mean_of_weights),
        Mistake("It looks like the sign of log q is flipped: the ELBO is E_q[log p(x, z) - log q(z)].",
                like=lambda lj, lq, z: (lj(z) + lq(z)).mean()),
        Mistake("It looks like log q is missing: E_q[log p(x, z)] alone is not the ELBO (the entropy of q "
                "is part of it).", like=lambda lj, lq, z: lj(z).mean()),
        Mistake("You summed over the samples: average them (.mean()).",
                like=lambda lj, lq, z: (lj(z) - lq(z)).sum()),
    ],
    hints=[
        "The ELBO is an expectation under q: ELBO = E_q[log p(x, z) - log q(z)]. The samples z are given.",
        "log_joint(z) and log_q(z) each return one number per sample, shape (n,).",
        "return (log_joint(z) - log_q(z)).mean()",
    ],
    solution="def mc_elbo(log_joint, log_q, z):\n    return (log_joint(z) - log_q(z)).mean()\n",
)

ex2 = FunctionExercise(
    2,
    "the importance-weighted bound",
    reference=_iw_reference,
    cases=_cases(50),
    hidden=_hidden_cases,
    rtol=1e-7,
    atol=1e-8,
    check_dtype=False,
    mistakes=[
        Mistake("It looks like you computed log(mean(exp(log_w))) directly: for log-weights around "
                "-2700, exp underflows to 0 and the log is -inf. Use torch.logsumexp(log_w, 0) - log K.",
                when=lambda got, expected: isinstance(got, torch.Tensor) and not torch.isfinite(got).all()),
        Mistake("It looks like the - log K is missing: logsumexp gives log of the *sum* of the weights, "
                "the bound uses their average.",
                like=lambda lj, lq, z: torch.logsumexp(lj(z) - lq(z), 0)),
        Mistake("It looks like you averaged the log-weights: that is the ELBO (exercise 1); the bound "
                "averages the weights, then takes the log.",
                like=lambda lj, lq, z: (lj(z) - lq(z)).mean()),
    ],
    hints=[
        "log_w = log_joint(z) - log_q(z) has one value per sample (K,). "
        "The bound is log( mean( exp(log_w) ) ).",
        "exp(log_w) underflows for log-weights around -2700. log of a sum of exps is torch.logsumexp; "
        "then subtract log K to turn the sum into a mean.",
        "log_w = log_joint(z) - log_q(z); return torch.logsumexp(log_w, dim=0) - math.log(len(log_w))",
    ],
    solution=("def iw_bound(log_joint, log_q, z):\n"
              "    log_w = log_joint(z) - log_q(z)                     # (K,)\n"
              "    return torch.logsumexp(log_w, dim=0) - math.log(len(log_w))\n"),
)
