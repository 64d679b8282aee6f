"""Checks for notebook 07, "what the ELBO hides".

Exercise 1, "log p(x) with K importance samples, in chunks": ``log_px_chunked(model, x, K, chunk)``
returns ``log (1/K) sum_k w_k`` per image, ``(B,)`` nats, drawing at most ``chunk`` codes per image at
a time and combining the chunks with a running log-sum-exp. Checked by behaviour: the model it is
handed records every ``decode`` call (no call may decode more than ``chunk`` codes per image; exactly
K per image in all), and the estimates must agree on average with an independent reference.

Exercise 2, "a q(z|x) optimised for each image": ``fit_posterior(model, x, steps, lr)`` returns
``(mu, logvar)``, ``(B, L)`` each, found by gradient ascent on each image's ELBO from the encoder's
q(z|x), without changing the model. Checked by the ELBO the result reaches (measured with 200 samples
per image) against the encoder's and against the reference's.

Both run on a 2-D VAE trained for 300 steps on the checks' 1024 MNIST images (behaviour.trained_vae).
"""

import math

import torch
from torch.distributions import Normal

from vae_course.checks.behaviour import (
    N_IMAGES,
    ProbedExercise,
    Problem,
    agrees_on_average,
    expect_estimates,
    expect_tensor,
    expect_tuple,
    flat_parameters,
    mnist_slice,
    trained_vae,
)
from vae_course.checks.core import Case, Mistake
from vae_course.evaluate import elbo
from vae_course.losses import bernoulli_log_likelihood, kl_normal_std

# ------------------------------------------------- exercise 1: log p(x) with K samples, in chunks


def _log_weights(model, x, k):
    """(k, B) log-weights log p(x|z) + log p(z) - log q(z|x) for k fresh z ~ q(z|x)."""
    mu, logvar = model.encode(x)                                     # (B, L) each
    q = Normal(mu, torch.exp(0.5 * logvar))
    z = q.rsample((k,))                                              # (k, B, L)
    x_hat = model.decode(z.reshape(-1, z.shape[-1]))                 # (k B, 1, 28, 28)
    log_p_x = bernoulli_log_likelihood(x_hat, x.repeat(k, 1, 1, 1)).reshape(k, len(x))
    return log_p_x + Normal(0.0, 1.0).log_prob(z).sum(-1) - q.log_prob(z).sum(-1)


def _log_px_chunked(model, x, K, chunk):
    """Reference: a running log-sum-exp over chunks of at most ``chunk`` samples, minus log K."""
    total = torch.full((len(x),), -math.inf)
    for start in range(0, K, chunk):
        log_w = _log_weights(model, x, min(chunk, K - start))       # (k, B)
        total = torch.logaddexp(total, torch.logsumexp(log_w, dim=0))
    return total - math.log(K)


def _mean_of_chunks(model, x, K, chunk):
    """A mistake: each chunk's own estimate, averaged (a chunk-sample bound, not a K-sample one)."""
    parts = [torch.logsumexp(_log_weights(model, x, min(chunk, K - s)), 0) - math.log(min(chunk, K - s))
             for s in range(0, K, chunk)]
    return torch.stack(parts).mean(0)


class _Recorder:
    """Stands in for the model: passes ``encode`` and ``decode`` through and records how many
    codes every ``decode`` call got."""

    def __init__(self, model):
        self.model, self.latent_dim, self.decoded = model, model.latent_dim, []

    def encode(self, x):
        return self.model.encode(x)

    def decode(self, z):
        self.decoded.append(len(z))
        return self.model.decode(z)

    def __call__(self, x):
        raise _ForwardCalled("the check's model: call model.encode and model.decode, not model(x)")


class _ForwardCalled(Exception):
    pass


