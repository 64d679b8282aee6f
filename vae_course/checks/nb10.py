"""Checkers for notebook 10 (one-to-many prediction with a CVAE, and the M2 model from 100 labels).

Exercise 1, "the conditional log-likelihood by importance sampling":
``cll_estimate(log_lik, z, prior_mu, prior_logvar, q_mu, q_logvar)`` returns
``log (1/K) sum_k p(x_h | x_v, z_k) p(z_k | x_v) / q(z_k | x_v, x_h)``: ``log_lik`` ``(K, B)``, codes
``z`` ``(K, B, L)``, the prior network's and the recognition network's Gaussians as means and
log-variances ``(B, L)`` -> ``(B,)``.
Exercise 2, "the entropy of q(y|x)": ``entropy(logits)``, ``(B, C)`` -> ``(B,)`` in nats.
Exercise 3, "the unlabelled loss with y summed out": ``m2_unlabelled_loss(model, x)`` returns the
batch mean of ``sum_y q(y|x) L(x, y) - H(q(y|x))`` as a tensor the training loop can call
``backward()`` on; checked on small M2 models of random weights (the loss's value and the gradient it
gives every weight, the classifier's included). The checks' model computes ``L(x, y)`` with ``z`` at
the posterior mean, so the order in which an answer asks for the ten labels does not change a number.
"""

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from vae_course.checks.core import Case, FunctionExercise, Mistake
from vae_course.checks.loss_check import compare_losses, loss_outcome

# ---------------------------------------------------------------------------------------------------
# Exercise 1


def _log_normal64(z, mu, logvar):
    """log N(z; mu, diag(exp(logvar))) summed over the last dim, in float64, by torch.distributions."""
    normal = torch.distributions.Normal(mu.double(), (0.5 * logvar.double()).exp())
    return normal.log_prob(z.double()).sum(-1)


def _cll_reference(log_lik, z, prior_mu, prior_logvar, q_mu, q_logvar):
    log_w = log_lik.double() + _log_normal64(z, prior_mu, prior_logvar) - _log_normal64(z, q_mu, q_logvar)
    return (torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])).to(log_lik.dtype)


def _cll_variant(proposal_as_prior=False, average_logs=False, no_mean=False, swapped=False,
                 std_is_logvar=False):
    def cll_estimate(log_lik, z, prior_mu, prior_logvar, q_mu, q_logvar):
        def log_normal(z, mu, logvar):
            std = logvar.exp() if std_is_logvar else (0.5 * logvar).exp()
            return torch.distributions.Normal(mu, std).log_prob(z).sum(-1)
        log_p = log_normal(z, q_mu, q_logvar) if proposal_as_prior else log_normal(z, prior_mu, prior_logvar)
        log_q = log_normal(z, q_mu, q_logvar)
        log_w = log_lik + (log_q - log_p if swapped else log_p - log_q)
        if average_logs:
            return log_w.mean(dim=0)
        return torch.logsumexp(log_w, dim=0) - (0.0 if no_mean else math.log(log_w.shape[0]))
    return cll_estimate


def _cll_inputs(g, K, n, L, spread=1.0):
    prior_mu, q_mu = torch.randn(n, L, generator=g), torch.randn(n, L, generator=g)
    prior_logvar = 0.5 * torch.randn(n, L, generator=g)
    q_logvar = -1.0 + 0.5 * torch.randn(n, L, generator=g)
    z = q_mu + (0.5 * q_logvar).exp() * torch.randn(K, n, L, generator=g)      # codes from q
    log_lik = -200.0 * torch.rand(n, generator=g) - spread * 20 * torch.rand(K, n, generator=g)
    return log_lik, z, prior_mu, prior_logvar, q_mu, q_logvar


def _cases_ex1():
    g = torch.Generator().manual_seed(10)
    same = list(_cll_inputs(g, 6, 3, 2))
    same[4], same[5] = same[2].clone(), same[3].clone()                          # q equal to the prior
    return [Case("K = 5 codes for 3 images, a 2-D code", *_cll_inputs(g, 5, 3, 2)),
            Case("K = 20 codes for 4 images, a 16-D code", *_cll_inputs(g, 20, 4, 16)),
            Case("K = 1 code for 2 images", *_cll_inputs(g, 1, 2, 3)),
            Case("K = 6, q equal to the prior", *same)]


