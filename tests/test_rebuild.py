"""The grader's verdict on model exercises (``vae_course.checks.rebuild``): the learner's class is
run by the probe (as in a graded kernel), what it returned crosses ``wire`` as numbers, and the
verdict rebuilds the model from those weights. Right answers written other ways than the reference
pass; named mistakes are named; a kernel that lies about its outputs fails."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from vae_course import models
from vae_course.checks import nb04, nb05, nb06, nb09
from vae_course.checks.core import FAILED, NOT_ATTEMPTED, PASSED
from vae_course.checks.rebuild import assignments, gaussian_heads, label_columns
from vae_course.instructor import wire


def graded(ex, cls, tmp_path, seed=11):
    """What the grader says of ``cls`` for ``ex`` on the hidden cases of ``seed``."""
    cases = ex.hidden_cases(seed)
    wire.dump(ex.run(cls, cases), tmp_path / "out.npz")
    return ex.judge(cases, wire.load(tmp_path / "out.npz"))


class TwoHeadVAE(nn.Module):
    """pytorch/examples' layout: fc1, fc21 (mu), fc22 (logvar), fc3, fc4, with F.relu."""

    def __init__(self, latent_dim=2, hidden=400):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.fc21, self.fc22 = nn.Linear(hidden, latent_dim), nn.Linear(hidden, latent_dim)
        self.fc3, self.fc4 = nn.Linear(latent_dim, hidden), nn.Linear(hidden, 784)

    def encode(self, x):
        h = F.relu(self.fc1(x.view(-1, 784)))
        return self.fc21(h), self.fc22(h)

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))).view(-1, 1, 28, 28)

    def sample(self, mu, logvar):
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode(self.sample(mu, logvar)), mu, logvar


class LogvarHeadFirst(TwoHeadVAE):
    def encode(self, x):
        h = F.relu(self.fc1(x.view(-1, 784)))
        return self.fc22(h), self.fc21(h)


class ReluOnLogvar(TwoHeadVAE):
    def encode(self, x):
        mu, logvar = super().encode(x)
        return mu, F.relu(logvar)


class VarianceAsSpread(TwoHeadVAE):
    def sample(self, mu, logvar):
        return mu + torch.exp(logvar) * torch.randn_like(mu)


class DetachedEncoder(TwoHeadVAE):
    def encode(self, x):
        mu, logvar = super().encode(x)
        return mu.detach(), logvar.detach()


class LyingVAE(TwoHeadVAE):
    """Its decode adds a constant the weights do not hold: what the grader recomputes differs."""

    def decode(self, z):
        return (super().decode(z) * 0.5 + 0.25)


@pytest.mark.parametrize("cls", [nb05.VAE, TwoHeadVAE, LogvarHeadFirst], ids=lambda c: c.__name__)
def test_right_vaes_written_in_other_layouts_pass(cls, tmp_path):
    result = graded(nb05.ex2, cls, tmp_path)
    assert result.status == PASSED, result.message
    assert "computed by the grader from your trained weights" in result.message


