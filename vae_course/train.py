"""Seeding, device choice and one small training loop, ``fit``, shared by every notebook.

``fit`` keeps the whole dataset in memory (on the model's device) and slices shuffled
mini-batches out of it: no ``DataLoader``, no per-image transforms. It records the mean loss of
every epoch on the training data (averaged over the epoch's mini-batches, as they were trained)
and, when test data is given, on the test data (evaluated after the epoch, without gradients).
"""

import random
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from .data import batches


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (CPU and CUDA); returns a ``torch.Generator`` with that seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def pick_device(prefer: str | None = None) -> torch.device:
    """CUDA when it is there, else the CPU. ``prefer="cpu"`` forces the CPU."""
    if prefer is not None:
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class History:
    """Per-epoch losses (in the loss function's unit, nats per image for the course's losses)."""

    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    n_train: int = 0

    @property
    def seconds(self) -> float:
        """Total training time (evaluation excluded)."""
        return sum(self.epoch_seconds)

    @property
    def samples_per_second(self) -> float:
        """Training throughput: images per second of training time."""
        return self.n_train * len(self.epoch_seconds) / max(self.seconds, 1e-9)

    def to_dict(self) -> dict:
        return {"train_loss": self.train_loss, "test_loss": self.test_loss,
                "epoch_seconds": self.epoch_seconds, "n_train": self.n_train}


def _as_pair(data, name):
    if isinstance(data, torch.Tensor):
        return data, None
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    raise ValueError(f"{name} must be images or an (images, labels) pair, got {type(data).__name__}.")


@torch.no_grad()
def evaluate(model, loss_fn, data, batch_size: int = 1000, transform=None) -> float:
    """Mean of ``loss_fn`` over a whole dataset (weighted by batch size), in eval mode, no gradients."""
    x, y = _as_pair(data, "data")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total = 0.0
    for xb, yb in batches(x, y, batch_size, shuffle=False):
        xb = xb.to(device)
        yb = yb.to(device) if yb is not None else None
        if transform is not None:
            xb = transform(xb)
        total += loss_fn(model, xb, yb).item() * len(xb)
    model.train(was_training)
    return total / len(x)


def fit(model, loss_fn, train_data, epochs: int, *, test_data=None, batch_size: int = 128,
        lr: float = 1e-3, seed: int = 0, device=None, transform=None, progress: bool = True,
        optimizer=None) -> History:
    """Train ``model`` with Adam on in-memory data; returns a :class:`History`.

    Args:
        model: an ``nn.Module``; moved to ``device``.
        loss_fn: ``loss_fn(model, x, y) -> scalar`` (e.g. ``losses.vae_loss``), mean over the batch.
        train_data: images ``(N, ...)`` or an ``(images, labels)`` pair of tensors.
        epochs: passes over the training data (ask ``budget().pick(full=..., fast=...)``).
        test_data: optional, same form; evaluated after every epoch.
        batch_size, lr: mini-batch size and Adam's learning rate.
        seed: seeds everything, so the same call gives the same numbers.
        device: default :func:`pick_device` (CUDA when present).
        transform: optional function applied to every image batch, e.g. ``data.binarize_dynamic``.
        progress: show a progress bar (a widget in Jupyter, text in a terminal).
        optimizer: an optimizer for ``model``'s parameters; default Adam(lr).
    """
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}.")
    x, y = _as_pair(train_data, "train_data")
    if len(x) == 0:
        raise ValueError("train_data is empty.")
    generator = seed_everything(seed)
    device = pick_device() if device is None else torch.device(device)
    model.to(device)
    x = x.to(device)
    y = y.to(device) if y is not None else None
    opt = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    history = History(n_train=len(x))
    n_batches = -(-len(x) // batch_size)
    bar = tqdm(total=epochs * n_batches, disable=not progress, unit="batch",
               desc=type(model).__name__, leave=True)
    for epoch in range(1, epochs + 1):
        model.train()
        start, total = time.perf_counter(), 0.0
        for xb, yb in batches(x, y, batch_size, shuffle=True, generator=generator):
            if transform is not None:
                xb = transform(xb)
            loss = loss_fn(model, xb, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
            bar.update()
        history.epoch_seconds.append(time.perf_counter() - start)
        history.train_loss.append(total / len(x))
        postfix = {"epoch": epoch, "train": f"{history.train_loss[-1]:.2f}"}
        if test_data is not None:
            history.test_loss.append(evaluate(model, loss_fn, test_data, transform=transform))
            postfix["test"] = f"{history.test_loss[-1]:.2f}"
        bar.set_postfix(postfix)
    bar.close()
    model.eval()
    return history
