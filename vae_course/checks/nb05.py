"""Checkers for notebook 05 (the variational autoencoder).

Exercise 1, "the reparameterized sample": ``reparameterize(mu, logvar)`` returns
``z = mu + sigma * eps`` with ``sigma = exp(logvar / 2)`` and ``eps ~ N(0, I)``: ``(B, D) -> (B, D)``,
differentiable with respect to ``mu`` and ``logvar``.

Exercise 2, "the VAE module" (core): ``class VAE(nn.Module)`` with ``encode`` ``(B, 1, 28, 28) ->
(mu, logvar)``, each ``(B, latent_dim)``; ``decode`` ``(B, latent_dim) -> (B, 1, 28, 28)`` in [0, 1];
``forward`` ``-> (x_hat, mu, logvar)``, decoding one reparameterized sample. Checked by behaviour
(``checks.behaviour``), including the sample drawn between ``self.encode`` and ``self.decode``.

Exercise 3, "the VAE loss in nats per image": ``vae_loss(x_hat, x, mu, logvar)`` returns the
negative ELBO averaged over the batch: Bernoulli reconstruction summed over the 784 pixels plus
KL(q(z|x) || N(0, I)) summed over the latent dimensions, both per image, then the mean over images.

Exercise 4, "samples from the prior" (warm-up): ``sample_prior(model, n)`` returns
``model.decode(z)`` for ``z ~ N(0, I)`` of shape ``(n, model.latent_dim)``: ``-> (n, 1, 28, 28)``.

Exercise 5, "the importance-weighted estimate of log p(x)" (stretch): ``log_px_estimate(model, x, K)``
returns ``log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x)``, ``z_k ~ q(z|x)``, per image: ``(B,)`` nats.
Checked statistically on a briefly trained VAE.
"""

import math

import torch
from torch import nn
from torch.distributions import Bernoulli, Normal, kl_divergence
from torch.nn import functional as F

from vae_course.checks.behaviour import (
    N_IMAGES,
    SEED,
    STEPS,
    ProbedExercise,
    ProbeVAE,
    Problem,
    agrees_on_average,
    band_sentence,
    build,
    call,
    check_gaussian_encoder,
    check_sampling,
    expect_estimates,
    expect_gradient_everywhere,
    expect_logvar_free,
    expect_parameter_count,
    expect_probabilities,
    expect_tensor,
    expect_tuple,
    is_affine,
    mnist_slice,
    train_briefly,
    trained_vae,
    vae_objective,
)
from vae_course.checks.core import Case, FunctionExercise, Mistake, describe
from vae_course.checks.rebuild import GaussianModuleExercise, hidden_module_cases
from vae_course.losses import bernoulli_log_likelihood, importance_weighted_bound


def _reparameterize(mu, logvar):
    """Reference: z = mu + exp(logvar / 2) * eps."""
    eps = torch.randn_like(mu)
    return mu + torch.exp(0.5 * logvar) * eps


DRAWS = 200_000  # exercise 1: the draws its mean and standard deviation are measured on


