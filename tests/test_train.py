import pytest
import torch

from vae_course.losses import ae_loss, vae_loss
from vae_course.models import AE, VAE
from vae_course.train import History, evaluate, fit, pick_device, seed_everything


def toy_digits(n=256, seed=0):
    """Two blurry 'digits': left-half or right-half images, with noise, in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.zeros(n, 1, 28, 28)
    x[y == 0, :, :, :14] = 0.9
    x[y == 1, :, :, 14:] = 0.9
    x = (x + 0.05 * torch.rand(x.shape, generator=g)).clamp(0, 1)
    return x, y


def test_fit_lowers_the_vae_loss_and_records_one_entry_per_epoch():
    x, y = toy_digits()
    model = VAE(latent_dim=2, hidden=(32,))
    before = evaluate(model, vae_loss, (x, y))
    history = fit(model, vae_loss, (x, y), epochs=10, test_data=(x, y), batch_size=32,
                  progress=False, device="cpu")
    assert len(history.train_loss) == len(history.test_loss) == len(history.epoch_seconds) == 10
    assert history.test_loss[-1] < 0.7 * before
    assert history.samples_per_second > 0 and history.n_train == 256
    assert not model.training


def test_fit_is_reproducible_with_the_same_seed():
    x, _ = toy_digits()

    def run(seed):
        seed_everything(seed)  # before building the model: the initial weights are random too
        model = AE(2, (16,))
        return fit(model, ae_loss, x, epochs=2, batch_size=64, seed=seed, progress=False).train_loss

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_fit_applies_the_batch_transform_to_training_batches():
    x, _ = toy_digits(64)
    seen = []

    def record(xb):
        seen.append(len(xb))
        return xb

    fit(AE(2, (8,)), ae_loss, x, epochs=1, batch_size=16, transform=record, progress=False)
    assert seen == [16, 16, 16, 16]


def test_evaluate_weights_batches_by_their_size():
    x, _ = toy_digits(10)
    model = AE(2, (8,))
    whole = ae_loss(model, x).item()
    assert evaluate(model, ae_loss, x, batch_size=3) == pytest.approx(whole, rel=1e-5)


def test_bad_training_data_is_a_clear_error():
    with pytest.raises(ValueError, match="empty"):
        fit(AE(), ae_loss, torch.zeros(0, 784), epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"\(images, labels\) pair"):
        fit(AE(), ae_loss, [1, 2, 3], epochs=1, progress=False)


def test_device_is_cpu_without_cuda_and_seeding_returns_a_generator():
    assert pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu").type == "cpu"
    g = seed_everything(5)
    fresh = torch.Generator().manual_seed(5)
    assert torch.equal(torch.randn(2, generator=g), torch.randn(2, generator=fresh))
    assert History().seconds == 0
