"""Corrupting images, and measuring how close a restored image is to the clean one (notebook 08).

    x_noisy = add_noise(x, sigma=0.3, seed=0)      # Gaussian noise, clipped back to [0, 1]
    x_masked = mask_square(x, size=12, seed=0)     # a black square at a random place per image
    psnr(x_restored, x)                            # (B,) peak signal-to-noise ratio in dB

Every function takes images ``(B, 1, 28, 28)`` with grey levels in [0, 1] and works on the whole
batch at once (no Python loop over images). The seeded ones draw from their own generator, so they
leave the global random stream alone and give the same corruption every call.
"""

import torch
from torch.nn import functional as F

from .data import check_images


def _generator(seed: int | None) -> torch.Generator | None:
    return None if seed is None else torch.Generator().manual_seed(seed)


def add_noise(x: torch.Tensor, sigma: float, seed: int | None = None) -> torch.Tensor:
    """``x + sigma * eps`` with ``eps ~ N(0, I)``, clipped to [0, 1]: ``(B, ...) -> (B, ...)``.

    ``seed=None`` draws from the global random stream (e.g. a fresh corruption per training batch).
    """
    check_images(x)
    if not sigma >= 0:
        raise ValueError(f"sigma must be a number >= 0, got {sigma!r}.")
    eps = torch.randn(x.shape, generator=_generator(seed)).to(x.device)
    return (x + sigma * eps).clamp(0.0, 1.0)


def square_masks(n: int, size: int, seed: int | None = None, margin: int = 4) -> torch.Tensor:
    """``(n, 1, 28, 28)`` bool masks, True on one ``size`` x ``size`` square per image, placed
    uniformly at random with its corner at least ``margin`` pixels from the border."""
    if not 1 <= size <= 28 - 2 * margin:
        raise ValueError(f"size must lie in 1..{28 - 2 * margin} (margin {margin}), got {size}.")
    corner = torch.randint(margin, 28 - margin - size + 1, (n, 2), generator=_generator(seed))
    i = torch.arange(28)
    rows = (i >= corner[:, :1]) & (i < corner[:, :1] + size)  # (n, 28)
    cols = (i >= corner[:, 1:]) & (i < corner[:, 1:] + size)  # (n, 28)
    return (rows[:, :, None] & cols[:, None, :])[:, None]     # (n, 1, 28, 28)


def mask_square(x: torch.Tensor, size: int = 12, seed: int | None = None) -> torch.Tensor:
    """``x`` with a black ``size`` x ``size`` square (pixels set to 0) at a random place per image."""
    check_images(x)
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"expected images of shape (B, 1, 28, 28), got {tuple(x.shape)}.")
    return x.masked_fill(square_masks(len(x), size, seed).to(x.device), 0.0)


def median_filter(x: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Each pixel replaced by the median of its ``k`` x ``k`` neighbourhood (edges repeated):
    ``(B, C, H, W) -> (B, C, H, W)``. The classic baseline against salt-and-pepper-like noise."""
    if not torch.is_tensor(x) or x.dim() != 4:
        raise ValueError(f"expected images of shape (B, C, H, W), got "
                         f"{tuple(x.shape) if torch.is_tensor(x) else type(x).__name__}.")
    if k < 1 or k % 2 == 0:
        raise ValueError(f"k must be an odd number >= 1, got {k}.")
    r = k // 2
    padded = F.pad(x, (r, r, r, r), mode="replicate")                   # (B, C, H + 2r, W + 2r)
    windows = padded.unfold(2, k, 1).unfold(3, k, 1)                    # (B, C, H, W, k, k)
    return windows.reshape(*x.shape, k * k).median(dim=-1).values       # (B, C, H, W)


def psnr(x_hat: torch.Tensor, x: torch.Tensor, max_value: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per image in dB: ``10 log10(max_value² / MSE)``, with the MSE a
    mean over each image's pixels. ``(B, ...)``, ``(B, ...)`` -> ``(B,)``; higher is closer.

    A perfect copy has an infinite PSNR. Average the per-image values over a test set (the usual
    convention), which is not the PSNR of the average MSE.
    """
    if not torch.is_tensor(x_hat) or not torch.is_tensor(x) or x_hat.shape != x.shape or x.dim() < 2:
        shapes = [tuple(t.shape) if torch.is_tensor(t) else type(t).__name__ for t in (x_hat, x)]
        raise ValueError(f"x_hat and x must be tensors of one shape (B, ...), got {shapes[0]} and "
                         f"{shapes[1]}.")
    mse = ((x_hat - x) ** 2).flatten(1).mean(dim=1)  # (B,)
    return 10 * torch.log10(max_value**2 / mse)
