"""Seeding, device choice and one small training loop, ``fit``, shared by every notebook.

Every notebook's setup cell seeds itself with ``seed_everything(course_seed())``: seed 0, unless the
environment variable ``VAE_COURSE_SEED`` names another, so that a claim about random numbers can be
re-run on fresh ones (``VAE_COURSE_SEED=3 jupyter nbconvert --execute ...``; ``tests/test_seeds.py``).

``fit`` keeps the whole dataset in memory (on the model's device) and slices shuffled
mini-batches out of it: no ``DataLoader``, no per-image transforms. It records the mean loss of
every epoch on the training data (averaged over the epoch's mini-batches, as they were trained)
and, when test data is given, on the test data (evaluated after the epoch, without gradients).
"""

import inspect
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from .data import batches, binarize_dynamic, binarize_fixed, load_dataset
from .losses import ae_loss, cvae_loss, vae_loss

LOSSES = {"ae": ae_loss, "vae": vae_loss, "cvae": cvae_loss}
"""The course's objectives by name, for :class:`Recipe` (each ``(model, x, y) -> nats per image``)."""


SEED_VARIABLE = "VAE_COURSE_SEED"
"""The environment variable :func:`course_seed` reads."""


def course_seed(default: int = 0) -> int:
    """The seed of this run of a notebook: the integer in ``VAE_COURSE_SEED``, else ``default`` (0).

    Each call reads the environment afresh; unset or empty means ``default``, so a notebook's saved
    outputs (made with seed 0) are what a plain run reproduces. Anything but a whole number from 0
    to 2**32 - 1 (the range every seeded generator accepts) is a ValueError that names the variable.
    """
    value = os.environ.get(SEED_VARIABLE, "").strip()
    if not value:
        return default
    try:
        seed = int(value)
    except ValueError:
        seed = None
    if seed is None or not 0 <= seed < 2**32:
        raise ValueError(f"{SEED_VARIABLE}={value!r} is not a seed: use a whole number from 0 to "
                         f"{2**32 - 1}, e.g. {SEED_VARIABLE}=3, or unset it for the default seed {default}.")
    return seed


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
    """Per-epoch losses of one training run (in the loss function's unit: nats per image here).

    ``fit`` returns one; ``checkpoints.load_or_train`` returns the one saved with a cached model
    (then ``loaded`` is True), so a plot never has to guess what it was handed.
    """

    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    n_train: int = 0
    loaded: bool = False

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    @property
    def seconds(self) -> float:
        """Total training time (evaluation excluded)."""
        return sum(self.epoch_seconds)

    @property
    def samples_per_second(self) -> float:
        """Training throughput: images per second of training time."""
        return self.n_train * len(self.epoch_seconds) / max(self.seconds, 1e-9)

    def to_dict(self) -> dict:
        """Plain lists and numbers, e.g. to store in a checkpoint (``loaded`` is not stored)."""
        return {"train_loss": list(self.train_loss), "test_loss": list(self.test_loss),
                "epoch_seconds": list(self.epoch_seconds), "n_train": self.n_train}

    @classmethod
    def from_dict(cls, d) -> "History":
        """The inverse of :meth:`to_dict`; a ValueError for anything that is not one."""
        keys = {"train_loss", "test_loss", "epoch_seconds", "n_train"}
        if not isinstance(d, dict) or not keys <= set(d):
            got = sorted(d) if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"not a training history: expected the keys {sorted(keys)}, got {got}.")
        lists = {}
        for k in ("train_loss", "test_loss", "epoch_seconds"):
            v = d[k]
            if not isinstance(v, (list, tuple)) or not all(isinstance(a, (int, float)) for a in v):
                raise ValueError(f"history[{k!r}] must be a list of numbers, got {v!r:.80}.")
            lists[k] = [float(a) for a in v]
        if len(lists["epoch_seconds"]) != len(lists["train_loss"]):
            raise ValueError("history: one training time per epoch expected.")
        if not isinstance(d["n_train"], int):
            raise ValueError(f"history['n_train'] must be an integer, got {d['n_train']!r}.")
        return cls(**lists, n_train=d["n_train"])


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


