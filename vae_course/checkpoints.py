"""Save and load trained models safely, and load-else-train.

A checkpoint is a plain dictionary saved with ``torch.save``::

    {"format": "vae_course.checkpoint", "version": 1, "model_class": "VAE",
     "config": {...constructor arguments...}, "state_dict": {...}, "metadata": {...}}

Loading uses ``torch.load(..., weights_only=True)``, which refuses to run code hidden in a file,
and then checks that the file is one of ours and that its architecture is the one asked for.
Writes go to a temporary file in the same folder that is renamed into place, so an interrupted save
never leaves a half-written checkpoint behind.
"""

import copy
import dataclasses
import hashlib
import json
import math
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
    return _save(Path(path), model, metadata)


def _save(path: Path, model: torch.nn.Module, metadata: dict | None) -> Path:
    """Write the checkpoint atomically; a model without ``.config`` is saved with an empty one (it
    can be loaded back only into a model built by its own class, as ``load_or_train`` does)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model_class": type(model).__name__,
        "config": dict(getattr(model, "config", {})),
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


def _read(path: Path) -> tuple[str, dict, dict, dict]:
    """``(model_class, config, state_dict, metadata)`` of a checkpoint file, checked to be ours."""
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
    return name, saved_config, state_dict, metadata


def _load_weights(model: torch.nn.Module, state_dict: dict, path: Path, what: str) -> None:
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as exc:
        details = [line.strip() for line in str(exc).splitlines() if line.strip()][1:4]
        raise CheckpointError(f"{path}: the weights do not fit a {what}: "
                              + "; ".join(details or [str(exc).strip()])) from None


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
    name, saved_config, state_dict, metadata = _read(path)
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
    _load_weights(model, state_dict, path, f"{name}({saved_config})")
    model.to(device or "cpu").eval()
    return model, metadata


def _normalize(value):
    """Tuples and lists compare equal (a checkpoint stores lists)."""
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalize(v) for v in value]
    return value


def architecture(model: torch.nn.Module) -> list[list]:
    """``[[name, shape], ...]`` of ``model``'s weights and buffers: what a checkpoint must fit."""
    return [[name, list(tensor.shape)] for name, tensor in model.state_dict().items()]


def recipe_key(model: torch.nn.Module, recipe) -> str:
    """The cache file name of a model with ``model``'s weights (their names and shapes) trained by
    ``recipe``: the loss's name and a hash of everything, e.g. ``vae-3f2a9c1b07de``.

    Any change to the architecture or to any field of the recipe gives another name, so another
    file. The key holds the weights' names and shapes, not the class or its constructor arguments,
    so your own autoencoder of notebook 04 or VAE of 05, whose layers are those of ``models.AE`` and
    ``models.VAE``, shares the package's cached file; ``load_or_train`` hands a file back only to a
    model and loss that compute, with its weights, the loss it was saved with.
    """
    what = {"architecture": architecture(model), "recipe": _normalize(dataclasses.asdict(recipe))}
    digest = hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:12]
    return f"{recipe.loss}-{digest}"


PROBE_IMAGES = 64


def probe_loss(model: torch.nn.Module, objective, recipe, device) -> float:
    """The objective on 64 fixed test images, with a fixed seed for any sampling: a fingerprint of
    what a model and a loss compute together. The global random state is left as it was."""
    x, y = recipe.test_data()
    pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:PROBE_IMAGES]
    was_training = model.training
    model.to(device).eval()
    cuda = [torch.cuda.current_device()] if torch.device(device).type == "cuda" else []
    with torch.random.fork_rng(devices=cuda), torch.no_grad():
        torch.manual_seed(0)
        value = float(objective(model, x[pick].to(device), y[pick].to(device)))
    model.train(was_training)
    return value


def _same(a: float, b) -> bool:
    return isinstance(b, float) and math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-5)


def load_or_train(build_model, recipe, loss_fn=None, *, retrain: bool = False, device=None,
                  progress: bool = True):
    """Load the model that ``recipe`` trains from the cache, or train it by the recipe and cache it.

    Args:
        build_model: ``() -> model``, a fresh untrained model: one of the package's, or your own
            class (it needs no ``.config``).
        recipe: a :class:`vae_course.train.Recipe`: data, binarization, loss, beta, epochs, batch size,
            learning rate, seed. The cache file is keyed on the recipe and the names and shapes of
            the model's weights, and the file must say it was trained by this very recipe.
        loss_fn: your own objective ``(model, x, y) -> scalar`` instead of ``LOSSES[recipe.loss]``
            (see :meth:`vae_course.train.Recipe.loss_fn`).
        retrain: ignore any cached file and train afresh.
        device: where the returned model lives (default: CUDA when present, else CPU).

    Returns:
        ``(model, history)``: the model in eval mode and its :class:`~vae_course.train.History`
        (``history.loaded`` says whether it came from the cache).

    A cached file is handed back only if, loaded into the model that ``build_model`` gives, it
    computes the loss it was saved with on the 64 probe images (:func:`probe_loss`): a model that
    has the same layers but computes something else with them, or a loss that is not the one it was
    trained with, trains afresh. A cached file that cannot be used (corrupt, another format, a
    recipe that does not match) is reported in one line and replaced by a freshly trained model.
    """
    device = device or pick_device()
    seed_everything(recipe.seed)
    model = build_model()
    objective = recipe.loss_fn(loss_fn)
    path = cache_dir() / f"{recipe_key(model, recipe)}.pt"
    wanted = _normalize(dataclasses.asdict(recipe))
    if path.exists() and not retrain:
        initial = copy.deepcopy(model.state_dict())  # a refused file leaves the model as built
        try:
            _, config, state_dict, metadata = _read(path)
            if config and hasattr(model, "config") and _normalize(config) != _normalize(model.config):
                raise CheckpointError(f"{path} was trained with config {config}, not {model.config}.")
            if _normalize(metadata.get("recipe")) != wanted:
                raise CheckpointError(f"{path} was trained by another recipe: {metadata.get('recipe')}")
            history = History.from_dict(metadata.get("history"))
            _load_weights(model, state_dict, path, type(model).__name__)
            probe = probe_loss(model, objective, recipe, device)
            if not _same(probe, metadata.get("probe")):
                raise CheckpointError(f"{path}: with these weights your {type(model).__name__} and "
                                      f"loss give {probe:.4f} on the probe images, not the "
                                      f"{metadata.get('probe')} they were saved with")
            history.loaded = True
            return model.to(device).eval(), history
        except (CheckpointError, ValueError) as exc:
            model.load_state_dict(initial)
            print(f"Not using the cached model ({exc}); training a new one.")
    history = recipe.fit(model, loss_fn=loss_fn, device=device, progress=progress)
    probe = probe_loss(model, objective, recipe, device)
    _save(path, model, {"recipe": dataclasses.asdict(recipe), "history": history.to_dict(),
                        "probe": probe})
    model.to(device).eval()
    return model, history