class ReparameterizeExercise(ProbedExercise):
    """Checks a sampler by what must hold for any correct one, not by its random numbers.

    A case is ``Case(name, mu, logvar, mus)``: ``mu`` and ``logvar`` of shape (1, D), ``mus``
    (4, D). :meth:`probe` (what runs the learner's function, in the kernel when graded) returns plain
    tensors: the sample for (mu, logvar); ``DRAWS`` samples for mu and logvar repeated; the sample for
    ``mus`` with logvar = -60; and a sample for (mu, logvar) with the gradients of its sum with
    respect to mu and logvar. :meth:`verdict` (anywhere, the grader's process included) asks:
    1. shape (1, D); 2. the draws' mean is mu and their standard deviation exp(logvar / 2);
    3. logvar -> -inf gives z = mu exactly; 4. d z / d mu = 1 and d z / d logvar = (z - mu) / 2,
    which holds for z = mu + exp(logvar / 2) * eps whatever eps was drawn, and for nothing else that
    passes 1 to 3.
    """

    def probe(self, fn, case):
        mu, logvar, mus = (t.clone() for t in case.args)
        torch.manual_seed(self.seed)
        z = fn(mu.clone(), logvar.clone())
        if z is Ellipsis:
            return z
        if not isinstance(z, torch.Tensor) or z.shape != mu.shape:
            return (z,)
        z = z.detach().clone()
        n, d = DRAWS, mu.shape[1]
        zs = fn(mu.expand(n, d).clone(), logvar.expand(n, d).clone()).detach().clone()
        z0 = fn(mus.clone(), torch.full_like(mus, -60.0)).detach().clone()
        mu_g, logvar_g = mu.clone().requires_grad_(True), logvar.clone().requires_grad_(True)
        zg = fn(mu_g, logvar_g)
        try:
            zg.sum().backward()
            backward_failed = False
        except RuntimeError:  # e.g. "element 0 of tensors does not require grad"
            backward_failed = True
        grads = tuple(torch.zeros(0) if g is None else g.detach().clone()
                      for g in (mu_g.grad, logvar_g.grad))
        return (z, zs, z0, zg.detach().clone(), *grads, backward_failed)

    def verdict(self, case, value, expected):
        mu, logvar, mus = case.args
        d, shown = mu.shape[1], lambda t: "[" + ", ".join(f"{v:.3f}" for v in t) + "]"  # noqa: E731
        tried = f"{case.name}: mu {shown(mu[0])}, logvar {shown(logvar[0])}"
        if not isinstance(value, tuple) or len(value) != 7:
            got = value[0] if isinstance(value, tuple) and value else value
            raise Problem(f"for mu of shape (1, {d}) the result is {describe(got)}; expected "
                               f"a tensor of shape (1, {d}), one sample per row of mu", tried=tried)
        z, zs, z0, zg, grad_mu, grad_logvar, backward_failed = value
        for t, what in ((zs, f"{DRAWS} rows"), (z0, "4 rows"), (zg, "1 row")):
            if not isinstance(t, torch.Tensor) or t.shape[1:] != mu.shape[1:] or t.dim() != 2:
                raise Problem(f"for mu of {what} the result is {describe(t)}", tried=tried)
        mean, std = zs.double().mean(0), zs.double().std(0)
        sigma = torch.exp(0.5 * logvar[0]).double()
        if not torch.allclose(mean, mu[0].double(), atol=0.01 * float(sigma.max()) + 0.01):
            diag = (["Is mu added to the noise term?"]
                    if torch.allclose(mean, torch.zeros(d, dtype=mean.dtype), atol=0.03) else [])
            raise Problem(f"over {DRAWS} draws with mu = {shown(mu[0])} the sample mean is "
                               f"{shown(mean)}, expected mu", diag, tried=tried)
        if not torch.allclose(std, sigma, rtol=0.02):
            lv = logvar[0].double()
            diag = []
            if torch.allclose(std, lv.exp(), rtol=0.02):
                diag.append("It looks like you used exp(logvar) = sigma² as the standard "
                            "deviation: sigma = exp(logvar / 2).")
            elif torch.allclose(std, lv.abs(), rtol=0.02):
                diag.append("It looks like you multiplied eps by logvar itself: it is a "
                            "log-variance; sigma = exp(0.5 * logvar).")
            elif torch.allclose(std, torch.exp(lv / 4), rtol=0.02):
                diag.append("It looks like you took exp(logvar / 4) (a square root too many): "
                            "sigma = exp(logvar / 2).")
            raise Problem(f"with sigma = {shown(sigma)} (logvar = log sigma²) the samples' "
                               f"standard deviation is {shown(std)}", diag, tried=tried)
        if not torch.allclose(z0.double(), mus.double(), atol=1e-6):
            raise Problem("with a vanishing variance (logvar = -60) z must equal mu, but "
                               "it does not", ["Is mu added to the noise term?"], tried=tried)
        no_gradient = ["Did you .detach() something, use torch.normal(mu, sigma) or sample under "
                       "torch.no_grad()? The trick is that eps carries the randomness and "
                       "mu + sigma * eps stays differentiable."]
        if backward_failed is not False:
            raise Problem("backpropagating through your sample failed (z.sum().backward() "
                               "raised: z does not depend on mu and logvar through autograd)",
                               ["The sample must be computed from mu and logvar with "
                                "differentiable operations: draw eps = torch.randn_like(mu) "
                                "(no gradient needed) and return mu + sigma * eps."], tried=tried)
        if grad_mu.shape != mu.shape or grad_logvar.shape != mu.shape or not bool(
                grad_logvar.abs().sum() > 0):
            raise Problem("no gradient reaches mu or logvar through your sample",
                               no_gradient, tried=tried)
        if not torch.allclose(grad_mu, torch.ones_like(mu)):
            raise Problem(f"d z / d mu should be 1 for every entry; it is {shown(grad_mu[0])}",
                               tried=tried)
        want = 0.5 * (zg.double() - mu.double())
        if not torch.allclose(grad_logvar.double(), want, rtol=1e-3, atol=1e-5):
            raise Problem(f"d z / d logvar is {shown(grad_logvar[0])}, but for z = mu + "
                               f"exp(logvar / 2) * eps it is (z - mu) / 2 = {shown(want[0])}",
                               ["sigma = torch.exp(0.5 * logvar) must be computed from logvar "
                                "inside your function, with differentiable operations."],
                               tried=tried)
        draws = f"{DRAWS:,}".replace(",", " ")
        return (f"Shape, z = mu when sigma -> 0, mean and standard deviation over {draws} draws, "
                f"and the gradients to mu and logvar all as expected (tested on: {case.name}).")