def _hidden_ex1(seed):
    """The grader's cases for ``seed``: the kinds of ``_cases_ex1`` with random K, batch and code
    sizes and values."""
    g = torch.Generator().manual_seed(seed)
    K, n, L = (int(torch.randint(lo, hi, (), generator=g)) for lo, hi in ((3, 30), (2, 6), (2, 12)))
    K1, n1 = int(torch.randint(2, 9, (), generator=g)), int(torch.randint(2, 5, (), generator=g))
    same = list(_cll_inputs(g, K1, n1, L))
    same[4], same[5] = same[2].clone(), same[3].clone()
    return [Case(f"hidden case: K = {K} codes for {n} images, a {L}-D code", *_cll_inputs(g, K, n, L)),
            Case(f"hidden case: K = 1 code for {n1} images", *_cll_inputs(g, 1, n1, L)),
            Case(f"hidden case: K = {K1}, q equal to the prior", *same)]


ex1 = FunctionExercise(
    1,
    "the conditional log-likelihood by importance sampling",
    reference=_cll_reference,
    cases=_cases_ex1(),
    hidden=_hidden_ex1,
    rtol=1e-4, atol=1e-3,
    mistakes=[
        Mistake("It looks like the codes are scored under q in place of the prior network: the prior "
                "term and the proposal cancel, and what remains is the reconstruction of codes that "
                "saw the hidden pixels. The weight is p(x_h | x_v, z) p(z | x_v) / q(z | x_v, x_h): the "
                "recognition network may propose codes, but the model's probability of a code is the "
                "prior network's.", like=_cll_variant(proposal_as_prior=True)),
        Mistake("It looks like you averaged the log-weights: that is the ELBO, a looser bound. The "
                "estimate averages the weights themselves, log (1/K) sum_k w_k: torch.logsumexp over "
                "the K codes, minus log K.", like=_cll_variant(average_logs=True)),
        Mistake("It looks like the weights are summed, not averaged: subtract log K after the "
                "logsumexp.", like=_cll_variant(no_mean=True)),
        Mistake("It looks like prior and proposal are swapped: the weight is the prior density over "
                "q's, log w = log p(x_h|x_v,z) + log p(z|x_v) - log q(z|x_v,x_h).",
                like=_cll_variant(swapped=True)),
        Mistake("It looks like exp(logvar) was used as the standard deviation: it is the variance, "
                "so the standard deviation is exp(0.5 * logvar).", like=_cll_variant(std_is_logvar=True)),
    ],
    hints=[
        "log w_k = log_lik + log N(z_k; prior_mu, exp(prior_logvar)) - log N(z_k; q_mu, exp(q_logvar)), "
        "each Gaussian log-density summed over the last dim of z: (K, B).",
        "A Gaussian log-density per coordinate: -0.5 * (log(2 pi) + logvar + (z - mu)**2 / exp(logvar)); "
        "mu and logvar (B, L) broadcast against z (K, B, L).",
        "return torch.logsumexp(log_w, dim=0) - math.log(K), with K = log_w.shape[0]",
    ],
    solution=("def cll_estimate(log_lik, z, prior_mu, prior_logvar, q_mu, q_logvar):\n"
              "    def log_normal(z, mu, logvar):  # (K, B, L) -> (K, B)\n"
              "        per_coordinate = math.log(2 * math.pi) + logvar + (z - mu) ** 2 / logvar.exp()\n"
              "        return -0.5 * per_coordinate.sum(dim=-1)\n"
              "    log_w = log_lik + log_normal(z, prior_mu, prior_logvar) - log_normal(z, q_mu, q_logvar)\n"
              "    return torch.logsumexp(log_w, dim=0) - math.log(len(log_w))  # (B,)\n"),
    points=2,
)

# ---------------------------------------------------------------------------------------------------
# Exercise 2


def _entropy_reference(logits):
    return torch.distributions.Categorical(logits=logits.double()).entropy().to(logits.dtype)


def _entropy_variant(sign=-1.0, logits_as_logs=False, bits=False, reduce="sum", dim=-1):
    def entropy(logits):
        q = logits.softmax(dim=dim)
        log_q = logits if logits_as_logs else logits.log_softmax(dim=dim)
        terms = q * log_q
        h = sign * (terms.sum(dim=-1) if reduce == "sum" else terms.mean(dim=-1))
        return h / math.log(2) if bits else h
    return entropy


def _cases_ex2():
    g = torch.Generator().manual_seed(2)
    sure = torch.tensor([[0.0, -200.0, -200.0], [-200.0, -200.0, 0.0]])
    return [Case("2 images, all 10 logits 0 (uniform: log 10 nats)", torch.zeros(2, 10)),
            Case("4 images, random logits", 3 * torch.randn(4, 10, generator=g)),
            Case("2 images, 3 classes, one logit 200 above the others (certain)", sure)]


