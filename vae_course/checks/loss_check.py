"""How the checks judge a training loss that an answer returns: by its form, its value and the
gradient it gives every parameter of the model it was computed on (notebooks 09 and 10).

``loss_outcome(loss, model)`` turns what an answer returned into plain numbers (the grader's wire
carries nothing else); ``compare_losses(got, expected)`` compares two of them and says in words what
differs, or returns ``None``.
"""

import math

import torch

# What a loss returned, as numbers: its form, its value and the gradient of every parameter.
WITH_GRAPH, NO_GRAPH, NUMBER, NOT_SCALAR, OTHER = range(5)


def loss_outcome(loss, model):
    """``(form, value, extra)`` for ``loss`` computed on ``model``: ``extra`` is the gradient of
    every parameter (a zero tensor where none reaches it) for a loss with a graph, the shape of a
    loss that is not one number, else ``None``."""
    if isinstance(loss, (int, float)) and not isinstance(loss, bool):
        return NUMBER, float(loss), None
    if not torch.is_tensor(loss):
        return OTHER, None, None
    if loss.numel() != 1:
        return NOT_SCALAR, None, list(loss.shape)
    if not loss.requires_grad:
        return NO_GRAPH, float(loss.detach()), None
    grads = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
    return WITH_GRAPH, float(loss.detach()), [torch.zeros_like(p) if g is None else g.detach()
                                              for p, g in zip(model.parameters(), grads)]


def compare_losses(got, expected):
    (form, value, extra), (e_form, e_value, e_extra) = got, expected
    if form == OTHER:
        return "your function returned no tensor: return the batch's loss, a tensor of one number"
    if form == NOT_SCALAR:
        return (f"your loss has shape {tuple(extra)}: return one number for the batch, the mean "
                "over its images")
    if not math.isfinite(value) or abs(value - e_value) > 1e-4 * abs(e_value) + 1e-3:
        return f"your loss is {value:.4f}, the reference's {e_value:.4f}"
    if form != e_form and form == NUMBER:
        return ("your loss has the right value but is a Python number (loss.item()?): return the "
                "tensor, so that the training loop can call loss.backward() on it")
    if form != e_form and form == NO_GRAPH:
        return ("your loss has the right value but no graph (requires_grad is False): compute it "
                "from model(x) outside torch.no_grad(), so that its gradient reaches the weights")
    if form != e_form:
        return "your loss has the right value but not the form of the one it is compared with"
    if form == WITH_GRAPH:
        off = max((g - e).abs().max().item() for g, e in zip(extra, e_extra))
        if off > 1e-4 * max(e.abs().max().item() for e in e_extra) + 1e-5:
            return (f"your loss has the right value, but its gradient with respect to a weight of "
                    f"the model differs from the reference's by {off:.2e}: a part of the loss does "
                    "not reach the weights as it should")
    return None