def _reparameterize_case(name, mu, sigma, seed):
    g = torch.Generator().manual_seed(seed)
    return Case(name, torch.tensor([mu]), torch.tensor([sigma]).pow(2).log(),
                torch.randn(4, len(mu), generator=g))


def _hidden_ex1(seed):
    """The grader's case for ``seed``: a (1, D) mu with entries of size 1 to 3 (either sign) and
    sigmas exp(±u), u in [0.5, 1.2] (so sigma, sigma² and |logvar| are told apart), D from 2 to 5."""
    g = torch.Generator().manual_seed(seed)
    d = int(torch.randint(2, 6, (), generator=g))
    sign = lambda: torch.randint(0, 2, (d,), generator=g) * 2 - 1  # noqa: E731
    mu = (sign() * (1 + 2 * torch.rand(d, generator=g))).tolist()
    sigma = torch.exp(sign() * (0.5 + 0.7 * torch.rand(d, generator=g))).tolist()
    return [_reparameterize_case(f"hidden case: {d}-D", mu, sigma,
                                 int(torch.randint(0, 2**62, (), generator=g)))]


ex1 = ReparameterizeExercise(
    1,
    "the reparameterized sample",
    reference=_reparameterize,
    cases=[_reparameterize_case("mu = [0, 2, -1], sigma = [1, 0.5, 2]", [0.0, 2.0, -1.0],
                                [1.0, 0.5, 2.0], 0)],
    hidden=_hidden_ex1,
    seed=0,
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
    points=1,
)


# ------------------------------------------------------------------ exercise 2: the VAE module


class VAE(nn.Module):
    """x (B, 1, 28, 28) -> q(z|x) = N(mu, diag exp(logvar)) -> one sample z -> x_hat (B, 1, 28, 28)."""

    def __init__(self, latent_dim=2, hidden=400):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(
            nn.Linear(784, hidden),             # (B, 784) -> (B, 400)
            nn.ReLU(),
            nn.Linear(hidden, 2 * latent_dim),  # (B, 400) -> (B, 2 * latent_dim): mu and logvar
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden),      # (B, latent_dim) -> (B, 400)
            nn.ReLU(),
            nn.Linear(hidden, 784),             # (B, 400) -> (B, 784) logits
        )

    def encode(self, x):
        h = self.encoder(x.reshape(len(x), 784))  # (B, 2 * latent_dim)
        mu, logvar = h.chunk(2, dim=1)            # two (B, latent_dim) halves
        return mu, logvar

    def decode(self, z):
        return torch.sigmoid(self.decoder(z)).reshape(len(z), 1, 28, 28)  # (B, 1, 28, 28)

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # reparameterized sample
        return self.decode(z), mu, logvar


