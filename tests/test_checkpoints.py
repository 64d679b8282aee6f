import dataclasses
import os
import pickle
import stat

import pytest
import torch

from vae_course.checkpoints import (
    CheckpointError,
    cache_dir,
    load_checkpoint,
    load_or_train,
    recipe_key,
    save_checkpoint,
)
from vae_course.losses import ae_loss
from vae_course.models import AE, VAE
from vae_course.train import History, Recipe


def test_a_saved_model_loads_back_with_identical_outputs_and_metadata(tmp_path):
    model = VAE(latent_dim=3, hidden=(16,))
    path = save_checkpoint(tmp_path / "vae.pt", model, {"test_loss": [1.5, 1.2], "mode": "fast"})
    loaded, meta = load_checkpoint(path)
    assert isinstance(loaded, VAE) and loaded.config == model.config
    z = torch.randn(4, 3)
    assert torch.equal(loaded.decode(z), model.decode(z))
    assert meta == {"test_loss": [1.5, 1.2], "mode": "fast"}
    assert [p.name for p in tmp_path.iterdir()] == ["vae.pt"]  # no temp file left behind


def test_a_foreign_pickle_is_refused_without_running_it(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(Evil(), protocol=2))  # the protocol torch.load expects: no warning
    with pytest.raises(CheckpointError, match="corrupt or not a PyTorch file"):
        load_checkpoint(path)


def test_a_plain_state_dict_is_not_mistaken_for_a_checkpoint(tmp_path):
    torch.save(VAE().state_dict(), tmp_path / "sd.pt")
    with pytest.raises(CheckpointError, match="not a vae_course checkpoint"):
        load_checkpoint(tmp_path / "sd.pt")


def test_a_truncated_file_is_reported_as_corrupt(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", AE())
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(path)


def test_architecture_mismatches_are_clear_errors(tmp_path):
    path = save_checkpoint(tmp_path / "ae.pt", AE(latent_dim=2))
    with pytest.raises(CheckpointError, match="holds a AE, not a VAE"):
        load_checkpoint(path, VAE)
    with pytest.raises(CheckpointError, match="trained with config"):
        load_checkpoint(path, AE, config={"latent_dim": 3, "hidden": [400]})
    assert load_checkpoint(path, AE, config={"latent_dim": 2, "hidden": (400,)})[0].latent_dim == 2


def test_missing_checkpoint_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nope.pt")


def test_a_failed_save_leaves_no_partial_file(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path / "m.pt", AE())
    assert list(tmp_path.iterdir()) == []


TINY = Recipe(loss="ae", n_train=200, epochs=1, batch_size=50)


def test_load_or_train_trains_once_then_loads_the_history_and_retrains_on_request(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    m1, h1 = load_or_train(lambda: AE(2, (8,)), TINY, device="cpu", progress=False)
    m2, h2 = load_or_train(lambda: AE(2, (8,)), TINY, device="cpu", progress=False)
    assert isinstance(h1, History) and isinstance(h2, History)
    assert (h1.loaded, h2.loaded) == (False, True)
    assert h2.train_loss == h1.train_loss and len(h2.test_loss) == 1 and h2.n_train == 200
    assert torch.equal(m1.decode(torch.ones(1, 2)), m2.decode(torch.ones(1, 2)))
    _, h3 = load_or_train(lambda: AE(2, (8,)), TINY, retrain=True, device="cpu", progress=False)
    assert not h3.loaded and len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize("change", [dict(beta=4.0), dict(lr=3e-3), dict(epochs=2), dict(seed=1),
                                    dict(binarize=False), dict(data="fashion-mnist"), dict(n_train=300),
                                    dict(batch_size=64), dict(loss="vae")])
def test_a_model_trained_by_another_recipe_is_never_handed_back(change):
    model = VAE(2, (8,))
    assert recipe_key(model, dataclasses.replace(TINY, **change)) != recipe_key(model, TINY)
    assert recipe_key(model, TINY) == recipe_key(VAE(2, (8,)), TINY)
    assert recipe_key(VAE(3, (8,)), TINY) != recipe_key(model, TINY)


def test_a_cached_file_whose_recipe_does_not_match_is_refused_and_retrained(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path))
    other = dataclasses.replace(TINY, lr=3e-3)
    load_or_train(lambda: AE(2, (8,)), TINY, device="cpu", progress=False)
    (only,) = tmp_path.iterdir()
    only.rename(tmp_path / f"{recipe_key(AE(2, (8,)), other)}.pt")  # a file under the wrong name
    _, history = load_or_train(lambda: AE(2, (8,)), other, device="cpu", progress=False)
    assert not history.loaded
    assert "trained by another recipe" in capsys.readouterr().out


def test_the_same_recipe_trains_the_same_weights_whatever_ran_before(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path))
    m1, h1 = load_or_train(lambda: AE(2, (8,)), TINY, retrain=True, device="cpu", progress=False)
    torch.randn(1000)  # a learner ran other cells in between
    m2, h2 = load_or_train(lambda: AE(2, (8,)), TINY, retrain=True, device="cpu", progress=False)
    assert h1.train_loss == h2.train_loss
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))