def _hidden_ex2(seed):
    """The grader's cases for ``seed``: uniform logits, random logits, and near-certain ones, with
    random batch sizes, class counts and values."""
    g = torch.Generator().manual_seed(seed)
    n, C = int(torch.randint(2, 7, (), generator=g)), int(torch.randint(3, 12, (), generator=g))
    level = float(torch.randn((), generator=g))
    sure = torch.full((n, C), -150.0 - 100 * float(torch.rand((), generator=g)))
    sure[torch.arange(n), torch.randint(0, C, (n,), generator=g)] = 0.0
    return [Case(f"hidden case: {n} images, {C} equal logits", torch.full((n, C), level)),
            Case(f"hidden case: {n} images, {C} random logits", 3 * torch.randn(n, C, generator=g)),
            Case(f"hidden case: {n} images, {C} classes, one certain", sure)]


ex2 = FunctionExercise(
    2,
    "the entropy of q(y|x)",
    reference=_entropy_reference,
    cases=_cases_ex2(),
    hidden=_hidden_ex2,
    rtol=1e-4, atol=1e-5,
    mistakes=[
        Mistake("It looks like the sign is missing: the entropy is -sum_y q log q, which is >= 0 "
                "(log 10 for ten equal logits).", like=_entropy_variant(sign=1.0)),
        Mistake("It looks like the logits were used as log-probabilities: they are not normalised. "
                "Take log q = logits.log_softmax(dim=-1).", like=_entropy_variant(logits_as_logs=True)),
        Mistake("It looks like the entropy is in bits: the course measures in nats (natural log), "
                "log 10 for ten equal logits.", like=_entropy_variant(bits=True)),
        Mistake("It looks like you averaged over the classes: the entropy sums -q log q over them.",
                like=_entropy_variant(reduce="mean")),
        Mistake("It looks like the softmax runs over the batch (dim=0): q(y|x) normalises over the "
                "classes of each image, dim=-1.", like=_entropy_variant(dim=0)),
        Mistake("Your result has nan where a probability underflows to 0: log(softmax(...)) gives "
                "-inf there, and 0 * -inf is nan. Take log q from logits.log_softmax(dim=-1).",
                when=lambda got, expected: torch.is_tensor(got) and bool(torch.isnan(got).any())),
    ],
    hints=[
        "log_q = logits.log_softmax(dim=-1) is (B, C); q = log_q.exp().",
        "The entropy is -(q * log_q) summed over the classes, dim=-1: one number per image.",
        "return -(log_q.exp() * log_q).sum(dim=-1)",
    ],
    solution=("def entropy(logits):\n"
              "    log_q = logits.log_softmax(dim=-1)          # (B, C)\n"
              "    return -(log_q.exp() * log_q).sum(dim=-1)   # (B,)\n"),
    points=1,
)

# ---------------------------------------------------------------------------------------------------
# Exercise 3


class ProbeM2(nn.Module):
    """A small M2 for the checks: ``classify(x)`` -> logits ``(B, 10)``; ``labelled_neg_elbo(x, y)``
    -> ``L(x, y)`` ``(B,)`` with ``z`` at the posterior mean (no random draw), reconstruction in nats
    plus KL(q(z|x,y) || N(0, I)) plus log 10."""

    def __init__(self, latent_dim=2, hidden=16):
        super().__init__()
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.Tanh(),
                                        nn.Linear(hidden, 10))
        self.encoder = nn.Sequential(nn.Linear(784 + 10, hidden), nn.Tanh(),
                                     nn.Linear(hidden, 2 * latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim + 10, hidden), nn.Tanh(), nn.Linear(hidden, 784))

    def classify(self, x):
        return self.classifier(x)

    def labelled_neg_elbo(self, x, y):
        one_hot = F.one_hot(y.long(), 10).to(x.dtype)
        mu, logvar = self.encoder(torch.cat([x.flatten(1), one_hot], dim=1)).chunk(2, dim=1)
        logits = self.decoder(torch.cat([mu, one_hot], dim=1))
        rec = F.binary_cross_entropy_with_logits(logits, x.flatten(1), reduction="none").sum(dim=1)
        kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(dim=1)
        return rec + kl + math.log(10)


def _all_labels(model, x):
    """L(x, y) for every label, (B, 10), and the logits of q(y|x), (B, 10)."""
    neg_elbo = torch.stack([model.labelled_neg_elbo(x, torch.full((len(x),), k, dtype=torch.long))
                            for k in range(10)], dim=1)
    return neg_elbo, model.classify(x)


def _unlabelled_reference(model, x):
    neg_elbo, logits = _all_labels(model, x)
    log_q = logits.double().log_softmax(dim=-1)
    q = log_q.exp()
    return ((q * neg_elbo.double()).sum(dim=1) + (q * log_q).sum(dim=1)).mean()


