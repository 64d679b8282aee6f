import pickle

import pytest
import torch

from vae_course.checkpoints import CheckpointError, cache_dir, load_checkpoint, load_or_train, save_checkpoint
from vae_course.models import AE, VAE


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
    path.write_bytes(pickle.dumps(Evil()))
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


def test_load_or_train_trains_once_then_loads_and_retrains_on_request(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    calls = []

    def train(model):
        calls.append(1)
        return {"epochs": 1}

    m1, meta1 = load_or_train("ae-test", lambda: AE(2, (8,)), train, device="cpu")
    m2, meta2 = load_or_train("ae-test", lambda: AE(2, (8,)), train, device="cpu")
    assert (meta1["loaded"], meta2["loaded"], len(calls)) == (False, True, 1)
    assert torch.equal(m1.decode(torch.ones(1, 2)), m2.decode(torch.ones(1, 2)))
    load_or_train("ae-test", lambda: AE(2, (8,)), train, retrain=True, device="cpu")
    assert len(calls) == 2


def test_load_or_train_retrains_when_the_config_changed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path))
    load_or_train("m", lambda: AE(2, (8,)), lambda m: {}, device="cpu")
    model, meta = load_or_train("m", lambda: AE(2, (16,)), lambda m: {}, device="cpu")
    assert meta["loaded"] is False and model.config["hidden"] == [16]
    assert "Not using the cached model" in capsys.readouterr().out
