"""MNIST and Fashion-MNIST as in-memory tensors, offline first.

``load_dataset("mnist", "train")`` returns the whole split as two tensors: images, float32
``(N, 1, 28, 28)`` in [0, 1], and labels, int64 ``(N,)``. Training then slices mini-batches out of
these tensors (:func:`batches`): no per-image Python transform, no ``DataLoader`` workers.

Where the files come from, in this order:

1. the data folder: ``$VAE_COURSE_DATA`` when set, else the repository's ``data/`` folder (for a
   package installed from a wheel, ``~/.cache/vae_course/data``), in torchvision's layout
   (``<root>/MNIST/raw/train-images-idx3-ubyte`` ...);
2. a download by torchvision into that folder, when the files are missing and the machine is online.

A split needs only its own two files (``t10k-*`` for "test", ``train-*`` for "train"), each checked
against its known MD5 checksum before it is read, once per process.
"""

import hashlib
import os
import shutil
import socket
from functools import lru_cache
from pathlib import Path

import torch
from torchvision import datasets
from torchvision.datasets.mnist import read_image_file, read_label_file

# name -> (torchvision class, folder under the root, class names)
DATASETS = {
    "mnist": (datasets.MNIST, "MNIST", [str(d) for d in range(10)]),
    "fashion-mnist": (
        datasets.FashionMNIST,
        "FashionMNIST",
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    ),
}

# MD5 of the uncompressed raw files, as published for the original archives' contents.
MD5 = {
    "MNIST/raw/train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "MNIST/raw/train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "MNIST/raw/t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "MNIST/raw/t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    "FashionMNIST/raw/train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "FashionMNIST/raw/train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "FashionMNIST/raw/t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "FashionMNIST/raw/t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}

SPLITS = {"train": "train", "test": "t10k"}


class DatasetNotFoundError(FileNotFoundError):
    """The dataset is neither in the data folder nor downloadable from here."""


def course_folder(name: str, package: Path | None = None) -> Path:
    """Where the course keeps ``name`` (``"data"``, ``".cache"``) unless an environment variable says:
    beside the package in a clone of the repository (a folder with ``pyproject.toml``), else, for a
    package installed from a wheel (a class release), under ``~/.cache/vae_course/`` (``"cache"``
    for ``".cache"``): a class's ``site-packages`` may be shared by every learner or read-only."""
    package = package or Path(__file__).resolve().parent
    if (package.parent / "pyproject.toml").is_file():
        return package.parent / name
    return Path.home() / ".cache" / "vae_course" / name.lstrip(".")


def data_root() -> Path:
    """The data folder: ``$VAE_COURSE_DATA`` when set, else :func:`course_folder` ``("data")``: the
    repository's ``data/``, or ``~/.cache/vae_course/data`` for an installed wheel."""
    env = os.environ.get("VAE_COURSE_DATA")
    if env:
        return Path(env).expanduser().resolve()
    return course_folder("data")


def class_names(name: str) -> list[str]:
    """The ten class names of a dataset, index = label."""
    return list(_spec(name)[2])


