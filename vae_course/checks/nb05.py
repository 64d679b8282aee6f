"""Checkers for notebook 05 (the variational autoencoder).

Exercise 1, "the reparameterized sample": ``reparameterize(mu, logvar)`` returns
``z = mu + sigma * eps`` with ``sigma = exp(logvar / 2)`` and ``eps ~ N(0, I)``: ``(B, D) -> (B, D)``,
differentiable with respect to ``mu`` and ``logvar``.

Exercise 2, "the VAE loss in nats per image": ``vae_loss(x_hat, x, mu, logvar)`` returns the
negative ELBO averaged over the batch: Bernoulli reconstruction summed over the 784 pixels plus
KL(q(z|x) || N(0, I)) summed over the latent dimensions, both per image, then the mean over images.
"""

import math

import torch
from torch.distributions import Bernoulli, Normal, kl_divergence
from torch.nn import functional as F

from vae_course.checks.core import Case, Exercise, FunctionExercise, Mistake, describe


def _reparameterize(mu, logvar):
    """Reference: z = mu + exp(logvar / 2) * eps."""
    eps = torch.randn_like(mu)
    return mu + torch.exp(0.5 * logvar) * eps


class ReparameterizeExercise(Exercise):
    """Checks a sampler by what must hold for any correct one, not by its random numbers.

    1. shape (B, D) -> (B, D); 2. over 200 000 draws the mean is mu and the standard deviation is
    exp(logvar / 2); 3. logvar -> -inf gives z = mu exactly;
    4. gradients reach mu (d z / d mu = 1) and logvar (d z / d logvar = eps * sigma / 2).
    """

    def evaluate(self, answer):
        if answer is Ellipsis:
            return self.not_attempted()
        if not callable(answer):
            return self.failed(f"ex1.check expects your function itself, e.g. ex1.check(reparameterize); "
                               f"it got {describe(answer)}")
        mu = torch.tensor([[0.0, 2.0, -1.0]])
        logvar = torch.tensor([[0.0, math.log(0.25), math.log(4.0)]])  # sigma = 1, 0.5, 2
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            try:
                z = answer(mu.clone(), logvar.clone())
            except NotImplementedError as e:
                if str(e).startswith("Exercise 1:"):
                    return self.not_attempted()
                return self.not_attempted(f"it stopped at NotImplementedError: {e}")
            except Exception as e:
                return self.failed(f"your function raised {type(e).__name__}: {e}",
                                   tried="mu (1, 3), logvar (1, 3)")
            if z is Ellipsis:
                return self.not_attempted()
            if not isinstance(z, torch.Tensor) or z.shape != mu.shape:
                return self.failed(f"for mu of shape (1, 3) the result is {describe(z)}; expected "
                                   f"a tensor of shape (1, 3), one sample per row of mu")
            n = 200_000
            big_mu, big_logvar = mu.expand(n, 3).clone(), logvar.expand(n, 3).clone()
            zs = answer(big_mu, big_logvar).detach()
            mean, std = zs.mean(0), zs.std(0)
            sigma = torch.exp(0.5 * logvar[0])
            if not torch.allclose(mean, mu[0], atol=0.03):
                diag = (["Is mu added to the noise term?"]
                        if torch.allclose(mean, torch.zeros(3), atol=0.03) else [])
                return self.failed(f"over {n} draws with mu = [0, 2, -1] the sample mean is "
                                   f"[{', '.join(f'{m:.3f}' for m in mean)}], expected mu", diag)
            if not torch.allclose(std, sigma, rtol=0.02):
                diag = []
                if torch.allclose(std, logvar[0].exp(), rtol=0.02):
                    diag.append("It looks like you used exp(logvar) = sigma² as the standard "
                                "deviation: sigma = exp(logvar / 2).")
                elif torch.allclose(std, logvar[0].abs(), rtol=0.02):
                    diag.append("It looks like you multiplied eps by logvar itself: it is a "
                                "log-variance; sigma = exp(0.5 * logvar).")
                elif torch.allclose(std, torch.exp(logvar[0]).sqrt().sqrt(), rtol=0.02):
                    diag.append("It looks like you took exp(logvar / 4) (a square root too many): "
                                "sigma = exp(logvar / 2).")
                return self.failed(
                    f"with sigma = [1, 0.5, 2] (logvar = log sigma²) the samples' standard "
                    f"deviation is [{', '.join(f'{s:.3f}' for s in std)}]", diag)
            tiny = torch.full((4, 3), -60.0)
            mus = torch.randn(4, 3)
            z0 = answer(mus.clone(), tiny)
            if not torch.allclose(z0, mus, atol=1e-6):
                return self.failed("with a vanishing variance (logvar = -60) z must equal mu, but "
                                   "it does not", ["Is mu added to the noise term?"])
            mu_g = mu.clone().requires_grad_(True)
            logvar_g = logvar.clone().requires_grad_(True)
            try:
                zg = answer(mu_g, logvar_g)
                zg.sum().backward()
            except RuntimeError as e:
                return self.failed(f"backpropagating through your sample failed ({e})",
                                   ["The sample must be computed from mu and logvar with "
                                    "differentiable operations: draw eps = torch.randn_like(mu) "
                                    "(no gradient needed) and return mu + sigma * eps."])
            if mu_g.grad is None or logvar_g.grad is None or logvar_g.grad.abs().sum() == 0:
                return self.failed("no gradient reaches mu or logvar through your sample",
                                   ["Did you .detach() something, use torch.normal(mu, sigma) or "
                                    "sample under torch.no_grad()? The trick is that eps carries "
                                    "the randomness and mu + sigma * eps stays differentiable."])
            if not torch.allclose(mu_g.grad, torch.ones_like(mu)):
                return self.failed("d z / d mu should be 1 for every entry; it is "
                                   f"{mu_g.grad.tolist()}")
        return self.passed("Shape, z = mu when sigma -> 0, mean and standard deviation over "
                           "200 000 draws, and gradients to mu and logvar all as expected.")