def reset_weights(model: torch.nn.Module) -> None:
    """Draw fresh initial weights for every layer of ``model`` from the current random state.

    Calls each submodule's ``reset_parameters`` (what PyTorch's layers use when they are built).
    A parameter that no such layer owns cannot be re-drawn: that is a ValueError, not a silent skip.
    """
    covered = set()
    for module in model.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
            covered.update(id(p) for p in module.parameters(recurse=False))
    loose = [name for name, p in model.named_parameters() if id(p) not in covered]
    if loose:
        raise ValueError(f"cannot re-initialize {', '.join(loose)}: no layer with reset_parameters() "
                         "owns them. Build the model right after seed_everything(seed) and call "
                         "fit(..., reinit=False).")


def adam(model: torch.nn.Module, lr: float = 1e-3) -> torch.optim.Adam:
    """Adam over ``model``'s parameters, fused: one kernel updates every parameter tensor at once.

    The same update as ``torch.optim.Adam(model.parameters(), lr=lr)`` (up to float rounding), which
    on a CPU otherwise runs a dozen small operations per parameter tensor in a Python loop: a fifth
    of a training epoch of the course's MLPs (``vae_course.bench`` measures it). Fused Adam needs
    floating-point parameters on one CPU or CUDA device; for anything else this is the plain Adam.
    """
    params = list(model.parameters())
    devices = {p.device.type for p in params}
    fusable = (len(devices) == 1 and devices <= {"cpu", "cuda"}
               and all(p.is_floating_point() for p in params))
    return torch.optim.Adam(params, lr=lr, fused=True) if fusable else torch.optim.Adam(params, lr=lr)


def fit(model, loss_fn, train_data, epochs: int, *, test_data=None, batch_size: int = 128,
        lr: float = 1e-3, seed: int = 0, device=None, transform=None, progress: bool = True,
        optimizer=None, reinit: bool = True, schedule: str = "constant",
        after_epoch: Callable[[int], None] | None = None) -> History:
    """Train ``model`` with Adam on in-memory data; returns a :class:`History`.

    Args:
        model: an ``nn.Module``; moved to ``device``.
        loss_fn: ``loss_fn(model, x, y) -> scalar`` (e.g. ``losses.vae_loss``), mean over the batch.
        train_data: images ``(N, ...)`` or an ``(images, labels)`` pair of tensors.
        epochs: passes over the training data (ask ``budget().pick(full=..., fast=...)``).
        test_data: optional, same form, used as given (binarize it once beforehand, e.g. with
            ``data.binarize_fixed``); evaluated after every epoch.
        batch_size, lr: mini-batch size and Adam's learning rate.
        seed: seeds everything and (with ``reinit``) re-draws the initial weights from it, so the same
            call gives the same numbers whatever random numbers were drawn before it.
        device: default :func:`pick_device` (CUDA when present).
        transform: optional function applied to every training batch, e.g. ``data.binarize_dynamic``.
        progress: show a progress bar (a widget in Jupyter, text in a terminal).
        optimizer: an optimizer for ``model``'s parameters; default :func:`adam` (Adam at ``lr``,
            in its fused form: the same update, one kernel for all the parameters).
        reinit: re-initialize the weights from ``seed`` first (default). ``False`` continues training
            the weights the model has (fine-tuning, or a model you seeded yourself).
        schedule: ``"constant"`` (``lr`` throughout) or ``"one-cycle"``: the learning rate rises from
            ``lr / 25`` to ``lr`` over the first 30 % of the batches, then falls to almost zero by the
            last (``torch.optim.lr_scheduler.OneCycleLR``, stepped after every batch).
        after_epoch: optional, called with the epoch number (1, 2, ...) after each epoch, e.g. to
            save sample images as training goes (not counted in ``History.seconds``, like the
            test evaluation).
    """
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}.")
    x, y = _as_pair(train_data, "train_data")
    if len(x) == 0:
        raise ValueError("train_data is empty.")
    generator = seed_everything(seed)
    if reinit:
        reset_weights(model)
    device = pick_device() if device is None else torch.device(device)
    model.to(device)
    x = x.to(device)
    y = y.to(device) if y is not None else None
    opt = optimizer or adam(model, lr)
    history = History(n_train=len(x))
    n_batches = -(-len(x) // batch_size)
    if schedule not in ("constant", "one-cycle"):
        raise ValueError(f"schedule must be 'constant' or 'one-cycle', got {schedule!r}.")
    scheduler = None
    if schedule == "one-cycle" and epochs > 0:
        scheduler = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * n_batches)
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
            if scheduler is not None:
                scheduler.step()
            total += loss.item() * len(xb)
            bar.update()
        history.epoch_seconds.append(time.perf_counter() - start)
        history.train_loss.append(total / len(x))
        postfix = {"epoch": epoch, "train": f"{history.train_loss[-1]:.2f}"}
        if test_data is not None:
            history.test_loss.append(evaluate(model, loss_fn, test_data))
            postfix["test"] = f"{history.test_loss[-1]:.2f}"
        bar.set_postfix(postfix)
        if after_epoch is not None:
            after_epoch(epoch)
            model.train()
    bar.close()
    model.eval()
    return history


