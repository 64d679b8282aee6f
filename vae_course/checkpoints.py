"""Save and load trained models safely, and load-else-train.

A checkpoint is a plain dictionary saved with ``torch.save``::

    {"format": "vae_course.checkpoint", "version": 1, "model_class": "VAE",
     "config": {...constructor arguments...}, "state_dict": {...}, "metadata": {...}}

Loading uses ``torch.load(..., weights_only=True)``, which refuses to run code hidden in a file,
and then checks that the file is one of ours and that its architecture is the one asked for.
Writes go to a temporary file in the same folder that is renamed into place, so an interrupted save
never leaves a half-written checkpoint behind.
"""

import os
import tempfile
from pathlib import Path

import torch

from .models import MODELS

FORMAT = "vae_course.checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a usable checkpoint for the model asked for."""


def cache_dir() -> Path:
    """Where trained models are cached: ``$VAE_COURSE_CACHE``, else the repository's ``.cache/``."""
    env = os.environ.get("VAE_COURSE_CACHE")
    path = Path(env).expanduser() if env else Path(__file__).resolve().parent.parent / ".cache"
    return path


def save_checkpoint(path, model: torch.nn.Module, metadata: dict | None = None) -> Path:
    """Save ``model`` (its class name, ``model.config`` and weights) and ``metadata`` atomically.

    ``metadata`` may hold numbers, strings, lists and dicts of them (e.g. a training history).
    """
    if not hasattr(model, "config"):
        raise ValueError(f"{type(model).__name__} has no .config (its constructor arguments): "
                         "the course's models keep one so that a checkpoint can rebuild them.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model_class": type(model).__name__,
        "config": dict(model.config),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "metadata": dict(metadata or {}),
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path, model_cls=None, config: dict | None = None, device=None):
    """Load a checkpoint; returns ``(model, metadata)`` with the model in eval mode.

    Args:
        path: the file.
        model_cls: the class expected (default: looked up by name among AE, VAE, CVAE).
        config: when given, the checkpoint's config must equal it (else CheckpointError).
        device: where to put the model (default CPU).

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a checkpoint of this course, a corrupt file, another architecture,
            or weights that do not fit the architecture.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path} could not be read as a checkpoint ({type(exc).__name__}): "
                              "it is corrupt or not a PyTorch file. Delete it and retrain.") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a vae_course checkpoint (no '{FORMAT}' marker).")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{path} has checkpoint version {payload.get('version')}, "
                              f"this course reads version {VERSION}.")
    name = payload["model_class"]
    if model_cls is None:
        if name not in MODELS:
            raise CheckpointError(f"{path} holds a {name}; pass its class as model_cls to load it.")
        model_cls = MODELS[name]
    elif model_cls.__name__ != name:
        raise CheckpointError(f"{path} holds a {name}, not a {model_cls.__name__}.")
    if config is not None and _normalize(config) != _normalize(payload["config"]):
        raise CheckpointError(f"{path} was trained with config {payload['config']}, "
                              f"not {config}.")
    model = model_cls(**payload["config"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(f"{path}: the weights do not fit a {name}{payload['config']} "
                              f"({first}).") from None
    model.to(device or "cpu").eval()
    return model, payload["metadata"]


def _normalize(value):
    """Tuples and lists compare equal (a checkpoint stores lists)."""
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalize(v) for v in value]
    return value


def load_or_train(name: str, build_model, train, retrain: bool = False, device=None):
    """Load the cached model ``name`` if its config matches, else build, train and cache it.

    Args:
        name: a file name in :func:`cache_dir` (include what must not be shared, e.g. the budget
            mode: ``f"vae2d-{budget().mode}"``).
        build_model: ``() -> model``, a fresh untrained model; its ``.config`` is what must match.
        train: ``(model) -> metadata dict`` (e.g. ``fit(...).to_dict()``), called only when training.
        retrain: ignore any cached file and train afresh.
        device: where the returned model lives (default: CUDA when present, else CPU).

    Returns:
        ``(model, metadata)``; ``metadata["loaded"]`` says whether it came from the cache.
    """
    from .train import pick_device

    device = device or pick_device()
    path = cache_dir() / f"{name}.pt"
    model = build_model()
    if path.exists() and not retrain:
        try:
            cached, metadata = load_checkpoint(path, type(model), config=model.config, device=device)
            return cached, {**metadata, "loaded": True}
        except CheckpointError as exc:
            print(f"Not using the cached model ({exc}); training a new one.")
    metadata = dict(train(model) or {})
    save_checkpoint(path, model, metadata)
    model.to(device).eval()
    return model, {**metadata, "loaded": False}
