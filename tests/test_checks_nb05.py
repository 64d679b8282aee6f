"""Notebook 05's exercises: the reparameterized sample, the VAE module, the VAE loss in nats per image,
samples from the prior and the importance-weighted estimate of log p(x)."""


import pytest
import solved_cells
import torch
from torch import nn
from torch.distributions import Normal
from torch.nn import functional as F

from vae_course import losses
from vae_course.checks import nb05
from vae_course.checks.core import FAILED, NOT_ATTEMPTED, PASSED
from vae_course.checks.nb05 import ex1, ex2, ex3, ex4, ex5
from vae_course.instructor.student import strip_solutions
from vae_course.losses import neg_elbo

SAMPLE = '''import torch
# Exercise 1: the reparameterized sample
def reparameterize(mu, logvar):
    ### BEGIN SOLUTION
    eps = torch.randn_like(mu)
    return mu + torch.exp(0.5 * logvar) * eps
    ### END SOLUTION
'''

LOSS = '''import torch
from torch.nn import functional as F
# Exercise 3: the VAE loss in nats per image
def vae_loss(x_hat, x, mu, logvar):
    ### BEGIN SOLUTION
    rec = F.binary_cross_entropy(x_hat, x, reduction="none").reshape(len(x), -1).sum(1)
    kl = 0.5 * (logvar.exp() + mu**2 - 1 - logvar).sum(1)
    return (rec + kl).mean()
    ### END SOLUTION
'''


def define(source, name, **names):
    namespace = {"torch": torch, "nn": nn, "F": F, **names}
    exec(source, namespace)
    return namespace[name]


def exercise_cell(number):
    return solved_cells.exercise_cell('05_vae.ipynb', number)


def kl(mu, logvar):
    return 0.5 * (logvar.exp() + mu**2 - 1 - logvar).sum(1)


def test_reference_sampler_and_other_right_forms_pass():
    assert ex1.check(define(SAMPLE, "reparameterize"))
    assert ex1.check(lambda mu, logvar: mu + logvar.mul(0.5).exp() * torch.randn(mu.shape))
    assert ex1.check(lambda mu, logvar: torch.distributions.Normal(mu, (0.5 * logvar).exp()).rsample())


def test_untouched_sampler_is_not_attempted():
    assert ex1.check(define(strip_solutions(SAMPLE), "reparameterize")).status == NOT_ATTEMPTED


@pytest.mark.parametrize("answer, named", [
    (lambda mu, logvar: mu + logvar.exp() * torch.randn_like(mu), "exp(logvar) = sigma²"),
    (lambda mu, logvar: mu + logvar * torch.randn_like(mu), "multiplied eps by logvar"),
    (lambda mu, logvar: torch.exp(0.5 * logvar) * torch.randn_like(mu), "Is mu added"),
    (lambda mu, logvar: (mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)).detach(), "gradient"),
    (lambda mu, logvar: torch.normal(mu.detach(), torch.exp(0.5 * logvar).detach()), "gradient"),
    (lambda mu, logvar: mu[:, :1], "shape (1, 3)"),
])
def test_sampler_mistakes_are_named(answer, named):
    result = ex1.check(answer)
    assert result.status == FAILED and named in result.message


def test_reference_loss_passes_and_agrees_with_the_package():
    assert ex3.check(define(LOSS, "vae_loss"))
    assert ex3.check(neg_elbo)


def test_untouched_loss_is_not_attempted():
    assert ex3.check(define(strip_solutions(LOSS), "vae_loss")).status == NOT_ATTEMPTED


def rec(x_hat, x):
    return F.binary_cross_entropy(x_hat, x, reduction="none").reshape(len(x), -1).sum(1)


@pytest.mark.parametrize("answer, named", [
    (lambda x_hat, x, mu, lv: F.binary_cross_entropy(x_hat, x) + kl(mu, lv).mean(), "784 times"),
    (lambda x_hat, x, mu, lv: F.binary_cross_entropy(x_hat, x) + kl(mu, lv).sum() / (784 * len(x)),
     "up to a constant"),
    (lambda x_hat, x, mu, lv: (rec(x_hat, x) + kl(mu, lv)).sum(), "summed over the batch"),
    (lambda x_hat, x, mu, lv: (rec(x_hat, x) + 2 * kl(mu, lv)).mean(), "factor 1/2"),
    (lambda x_hat, x, mu, lv: rec(x_hat, x).mean(), "KL term is missing"),
    (lambda x_hat, x, mu, lv: (rec(x_hat, x) - kl(mu, lv)).mean(), "wrong sign"),
    (lambda x_hat, x, mu, lv: (rec(x_hat, x) + kl(mu, 2 * lv)).mean(), "log sigma"),
])
def test_loss_mistakes_are_named(answer, named):
    result = ex3.check(answer)
    assert result.status == FAILED and named in result.message