def load_dataset(name: str, split: str = "train", root=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Load a whole split into memory.

    Args:
        name: ``"mnist"`` or ``"fashion-mnist"``.
        split: ``"train"`` (60 000 images) or ``"test"`` (10 000 images).
        root: the data folder; default :func:`data_root`.

    Returns:
        ``(images, labels)``: images float32 ``(N, 1, 28, 28)`` with values in [0, 1],
        labels int64 ``(N,)`` with values 0..9. Fresh tensors on every call.

    Raises:
        DatasetNotFoundError: the files are missing and could not be downloaded; the message
            names the folder that was searched and how to fix it.
        ValueError: a file is there but corrupt (checksum mismatch), or the name/split is unknown.
    """
    _, folder, _ = _spec(name)
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    root = Path(root).expanduser().resolve() if root is not None else data_root()
    images_u8, labels = _load_raw(name, split, str(root))
    return images_u8.float().div_(255.0).unsqueeze(1), labels.clone()


def _spec(name: str):
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: choose one of {sorted(DATASETS)}.")
    return DATASETS[name]


@lru_cache(maxsize=4)
def _load_raw(name: str, split: str, root: str) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images (N, 28, 28) and int64 labels (N,), verified; cached per process.

    Only the split's two files are needed. They are read directly (torchvision's IDX readers) rather
    than through ``datasets.MNIST(...)``, which insists on finding all four files of the dataset.
    Errors are not cached: after fixing a file, the next call checks again.
    """
    cls, folder, _ = _spec(name)
    root = Path(root)
    images, labels = (f"{folder}/raw/{SPLITS[split]}-{kind}"
                      for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"))
    missing = [f for f in (images, labels) if not (root / f).is_file()]
    if missing:
        _download(cls, folder, root, missing)
    for f in (images, labels):
        _verify(root / f, MD5[f])
    return read_image_file(str(root / images)), read_label_file(str(root / labels))


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _verify(path: Path, expected: str) -> None:
    if _md5(path) != expected:
        raise ValueError(
            f"{path} is corrupt (its MD5 checksum is not the published one). "
            f"Delete it and run again to download it afresh, or copy a good file there."
        )


def _download(cls, folder: str, root: Path, missing: list[str]) -> None:
    """Let torchvision download into ``root``; on failure remove what it left and explain.

    torchvision fetches all four files of the dataset (both splits) when it downloads. If that
    fails, every folder and file the attempt created is removed, and nothing that was there before.
    """
    raw = root / folder / "raw"
    created = [p for p in (raw, *raw.parents) if not p.exists()]  # deepest first
    before = set(raw.iterdir()) if raw.is_dir() else set()
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)
    try:
        cls(root=str(root), train=True, download=True)
    except Exception as exc:  # no network, a proxy, a read-only folder: all end the same way
        for p in (set(raw.iterdir()) - before) if raw.is_dir() else ():
            p.unlink() if p.is_file() or p.is_symlink() else shutil.rmtree(p, ignore_errors=True)
        for p in created:
            shutil.rmtree(p, ignore_errors=True)
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = lines[-1] if lines else type(exc).__name__  # the innermost cause
        raise DatasetNotFoundError(
            f"{folder} is not in the data folder {root} and could not be downloaded ({reason}).\n"
            f"Looked for: {', '.join(str(root / m) for m in missing)}.\n"
            f"Fix: connect to the internet and run again, or copy the raw files "
            f"(torchvision layout: {', '.join(missing)}) into {root}, or point "
            f"the environment variable VAE_COURSE_DATA at a folder that has them."
        ) from None
    finally:
        socket.setdefaulttimeout(old_timeout)


def check_images(x: torch.Tensor, what: str = "images") -> None:
    """Raise a ValueError unless ``x`` is a floating tensor of finite values in [0, 1]."""
    if not torch.is_tensor(x) or not x.is_floating_point():
        raise ValueError(f"{what} must be a float tensor with values in [0, 1], got "
                         f"{type(x).__name__}{'' if not torch.is_tensor(x) else ' of ' + str(x.dtype)}.")
    outside = outside_unit_interval(x)
    if outside is None:
        return
    if not torch.isfinite(x).all():
        raise ValueError(f"{what} contain NaN or infinite values.")
    lo, hi = outside
    hint = " They look like 0..255 pixel values: divide by 255." if hi > 1.5 else ""
    raise ValueError(f"{what} must lie in [0, 1], got values in [{lo:.3g}, {hi:.3g}].{hint}")


def outside_unit_interval(t: torch.Tensor) -> tuple[float, float] | None:
    """None when every value of the tensor ``t`` lies in [0, 1], else its (min, max), NaN included.

    One pass over ``t`` (``torch.aminmax``): the checks that call it run on every training batch.
    """
    if not t.numel():
        return None
    lo, hi = torch.aminmax(t.detach() if t.is_floating_point() else t.detach().float())
    if lo >= 0 and hi <= 1:  # False when either is NaN
        return None
    return lo.item(), hi.item()


def batches(x: torch.Tensor, y: torch.Tensor | None = None, batch_size: int = 128,
            shuffle: bool = True, generator: torch.Generator | None = None):
    """Iterate over mini-batches of in-memory tensors.

    Yields ``(x[idx], y[idx])`` (or ``(x[idx], None)`` when ``y`` is None) for consecutive blocks of
    ``batch_size`` indices of a random permutation (or of ``0..N-1`` when ``shuffle`` is False). The
    last batch may be smaller. One ``randperm`` per epoch and tensor indexing: no Python per image.
    """
    n = len(x)
    if y is not None and len(y) != n:
        raise ValueError(f"x and y must have the same length, got {n} and {len(y)}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    order = order.to(x.device)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield x[idx], (y[idx] if y is not None else None)


def binarize_dynamic(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A fresh Bernoulli draw per call: pixel on with probability equal to its grey level.

    Call it on every mini-batch ("dynamic binarization", as in the IWAE paper): the model sees a
    different binary image each epoch. ``(B, ...) -> (B, ...)``, values in {0., 1.}.
    """
    check_images(x)
    return torch.bernoulli(x, generator=generator)


def binarize_fixed(x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """One seeded Bernoulli draw of the whole tensor, the same every call ("fixed binarization")."""
    check_images(x)
    g = torch.Generator(device=x.device).manual_seed(seed)
    return torch.bernoulli(x, generator=g)


def validation_split(x: torch.Tensor, n_validation: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x_train, x_validation)``: all but the last ``n_validation`` rows, and those last rows, held
    out for choosing settings so that no choice is made on test images. Burda et al.'s code (2016)
    holds out MNIST's last 400 training images this way."""
    if not isinstance(n_validation, int) or isinstance(n_validation, bool) or not 0 < n_validation < len(x):
        raise ValueError(f"n_validation must be a whole number between 1 and {len(x) - 1}, "
                         f"got {n_validation!r}.")
    return x[:-n_validation], x[-n_validation:]


def random_subset(n: int, *tensors: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """The same ``n`` rows of each of ``tensors`` (images and their labels, say), drawn uniformly
    without replacement by ``seed``, in their original order; all rows when ``n`` is at least their
    number.

    Why not ``x_test[:n]``: MNIST's test set is not shuffled evenly (its first 5,000 images are harder
    for a nearest-neighbour vote and carry less ink than the last 5,000), so a first-``n`` slice is a
    biased sample, and two numbers measured on different slices are not comparable. A measurement
    on part of a set takes one seeded subset, and every number compared with it takes the same one.
    """
    if not tensors:
        raise ValueError("random_subset needs at least one tensor.")
    total = len(tensors[0])
    if any(len(t) != total for t in tensors):
        raise ValueError(f"the tensors have different numbers of rows: {[len(t) for t in tensors]}.")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a whole number >= 1, got {n!r}.")
    if n >= total:
        return tuple(tensors)
    rows = torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:n].sort().values
    return tuple(t[rows] for t in tensors)
