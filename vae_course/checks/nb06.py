"""Checkers for notebook 06 (the conditional VAE).

Exercise 1, "conditioning on the label": ``condition(h, y)`` appends the one-hot label to each
row: ``(B, F)`` floats and ``(B,)`` integer labels 0..9 -> ``(B, F + 10)`` floats.

Exercise 2, "style transfer": ``transfer_style(model, x, y)`` encodes one image ``x``
``(1, 1, 28, 28)`` with its true label ``y`` ``(1,)`` to the posterior mean, and decodes that same
``z`` with each of the ten labels: ``-> (10, 1, 28, 28)``, row ``k`` drawn as digit ``k``.
"""

import torch
from torch.nn import functional as F

from vae_course.checks.core import Case, FunctionExercise, Mistake
from vae_course.models import CVAE


def _condition(h, y):
    """Reference: [h, one_hot(y)] along the feature dimension."""
    onehot = torch.zeros(len(y), 10, dtype=h.dtype)
    onehot[torch.arange(len(y)), y] = 1.0
    return torch.cat([h, onehot], dim=1)


def _rand(seed, *shape):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


ex1 = FunctionExercise(
    1,
    "conditioning on the label",
    reference=_condition,
    cases=[
        Case("two rows, labels 0 and 9", _rand(0, 2, 3), torch.tensor([0, 9])),
        Case("flattened images (B = 4, 784 features)", _rand(1, 4, 784), torch.tensor([3, 1, 4, 1])),
        Case("latent codes (B = 10, 2 features), every label once", _rand(2, 10, 2) - 0.5,
             torch.arange(10)),
    ],
    mistakes=[
        Mistake("It looks like you appended the label as one number: the network would read '9' "
                "as nine times '1'. Append a one-hot vector of 10 entries instead.",
                like=lambda h, y: torch.cat([h, y.float().unsqueeze(1)], dim=1)),
        Mistake("The one-hot label comes first: put it after the features, [h, one_hot(y)], "
                "the order the course's CVAE uses.",
                like=lambda h, y: torch.cat([F.one_hot(y, 10).float(), h], dim=1)),
        Mistake("The one-hot vectors look shifted or have the wrong width: F.one_hot(y, 10) has "
                "exactly 10 columns, with the 1 in column y.",
                when=lambda got, expected: isinstance(got, torch.Tensor)
                and got.shape == expected.shape and torch.equal(got[:, :-10], expected[:, :-10])),
    ],
    hints=[
        "The label enters the network as a one-hot vector of length 10: F.one_hot(y, 10).",
        "F.one_hot returns integers; convert with .float() (or .to(h.dtype)) before concatenating.",
        "return torch.cat([h, F.one_hot(y, 10).float()], dim=1)  # (B, F + 10)",
    ],
    solution="def condition(h, y):\n"
             "    return torch.cat([h, F.one_hot(y, 10).float()], dim=1)  # (B, F) -> (B, F + 10)\n",
)


def _model():
    torch.manual_seed(0)
    model = CVAE(latent_dim=2, hidden=(32,))
    return model.eval()


@torch.no_grad()
def _transfer_style(model, x, y):
    """Reference: z = posterior mean with the true label, decoded with labels 0..9."""
    mu, _ = model.encode(x, y)                             # (1, L)
    labels = torch.arange(10)                              # (10,)
    return model.decode(mu.expand(10, -1), labels)         # (10, 1, 28, 28)


def _wrong_label(model, x, y):
    with torch.no_grad():
        mu, _ = model.encode(x, torch.zeros_like(y))
        return model.decode(mu.expand(10, -1), torch.arange(10))


def _sampled(model, x, y):
    with torch.no_grad():
        mu, logvar = model.encode(x, y)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return model.decode(z.expand(10, -1), torch.arange(10))


ex2 = FunctionExercise(
    2,
    "style transfer",
    reference=_transfer_style,
    cases=[
        Case(f"a random CVAE, an image labelled {label}", _model(), _rand(10 + label, 1, 1, 28, 28),
             torch.tensor([label]))
        for label in (3, 7)
    ],
    seed=0,
    check_dtype=True,
    mistakes=[
        Mistake("It looks like you encoded with a label other than the image's own: the encoder "
                "must see the true label y, so that z keeps only the style.",
                like=_wrong_label),
        Mistake("It looks like you sampled z: use the posterior mean mu, so that the ten images "
                "share exactly the same style.",
                like=_sampled),
        Mistake("Decode with all ten labels, torch.arange(10), and the same z repeated ten times; "
                "the result should have shape (10, 1, 28, 28).",
                when=lambda got, expected: isinstance(got, torch.Tensor)
                and got.shape != expected.shape),
    ],
    hints=[
        "Two steps: mu, logvar = model.encode(x, y); then model.decode(z, labels).",
        "Repeat the code for the ten labels: z = mu.expand(10, -1) (10, L), labels = "
        "torch.arange(10) (10,).",
        "return model.decode(mu.expand(10, -1), torch.arange(10)), under torch.no_grad().",
    ],
    solution="@torch.no_grad()\n"
             "def transfer_style(model, x, y):\n"
             "    mu, _ = model.encode(x, y)                              # (1, L): the style\n"
             "    return model.decode(mu.expand(10, -1), torch.arange(10))  # (10, 1, 28, 28)\n",
)
