"""Sharpness of images, and a feature-consistent loss for a VAE (notebook 09).

A VAE's decoder returns the *mean* of p(x|z): where the code leaves the exact stroke uncertain, the
mean is a grey average of the strokes it could be, which the eye reads as blur. Hou et al. (2017,
"Deep feature consistent VAE", DFC-VAE) add to the pixel loss a distance between the features a
fixed, pretrained network computes on ``x_hat`` and on ``x``. They use VGG-19 trained on ImageNet;
it cannot be downloaded offline and is far too slow on a laptop CPU for 28 x 28 digits, so the
course trains its own small convolutional digit classifier, :class:`FeatureNet`, and uses its two
convolutional layers' activations as the features::

    net = load_feature_net()                             # trains once (seconds), then cached
    loss_fn = feature_consistent_loss(net, lam=0.1)      # -ELBO + 0.1 * feature distance
    sharpness(x)                                         # (B,) mean squared step between neighbours

Units: :func:`feature_distance` is a squared Euclidean distance summed over every feature of every
layer, one number per image; the loss adds its batch mean, times ``lam``, to the negative ELBO in
nats per image. The sum is still above -log p(x), but only trivially (its value is no longer
the ELBO): report the ELBO separately.
"""

import torch
from torch import nn
from torch.nn import functional as F

from .budget import budget
from .checkpoints import load_or_train
from .classifier import accuracy
from .data import check_images, load_dataset
from .losses import neg_elbo
from .models import images
from .train import Recipe


class FeatureNet(nn.Module):
    """A small CNN digit classifier whose convolutional activations serve as features.

    ``(B, 1, 28, 28) -> (B, 10)`` logits; :meth:`features` returns the two ReLU feature maps,
    ``(B, c1, 28, 28)`` (edges and strokes at full resolution) and ``(B, c2, 14, 14)``.
    """

    def __init__(self, channels: tuple[int, int] = (8, 16)):
        super().__init__()
        self.config = {"channels": list(channels)}
        c1, c2 = channels
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)   # (B, 1, 28, 28) -> (B, c1, 28, 28)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)  # (B, c1, 14, 14) -> (B, c2, 14, 14)
        self.head = nn.Linear(c2 * 7 * 7, 10)         # (B, c2 * 49) -> (B, 10)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The two feature maps of images ``x``: ``[(B, c1, 28, 28), (B, c2, 14, 14)]``."""
        h1 = F.relu(self.conv1(images(x)))
        h2 = F.relu(self.conv2(F.max_pool2d(h1, 2)))
        return [h1, h2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(B, 1, 28, 28)`` in [0, 1] -> logits ``(B, 10)``."""
        h2 = self.features(x)[1]
        return self.head(F.max_pool2d(h2, 2).flatten(1))  # (B, c2, 7, 7) -> (B, 10)


def feature_net_loss(model, x, y) -> torch.Tensor:
    """Cross-entropy of the digit labels, mean over the batch (nats per image)."""
    return F.cross_entropy(model(x), y)


def feature_net_recipe() -> Recipe:
    """How :class:`FeatureNet` is trained: one epoch on grey-level MNIST (10 000 images in fast mode)."""
    return Recipe(loss="feature_net_loss", binarize=False,
                  n_train=budget().pick(full=60_000, fast=10_000), epochs=1, lr=2e-3, schedule="constant")


def load_feature_net(retrain: bool = False, progress: bool = True) -> FeatureNet:
    """The course's feature network, from the cache or trained once; frozen, in eval mode, on the CPU.

    ``.metadata["test_accuracy"]`` is its accuracy on the MNIST test digits (measured on each call).
    """
    model, history = load_or_train(FeatureNet, feature_net_recipe(), loss_fn=feature_net_loss,
                                   retrain=retrain, progress=progress)
    model = model.cpu().eval().requires_grad_(False)
    model.history = history
    model.metadata = {"test_accuracy": accuracy(model, *load_dataset("mnist", "test"))}
    return model


def feature_distance(feats_a: list[torch.Tensor], feats_b: list[torch.Tensor]) -> torch.Tensor:
    """Squared Euclidean distance between two images' features, summed over every feature of every
    layer: lists of ``(B, ...)`` tensors, layer by layer -> ``(B,)``, one distance per image."""
    if len(feats_a) != len(feats_b) or not feats_a:
        raise ValueError(f"expected two equally long, non-empty lists of feature maps, got "
                         f"{len(feats_a)} and {len(feats_b)}.")
    total = 0
    for a, b in zip(feats_a, feats_b):
        if a.shape != b.shape:
            raise ValueError(f"feature maps of one layer differ in shape: {tuple(a.shape)} and "
                             f"{tuple(b.shape)}.")
        total = total + ((a - b) ** 2).flatten(1).sum(dim=1)  # (B,)
    return total


def feature_consistent_loss(net: nn.Module, lam: float):
    """The objective ``(model, x, y) -> scalar`` of a VAE trained with a feature-consistent term:
    negative ELBO (nats per image, batch mean) + ``lam`` x the batch mean of
    ``feature_distance(net.features(x_hat), net.features(x))``.

    Its ``__name__`` (``"vae_features_0.1"`` for ``lam=0.1``) names it in a :class:`Recipe`, so the
    model cache keeps one model per ``lam``. ``net`` should be frozen (see :func:`load_feature_net`).
    """
    if not lam >= 0:
        raise ValueError(f"lam must be a number >= 0, got {lam!r}.")

    def loss_fn(model, x, y=None):
        x_hat, mu, logvar = model(x)
        with torch.no_grad():
            target = net.features(x)  # the data's features: constants
        distance = feature_distance(net.features(x_hat), target).mean()
        return neg_elbo(x_hat, x, mu, logvar) + lam * distance

    loss_fn.__name__ = f"vae_features_{lam:g}"
    return loss_fn


def sharpness(x: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between neighbouring pixels (across and down, averaged), per image:
    images ``(B, 1, 28, 28)`` in [0, 1] -> ``(B,)``.

    Squared on purpose: a blur spreads a step of height h over n pixels, which leaves the sum of the
    absolute steps at h but divides the sum of their squares by n. Any blur lowers it.
    """
    check_images(x, "images")
    x = images(x)
    across = (x[..., :, 1:] - x[..., :, :-1]).pow(2).flatten(1).mean(dim=1)  # (B,)
    down = (x[..., 1:, :] - x[..., :-1, :]).pow(2).flatten(1).mean(dim=1)    # (B,)
    return (across + down) / 2