# ------------------------------------------------------------------------ exercise 2: the VAE

MODULE = exercise_cell(2)
VAE = define(MODULE, "VAE", reparameterize=nb05._reparameterize)


def test_the_solved_vae_passes_and_trains_into_the_band():
    result = ex2.check(VAE)
    assert result.status == PASSED
    assert abs(solved_cells.reached(result.message) - nb05.VAE_REFERENCE_LOSS) < 1.0  # the reference itself


def test_the_untouched_vae_is_not_attempted():
    untouched = strip_solutions(MODULE)
    assert untouched.count("raise NotImplementedError()") == 4
    result = ex2.check(define(untouched, "VAE", reparameterize=nb05._reparameterize))
    assert result.status == NOT_ATTEMPTED and "`__init__` still raises" in result.message


def test_a_vae_whose_forward_uses_an_unwritten_reparameterize_is_not_attempted():
    def unwritten(mu, logvar):
        # YOUR CODE HERE
        raise NotImplementedError()

    result = ex2.check(define(MODULE, "VAE", reparameterize=unwritten))
    assert result.status == NOT_ATTEMPTED and "`unwritten` still raises" in result.message


class TwoHeads(nn.Module):  # another correct layout: pytorch/examples' VAE, decoder built first
    def __init__(self, latent_dim=2, hidden=400):
        super().__init__()
        self.fc3, self.fc4 = nn.Linear(latent_dim, hidden), nn.Linear(hidden, 784)
        self.fc1 = nn.Linear(784, hidden)
        self.fc21, self.fc22 = nn.Linear(hidden, latent_dim), nn.Linear(hidden, latent_dim)

    def encode(self, x):
        h = F.relu(self.fc1(x.view(-1, 784)))
        return self.fc21(h), self.fc22(h)

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))).view(-1, 1, 28, 28)

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).rsample()
        return self.decode(z), mu, logvar


def test_a_vae_with_two_heads_and_rsample_passes_too():
    assert ex2.check(TwoHeads).status == PASSED


def sampling(rule):
    class Sampled(VAE):
        def forward(self, x):
            mu, logvar = self.encode(x)
            return self.decode(rule(mu, logvar)), mu, logvar
    return Sampled


class MuForBoth(TwoHeads):
    def encode(self, x):
        h = F.relu(self.fc1(x.view(-1, 784)))
        return self.fc21(h), self.fc21(h)


class ReLUOnLogvar(TwoHeads):
    def encode(self, x):
        h = F.relu(self.fc1(x.view(-1, 784)))
        return self.fc21(h), F.relu(self.fc22(h))


class SoftplusOnLogvar(TwoHeads):  # never exactly 0: seen only after training
    def encode(self, x):
        h = F.relu(self.fc1(x.view(-1, 784)))
        return self.fc21(h), F.softplus(self.fc22(h))


class SplitAlongTheBatch(VAE):
    def encode(self, x):
        return self.encoder(x.reshape(len(x), 784)).chunk(2, dim=0)


class InlineForward(VAE):  # never calls self.encode / self.decode
    def forward(self, x):
        mu, logvar = self.encoder(x.reshape(len(x), 784)).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return torch.sigmoid(self.decoder(z)).reshape(len(x), 1, 28, 28), mu, logvar


@pytest.mark.parametrize("answer, named", [
    (sampling(lambda mu, lv: (mu + torch.exp(0.5 * lv) * torch.randn_like(mu)).detach()),
     "z is detached"),
    (sampling(lambda mu, lv: torch.normal(mu, torch.exp(0.5 * lv))), "z is detached"),
    (sampling(lambda mu, lv: mu + lv * torch.randn_like(mu)), "logvar as the standard deviation"),
    (sampling(lambda mu, lv: mu + lv.exp() * torch.randn_like(mu)), "the variance, as the standard"),
    (sampling(lambda mu, lv: torch.exp(0.5 * lv) * torch.randn_like(mu)), "Is mu added"),
    (sampling(lambda mu, lv: mu), "no sample is drawn"),
    (MuForBoth, "mu is used for both heads"),
    (ReLUOnLogvar, "a ReLU is applied to logvar"),
    (SoftplusOnLogvar, "Is an activation (ReLU, softplus, exp) applied to the logvar head?"),
    (SplitAlongTheBatch, "the split is along the batch"),
    (InlineForward, "forward does not call self.encode and self.decode"),
])
def test_vae_mistakes_are_named(answer, named):
    result = ex2.check(answer)
    assert result.status == FAILED and named in result.message, result.message