class ChunkedEstimateExercise(ProbedExercise):
    """``log_px_chunked(model, x, K, chunk)`` on images of the briefly trained 2-D VAE. A case is
    ``Case(name, indices, runs)``, ``runs`` the (K, chunk) pairs: K = 1 in chunks of 1 (the ELBO),
    then a large K in chunks that do not divide it (so the last chunk is smaller). The model is
    handed over through :class:`_Recorder`, which counts the codes of every decode call."""

    def probe(self, log_px_chunked, case):
        indices, runs = case.args
        model, x = trained_vae(), mnist_slice()[0][indices]
        out = []
        for K, chunk in runs:
            spy = _Recorder(model)
            torch.manual_seed(K)
            try:
                with torch.no_grad():
                    got = log_px_chunked(spy, x, K, chunk)
            except _ForwardCalled:
                return ("forward",)
            out += [got.detach().clone() if isinstance(got, torch.Tensor) else got,
                    torch.tensor(spy.decoded, dtype=torch.int64)]
        return tuple(out)

    def expect(self, case):
        indices, runs = case.args
        model, x = trained_vae(), mnist_slice()[0][indices]
        expected = {"reference": [], "variants": [[] for _ in self.mistakes]}
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            for K, chunk in runs:
                torch.manual_seed(1000 + K)
                expected["reference"].append(self.reference(model, x, K, chunk))
                for k, mistake in enumerate(self.mistakes):
                    torch.manual_seed(2000 + k)
                    expected["variants"][k].append(mistake.like(model, x, K, chunk))
        return expected

    def verdict(self, case, returned, expected):
        indices, runs = case.args
        n = len(indices)
        tried = (f"{case.name}: {n} binarized MNIST images, a 2-D VAE trained for 300 steps; " +
                 " and ".join(f"K = {K} (chunk {chunk})" for K, chunk in runs))
        if returned == ("forward",):
            raise Problem("the function called model(x): that decodes one sample per image with "
                          "the model's own draw. Use model.encode(x) for q(z|x) and model.decode(z) "
                          "for your own K codes", tried=tried)
        if not isinstance(returned, tuple) or len(returned) != 2 * len(runs):
            raise Problem("the check could not read what your function returned", tried=tried)
        for j, (K, chunk) in enumerate(runs):
            out, decoded = returned[2 * j], returned[2 * j + 1]
            expect_estimates(out, n, f"log_px_chunked(model, x, {K}, {chunk})", K, tried,
                             "torch.logsumexp and torch.logaddexp")
            sizes = decoded.tolist() if isinstance(decoded, torch.Tensor) else []
            widest = max(sizes, default=0) // n
            if widest > chunk:
                raise Problem(f"one decode call got {widest} codes per image with chunk = {chunk}: "
                              "the memory is then not bounded by the chunk",
                              ["Draw and decode at most `chunk` codes per image at a time: "
                               "for start in range(0, K, chunk): k = min(chunk, K - start)."],
                              tried=tried)
            per_image = sum(sizes) / n
            if per_image != K:
                hint = (["The last chunk is smaller when chunk does not divide K: "
                         "k = min(chunk, K - start)."] if per_image < K else [])
                raise Problem(f"the function decoded {per_image:g} codes per image for K = {K}; "
                              f"the estimate needs exactly K", hint, tried=tried)
        for j, (K, _) in enumerate(runs):
            got, reference = returned[2 * j].float(), expected["reference"][j]
            if agrees_on_average(got, reference):
                continue
            diagnosis = [m.message for m, outputs in zip(self.mistakes, expected["variants"])
                         if K > 1 and agrees_on_average(got, outputs[j])]
            raise Problem(f"with K = {K} your estimates average {got.mean():.2f} nats per image; "
                          f"the reference's average {reference.mean():.2f}", diagnosis, tried=tried)
        first, last = returned[0].float(), returned[-2].float()
        K_last, chunk_last = runs[-1]
        return (f"On {n} images your estimates match the reference's on average, for K = 1 (the "
                f"ELBO, {first.mean():.1f} nats) and for K = {K_last} "
                f"({(last - first).mean().item():.2f} nats higher), never decoding more than "
                f"{chunk_last} codes per image at a time.")


