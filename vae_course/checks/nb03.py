"""Checkers for notebook 03 (the reparameterization trick).

Exercise 1, "the reparameterized sample": ``reparameterize(mu, logvar, eps)`` returns
``mu + exp(logvar / 2) * eps``, shape (B, D), through which gradients flow back to ``mu`` and ``logvar``
(checked on the values and on the gradients of ``z.sum()``).
Exercise 2, "the pathwise gradient estimate": ``pathwise_gradient(f, mu, log_sigma, eps)`` returns
the Monte-Carlo estimate of the gradient of E[f(z)], z = mu + exp(log_sigma) * eps, with respect to
``mu`` and ``log_sigma``, averaged over the n rows of ``eps`` (n, d): two (d,) tensors.
"""

import math

import torch

from vae_course.checks.core import Case, FunctionExercise, Mistake, compare


def _reparameterize(mu, logvar, eps):
    """Reference: z = mu + sigma * eps with sigma = exp(logvar / 2)."""
    return mu + torch.exp(0.5 * logvar) * eps


def _cases_ex1():
    g = torch.Generator().manual_seed(3)
    return [
        Case("mu=0, logvar=0 (sigma=1): z is eps itself", torch.zeros(2, 3), torch.zeros(2, 3),
             torch.randn(2, 3, generator=g)),
        Case("logvar=log 4 (sigma=2)", torch.ones(2, 2), torch.full((2, 2), 1.3862943611198906),
             torch.randn(2, 2, generator=g)),
        Case("random mu and logvar", torch.randn(4, 5, generator=g), torch.randn(4, 5, generator=g),
             torch.randn(4, 5, generator=g)),
    ]


def _hidden_ex1(seed):
    """The grader's cases for ``seed``: the three kinds of ``_cases_ex1`` (sigma = 1 and mu = 0, a
    constant sigma, random mu and logvar) with random eps, sigma and shapes."""
    g = torch.Generator().manual_seed(seed)
    shapes = [tuple(torch.randint(1, 7, (2,), generator=g).tolist()) for _ in range(3)]
    sigma = float(torch.empty(()).uniform_(0.3, 3.0, generator=g))
    b, d = shapes[1]
    return [
        Case(f"hidden case: mu=0, logvar=0 (sigma=1), shape {shapes[0]}: z is eps itself",
             torch.zeros(shapes[0]), torch.zeros(shapes[0]), torch.randn(shapes[0], generator=g)),
        Case(f"hidden case: logvar=log {sigma ** 2:.3f} (sigma={sigma:.3f}), shape {shapes[1]}",
             torch.randn(b, d, generator=g), torch.full((b, d), 2 * math.log(sigma)),
             torch.randn(b, d, generator=g)),
        Case(f"hidden case: random mu and logvar, shape {shapes[2]}",
             *[torch.randn(shapes[2], generator=g) for _ in range(3)]),
    ]


class GradientFlowExercise(FunctionExercise):
    """Each case runs the answer on ``mu`` and ``logvar`` that require gradients and compares, besides
    ``z``, the gradients of ``z.sum()`` with respect to ``mu`` and ``logvar``: ``None`` when no gradient
    flows back (a detached result, or one computed outside torch), the whole point of the trick."""

    def _call(self, fn, case):
        mu, logvar, eps = (a.detach().clone() for a in case.args)
        mu.requires_grad_(True)
        logvar.requires_grad_(True)
        z = fn(mu, logvar, eps)
        if not (torch.is_tensor(z) and z.requires_grad):
            return (z.detach() if torch.is_tensor(z) else z), None, None
        g_mu, g_logvar = torch.autograd.grad(z.sum(), (mu, logvar), allow_unused=True)
        return (z.detach(), torch.zeros_like(mu) if g_mu is None else g_mu,
                torch.zeros_like(logvar) if g_logvar is None else g_logvar)