@dataclass(frozen=True)
class Recipe:
    """Everything that decides what a training run produces. The model cache is keyed on it.

    ``binarize=True`` is the course's likelihood convention (the literature's): training batches are
    binarized afresh each time (``data.binarize_dynamic``), the test set once with a fixed seed
    (``data.binarize_fixed(x, seed=0)``), so that a Bernoulli loss is a real log-likelihood and a
    negative ELBO a real bound on -log p(x). ``binarize=False`` trains on the grey levels.

    The defaults are the course's recipe, chosen on held-out training images (docs/benchmark.md,
    ``vae_course.bench``): 4 epochs of fused Adam with the one-cycle schedule up to 8e-3 reach the test
    loss that 8 epochs at a constant 1e-3 reach, in half the time, for the 784-400-20 VAE and for the
    2-D AE, VAE and CVAE of notebooks 04 to 06.
    """

    loss: str                  # "ae", "vae", "cvae" (LOSSES), or the name of your own loss_fn
    data: str = "mnist"        # a name for data.load_dataset
    binarize: bool = True
    n_train: int = 60_000      # the first n_train training images
    epochs: int = 4
    batch_size: int = 128
    lr: float = 8e-3           # the peak of the one-cycle schedule (the whole run, if "constant")
    schedule: str = "one-cycle"
    beta: float = 1.0          # weight of the KL term (vae and cvae losses)
    seed: int = 0

    def train_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The first ``n_train`` training images ``(n_train, 1, 28, 28)`` (grey) and labels."""
        x, y = load_dataset(self.data, "train")
        return x[:self.n_train], y[:self.n_train]

    def test_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The test images as the recipe evaluates them (binarized with seed 0, or grey), labels."""
        x, y = load_dataset(self.data, "test")
        return (binarize_fixed(x, seed=0) if self.binarize else x), y

    def loss_fn(self, loss_fn=None):
        """The training objective ``(model, x, y) -> scalar``: ``LOSSES[loss]`` with ``beta``, or
        your own ``loss_fn``. Yours may stand in for a course loss of ``LOSSES`` (notebook 05 trains
        its VAE with the learner's loss under the recipe's ``"vae"``); any other ``loss`` must be
        its ``__name__``, so the cache key names it. With ``beta`` other than 1 it is called as
        ``loss_fn(model, x, y, beta=beta)``."""
        if loss_fn is not None:
            if getattr(loss_fn, "__name__", None) != self.loss and self.loss not in LOSSES:
                raise ValueError(f"the recipe names the loss {self.loss!r}, but the loss function "
                                 f"given is {getattr(loss_fn, '__name__', loss_fn)!r}: name it in "
                                 "the recipe, Recipe(loss=your_fn.__name__, ...).")
            if self.beta == 1.0:
                return loss_fn
            if "beta" not in inspect.signature(loss_fn).parameters:
                raise ValueError(f"the recipe has beta = {self.beta}, but your loss function "
                                 f"{getattr(loss_fn, '__name__', loss_fn)!r} takes no beta argument: "
                                 "give it one, def my_loss(model, x, y=None, beta=1.0).")
            return lambda model, x, y=None: loss_fn(model, x, y, beta=self.beta)
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}: use one of {sorted(LOSSES)} or pass loss_fn.")
        base = LOSSES[self.loss]
        if self.beta == 1.0:
            return base
        return lambda model, x, y=None: base(model, x, y, beta=self.beta)

    def fit(self, model, loss_fn=None, device=None, progress: bool = True) -> History:
        """Train ``model`` by this recipe, evaluating on the test set after every epoch."""
        return fit(model, self.loss_fn(loss_fn), self.train_data(), self.epochs,
                   test_data=self.test_data(), batch_size=self.batch_size, lr=self.lr,
                   seed=self.seed, device=device, progress=progress, schedule=self.schedule,
                   transform=binarize_dynamic if self.binarize else None)