def _hidden_ex1(seed):
    """The grader's case for ``seed``: 128 images drawn from the checks' 1024; K = 1 in chunks of 1,
    then K from 280 to 400 in chunks of 4 to 8 that leave a smaller last chunk (small enough chunks
    that averaging the chunks' own estimates, a mistake, stays told apart from the K-sample one)."""
    g = torch.Generator().manual_seed(seed)
    indices = torch.randperm(N_IMAGES, generator=g)[:128].sort().values
    chunk = int(torch.randint(4, 9, (), generator=g))
    K = int(torch.randint(280, 401, (), generator=g))
    K += 1 if K % chunk == 0 else 0
    return [Case(f"hidden case: 128 images of the 1024, K = {K} in chunks of {chunk}", indices,
                 ((1, 1), (K, chunk)))]


ex1 = ChunkedEstimateExercise(
    1,
    "log p(x) with K importance samples, in chunks",
    reference=_log_px_chunked,
    cases=[Case("the first 128 images", torch.arange(128), ((1, 1), (300, 8)))],
    hidden=_hidden_ex1,
    mistakes=[  # run by the judge on the same model and images (ProbedExercise)
        Mistake("It looks like each chunk's estimate was averaged with the others: that is the bound "
                "of `chunk` samples, not of K. Add the chunks' weights up instead, in logs: "
                "total = torch.logaddexp(total, torch.logsumexp(log_w, dim=0)), and subtract log K "
                "once.", like=_mean_of_chunks),
        Mistake("It looks like the - log K is missing: the estimate averages the K weights.",
                like=lambda m, x, K, chunk: _log_px_chunked(m, x, K, chunk) + math.log(K)),
        Mistake("It looks like the sum was divided by `chunk` instead of K: subtract log K.",
                like=lambda m, x, K, chunk: _log_px_chunked(m, x, K, chunk) + math.log(K)
                - math.log(chunk)),
    ],
    points=2,
    hints=[
        "Loop over the chunks: for start in range(0, K, chunk), with k = min(chunk, K - start) codes "
        "this time. Each chunk gives k log-weights per image, shape (k, B).",
        "Keep one running total per image, in logs: start from torch.full((B,), -math.inf) and add "
        "each chunk's weights with total = torch.logaddexp(total, torch.logsumexp(log_w, dim=0)).",
        "The log-weights of a chunk: z = mu + sigma * eps with eps (k, B, L); log p(x|z) from "
        "losses.bernoulli_log_likelihood on model.decode(z.reshape(-1, L)); log p(z) and log q(z|x) "
        "from Normal(...).log_prob(z).sum(-1). At the end return total - math.log(K).",
    ],
    solution='''def log_px_chunked(model, x, K, chunk):
    mu, logvar = model.encode(x)                                # (B, L) each
    q = Normal(mu, torch.exp(0.5 * logvar))                     # q(z|x), one Gaussian per image
    total = torch.full((len(x),), -math.inf)                    # (B,) log of the running sum of w
    for start in range(0, K, chunk):
        k = min(chunk, K - start)                               # the last chunk may be smaller
        z = q.sample((k,))                                      # (k, B, L)
        x_hat = model.decode(z.reshape(-1, z.shape[-1]))        # (k B, 1, 28, 28)
        log_p_x = losses.bernoulli_log_likelihood(x_hat, x.repeat(k, 1, 1, 1)).reshape(k, len(x))
        log_w = log_p_x + Normal(0.0, 1.0).log_prob(z).sum(-1) - q.log_prob(z).sum(-1)  # (k, B)
        total = torch.logaddexp(total, torch.logsumexp(log_w, dim=0))
    return total - math.log(K)                                  # (B,)
''',
)


# ------------------------------------------------------- exercise 2: a q(z|x) optimised per image


