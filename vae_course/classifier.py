"""A small MNIST digit classifier, trained once and cached, used as a judge of generated images.

Pictures of decoded latent grids and samples are easy to over-read. The course measures them
instead: a small classifier (an MLP), trained on the real MNIST training images, looks at each
generated image and either names a digit with confidence or does not. "The fraction of grid points
the judge cannot assign to any digit" turns "holes in the latent space" into a number.

    clf = load_classifier()                    # trains once (seconds), later loads from the cache
    verdict = judge(clf, x_hat)                # x_hat: (N, 1, 28, 28) in [0, 1]
    verdict.fraction_unsure                    # share of images with max probability < threshold

The judge is only as good as its training data: it has never seen a non-digit, so its confidence
on garbage is not calibrated; what it reports is "confidently one of the ten digits" or not.
"""

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .budget import budget
from .checkpoints import load_or_train
from .data import check_images, load_dataset
from .train import Recipe

DEFAULT_THRESHOLD = 0.9
"""An image counts as a recognisable digit when the classifier gives one digit at least this."""


class DigitClassifier(nn.Module):
    """An MLP with two hidden layers: ``(B, 1, 28, 28) -> (B, 10)`` logits.

    Small on purpose: it trains in seconds on a laptop CPU and still recognises 97.4 % of the MNIST
    test digits (as trained by :func:`load_classifier`; notebooks 04 and 06 print it), which is all a
    judge of generated digits needs.
    """

    def __init__(self, hidden: tuple[int, ...] = (512, 256), dropout: float = 0.2):
        super().__init__()
        self.config = {"hidden": list(hidden), "dropout": dropout}
        layers, n_in = [], 784
        for n_out in hidden:
            layers += [nn.Linear(n_in, n_out), nn.ReLU(), nn.Dropout(dropout)]  # (B, n_in) -> (B, n_out)
            n_in = n_out
        self.features = nn.Sequential(*layers)  # (B, 784) -> (B, hidden[-1])
        self.head = nn.Linear(n_in, 10)          # (B, hidden[-1]) -> (B, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(B, 1, 28, 28)`` (or flat ``(B, 784)``) in [0, 1] -> logits ``(B, 10)``."""
        return self.head(self.features(x.reshape(len(x), 784)))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden features ``(B, hidden[-1])``, e.g. for a feature-consistent loss."""
        return self.features(x.reshape(len(x), 784))


def classifier_loss(model, x, y) -> torch.Tensor:
    """Cross-entropy of the digit labels, mean over the batch (nats per image)."""
    return F.cross_entropy(model(x), y)


def classifier_recipe() -> Recipe:
    """How the judge is trained: grey-level MNIST, 3 epochs (1 on 10 000 images in fast mode)."""
    B = budget()
    return Recipe(loss="classifier_loss", binarize=False, n_train=B.pick(full=60_000, fast=10_000),
                  epochs=B.pick(full=3, fast=1), lr=2e-3, schedule="constant")


def load_classifier(retrain: bool = False, progress: bool = True) -> DigitClassifier:
    """The course's digit classifier: loaded from the checkpoint cache, or trained once and saved.

    Returned in eval mode on the CPU; ``.metadata`` holds its ``test_accuracy`` on the real MNIST
    test digits (measured on every call, a fraction of a second) and ``.history``, its training run.
    """
    recipe = classifier_recipe()
    model, history = load_or_train(DigitClassifier, recipe, loss_fn=classifier_loss, retrain=retrain,
                                   progress=progress)
    model = model.cpu().eval()
    x_test, y_test = load_dataset("mnist", "test")
    model.history = history
    model.metadata = {"test_accuracy": accuracy(model, x_test, y_test), "epochs": recipe.epochs,
                      "n_train": recipe.n_train}
    return model


@torch.no_grad()
def predict_proba(model: nn.Module, x: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """Class probabilities ``(N, 10)`` for images ``(N, 1, 28, 28)`` in [0, 1] (eval mode)."""
    check_images(x, "images to classify")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = torch.cat([F.softmax(model(x[i:i + batch_size].to(device)), dim=1).cpu()
                     for i in range(0, len(x), batch_size)]) if len(x) else torch.zeros(0, 10)
    model.train(was_training)
    return out


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of images ``(N, 1, 28, 28)`` whose most probable class is the label ``y`` ``(N,)``."""
    return (predict_proba(model, x).argmax(1) == y.cpu()).float().mean().item()


@dataclass
class Verdict:
    """What the classifier says about N images."""

    probs: torch.Tensor       # (N, 10) class probabilities
    digit: torch.Tensor       # (N,) most probable digit
    confidence: torch.Tensor  # (N,) its probability
    threshold: float

    @property
    def sure(self) -> torch.Tensor:
        """``(N,)`` bool: the classifier names one digit with probability >= threshold."""
        return self.confidence >= self.threshold

    @property
    def fraction_sure(self) -> float:
        """Share of images recognised as a digit with confidence."""
        return self.sure.float().mean().item()

    @property
    def fraction_unsure(self) -> float:
        """Share of images the classifier cannot assign to any digit with confidence."""
        return 1.0 - self.fraction_sure

    def digit_counts(self, only_sure: bool = True) -> torch.Tensor:
        """``(10,)`` how many images were (confidently) recognised as each digit."""
        d = self.digit[self.sure] if only_sure else self.digit
        return torch.bincount(d, minlength=10)


def judge(model: nn.Module, x: torch.Tensor, threshold: float = DEFAULT_THRESHOLD) -> Verdict:
    """Classify generated images ``(N, 1, 28, 28)`` in [0, 1] and record how sure the classifier is."""
    probs = predict_proba(model, x)
    confidence, digit = probs.max(dim=1)
    return Verdict(probs=probs, digit=digit, confidence=confidence, threshold=threshold)
