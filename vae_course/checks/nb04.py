"""Checkers for notebook 04 (the autoencoder).

Exercise 1, "the reconstruction loss in nats per image": ``reconstruction_loss(x_hat, x)`` returns
the Bernoulli negative log-likelihood of each image, summed over its pixels: ``(B, 1, 28, 28) -> (B,)``.

Exercise 2, "linear interpolation between two codes": ``interpolate(z0, z1, steps)`` returns
``steps`` points from ``z0`` to ``z1`` (both ends included): ``(D,), (D,) -> (steps, D)``.
"""

import torch
from torch.distributions import Bernoulli
from torch.nn import functional as F

from vae_course.checks.core import Case, FunctionExercise, Mistake


def _reconstruction_loss(x_hat, x):
    """Reference through torch.distributions: -log Bernoulli(x | x_hat), summed per image."""
    log_p = Bernoulli(probs=x_hat, validate_args=False).log_prob(x)
    return -log_p.reshape(len(x), -1).sum(dim=1)


def _images(seed, n=3, binary=False):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 28, 28, generator=g)
    return (x > 0.5).float() if binary else x


def _probs(seed, n=3):
    g = torch.Generator().manual_seed(seed)
    return 0.01 + 0.98 * torch.rand(n, 1, 28, 28, generator=g)


_x_bin = _images(3, binary=True)

ex1 = FunctionExercise(
    1,
    "the reconstruction loss in nats per image",
    reference=_reconstruction_loss,
    cases=[
        Case("x_hat = 0.5 everywhere (each image costs 784 log 2 = 543.4 nats)",
             torch.full((2, 1, 28, 28), 0.5), _images(0, 2)),
        Case("nearly perfect reconstructions of binary images",
             _x_bin * 0.998 + 0.001, _x_bin),
        Case("random grey images and predictions", _probs(1), _images(2)),
        Case("a single image", _probs(4, 1), _images(5, 1)),
    ],
    mistakes=[
        Mistake("It looks like you averaged over the pixels (F.binary_cross_entropy's default "
                "reduction='mean'): that is nats per pixel, 784 times smaller. Sum over the "
                "pixels of each image instead.",
                like=lambda x_hat, x: F.binary_cross_entropy(x_hat, x)),
        Mistake("It looks like you summed over the whole batch (reduction='sum') and returned one "
                "number: keep one value per image, shape (B,).",
                like=lambda x_hat, x: F.binary_cross_entropy(x_hat, x, reduction="sum")),
        Mistake("It looks like you averaged over the pixels of each image: sum them instead (the "
                "loss of an image is the sum of its 784 pixel losses).",
                like=lambda x_hat, x: F.binary_cross_entropy(x_hat, x, reduction="none")
                .reshape(len(x), -1).mean(1)),
        Mistake("It looks like you computed a squared error: this exercise asks for the Bernoulli "
                "negative log-likelihood (binary cross-entropy), in nats.",
                like=lambda x_hat, x: ((x_hat - x) ** 2).reshape(len(x), -1).sum(1)),
        Mistake("The sign is flipped: that is the log-likelihood, and the loss is its negative.",
                like=lambda x_hat, x: -_reconstruction_loss(x_hat, x)),
        Mistake("It looks like x and x_hat are swapped: the prediction x_hat goes inside the log.",
                like=lambda x_hat, x: F.binary_cross_entropy(x, x_hat, reduction="none")
                .reshape(len(x), -1).sum(1)),
    ],
    hints=[
        "For one pixel with grey level x and predicted probability x_hat the loss is "
        "-(x log x_hat + (1 - x) log(1 - x_hat)).",
        "F.binary_cross_entropy(x_hat, x, reduction='none') gives that loss for every pixel, "
        "shape (B, 1, 28, 28).",
        "Flatten each image and sum over its pixels: .reshape(len(x), -1).sum(dim=1) -> (B,).",
    ],
    solution="def reconstruction_loss(x_hat, x):\n"
             "    bce = F.binary_cross_entropy(x_hat, x, reduction='none')  # (B, 1, 28, 28)\n"
             "    return bce.reshape(len(x), -1).sum(dim=1)                  # (B,)\n",
)


def _interpolate(z0, z1, steps):
    """Reference: torch.lerp with weights t = 0, ..., 1 (both ends included)."""
    t = torch.linspace(0, 1, steps, dtype=z0.dtype).unsqueeze(1)  # (steps, 1)
    return torch.lerp(z0.unsqueeze(0).expand(steps, -1), z1.unsqueeze(0).expand(steps, -1), t)


ex2 = FunctionExercise(
    2,
    "linear interpolation between two codes",
    reference=_interpolate,
    cases=[
        Case("from (0, 0) to (1, 2) in 3 steps", torch.zeros(2), torch.tensor([1.0, 2.0]), 3),
        Case("from (-3, 5) to (3, -5) in 5 steps", torch.tensor([-3.0, 5.0]),
             torch.tensor([3.0, -5.0]), 5),
        Case("a 4-D code in 8 steps", torch.tensor([0.5, -1.0, 2.0, 0.0]),
             torch.tensor([1.5, 1.0, -2.0, 4.0]), 8),
    ],
    mistakes=[
        Mistake("It looks like the last point is missing: with t = arange(steps) / steps the path "
                "stops before z1. Use torch.linspace(0, 1, steps), which includes both ends.",
                like=lambda z0, z1, steps: z0 + (torch.arange(steps) / steps).unsqueeze(1)
                * (z1 - z0)),
        Mistake("The path runs backwards: it must start at z0 (t = 0) and end at z1 (t = 1).",
                like=lambda z0, z1, steps: _interpolate(z1, z0, steps)),
        Mistake("The result is transposed: return one row per step, shape (steps, D).",
                like=lambda z0, z1, steps: _interpolate(z0, z1, steps).T),
    ],
    hints=[
        "A point on the segment is (1 - t) * z0 + t * z1 for t between 0 and 1.",
        "t = torch.linspace(0, 1, steps) gives the weights, both ends included; make it a column "
        "with .unsqueeze(1) so that it broadcasts against the (D,) codes.",
        "return (1 - t) * z0 + t * z1 with t of shape (steps, 1) gives (steps, D).",
    ],
    solution="def interpolate(z0, z1, steps):\n"
             "    t = torch.linspace(0, 1, steps).unsqueeze(1)  # (steps, 1)\n"
             "    return (1 - t) * z0 + t * z1                   # (steps, D)\n",
)