# The training run of the check (behaviour.train_briefly): 300 Adam steps (lr 1e-3, batches of 64
# shuffled with seed 0) on the first 1024 MNIST training images binarized with seed 0, the model
# built right after torch.manual_seed(0); then the negative ELBO on those 1024 images (one sample
# per image, seeded), nats per image. Measured (CPU, torch 2.x; "seeds" vary the build and the run):
# - the reference (this class): 167.6; correct models over 20 seeds (10 of this class, 10 of a
#   class with two Linear heads, pytorch/examples style): 165.2 to 172.3;
# - z detached: 204.3 to 204.6; mu added to nothing (z = sigma * eps): 194.7 to 196.0; mu used for
#   both heads: 180.8 to 183.5; a ReLU on logvar: 178.4 to 179.8; a softplus on logvar: 177.6 to
#   180.1 (4 seeds each);
# - sampling with logvar as the standard deviation: 160.0 to 163.4; with exp(logvar): 167.2 to
#   172.8; decoding mu with no sample: 160.0 to 167.4. The band cannot see these three (the loss
#   still uses the KL of the right sigma, and less noise even lowers it): check_sampling names them,
#   as check_gaussian_encoder names the mu-for-both-heads and ReLU mistakes before any training.
VAE_REFERENCE_LOSS, VAE_OBSERVED, VAE_LIMIT = 167.6, (165.2, 172.3), 176.0
# The layout's parameters: (784·400 + 400) + (400·4 + 4) in the encoder, (2·400 + 400) + (400·784 + 784)
# in the decoder.
VAE_PARAMETERS = 784 * 400 + 400 + 400 * 4 + 4 + 2 * 400 + 400 + 400 * 784 + 784


class VAEExercise(GaussianModuleExercise):
    """The learner's ``VAE`` class, checked by what its instances do; the grader rebuilds it from
    its weights and judges the sample its forward draws from plain data (``checks.rebuild``)."""

    layout = "784 → 400 → 2 + 2 (mu and logvar), 2 → 400 → 784"
    loss_fn = vae_objective
    measured = (VAE_REFERENCE_LOSS, VAE_OBSERVED, VAE_LIMIT)
    what_passed = "your VAE computes the layout's mu, logvar and decoder"

    def behaviour(self, cls):
        x, _ = mnist_slice()
        xb = x[:8]
        model = build(cls, "`VAE(latent_dim=2)`", latent_dim=2)
        mu, _ = check_gaussian_encoder(model, x, 2, "model.encode(x)")
        mu = mu[:8].detach()
        tried = "8 MNIST images x of shape (8, 1, 28, 28), a model built with latent_dim=2"
        x_hat = call("`model.decode(mu)`", model.decode, mu)
        expect_tensor(x_hat, (8, 1, 28, 28), "model.decode(z) for z of shape (8, 2)",
                      "Reshape the decoder's (B, 784) output back into images: "
                      ".reshape(len(z), 1, 28, 28).")
        expect_probabilities(x_hat, "model.decode(z)")
        out = expect_tuple(call("`model(x)`", model, xb), 3, "`model(x)`", "(x_hat, mu, logvar)")
        for t, shape, name in zip(out, [(8, 1, 28, 28), (8, 2), (8, 2)], ["x_hat", "mu", "logvar"]):
            expect_tensor(t, shape, f"{name}, from model(x)")
        expect_probabilities(out[0], "x_hat from model(x)")
        torch.manual_seed(SEED)
        expect_gradient_everywhere(model, vae_objective(model, xb), "negative ELBO")
        model3 = build(cls, "`VAE(latent_dim=3)`", latent_dim=3)
        check_gaussian_encoder(model3, xb, 3, "VAE(latent_dim=3).encode(x)")
        expect_parameter_count(model, VAE_PARAMETERS, "VAE",
                               "784 → 400 → 2 + 2 (mu and logvar), 2 → 400 → 784")
        if is_affine(lambda v: model.encode(v)[0], xb):
            raise Problem("the encoder is affine: mu(2x) - mu(0) = 2 (mu(x) - mu(0))",
                          ["It looks like the ReLU after the encoder's hidden layer is missing."],
                          tried=tried)
        z_wide = 3 * torch.randn(8, 2, generator=torch.Generator().manual_seed(0))
        if is_affine(lambda v: torch.logit(model.decode(v), eps=1e-7), z_wide):
            raise Problem("the decoder's logits are affine in z",
                          ["It looks like the ReLU after the decoder's hidden layer is missing."],
                          tried="codes z = 3 * N(0, I) of shape (8, 2)")
        check_sampling(model, 2, xb)
        loss = train_briefly(model, vae_objective)
        expect_logvar_free(model, x)
        sentence = band_sentence(loss, VAE_REFERENCE_LOSS, VAE_OBSERVED, VAE_LIMIT)
        if not loss < VAE_LIMIT:
            raise Problem(sentence, ["Your VAE trains, but worse than the layout asks for: compare "
                                     "each layer with the docstring."])
        return ("Shapes, pixels in [0, 1], two distinct heads, a sample z = mu + σ·eps with the "
                f"right spread and gradients to mu and logvar; and {sentence}.")