def _unlabelled_variant(entropy=-1.0, weights="q", reduce="mean"):
    def m2_unlabelled_loss(model, x):
        neg_elbo, logits = _all_labels(model, x)
        log_q = logits.log_softmax(dim=-1)
        q = log_q.exp()
        w = {"q": q, "uniform": torch.full_like(q, 0.1), "detached": q.detach(),
             "argmax": F.one_hot(logits.argmax(dim=1), 10).to(q.dtype)}[weights]
        per_image = (w * neg_elbo).sum(dim=1) + entropy * (-(q * log_q).sum(dim=1))
        return per_image.mean() if reduce == "mean" else per_image.sum()
    return m2_unlabelled_loss


class M2LossExercise(FunctionExercise):
    """The unlabelled loss of an M2 model: each case computes it on a fresh copy of the case's model
    and compares its value and the gradient it gives every parameter with the reference's (the form
    of ``checks.loss_check``, as notebook 09's loss exercise)."""

    def _call(self, fn, case):
        model, x = copy.deepcopy(case.args)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            loss = fn(model, x)
        return loss_outcome(loss, model)


def _m2_case(name, seed, n, latent_dim):
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ProbeM2(latent_dim=latent_dim)
        for layer in model.classifier.modules():  # a classifier unsure of most images, sure of some
            if isinstance(layer, nn.Linear):
                layer.weight.data.mul_(4.0)
    x = (torch.rand(n, 1, 28, 28, generator=g) < 0.25).float()    # binary images
    return Case(name, model, x)


def _cases_ex3():
    return [_m2_case("6 binary images, an M2 with a 2-D code, random weights", 3, 6, 2),
            _m2_case("3 images, a 4-D code", 8, 3, 4)]


def _hidden_ex3(seed):
    """The grader's cases for ``seed``: like ``_cases_ex3``, with the models, images, batch sizes and
    code sizes drawn from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    n = torch.randint(2, 9, (2,), generator=g).tolist()
    L = torch.randint(2, 6, (2,), generator=g).tolist()
    base = int(torch.randint(0, 2**31 - 2, (), generator=g))
    return [_m2_case(f"hidden case: {n[k]} binary images, an M2 with a {L[k]}-D code", base + 7 * k,
                     n[k], L[k])
            for k in range(2)]


ex3 = M2LossExercise(
    3,
    "the unlabelled loss with y summed out",
    reference=_unlabelled_reference,
    cases=_cases_ex3(),
    hidden=_hidden_ex3,
    compare=compare_losses,
    mistakes=[
        Mistake("It looks like the entropy of q(y|x) is missing: without it the loss is lowest when "
                "q(y|x) puts everything on the one label with the smallest L(x, y), whatever the "
                "digit (still a bound on -log p(x), but a looser one). Subtract H(q(y|x)) per image.",
                like=_unlabelled_variant(entropy=0.0)),
        Mistake("It looks like the entropy is added: the loss is sum_y q(y|x) L(x, y) MINUS "
                "H(q(y|x)) (the bound on log p(x) adds it, the loss is the bound's negative).",
                like=_unlabelled_variant(entropy=1.0)),
        Mistake("It looks like L(x, y) is weighted by the uniform p(y) = 1/10: the labels are summed "
                "out under the classifier, q(y|x), which is how unlabelled images train it.",
                like=_unlabelled_variant(weights="uniform")),
        Mistake("It looks like L(x, y) is weighted by the most probable label only: weight every "
                "label by q(y|x).", like=_unlabelled_variant(weights="argmax")),
        Mistake("It looks like q(y|x) is detached where it weights L(x, y): the value is right, but "
                "then unlabelled images teach the classifier nothing through that term. Keep its "
                "graph.", like=_unlabelled_variant(weights="detached")),
        Mistake("It looks like the loss is summed over the batch: take the mean over the images.",
                like=_unlabelled_variant(reduce="sum")),
    ],
    hints=[
        "logits = model.classify(x) (B, 10); q = logits.softmax(dim=-1). For each label k, "
        "model.labelled_neg_elbo(x, torch.full((len(x),), k)) is L(x, k), (B,).",
        "Stack the ten into (B, 10); (q * neg_elbo).sum(dim=1) is sum_y q(y|x) L(x, y), (B,).",
        "Subtract the entropy -(q * logits.log_softmax(-1)).sum(dim=1) and return the mean over the batch.",
    ],
    solution=("def m2_unlabelled_loss(model, x):\n"
              "    logits = model.classify(x)                           # (B, 10)\n"
              "    log_q = logits.log_softmax(dim=-1)                   # (B, 10): log q(y|x)\n"
              "    neg_elbo = torch.stack([model.labelled_neg_elbo(x, torch.full((len(x),), k))\n"
              "                            for k in range(10)], dim=1)   # (B, 10): L(x, y)\n"
              "    expected = (log_q.exp() * neg_elbo).sum(dim=1)       # (B,)\n"
              "    entropy = -(log_q.exp() * log_q).sum(dim=1)          # (B,)\n"
              "    return (expected - entropy).mean()\n"),
    points=3,
)