ex1 = ReparameterizeExercise(
    1,
    "the reparameterized sample",
    reference=_reparameterize,
    hints=[
        "Draw the randomness separately: eps = torch.randn_like(mu) is N(0, I) with mu's shape.",
        "logvar is log sigma², so sigma = torch.exp(0.5 * logvar).",
        "return mu + sigma * eps: a sample from N(mu, sigma²) through which gradients reach mu "
        "and logvar.",
    ],
    solution="def reparameterize(mu, logvar):\n"
             "    eps = torch.randn_like(mu)         # (B, D) ~ N(0, I)\n"
             "    sigma = torch.exp(0.5 * logvar)    # (B, D)\n"
             "    return mu + sigma * eps            # (B, D)\n",
)


def _vae_loss(x_hat, x, mu, logvar):
    """Reference through torch.distributions: mean over images of -log p(x|z) + KL(q || N(0, I))."""
    rec = -Bernoulli(probs=x_hat, validate_args=False).log_prob(x).reshape(len(x), -1).sum(1)
    q = Normal(mu, torch.exp(0.5 * logvar))
    kl = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    return (rec + kl).mean()


def _kl(mu, logvar):
    return 0.5 * (logvar.exp() + mu**2 - 1 - logvar).sum(-1)


def _case(seed, n=4, d=2):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 28, 28, generator=g)
    x_hat = 0.02 + 0.96 * torch.rand(n, 1, 28, 28, generator=g)
    mu = torch.randn(n, d, generator=g)
    logvar = torch.randn(n, d, generator=g) - 1
    return x_hat, x, mu, logvar


ex2 = FunctionExercise(
    2,
    "the VAE loss in nats per image",
    reference=_vae_loss,
    cases=[
        Case("a batch of 4 images, 2-D latent", *_case(0)),
        Case("posteriors equal to the prior (KL = 0)", *_case(1)[:2], torch.zeros(4, 2),
             torch.zeros(4, 2)),
        Case("a batch of 16 images, 20-D latent", *_case(2, 16, 20)),
        Case("a single image", *_case(3, 1, 2)),
    ],
    mistakes=[
        Mistake("It looks like you used F.binary_cross_entropy's default per-PIXEL mean with a "
                "per-IMAGE KL: that weights the KL 784 times too strongly (the bug notebook 05 "
                "trains on purpose). Sum the reconstruction over the pixels of each image.",
                like=lambda x_hat, x, mu, logvar: F.binary_cross_entropy(x_hat, x)
                + _kl(mu, logvar).mean()),
        Mistake("Your loss is this loss divided by 784 (a per-pixel mean BCE plus the KL divided by "
                "784 per image): the same objective up to a constant, but not in nats per image. "
                "Sum over pixels, average over images only.",
                like=lambda x_hat, x, mu, logvar: _vae_loss(x_hat, x, mu, logvar) / 784),
        Mistake("It looks like you summed over the batch instead of averaging: the loss should not "
                "grow with the batch size (nats per image).",
                like=lambda x_hat, x, mu, logvar: _vae_loss(x_hat, x, mu, logvar) * len(x)),
        Mistake("The KL term looks like it is missing its factor 1/2.",
                like=lambda x_hat, x, mu, logvar: _vae_loss(x_hat, x, mu, logvar)
                + _kl(mu, logvar).mean()),
        Mistake("The KL term looks like it treats logvar as log sigma (not log sigma²).",
                like=lambda x_hat, x, mu, logvar: _vae_loss(x_hat, x, mu, logvar)
                - _kl(mu, logvar).mean() + _kl(mu, 2 * logvar).mean()),
        Mistake("It looks like the KL term is missing: the loss must add KL(q(z|x) || N(0, I)).",
                like=lambda x_hat, x, mu, logvar: _vae_loss(x_hat, x, mu, logvar)
                - _kl(mu, logvar).mean()),
        Mistake("The KL term has the wrong sign: the loss adds the KL (the ELBO subtracts it).",
                like=lambda x_hat, x, mu, logvar: _vae_loss(x_hat, x, mu, logvar)
                - 2 * _kl(mu, logvar).mean()),
    ],
    hints=[
        "Two terms per image, then the mean over the batch: reconstruction (summed over 784 "
        "pixels) + KL (summed over the latent dimensions).",
        "Reconstruction: F.binary_cross_entropy(x_hat, x, reduction='none').reshape(len(x), -1)"
        ".sum(1). KL: 0.5 * (logvar.exp() + mu**2 - 1 - logvar).sum(1).",
        "return (rec + kl).mean(), with rec and kl both of shape (B,).",
    ],
    solution="def vae_loss(x_hat, x, mu, logvar):\n"
             "    bce = F.binary_cross_entropy(x_hat, x, reduction='none')  # (B, 1, 28, 28)\n"
             "    rec = bce.reshape(len(x), -1).sum(1)                       # (B,)\n"
             "    kl = 0.5 * (logvar.exp() + mu**2 - 1 - logvar).sum(1)      # (B,)\n"
             "    return (rec + kl).mean()                                   # nats per image\n",
)