ex2 = VAEExercise(
    2,
    "the VAE module",
    reference=VAE,
    hidden=hidden_module_cases,
    points=3,
    hints=[
        "__init__: self.encoder = Linear(784, hidden), ReLU, Linear(hidden, 2 * latent_dim) (mu and "
        "logvar side by side); self.decoder = Linear(latent_dim, hidden), ReLU, Linear(hidden, 784): "
        "notebook 04's decoder.",
        "encode: h = self.encoder(x.reshape(len(x), 784)); mu, logvar = h.chunk(2, dim=1). No "
        "activation on either half. decode: torch.sigmoid(self.decoder(z)).reshape(len(z), 1, 28, 28).",
        "forward: mu, logvar = self.encode(x); z = reparameterize(mu, logvar); "
        "return self.decode(z), mu, logvar.",
    ],
    solution='''class VAE(nn.Module):
    def __init__(self, latent_dim=2, hidden=400):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(
            nn.Linear(784, hidden),             # (B, 784) -> (B, 400)
            nn.ReLU(),
            nn.Linear(hidden, 2 * latent_dim),  # (B, 400) -> (B, 2 * latent_dim): mu and logvar
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden),      # (B, latent_dim) -> (B, 400)
            nn.ReLU(),
            nn.Linear(hidden, 784),             # (B, 400) -> (B, 784) logits
        )

    def encode(self, x):
        h = self.encoder(x.reshape(len(x), 784))  # (B, 1, 28, 28) -> (B, 2 * latent_dim)
        mu, logvar = h.chunk(2, dim=1)            # two (B, latent_dim) halves
        return mu, logvar

    def decode(self, z):
        return torch.sigmoid(self.decoder(z)).reshape(len(z), 1, 28, 28)  # (B, 1, 28, 28)

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar)            # (B, latent_dim), differentiable
        return self.decode(z), mu, logvar
''',
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


def _hidden_ex3(seed):
    """The grader's cases for ``seed``: the four kinds of exercise 3's cases (a small batch, the
    posteriors equal to the prior, a bigger batch and latent, a single image) by ``_case``, with
    random batch sizes, latent sizes and values."""
    g = torch.Generator().manual_seed(seed)
    s = torch.randint(0, 2**62, (4,), generator=g).tolist()
    n = [int(torch.randint(lo, hi, (), generator=g)) for lo, hi in ((2, 9), (2, 9), (10, 25))]
    d = [int(torch.randint(lo, hi, (), generator=g)) for lo, hi in ((2, 6), (2, 6), (10, 33), (2, 6))]
    return [
        Case(f"hidden case: a batch of {n[0]} images, {d[0]}-D latent", *_case(s[0], n[0], d[0])),
        Case(f"hidden case: {n[1]} posteriors equal to the prior, {d[1]}-D latent (KL = 0)",
             *_case(s[1], n[1], d[1])[:2], torch.zeros(n[1], d[1]), torch.zeros(n[1], d[1])),
        Case(f"hidden case: a batch of {n[2]} images, {d[2]}-D latent", *_case(s[2], n[2], d[2])),
        Case(f"hidden case: a single image, {d[3]}-D latent", *_case(s[3], 1, d[3])),
    ]


ex3 = FunctionExercise(
    3,
    "the VAE loss in nats per image",
    reference=_vae_loss,
    hidden=_hidden_ex3,
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
    points=1,
)


# ------------------------------------------------------------ exercise 4: samples from the prior


def _sample_prior(model, n):
    """Reference: n codes from N(0, I), decoded: (n, latent_dim) -> (n, 1, 28, 28)."""
    return model.decode(torch.randn(n, model.latent_dim))


class PriorSampleExercise(ProbedExercise):
    """``sample_prior(model, n)``: watches the codes it hands to ``model.decode``.

    A case is ``Case(name, seed, latent_dim, n)``: the model is an untrained ``behaviour.ProbeVAE`` of that
    width built from ``torch.manual_seed(seed)``, which the kernel and the grader both build.
    :meth:`probe` (the learner's function, in the kernel when graded) calls it twice and returns
    plain tensors: the images of the first call, the codes each call handed to ``model.decode`` and
    how many times it was called. :meth:`verdict` (the grader's process included) decodes the codes
    with its own copy of the model: the images must be those, and the codes draws from N(0, I),
    fresh at every call.
    """

    def probe(self, fn, case):
        seed, latent, n = case.args
        model = _prior_model(seed, latent)
        seen, decode = [], model.decode

        def watched(z):
            seen.append(z)
            if isinstance(z, torch.Tensor) and tuple(z.shape) == (n, latent):
                return decode(z)
            return torch.zeros(n, 1, 28, 28)  # the judge names the wrong codes

        model.decode = watched
        with torch.no_grad():  # (the base runs probe inside torch.random.fork_rng)
            torch.manual_seed(0)
            images = fn(model, n)
            if images is Ellipsis:
                return images
            fn(model, n)  # a second draw
        codes = [z.detach().clone() if isinstance(z, torch.Tensor) else z for z in seen]
        if isinstance(images, torch.Tensor):
            images = images.detach().clone()
        return (images, len(seen), *codes[:2])

    def verdict(self, case, value, expected):
        seed, latent, n = case.args
        tried = case.name
        if not isinstance(value, tuple) or len(value) < 2:
            raise Problem("the check could not read what your function did", tried=tried)
        images, calls, codes = value[0], value[1], list(value[2:])
        for z in codes:
            if not isinstance(z, torch.Tensor) or tuple(z.shape) != (n, latent):
                hint = ("Take the code size from the model, model.latent_dim, instead of a fixed 2."
                        if isinstance(z, torch.Tensor) and tuple(z.shape) == (n, 2) else
                        "One code per image: z of shape (n, model.latent_dim).")
                raise Problem(f"the codes passed to model.decode are {describe(z)}, expected "
                                   f"shape ({n}, {latent})", [hint], tried=tried)
        if calls != 2:
            raise Problem("sample_prior does not call model.decode exactly once",
                               ["Draw the codes, then return model.decode(z)."], tried=tried)
        z, z_again = codes
        if not isinstance(images, torch.Tensor) or tuple(images.shape) != (n, 1, 28, 28):
            raise Problem(f"sample_prior(model, {n}) is {describe(images)}, expected a "
                               f"tensor of shape ({n}, 1, 28, 28)",
                               ["Return what model.decode(z) returns."], tried=tried)
        with torch.no_grad():
            decoded = _prior_model(seed, latent).decode(z.float())
        if not torch.allclose(images.float(), decoded, atol=1e-5):
            raise Problem("sample_prior does not return the images model.decode(z) drew",
                               ["return model.decode(z)"], tried=tried)
        mean, std = z.double().mean(0), z.double().std(0)
        if not (bool((mean.abs() < 0.1).all()) and bool(((std - 1).abs() < 0.1).all())):
            diagnosis = []
            if bool((std < 1e-6).all()):
                diagnosis = ["Every code is the same: draw them at random, torch.randn."]
            elif bool((z >= 0).all()) and bool((z < 1).all()):
                diagnosis = ["torch.rand draws uniform numbers in [0, 1): the prior is the "
                             "standard normal, torch.randn."]
            raise Problem("the codes do not look like draws from N(0, I): per dimension "
                               f"their mean is {_fmt_list(mean)} and their standard deviation "
                               f"{_fmt_list(std)}", diagnosis, tried=tried)
        if torch.equal(z, z_again):
            raise Problem("two calls decode the very same codes",
                               ["Draw fresh codes at every call (no torch.manual_seed inside the "
                                "function)."], tried=tried)
        return ("Codes of the model's width, mean 0 and standard deviation 1 in every dimension, "
                f"fresh at every call, decoded (tested on: {case.name}).")


def _prior_model(seed: int, latent: int) -> nn.Module:
    """The untrained VAE exercise 4's checks decode with, the same in the kernel and the grader."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ProbeVAE(latent_dim=latent).eval()


def _hidden_ex4(seed):
    """The grader's case for ``seed``: a model of width 2 to 6 built from a seed of its own, and
    3000 to 5000 codes."""
    g = torch.Generator().manual_seed(seed)
    latent = int(torch.randint(2, 7, (), generator=g))
    n = int(torch.randint(3000, 5001, (), generator=g))
    model_seed = int(torch.randint(0, 2**62, (), generator=g))
    return [Case(f"hidden case: n = {n}, an untrained VAE of the checks with latent_dim = {latent}",
                 model_seed, latent, n)]


def _fmt_list(t):
    return "[" + ", ".join(f"{v:.2f}" for v in t.tolist()) + "]"


ex4 = PriorSampleExercise(
    4,
    "samples from the prior",
    reference=_sample_prior,
    cases=[Case("n = 4000, an untrained VAE of the checks with latent_dim = 3 (the width must come from "
                "the model)", SEED, 3, 4000)],
    hidden=_hidden_ex4,
    points=1,
    hints=[
        "A new image is the decoding of a code drawn from the prior N(0, I).",
        "torch.randn(n, model.latent_dim) draws n codes; model.decode turns them into images.",
    ],
    solution="def sample_prior(model, n):\n"
             "    return model.decode(torch.randn(n, model.latent_dim))  # (n, 1, 28, 28)\n",
)


# ------------------------------------------- exercise 5: the importance-weighted estimate of log p(x)


def _log_weights(model, x, K, sigma_of=lambda logvar: torch.exp(0.5 * logvar), prior=True,
                 proposal=True):
    """(K, B) log-weights log p(x|z_k) + log p(z_k) - log q(z_k|x), z_k ~ q(z|x), with
    torch.distributions; the keyword arguments switch on the mistakes the checker recognises."""
    mu, logvar = model.encode(x)                                         # (B, L) each
    q = Normal(mu, sigma_of(logvar))
    z = q.rsample((K,))                                                  # (K, B, L)
    x_hat = model.decode(z.reshape(-1, z.shape[-1]))                     # (K * B, 1, 28, 28)
    log_p_x = bernoulli_log_likelihood(x_hat, x.repeat(K, 1, 1, 1)).reshape(K, len(x))
    log_p_z = Normal(0.0, 1.0).log_prob(z).sum(-1) if prior else 0.0    # (K, B)
    log_q_z = q.log_prob(z).sum(-1) if proposal else 0.0                 # (K, B)
    return log_p_x + log_p_z - log_q_z


def _log_px_estimate(model, x, K):
    """Reference: log (1/K) sum_k w_k, by the package's importance_weighted_bound (logsumexp)."""
    return importance_weighted_bound(_log_weights(model, x, K))


# Wrong estimators, each recognised when the learner's estimates agree with it on average.


class LogLikelihoodEstimateExercise(ProbedExercise):
    """``log_px_estimate(model, x, K)`` checked statistically, on the briefly trained 2-D VAE,
    against an independent estimator (torch.distributions; ``losses.importance_weighted_bound`` is
    the same formula). A case is ``Case(name, indices, ks)``: the images of the checks' MNIST slice
    at ``indices``, and the K values (1, the ELBO, and a larger one)."""

    def probe(self, log_px_estimate, case):
        indices, ks = case.args
        model, x = trained_vae(), mnist_slice()[0][indices]
        out = []
        for K in ks:
            torch.manual_seed(K)
            with torch.no_grad():
                got = log_px_estimate(model, x, K)
            out.append(got.detach().clone() if isinstance(got, torch.Tensor) else got)
        return tuple(out)

    def expect(self, case):
        indices, ks = case.args
        model, x = trained_vae(), mnist_slice()[0][indices]
        expected = {"reference": [], "variants": []}
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(1000)
            expected["reference"] = [self.reference(model, x, K) for K in ks]
            for k, mistake in enumerate(self.mistakes):
                torch.manual_seed(2000 + k)
                expected["variants"].append([mistake.like(model, x, K) for K in ks])
        return expected

    def verdict(self, case, returned, expected):
        indices, ks = case.args
        n = len(indices)
        tried = (f"{case.name}: {n} binarized MNIST images, a 2-D VAE trained for {STEPS} steps "
                 f"(the checks' own VAE), K = {' and K = '.join(str(K) for K in ks)}")
        if not isinstance(returned, tuple) or len(returned) != len(ks):
            raise Problem("the check could not read what your function returned", tried=tried)
        for K, got in zip(ks, returned):
            if isinstance(got, torch.Tensor) and tuple(got.shape) == (K, n):
                raise Problem(f"for K = {K} the result has shape {tuple(got.shape)}: one estimate "
                              "per sample, not per image",
                              ["Combine the K log-weights of each image: logsumexp over dim 0, "
                               "minus log K."], tried=tried)
            expect_estimates(got, n, f"log_px_estimate(model, x, {K})", K, tried,
                             "torch.logsumexp(log_w, dim=0) - log K")
        for j, K in enumerate(ks):
            got, reference = returned[j].float(), expected["reference"][j]
            if agrees_on_average(got, reference):
                continue
            diagnosis = [m.message for m, outputs in zip(self.mistakes, expected["variants"])
                         if agrees_on_average(got, outputs[j])]
            raise Problem(f"with K = {K} your estimates average {got.mean().item():.2f} nats per "
                          f"image; the reference's average {reference.mean().item():.2f}", diagnosis,
                          tried=tried)
        first, last = returned[0].float(), returned[-1].float()
        return (f"On average over {n} images your estimates match the reference's, for K = {ks[0]} "
                f"(the ELBO: {first.mean():.1f} nats) and for K = {ks[-1]} "
                f"({(last - first).mean().item():.2f} nats higher).")


def _hidden_ex5(seed):
    """The grader's case for ``seed``: 256 images drawn from the checks' 1024, K = 1 and K from 30
    to 80."""
    g = torch.Generator().manual_seed(seed)
    indices = torch.randperm(N_IMAGES, generator=g)[:256].sort().values
    K = int(torch.randint(30, 81, (), generator=g))
    return [Case(f"hidden case: 256 images of the 1024, K = 1 and K = {K}", indices, (1, K))]


ex5 = LogLikelihoodEstimateExercise(
    5,
    "the importance-weighted estimate of log p(x)",
    reference=_log_px_estimate,
    cases=[Case("the first 256 images", torch.arange(256), (1, 50))],
    hidden=_hidden_ex5,
    mistakes=[  # run by the judge on the same model and images (ProbedExercise)
        Mistake("It looks like the - log K is missing: the estimate averages the K weights, "
                "log (1/K) sum_k w_k = logsumexp(log_w, dim=0) - log K.",
                like=lambda m, x, K: torch.logsumexp(_log_weights(m, x, K), 0)),
        Mistake("It looks like you averaged the log-weights: that is the K-sample average of the ELBO, "
                "not log p(x). Average the weights themselves: logsumexp(log_w, dim=0) - log K.",
                like=lambda m, x, K: _log_weights(m, x, K).mean(0)),
        Mistake("It looks like q(z|x) uses exp(logvar), the variance, as its standard deviation: "
                "σ = exp(0.5 * logvar).",
                like=lambda m, x, K: torch.logsumexp(_log_weights(m, x, K, sigma_of=lambda lv: lv.exp()),
                                                     0) - math.log(K)),
        Mistake("It looks like the prior term log p(z) is missing from the log-weights: "
                "log w = log p(x|z) + log p(z) - log q(z|x).",
                like=lambda m, x, K: torch.logsumexp(_log_weights(m, x, K, prior=False), 0)
                - math.log(K)),
        Mistake("It looks like the proposal term - log q(z|x) is missing from the log-weights: "
                "log w = log p(x|z) + log p(z) - log q(z|x).",
                like=lambda m, x, K: torch.logsumexp(_log_weights(m, x, K, proposal=False), 0)
                - math.log(K)),
    ],
    points=2,
    hints=[
        "Draw K codes per image from q(z|x): mu, logvar = model.encode(x); z = mu + sigma * eps "
        "with eps = torch.randn(K, *mu.shape), so z is (K, B, L).",
        "Decode all K * B codes at once (z.reshape(-1, L)) and compare each with its own image, "
        "x.repeat(K, 1, 1, 1); log p(z) and log q(z|x) come from torch.distributions.Normal(...)"
        ".log_prob(z).sum(-1).",
        "log_w = log_p_x_given_z + log_p_z - log_q_z, shape (K, B); return "
        "torch.logsumexp(log_w, dim=0) - math.log(K) (or losses.importance_weighted_bound(log_w)).",
    ],
    solution='''def log_px_estimate(model, x, K):
    mu, logvar = model.encode(x)                                   # (B, L) each
    sigma = torch.exp(0.5 * logvar)
    z = mu + sigma * torch.randn(K, *mu.shape)                     # (K, B, L): K codes per image
    x_hat = model.decode(z.reshape(-1, mu.shape[1]))               # (K * B, 1, 28, 28)
    log_p_x = losses.bernoulli_log_likelihood(x_hat, x.repeat(K, 1, 1, 1)).reshape(K, len(x))
    log_p_z = Normal(0.0, 1.0).log_prob(z).sum(-1)                 # (K, B)
    log_q_z = Normal(mu, sigma).log_prob(z).sum(-1)                # (K, B)
    log_w = log_p_x + log_p_z - log_q_z                            # (K, B) log-weights
    return losses.importance_weighted_bound(log_w)                 # (B,): logsumexp - log K
''',
)
