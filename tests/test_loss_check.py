"""How the checks judge a returned loss (``vae_course.checks.loss_check``), used by notebooks 09 and 10."""

import torch
from torch import nn

from vae_course.checks.loss_check import NO_GRAPH, NUMBER, WITH_GRAPH, compare_losses, loss_outcome


def _model():
    torch.manual_seed(0)
    return nn.Linear(3, 1)


def test_a_loss_with_a_graph_hands_back_its_value_and_every_gradient():
    model = _model()
    form, value, grads = loss_outcome(model(torch.ones(2, 3)).pow(2).mean(), model)
    assert form == WITH_GRAPH and isinstance(value, float) and len(grads) == 2


def test_a_number_and_a_detached_tensor_are_told_apart_from_a_loss_with_a_graph():
    model = _model()
    loss = model(torch.ones(2, 3)).pow(2).mean()
    expected = loss_outcome(loss, model)
    assert loss_outcome(loss.item(), model)[0] == NUMBER
    assert loss_outcome(loss.detach(), model)[0] == NO_GRAPH
    assert "Python number" in compare_losses(loss_outcome(loss.item(), model), expected)
    assert "no graph" in compare_losses(loss_outcome(loss.detach(), model), expected)
    assert compare_losses(expected, expected) is None


def test_the_right_value_with_a_wrong_gradient_is_caught():
    model = _model()
    x = torch.ones(2, 3)
    expected = loss_outcome(model(x).pow(2).mean(), model)
    half_detached = (model(x).detach() * model(x)).mean()  # same value, half the gradient
    assert "gradient" in compare_losses(loss_outcome(half_detached, model), expected)
