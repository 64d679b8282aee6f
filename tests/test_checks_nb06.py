"""Notebook 06's exercises: conditioning on the label, the CVAE module and style transfer."""


import pytest
import solved_cells
import torch
from torch import nn
from torch.nn import functional as F

from vae_course.checks import nb06
from vae_course.checks.core import FAILED, NOT_ATTEMPTED, PASSED
from vae_course.checks.nb06 import ex1, ex2, ex3
from vae_course.instructor.student import strip_solutions

CONDITION = '''import torch
from torch.nn import functional as F
# Exercise 1: conditioning on the label
def condition(h, y):
    ### BEGIN SOLUTION
    return torch.cat([h, F.one_hot(y, 10).float()], dim=1)
    ### END SOLUTION
'''

TRANSFER = '''import torch
# Exercise 3: style transfer
@torch.no_grad()
def transfer_style(model, x, y):
    ### BEGIN SOLUTION
    mu, _ = model.encode(x, y)
    return model.decode(mu.expand(10, -1), torch.arange(10))
    ### END SOLUTION
'''


def define(source, name, **names):
    namespace = {"torch": torch, "nn": nn, "F": F, **names}
    exec(source, namespace)
    return namespace[name]


def exercise_cell(number):
    return solved_cells.exercise_cell('06_cvae.ipynb', number)


def test_reference_conditioning_passes():
    assert ex1.check(define(CONDITION, "condition"))


def test_untouched_conditioning_is_not_attempted():
    assert ex1.check(define(strip_solutions(CONDITION), "condition")).status == NOT_ATTEMPTED


@pytest.mark.parametrize("answer, named", [
    (lambda h, y: torch.cat([h, y.float().unsqueeze(1)], 1), "one number"),
    (lambda h, y: torch.cat([F.one_hot(y, 10).float(), h], 1), "comes first"),
    (lambda h, y: torch.cat([h, F.one_hot((y + 1) % 10, 10).float()], 1), "shifted"),
])
def test_conditioning_mistakes_are_named(answer, named):
    result = ex1.check(answer)
    assert result.status == FAILED and named in result.message


def test_integer_one_hot_passes_because_cat_promotes_to_float():
    assert ex1.check(lambda h, y: torch.cat([h, F.one_hot(y, 10)], 1))


def test_reference_style_transfer_passes():
    assert ex3.check(define(TRANSFER, "transfer_style"))


def test_untouched_style_transfer_is_not_attempted():
    assert ex3.check(define(strip_solutions(TRANSFER), "transfer_style")).status == NOT_ATTEMPTED


def wrong_label(model, x, y):
    mu, _ = model.encode(x, torch.zeros_like(y))
    return model.decode(mu.expand(10, -1), torch.arange(10))


def sampled(model, x, y):
    mu, logvar = model.encode(x, y)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    return model.decode(z.expand(10, -1), torch.arange(10))


def true_label_only(model, x, y):
    mu, _ = model.encode(x, y)
    return model.decode(mu, y)


@pytest.mark.parametrize("answer, named", [
    (wrong_label, "other than the image's own"),
    (sampled, "sampled z"),
    (true_label_only, "all ten labels"),
])
def test_style_transfer_mistakes_are_named(answer, named):
    result = ex3.check(torch.no_grad()(answer))
    assert result.status == FAILED and named in result.message


# ----------------------------------------------------------------------- exercise 2: the CVAE

MODULE = exercise_cell(2)
CVAE = define(MODULE, "CVAE", condition=nb06._condition)


def test_the_solved_cvae_passes_and_trains_into_the_band():
    result = ex2.check(CVAE)
    assert result.status == PASSED
    assert abs(solved_cells.reached(result.message) - nb06.CVAE_REFERENCE_LOSS) < 1.0  # the reference itself


def test_the_untouched_cvae_is_not_attempted():
    untouched = strip_solutions(MODULE)
    assert untouched.count("raise NotImplementedError()") == 4
    result = ex2.check(define(untouched, "CVAE", condition=nb06._condition))
    assert result.status == NOT_ATTEMPTED and "`__init__` still raises" in result.message


def label_as_a_number(h, y):
    return torch.cat([h, y.float().unsqueeze(1)], dim=1)


class NumberLabel(define(MODULE, "CVAE", condition=label_as_a_number)):
    def __init__(self, latent_dim=2, hidden=400, n_classes=10):  # first layers one column wider
        super().__init__(latent_dim, hidden, n_classes)
        self.encoder[0] = nn.Linear(785, hidden)
        self.decoder[0] = nn.Linear(latent_dim + 1, hidden)


class DecoderIgnoresY(CVAE):
    def decode(self, z, y):
        return super().decode(z, torch.zeros_like(y))


class EncoderIgnoresY(CVAE):
    def encode(self, x, y):
        return super().encode(x, torch.zeros_like(y))


class ForwardDecodesWithoutY(CVAE):
    def forward(self, x, y):
        mu, logvar = self.encode(x, y)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decode(z, torch.full_like(y, 3)), mu, logvar


def one_hot_without_width(h, y):
    return torch.cat([h, F.one_hot(y).float()], dim=1)


@pytest.mark.parametrize("answer, named", [
    (DecoderIgnoresY, "the decoder ignores y"),
    (EncoderIgnoresY, "the encoder ignores y"),
    (NumberLabel, "the label is appended as one number"),
    (define(MODULE, "CVAE", condition=one_hot_without_width), "F.one_hot(y, 10)"),
    (ForwardDecodesWithoutY, "forward does not decode with the labels y it was given"),
])
def test_cvae_mistakes_are_named(answer, named):
    result = ex2.check(answer)
    assert result.status == FAILED and named in result.message, result.message


def test_a_cvae_that_trains_short_of_the_band_fails_with_the_numbers(monkeypatch):
    monkeypatch.setattr(nb06, "CVAE_LIMIT", 140.0)
    result = ex2.check(define(MODULE, "CVAE", condition=nb06._condition))
    assert result.status == FAILED and "less than 140" in result.message