@pytest.mark.parametrize("cls, named", [
    (ReluOnLogvar, "a ReLU is applied to logvar"),
    (VarianceAsSpread, "the variance, as the standard deviation"),
    (DetachedEncoder, "is zero, where the layout's model at your weights gets one"),
    (LyingVAE, "not what the layout computes"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_wrong_vaes_are_named(cls, named, tmp_path):
    result = graded(nb05.ex2, cls, tmp_path)
    assert result.status == FAILED and named in result.message, result.message


class LabelFirstCVAE(nn.Module):
    """The one-hot label before the image and before the code, two heads, the decoder built first."""

    def __init__(self, latent_dim=2, hidden=400):
        super().__init__()
        self.d1, self.d2 = nn.Linear(10 + latent_dim, hidden), nn.Linear(hidden, 784)
        self.e1 = nn.Linear(10 + 784, hidden)
        self.mu, self.lv = nn.Linear(hidden, latent_dim), nn.Linear(hidden, latent_dim)

    def encode(self, x, y):
        h = F.relu(self.e1(torch.cat([F.one_hot(y, 10).float(), x.view(-1, 784)], 1)))
        return self.mu(h), self.lv(h)

    def decode(self, z, y):
        h = F.relu(self.d1(torch.cat([F.one_hot(y, 10).float(), z], 1)))
        return torch.sigmoid(self.d2(h)).view(-1, 1, 28, 28)

    def forward(self, x, y):
        mu, logvar = self.encode(x, y)
        return self.decode(mu + torch.exp(0.5 * logvar) * torch.randn_like(mu), y), mu, logvar


class LabelAsNumber(LabelFirstCVAE):
    def __init__(self, latent_dim=2, hidden=400):
        super().__init__(latent_dim, hidden)
        self.e1 = nn.Linear(1 + 784, hidden)

    def encode(self, x, y):
        h = F.relu(self.e1(torch.cat([y.float()[:, None], x.view(-1, 784)], 1)))
        return self.mu(h), self.lv(h)


def test_a_cvae_with_the_label_first_passes_and_a_label_as_a_number_is_named(tmp_path):
    right = graded(nb06.ex2, LabelFirstCVAE, tmp_path)
    assert right.status == PASSED, right.message
    wrong = graded(nb06.ex2, LabelAsNumber, tmp_path)
    assert wrong.status == FAILED and "label is appended as one number" in wrong.message


class DecoderFirstAE(nn.Module):
    def __init__(self, latent_dim=2, hidden=400):
        super().__init__()
        self.d1, self.d2 = nn.Linear(latent_dim, hidden), nn.Linear(hidden, 784)
        self.e1, self.e2 = nn.Linear(784, hidden), nn.Linear(hidden, latent_dim)

    def encode(self, x):
        return self.e2(torch.relu(self.e1(x.flatten(1))))

    def decode(self, z):
        return torch.sigmoid(self.d2(torch.relu(self.d1(z)))).view(-1, 1, 28, 28)

    def forward(self, x):
        z = self.encode(x)
        return self.decode(z), z


class LinearEncoder(DecoderFirstAE):
    def encode(self, x):
        return self.e2(self.e1(x.flatten(1)))


class FixedCodeSize(DecoderFirstAE):
    def __init__(self, latent_dim=2, hidden=400):
        super().__init__(2, hidden)


def test_autoencoders_right_and_wrong(tmp_path):
    assert graded(nb04.ex1, DecoderFirstAE, tmp_path).status == PASSED
    linear = graded(nb04.ex1, LinearEncoder, tmp_path)
    assert linear.status == FAILED and "ReLU after the encoder's hidden layer" in linear.message
    fixed = graded(nb04.ex1, FixedCodeSize, tmp_path)
    assert fixed.status == FAILED and "latent_dim" in fixed.message


def test_a_better_autoencoder_of_linear_layers_is_rebuilt_and_another_design_reported(tmp_path):
    chain = graded(nb04.ex5, nb04.BetterAutoencoder, tmp_path)
    assert chain.status == PASSED and not chain.reported, chain.message

    class WithBatchNorm(nb04.BetterAutoencoder):
        def __init__(self, latent_dim=2):
            super().__init__(latent_dim)
            self.encoder.insert(1, nn.BatchNorm1d(512))

    other = graded(nb04.ex5, WithBatchNorm, tmp_path)
    assert other.reported and "what your kernel reported" in other.message


def test_the_conv_decoder_is_rebuilt_and_a_missing_relu_named(tmp_path):
    assert graded(nb09.ex4, models.ConvDecoder, tmp_path).status == PASSED

    class NoSecondReLU(models.ConvDecoder):
        def __init__(self, latent_dim, channels=(16, 32)):
            super().__init__(latent_dim, channels)
            self.net[4] = nn.Identity()

    wrong = graded(nb09.ex4, NoSecondReLU, tmp_path)
    assert wrong.status == FAILED and "between the two transposed convolutions" in wrong.message


def test_an_untouched_class_is_not_attempted(tmp_path):
    class Untouched(nn.Module):
        def __init__(self, latent_dim=2):
            super().__init__()
            raise NotImplementedError()

    assert graded(nb05.ex2, Untouched, tmp_path).status == NOT_ATTEMPTED


def test_matching_by_shape_tries_every_order_and_joins_two_heads():
    a, b, c = torch.zeros(3, 2), torch.ones(3, 2), torch.zeros(4)
    assert sorted(assignments([a, b, c], [(3, 2), (4,), (3, 2)])) == [(0, 2, 1), (1, 2, 0)]
    assert list(assignments([a, c], [(3, 2), (3, 2)])) == []
    w_mu, b_mu, w_lv, b_lv = (torch.full(s, v) for s, v in
                              (((2, 5), 1.0), ((2,), 2.0), ((2, 5), 3.0), ((2,), 4.0)))
    joined = [f([w_mu, b_mu, w_lv, b_lv]) for f in gaussian_heads(5, 2)]
    assert any(len(j) == 2 and torch.equal(j[0][:2], w_mu) and torch.equal(j[1][2:], b_lv)
               for j in joined)
    w = torch.arange(2 * 13.0).reshape(2, 13)
    moved = label_columns([(2, 3)])[1]([w])[0]
    assert torch.equal(moved[:, :3], w[:, 10:]) and torch.equal(moved[:, 3:], w[:, :10])


def test_chain_widths_read_a_stack_of_linear_layers_only():
    enc = [nn.Linear(784, 64), nn.Linear(64, 2)]
    dec = [nn.Linear(2, 64), nn.Linear(64, 784)]
    params = [p for layer in dec + enc for p in layer.parameters()]
    assert nb04.chain_widths(params, 2) == ([784, 64, 2], [2, 64, 784])
    assert nb04.chain_widths(params + [torch.zeros(5)], 2) is None
    assert nb04.chain_widths(params, 3) is None