def _compare_flow(got, expected):
    """z first; then whether gradients flow; then the gradients (d z.sum() / d mu, d logvar)."""
    problem = compare(got[0], expected[0])
    if problem:
        return problem
    if (got[1] is None) != (expected[1] is None):
        return ("z has the right values, but no gradient flows from it back to mu and logvar"
                if got[1] is None else "gradients flow back from z, where this answer has none")
    if got[1] is None:
        return None
    problem = compare(tuple(got[1:]), tuple(expected[1:]))
    return problem and f"z has the right values, but its gradients with respect to (mu, logvar): {problem}"


ex1 = GradientFlowExercise(
    1,
    "the reparameterized sample",
    reference=_reparameterize,
    cases=_cases_ex1(),
    hidden=_hidden_ex1,
    compare=_compare_flow,
    mistakes=[
        Mistake("It looks like you multiplied eps by exp(logvar), the variance: multiply by the "
                "standard deviation sigma = exp(logvar / 2).",
                like=lambda mu, logvar, eps: mu + torch.exp(logvar) * eps),
        Mistake("It looks like you multiplied eps by logvar itself: logvar is log sigma^2, so "
                "sigma = exp(logvar / 2).",
                like=lambda mu, logvar, eps: mu + logvar * eps),
        Mistake("It looks like you used exp(logvar) / 2 instead of exp(logvar / 2): the half goes "
                "inside the exponential, because sqrt(e^a) = e^(a/2).",
                like=lambda mu, logvar, eps: mu + torch.exp(logvar) / 2 * eps),
        Mistake("It looks like the mean is missing: z must be centred on mu.",
                like=lambda mu, logvar, eps: torch.exp(0.5 * logvar) * eps),
        Mistake("z has the right values, but no gradient flows from it back to mu and logvar "
                "(.detach(), .item(), numpy or torch.no_grad() cut the path): compute z from mu and "
                "logvar with torch operations, which is the whole point of the trick.",
                like=lambda mu, logvar, eps: (mu + torch.exp(0.5 * logvar) * eps).detach()),
    ],
    hints=[
        "If eps ~ N(0, 1), then mu + sigma * eps ~ N(mu, sigma^2). You are given logvar = log sigma^2.",
        "sigma = sqrt(exp(logvar)) = exp(logvar / 2), i.e. torch.exp(0.5 * logvar).",
        "return mu + torch.exp(0.5 * logvar) * eps",
    ],
    solution="def reparameterize(mu, logvar, eps):\n    return mu + torch.exp(0.5 * logvar) * eps\n",
)


def _pathwise_by_finite_differences(f, mu, log_sigma, eps, h=1e-4):
    """Reference, independent of autograd: central differences of the sample average of f(z),
    with the same eps on both sides (common random numbers), in float64."""
    dtype = mu.dtype
    mu, log_sigma, eps = mu.double(), log_sigma.double(), eps.double()

    def average(m, s):
        return f(m + torch.exp(s) * eps).mean()

    grad_mu, grad_s = torch.zeros_like(mu), torch.zeros_like(log_sigma)
    for j in range(len(mu)):
        step = torch.zeros_like(mu)
        step[j] = h
        grad_mu[j] = (average(mu + step, log_sigma) - average(mu - step, log_sigma)) / (2 * h)
        grad_s[j] = (average(mu, log_sigma + step) - average(mu, log_sigma - step)) / (2 * h)
    return grad_mu.to(dtype), grad_s.to(dtype)


def _reference_pathwise(f, mu, log_sigma, eps):
    return _pathwise_by_finite_differences(f, mu, log_sigma, eps)


def _square(z):
    return (z**2).sum(-1)


def _shifted_square(z):
    return ((z - 1.5) ** 2).sum(-1)


def _wavy(z):
    return torch.sin(z).sum(-1) + 0.1 * (z**3).sum(-1)