def test_a_vae_that_trains_short_of_the_band_fails_with_the_numbers(monkeypatch):
    monkeypatch.setattr(nb05, "VAE_LIMIT", 160.0)
    result = ex2.check(define(MODULE, "VAE", reparameterize=nb05._reparameterize))
    assert result.status == FAILED and "less than 160" in result.message


# ------------------------------------------------------------ exercise 4: samples from the prior

SAMPLE_PRIOR = exercise_cell(4)


def test_the_solved_prior_sampler_passes():
    assert ex4.check(define(SAMPLE_PRIOR, "sample_prior")).status == PASSED
    assert ex4.check(lambda model, n: model.decode(torch.normal(0.0, 1.0, (n, model.latent_dim))))


def test_the_untouched_prior_sampler_is_not_attempted():
    untouched = strip_solutions(SAMPLE_PRIOR)
    assert "raise NotImplementedError()" in untouched
    assert ex4.check(define(untouched, "sample_prior")).status == NOT_ATTEMPTED


def reseeded(model, n):
    torch.manual_seed(0)
    return model.decode(torch.randn(n, model.latent_dim))


@pytest.mark.parametrize("answer, named", [
    (lambda model, n: model.decode(torch.randn(n, 2)), "model.latent_dim, instead of a fixed 2"),
    (lambda model, n: model.decode(torch.rand(n, model.latent_dim)), "torch.rand draws uniform"),
    (lambda model, n: model.decode(torch.zeros(n, model.latent_dim)), "Every code is the same"),
    (reseeded, "Draw fresh codes at every call"),
    (lambda model, n: torch.randn(n, model.latent_dim), "then return model.decode(z)"),
])
def test_prior_sampler_mistakes_are_named(answer, named):
    result = ex4.check(answer)
    assert result.status == FAILED and named in result.message, result.message


# ---------------------------------------------- exercise 5: the importance-weighted estimate

LOG_PX = exercise_cell(5)
NAMES = {"losses": losses, "Normal": Normal}


def test_the_solved_log_likelihood_estimate_passes():
    assert ex5.check(define(LOG_PX, "log_px_estimate", **NAMES)).status == PASSED


def test_the_untouched_log_likelihood_estimate_is_not_attempted():
    untouched = strip_solutions(LOG_PX)
    assert "raise NotImplementedError()" in untouched
    assert ex5.check(define(untouched, "log_px_estimate", **NAMES)).status == NOT_ATTEMPTED


def log_weights(model, x, K, sigma=lambda logvar: torch.exp(0.5 * logvar), prior=True):
    mu, logvar = model.encode(x)
    q = Normal(mu, sigma(logvar))
    z = q.sample((K,))                                                     # (K, B, L)
    x_hat = model.decode(z.reshape(-1, mu.shape[1])).reshape(K, *x.shape)
    log_p_x = -F.binary_cross_entropy(x_hat, x.expand_as(x_hat), reduction="none").flatten(2).sum(-1)
    log_p_z = Normal(0.0, 1.0).log_prob(z).sum(-1) if prior else 0.0
    return log_p_x + log_p_z - q.log_prob(z).sum(-1)                       # (K, B)


@pytest.mark.parametrize("answer, named", [
    (lambda m, x, K: torch.logsumexp(log_weights(m, x, K), 0), "the - log K is missing"),
    (lambda m, x, K: log_weights(m, x, K).mean(0), "you averaged the log-weights"),
    (lambda m, x, K: torch.log(log_weights(m, x, K).exp().mean(0)), "underflow to 0 in float32"),
    (lambda m, x, K: losses.importance_weighted_bound(log_weights(m, x, K, prior=False)),
     "the prior term log p(z) is missing"),
    (lambda m, x, K: losses.importance_weighted_bound(log_weights(m, x, K, sigma=torch.exp)),
     "uses exp(logvar), the variance"),
    (lambda m, x, K: log_weights(m, x, K), "one estimate per sample, not per image"),
])
def test_log_likelihood_estimate_mistakes_are_named(answer, named):
    result = ex5.check(answer)
    assert result.status == FAILED and named in result.message, result.message
