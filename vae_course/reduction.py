"""Dimensionality reduction's yardsticks: PCA, and k-nearest-neighbour accuracy on codes (notebook 08).

    pca = fit_pca(x_train, d=20)     # one SVD of the centred training images
    z = pca.encode(x_test)           # (N, 20) codes
    x_hat = pca.decode(z)            # (N, 1, 28, 28) reconstructions, linear in z
    knn_accuracy(z_train, y_train, z_test, y_test, k=5)

PCA is the baseline a learned code must beat: the best *linear* code of its size, in squared error,
and free of training choices. k-NN accuracy asks how well a code keeps images of one class together.
"""

from dataclasses import dataclass

import torch

from .models import X_SHAPE, flatten_images


@dataclass
class PCA:
    """The top ``d`` principal directions of a set of images: :func:`fit_pca` finds them, and so does
    notebook 08's exercise 1 (``pca_directions``, whose mean and directions make a ``PCA``).

    mean: ``(784,)`` the mean image. components: ``(d, 784)`` orthonormal rows, the directions of
    largest variance first. explained_variance: ``(d,)`` the variance along each (per image), when
    known.
    """

    mean: torch.Tensor
    components: torch.Tensor
    explained_variance: torch.Tensor | None = None

    @property
    def d(self) -> int:
        return len(self.components)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 1, 28, 28)`` -> codes ``(N, d)``: coordinates along the principal directions."""
        return (flatten_images(x) - self.mean) @ self.components.T

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``(N, d)`` -> images ``(N, 1, 28, 28)``, clipped to [0, 1] (the grey-level range)."""
        if not torch.is_tensor(z) or z.dim() != 2 or z.shape[1] != self.d:
            got = tuple(z.shape) if torch.is_tensor(z) else type(z).__name__
            raise ValueError(f"expected codes of shape (N, {self.d}), got {got}.")
        return (z @ self.components + self.mean).clamp(0.0, 1.0).view(-1, *X_SHAPE)

    def truncate(self, d: int) -> "PCA":
        """The same PCA keeping only its first ``d`` directions (PCA's codes are nested)."""
        if not 1 <= d <= self.d:
            raise ValueError(f"d must lie in 1..{self.d}, got {d}.")
        variance = None if self.explained_variance is None else self.explained_variance[:d]
        return PCA(self.mean, self.components[:d], variance)


def fit_pca(x: torch.Tensor, d: int) -> PCA:
    """Principal directions of images ``(N, 1, 28, 28)`` (or ``(N, 784)``) by an SVD of the centred
    data, in float64 (the float32 Gram matrix of 60 000 images loses digits)."""
    X = flatten_images(x).double()
    if not 1 <= d <= min(X.shape):
        raise ValueError(f"d must lie in 1..{min(X.shape)} for {len(X)} images, got {d}.")
    mean = X.mean(dim=0)
    _, S, Vh = torch.linalg.svd(X - mean, full_matrices=False)  # Vh: (min(N, 784), 784)
    return PCA(mean=mean.float(), components=Vh[:d].float(),
               explained_variance=(S[:d] ** 2 / (len(X) - 1)).float())


def knn_predict(z_train: torch.Tensor, y_train: torch.Tensor, z_test: torch.Tensor, k: int = 5,
                chunk: int = 1000, leave_one_out: bool = False) -> torch.Tensor:
    """The majority label among each test code's ``k`` nearest training codes (Euclidean);
    a tie goes to the tied label whose nearest member is closest. ``(N, d)``, ``(N,)``, ``(M, d)``
    -> ``(M,)``. Distances are computed ``chunk`` test codes at a time. ``leave_one_out=True``
    scores a set against itself (``z_test`` is ``z_train``): each code's own entry is left out."""
    if z_train.dim() != 2 or z_test.dim() != 2 or z_train.shape[1] != z_test.shape[1]:
        raise ValueError(f"expected codes (N, d) and (M, d), got {tuple(z_train.shape)} and "
                         f"{tuple(z_test.shape)}.")
    if len(y_train) != len(z_train):
        raise ValueError(f"got {len(z_train)} training codes but {len(y_train)} labels.")
    if not 1 <= k <= len(z_train):
        raise ValueError(f"k must lie in 1..{len(z_train)}, got {k}.")
    if leave_one_out and (z_test.shape != z_train.shape or not torch.equal(z_test, z_train)):
        raise ValueError("leave_one_out scores a set of codes against itself: pass the same tensor twice.")
    n_classes = int(y_train.max()) + 1
    out = []
    for start in range(0, len(z_test), chunk):
        d = torch.cdist(z_test[start:start + chunk].float(), z_train.float())  # (m, N)
        if leave_one_out:
            rows = torch.arange(len(d))
            d[rows, start + rows] = float("inf")                             # not yourself
        idx = d.topk(k, dim=1, largest=False).indices                        # (m, k), nearest first
        labels = y_train[idx]                                                # (m, k)
        votes = torch.zeros(len(idx), n_classes).scatter_add_(1, labels, torch.ones(labels.shape))
        # ties: a bonus of 2^-(rank + 2) per neighbour (under one vote in all); among tied labels
        # the one with the nearest member gets the most, as 2^-r outweighs 2^-(r+1) + 2^-(r+2) + ...
        rank_bonus = 0.5 ** torch.arange(2.0, k + 2)                          # (k,)
        votes.scatter_add_(1, labels, rank_bonus.expand(labels.shape).contiguous())
        out.append(votes.argmax(dim=1))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def knn_accuracy(z_train, y_train, z_test, y_test, k: int = 5, leave_one_out: bool = False) -> torch.Tensor:
    """``(M,)`` bool: is each test code's k-NN vote (:func:`knn_predict`) its true label?
    Its mean is the accuracy; keeping it per image lets two codes be compared image by image."""
    if len(y_test) != len(z_test):
        raise ValueError(f"got {len(z_test)} test codes but {len(y_test)} labels.")
    return knn_predict(z_train, y_train, z_test, k, leave_one_out=leave_one_out) == y_test