def _cases_ex2():
    g = torch.Generator().manual_seed(7)
    return [
        Case("f(z) = |z|^2, d=1, two samples", _square, torch.tensor([0.5]), torch.tensor([0.0]),
             torch.tensor([[1.0], [-0.5]])),
        Case("f(z) = |z - 1.5|^2, d=3", _shifted_square, torch.tensor([0.0, 1.0, -1.0]),
             torch.tensor([0.0, -1.0, 0.5]), torch.randn(50, 3, generator=g)),
        Case("f(z) = sum sin z + z^3 / 10, d=4", _wavy, torch.randn(4, generator=g),
             0.3 * torch.randn(4, generator=g), torch.randn(200, 4, generator=g)),
    ]


def _hidden_ex2(seed):
    """The grader's cases for ``seed``: the three functions of ``_cases_ex2``, with random mu,
    log_sigma and eps, numbers of samples and (for the last two) dimensions."""
    g = torch.Generator().manual_seed(seed)
    n1 = int(torch.randint(2, 6, (), generator=g))
    d2, d3 = torch.randint(2, 6, (2,), generator=g).tolist()
    n2, n3 = int(torch.randint(20, 81, (), generator=g)), int(torch.randint(100, 301, (), generator=g))
    return [
        Case(f"hidden case: f(z) = |z|^2, d=1, {n1} samples", _square, torch.randn(1, generator=g),
             0.5 * torch.randn(1, generator=g), torch.randn(n1, 1, generator=g)),
        Case(f"hidden case: f(z) = |z - 1.5|^2, d={d2}, {n2} samples", _shifted_square,
             torch.randn(d2, generator=g), 0.5 * torch.randn(d2, generator=g),
             torch.randn(n2, d2, generator=g)),
        Case(f"hidden case: f(z) = sum sin z + z^3 / 10, d={d3}, {n3} samples", _wavy,
             torch.randn(d3, generator=g), 0.3 * torch.randn(d3, generator=g),
             torch.randn(n3, d3, generator=g)),
    ]


def _pathwise_sum(f, mu, log_sigma, eps):
    mu, log_sigma = mu.detach().requires_grad_(), log_sigma.detach().requires_grad_()
    f(mu + torch.exp(log_sigma) * eps).sum().backward()
    return mu.grad, log_sigma.grad


def _pathwise_sigma_not_log(f, mu, log_sigma, eps):
    mu, log_sigma = mu.detach().requires_grad_(), log_sigma.detach().requires_grad_()
    f(mu + log_sigma * eps).mean().backward()
    return mu.grad, log_sigma.grad


ex2 = FunctionExercise(
    2,
    "the pathwise gradient estimate",
    reference=_reference_pathwise,
    cases=_cases_ex2(),
    hidden=_hidden_ex2,
    rtol=2e-3,
    atol=2e-3,
    check_dtype=False,
    mistakes=[
        Mistake("Your gradient is n times too large: average f(z) over the n samples (.mean()), "
                "do not sum.", like=_pathwise_sum),
        Mistake("It looks like you used log_sigma as the standard deviation: sigma = "
                "exp(log_sigma).", like=_pathwise_sigma_not_log),
    ],
    hints=[
        "Make mu and log_sigma leaves that require gradients (mu.detach().requires_grad_()), build "
        "z = mu + exp(log_sigma) * eps, and let autograd do the rest.",
        "The estimate is the gradient of the sample average: f(z).mean().backward(), then read "
        "mu.grad and log_sigma.grad.",
        "mu = mu.detach().requires_grad_(); log_sigma = log_sigma.detach().requires_grad_(); "
        "z = mu + torch.exp(log_sigma) * eps; f(z).mean().backward(); "
        "return mu.grad, log_sigma.grad",
    ],
    solution=(
        "def pathwise_gradient(f, mu, log_sigma, eps):\n"
        "    mu = mu.detach().requires_grad_()\n"
        "    log_sigma = log_sigma.detach().requires_grad_()\n"
        "    z = mu + torch.exp(log_sigma) * eps   # (n, d)\n"
        "    f(z).mean().backward()\n"
        "    return mu.grad, log_sigma.grad\n"
    ),
)