def _fit_posterior(model, x, steps, lr, samples=4, kl=True, maximize=False):
    """Reference: Adam on (mu, logvar) only, from the encoder's, on the sum of the images' -ELBO
    (``kl=False``, ``maximize=True``: two mistakes the tests make)."""
    with torch.no_grad():
        mu, logvar = model.encode(x)
    mu, logvar = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    opt = torch.optim.Adam([mu, logvar], lr=lr, maximize=maximize)
    for _ in range(steps):
        z = mu + torch.exp(0.5 * logvar) * torch.randn(samples, *mu.shape)
        x_hat = model.decode(z.reshape(-1, mu.shape[1]))
        rec = bernoulli_log_likelihood(x_hat, x.repeat(samples, 1, 1, 1)).reshape(samples, -1)
        loss = -rec.mean(0) + (kl_normal_std(mu, logvar) if kl else 0.0)
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
    return mu.detach(), logvar.detach()


# The ELBO the check measures is the mean over 64 images of 200-sample estimates. Measured on this
# model with steps = 150, lr = 0.05: the encoder's q -165.9; the reference's q* -164.2 (+1.7 nats),
# the same within 0.03 nats from 6 seeds and within 0.05 with lr 0.02 or 300 steps; without the KL
# term -166.3; descending instead of ascending -1642; mu alone (logvar kept) -164.5 (80 % of the
# gain). A result must gain at least 90 % of the reference's gain.
STEPS_2, LR_2, IMAGES_2, SHARE = 150, 0.05, 64, 0.9


class PosteriorFitExercise(ProbedExercise):
    """``fit_posterior(model, x, steps=150, lr=0.05)`` on images of the briefly trained VAE. A case is
    ``Case(name, indices)``. The kernel returns the fitted mu and logvar and whether the model's
    weights changed; the judge measures the ELBO they reach on its own copy of the model."""

    def probe(self, fit_posterior, case):
        (indices,) = case.args
        model, x = trained_vae(), mnist_slice()[0][indices]
        before = flat_parameters(model)
        torch.manual_seed(0)
        try:
            out = fit_posterior(model, x, steps=STEPS_2, lr=LR_2)
        finally:
            changed = not torch.equal(before, flat_parameters(model))
            if changed:  # put the shared model back as it was for the next check
                with torch.no_grad():
                    torch.nn.utils.vector_to_parameters(before, model.parameters())
            for p in model.parameters():
                p.grad = None
        if isinstance(out, (tuple, list)):
            out = tuple(t.detach().clone() if isinstance(t, torch.Tensor) else t for t in out)
        return (out, changed)

    def expect(self, case):
        (indices,) = case.args
        model, x = trained_vae(), mnist_slice()[0][indices]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            best = self.reference(model, x, STEPS_2, LR_2)
            torch.manual_seed(0)
            no_kl = self.mistakes[0].like(model, x, STEPS_2, LR_2)
            return {"start": elbo(model, x, samples=200, seed=1).mean,
                    "best": elbo(model, x, samples=200, seed=1, posterior=best).mean,
                    "no_kl": elbo(model, x, samples=200, seed=1, posterior=no_kl).mean}

    def verdict(self, case, returned, expected):
        (indices,) = case.args
        model, x = trained_vae(), mnist_slice()[0][indices]
        n = len(indices)
        tried = (f"{case.name}: {n} binarized MNIST images, a 2-D VAE trained for 300 steps; "
                 f"steps = {STEPS_2}, lr = {LR_2}")
        out, changed = returned if isinstance(returned, tuple) and len(returned) == 2 else (None, 1)
        if changed is not False:
            raise Problem("the model's weights changed: the per-image q(z|x) is optimised with the "
                          "model held fixed",
                          ["Give the optimiser only mu and logvar: torch.optim.Adam([mu, logvar], "
                           "lr=lr)."], tried=tried)
        mu, logvar = expect_tuple(out, 2, "fit_posterior(...)", "mu, logvar")
        for name, t in (("mu", mu), ("logvar", logvar)):
            expect_tensor(t, (n, model.latent_dim), f"the returned {name}",
                          "One Gaussian per image: (B, latent_dim).")
        mu, logvar = mu.float(), logvar.float()
        if not bool(torch.isfinite(mu).all() and torch.isfinite(logvar).all()):
            raise Problem("the returned mu or logvar holds nan or inf", tried=tried)
        start, best = float(expected["start"]), float(expected["best"])
        with torch.random.fork_rng(devices=[]):
            reached = elbo(model, x, samples=200, seed=1, posterior=(mu, logvar)).mean
        if reached - start >= SHARE * (best - start):
            return (f"Your q(z|x) raises the average ELBO of {n} images from {start:.1f} "
                    f"(the encoder's) to {reached:.1f} nats; the reference reaches {best:.1f}.")
        diagnosis = []
        if reached < start:
            diagnosis.append("The ELBO went down: the optimiser must *minimise* the negative ELBO "
                             "(reconstruction loss + KL), i.e. climb the ELBO.")
        with torch.no_grad():
            if torch.equal(logvar, model.encode(x)[1]):
                diagnosis.append("logvar came back as the encoder's: optimise it too, "
                                 "torch.optim.Adam([mu, logvar], lr=lr).")
        if abs(reached - float(expected["no_kl"])) < 1.0:
            diagnosis.append(self.mistakes[0].message)
        raise Problem(f"the average ELBO goes from {start:.1f} (the encoder's q) to {reached:.1f} "
                      f"nats; the reference reaches {best:.1f}, and at least {SHARE:.0%} of its "
                      "gain is expected", diagnosis, tried=tried)