def test_a_custom_loss_is_named_in_the_recipe_unless_it_stands_in_for_a_course_loss(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path))

    def my_loss(model, x, y=None):
        return ae_loss(model, x, y)

    with pytest.raises(ValueError, match="names the loss 'mine'"):
        load_or_train(lambda: AE(2, (8,)), dataclasses.replace(TINY, loss="mine"), loss_fn=my_loss,
                      device="cpu", progress=False)
    _, h = load_or_train(lambda: AE(2, (8,)), dataclasses.replace(TINY, loss="my_loss"), loss_fn=my_loss,
                         device="cpu", progress=False)
    assert len(h.train_loss) == 1
    _, h = load_or_train(lambda: AE(2, (8,)), TINY, loss_fn=my_loss, device="cpu", progress=False)
    assert not h.loaded  # my_loss stands in for the recipe's "ae" ...
    _, h = load_or_train(lambda: AE(2, (8,)), TINY, device="cpu", progress=False)
    assert h.loaded  # ... and computes what the course's ae_loss computes, so the file is shared


def test_beta_reaches_a_custom_loss_that_takes_it():
    def takes_beta(model, x, y=None, beta=1.0):
        return beta * ae_loss(model, x, y)

    def no_beta(model, x, y=None):
        return ae_loss(model, x, y)

    recipe = dataclasses.replace(TINY, beta=3.0)
    model, x = AE(2, (8,)), torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(recipe.loss_fn(takes_beta)(model, x), 3.0 * ae_loss(model, x))
    with pytest.raises(ValueError, match="takes no beta argument"):
        recipe.loss_fn(no_beta)


def test_a_cached_file_is_handed_back_only_to_a_model_and_loss_that_compute_what_trained_it(
        tmp_path, monkeypatch, capsys):
    """The key holds the weights' names and shapes, so a learner's class with the package's layers
    finds the package's file: it is used only if the probe loss agrees."""
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path))

    class AEWithSwappedHalves(AE):  # the same layers, another computation
        def encode(self, x):
            return -super().encode(x)

    trained, _ = load_or_train(lambda: AE(2, (8,)), TINY, device="cpu", progress=False)

    class Learners(torch.nn.Module):  # no .config, the package's layer names and shapes
        def __init__(self):
            super().__init__()
            reference = AE(2, (8,))
            self.encoder, self.decoder = reference.encoder, reference.decoder

        def forward(self, x):
            z = self.encoder(x.reshape(len(x), 784))
            return torch.sigmoid(self.decoder(z)).reshape(len(x), 1, 28, 28), z

    same, h = load_or_train(Learners, TINY, device="cpu", progress=False)
    assert h.loaded and all(torch.equal(a, b) for a, b in zip(same.state_dict().values(),
                                                               trained.state_dict().values()))
    capsys.readouterr()
    _, h = load_or_train(lambda: AEWithSwappedHalves(2, (8,)), TINY, device="cpu", progress=False)
    assert not h.loaded and "on the probe images" in capsys.readouterr().out

    def twice(model, x, y=None):
        return 2 * ae_loss(model, x, y)

    _, h = load_or_train(lambda: AE(2, (8,)), TINY, loss_fn=twice, device="cpu", progress=False)
    assert not h.loaded and "on the probe images" in capsys.readouterr().out


def test_the_probe_leaves_the_random_state_alone():
    model = VAE(2, (8,))
    before = torch.get_rng_state()
    from vae_course.checkpoints import probe_loss
    from vae_course.losses import vae_loss
    a = probe_loss(model, vae_loss, TINY, "cpu")
    assert torch.equal(torch.get_rng_state(), before)
    assert a == probe_loss(model, vae_loss, TINY, "cpu")


def _tamper(path, **changes):
    payload = torch.load(path, weights_only=True)
    for key, value in changes.items():
        if value is None:
            del payload[key]
        else:
            payload[key] = value(payload) if callable(value) else value
    torch.save(payload, path)


@pytest.mark.parametrize("changes, message", [
    (dict(config=lambda p: {**p["config"], "colour": "red"}), "cannot be built from the saved config"),
    (dict(model_class=None), "lacks a model class name"),
    (dict(metadata=["not", "a", "dict"]), "metadata is a list"),
    (dict(state_dict=lambda p: {**p["state_dict"], "encoder.0.weight": torch.zeros(3, 3)}), "size mismatch"),
])
def test_a_damaged_checkpoint_is_a_clear_checkpoint_error(tmp_path, changes, message):
    path = save_checkpoint(tmp_path / "ae.pt", AE(2, (8,)), {"recipe": {}})
    _tamper(path, **changes)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(path, AE)
    assert str(info.value).strip() and ": ;" not in str(info.value)


def test_load_or_train_replaces_a_damaged_cache_file_with_a_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path))
    load_or_train(lambda: AE(2, (8,)), TINY, device="cpu", progress=False)
    (path,) = tmp_path.iterdir()
    for changes in [dict(config=lambda p: {**p["config"], "colour": "red"}), dict(model_class=None),
                    dict(metadata=[1, 2]), dict(metadata={"recipe": "?", "history": 3})]:
        _tamper(path, **changes)
        _, history = load_or_train(lambda: AE(2, (8,)), TINY, device="cpu", progress=False)
        assert not history.loaded
        assert "Not using the cached model" in capsys.readouterr().out


def test_a_saved_checkpoint_is_readable_by_other_users_of_a_shared_cache(tmp_path):
    old = os.umask(0o022)
    try:
        path = save_checkpoint(tmp_path / "m.pt", AE(2, (8,)))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
