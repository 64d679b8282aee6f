"""Save and load trained models safely, and load-else-train.

A checkpoint is a plain dictionary saved with ``torch.save``::

    {"format": "vae_course.checkpoint", "version": 1, "model_class": "VAE",
     "config": {...constructor arguments...}, "state_dict": {...}, "metadata": {...}}

Loading uses ``torch.load(..., weights_only=True)``, which refuses to run code hidden in a file,
and then checks that the file is one of ours and that its architecture is the one asked for.
Writes go to a temporary file in the same folder that is renamed into place, so an interrupted save
never leaves a half-written checkpoint behind.
"""

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch

from .data import course_folder
from .models import MODELS
from .train import History, pick_device, seed_everything

FORMAT = "vae_course.checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a usable checkpoint for the model asked for."""


def cache_dir() -> Path:
    """Where trained models are cached: ``$VAE_COURSE_CACHE``, else the repository's ``.cache/`` (for a
    package installed from a wheel, ``~/.cache/vae_course/cache``)."""
    env = os.environ.get("VAE_COURSE_CACHE")
    return Path(env).expanduser() if env else course_folder(".cache")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; a saved model is as readable as any file
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
    name, saved_config, state_dict = (payload.get(k) for k in ("model_class", "config", "state_dict"))
    metadata = payload.get("metadata", {})
    if not isinstance(name, str) or not isinstance(saved_config, dict) or not isinstance(state_dict, dict):
        raise CheckpointError(f"{path} is damaged: it lacks a model class name, a config dict or the "
                              "weights. Delete it and retrain.")
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{path} is damaged: its metadata is a {type(metadata).__name__}, "
                              "not a dict. Delete it and retrain.")
    if model_cls is None:
        if name not in MODELS:
            raise CheckpointError(f"{path} holds a {name}; pass its class as model_cls to load it.")
        model_cls = MODELS[name]
    elif model_cls.__name__ != name:
        raise CheckpointError(f"{path} holds a {name}, not a {model_cls.__name__}.")
    if config is not None and _normalize(config) != _normalize(saved_config):
        raise CheckpointError(f"{path} was trained with config {saved_config}, "
                              f"not {config}.")
    try:
        model = model_cls(**saved_config)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: a {name} cannot be built from the saved config "
                              f"{saved_config} ({exc}).") from None
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as exc:
        details = [line.strip() for line in str(exc).splitlines() if line.strip()][1:4]
        raise CheckpointError(f"{path}: the weights do not fit a {name}({saved_config}): "
                              + "; ".join(details or [str(exc).strip()])) from None
    model.to(device or "cpu").eval()
    return model, metadata


def _normalize(value):
    """Tuples and lists compare equal (a checkpoint stores lists)."""
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalize(v) for v in value]
    return value


def recipe_key(model: torch.nn.Module, recipe) -> str:
    """The cache file name of ``model`` (its class and config) trained by ``recipe``.

    A readable prefix and a hash of everything: ``VAE-vae-3f2a9c1b07de``. Any change to the
    architecture or to any field of the recipe gives another name, so another file.
    """
    what = {"model_class": type(model).__name__, "config": _normalize(dict(model.config)),
            "recipe": _normalize(dataclasses.asdict(recipe))}
    digest = hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:12]
    return f"{type(model).__name__}-{recipe.loss}-{digest}"


def load_or_train(build_model, recipe, loss_fn=None, *, retrain: bool = False, device=None,
                  progress: bool = True):
    """Load the model that ``recipe`` trains from the cache, or train it by the recipe and cache it.

    Args:
        build_model: ``() -> model``, a fresh untrained model of the course (it has a ``.config``).
        recipe: a :class:`vae_course.train.Recipe`: data, binarization, loss, beta, epochs, batch size,
            learning rate, seed. The cache file is keyed on the recipe *and* the model's config, and the
            file must say it was trained by this very recipe, so a model trained another way is never
            handed back.
        loss_fn: your own objective ``(model, x, y) -> scalar`` instead of ``LOSSES[recipe.loss]``;
            its ``__name__`` must be ``recipe.loss``.
        retrain: ignore any cached file and train afresh.
        device: where the returned model lives (default: CUDA when present, else CPU).

    Returns:
        ``(model, history)``: the model in eval mode and its :class:`~vae_course.train.History`
        (``history.loaded`` says whether it came from the cache).

    A cached file that cannot be used (corrupt, another format, a recipe that does not match) is
    reported in one line and replaced by a freshly trained model.
    """
    device = device or pick_device()
    seed_everything(recipe.seed)
    model = build_model()
    path = cache_dir() / f"{recipe_key(model, recipe)}.pt"
    wanted = _normalize(dataclasses.asdict(recipe))
    if path.exists() and not retrain:
        try:
            cached, metadata = load_checkpoint(path, type(model), config=model.config, device=device)
            if _normalize(metadata.get("recipe")) != wanted:
                raise CheckpointError(f"{path} was trained by another recipe: {metadata.get('recipe')}")
            history = History.from_dict(metadata.get("history"))
            history.loaded = True
            return cached, history
        except (CheckpointError, ValueError) as exc:
            print(f"Not using the cached model ({exc}); training a new one.")
    history = recipe.fit(model, loss_fn=loss_fn, device=device, progress=progress)
    save_checkpoint(path, model, {"recipe": dataclasses.asdict(recipe), "history": history.to_dict()})
    model.to(device).eval()
    return model, history