def _hidden_ex2(seed):
    """The grader's case for ``seed``: 64 images drawn from the checks' 1024."""
    g = torch.Generator().manual_seed(seed)
    indices = torch.randperm(N_IMAGES, generator=g)[:IMAGES_2].sort().values
    return [Case(f"hidden case: {IMAGES_2} images of the 1024", indices)]


ex2 = PosteriorFitExercise(
    2,
    "a q(z|x) optimised for each image",
    reference=lambda model, x, steps=300, lr=0.02: _fit_posterior(model, x, steps, lr),
    cases=[Case(f"the first {IMAGES_2} images", torch.arange(IMAGES_2))],
    hidden=_hidden_ex2,
    mistakes=[Mistake("It looks like the KL term is missing from what is optimised: without it "
                      "every sigma shrinks and q stops being near the posterior.",
                      like=lambda model, x, steps, lr: _fit_posterior(model, x, steps, lr,
                                                                      kl=False))],
    points=3,
    hints=[
        "Start from the encoder: mu, logvar = model.encode(x) under torch.no_grad(), then make them "
        "the leaves you optimise: mu = mu.clone().requires_grad_() (the same for logvar).",
        "torch.optim.Adam([mu, logvar], lr=lr) optimises only them; the model is never stepped. In "
        "each step draw a few z = mu + sigma * eps, decode, and form each image's negative ELBO: "
        "- log p(x|z) (averaged over the draws) + losses.kl_normal_std(mu, logvar).",
        "Sum the images' negative ELBOs (each image then gets its own gradient), zero_grad, backward, "
        "step; after the loop return mu.detach(), logvar.detach().",
    ],
    solution='''def fit_posterior(model, x, steps=300, lr=0.02):
    with torch.no_grad():
        mu, logvar = model.encode(x)                           # (B, L) each: the encoder's q
    mu, logvar = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    opt = torch.optim.Adam([mu, logvar], lr=lr)                # q's parameters only, never the model's
    for _ in range(steps):
        z = mu + torch.exp(0.5 * logvar) * torch.randn(4, *mu.shape)   # (4, B, L): 4 draws per image
        x_hat = model.decode(z.reshape(-1, mu.shape[1]))               # (4 B, 1, 28, 28)
        rec = losses.bernoulli_log_likelihood(x_hat, x.repeat(4, 1, 1, 1)).reshape(4, len(x))
        neg_elbo = -rec.mean(0) + losses.kl_normal_std(mu, logvar)     # (B,)
        opt.zero_grad()
        neg_elbo.sum().backward()                              # the sum: each image its own gradient
        opt.step()
    return mu.detach(), logvar.detach()
''',
)
