"""Notebook 06's exercises: conditioning on the label and style transfer."""

import pytest
import torch
from torch.nn import functional as F

from vae_course.checks.core import FAILED, NOT_ATTEMPTED
from vae_course.checks.nb06 import ex1, ex2
from vae_course.student import strip_solutions

EX1 = '''import torch
from torch.nn import functional as F
# Exercise 1: conditioning on the label
def condition(h, y):
    ### BEGIN SOLUTION
    return torch.cat([h, F.one_hot(y, 10).float()], dim=1)
    ### END SOLUTION
'''

EX2 = '''import torch
# Exercise 2: style transfer
@torch.no_grad()
def transfer_style(model, x, y):
    ### BEGIN SOLUTION
    mu, _ = model.encode(x, y)
    return model.decode(mu.expand(10, -1), torch.arange(10))
    ### END SOLUTION
'''


def define(source, name):
    namespace = {}
    exec(source, namespace)
    return namespace[name]


def test_reference_conditioning_passes():
    assert ex1.check(define(EX1, "condition"))


def test_untouched_conditioning_is_not_attempted():
    assert ex1.check(define(strip_solutions(EX1), "condition")).status == NOT_ATTEMPTED


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
    assert ex2.check(define(EX2, "transfer_style"))


def test_untouched_style_transfer_is_not_attempted():
    assert ex2.check(define(strip_solutions(EX2), "transfer_style")).status == NOT_ATTEMPTED


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
    result = ex2.check(torch.no_grad()(answer))
    assert result.status == FAILED and named in result.message
