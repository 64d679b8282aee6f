import pytest
import torch

from vae_course.losses import ae_loss, vae_loss
from vae_course.models import AE, VAE
from vae_course.train import History, Recipe, course_seed, evaluate, fit, pick_device, seed_everything


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
        return fit(AE(2, (16,)), ae_loss, x, epochs=2, batch_size=64, seed=seed, progress=False).train_loss

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_fit_with_a_seed_gives_the_same_loss_after_other_random_calls():
    x, _ = toy_digits()
    first = fit(AE(2, (16,)), ae_loss, x, epochs=1, batch_size=64, seed=0, progress=False).train_loss
    torch.randn(1000)  # e.g. a learner's other cells
    model = AE(2, (16,))  # built from another random state
    assert fit(model, ae_loss, x, epochs=1, batch_size=64, seed=0, progress=False).train_loss == first


def test_fit_without_reinit_continues_from_the_weights_it_was_given():
    x, _ = toy_digits()
    model = AE(2, (16,))
    fit(model, ae_loss, x, epochs=3, batch_size=64, progress=False)
    trained = evaluate(model, ae_loss, x)
    fit(model, ae_loss, x, epochs=1, batch_size=64, progress=False, reinit=False)
    assert evaluate(model, ae_loss, x) < trained + 1.0


def test_fit_refuses_to_reinit_a_parameter_no_layer_owns():
    x, _ = toy_digits(32)
    model = AE(2, (8,))
    model.log_sigma = torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(ValueError, match="log_sigma.*reinit=False"):
        fit(model, ae_loss, x, epochs=1, progress=False)


def test_history_round_trips_through_a_dict_and_refuses_anything_else():
    h = History(train_loss=[2.0, 1.0], test_loss=[2.5, 1.5], epoch_seconds=[0.1, 0.2], n_train=10)
    assert History.from_dict(h.to_dict()) == h
    for bad in [{}, [1, 2], {"train_loss": "x", "test_loss": [], "epoch_seconds": [], "n_train": 1},
                {"train_loss": [1.0], "test_loss": [], "epoch_seconds": [], "n_train": 1}]:
        with pytest.raises(ValueError):
            History.from_dict(bad)


def test_recipe_binarizes_the_test_set_once_and_the_training_batches_afresh():
    recipe = Recipe(loss="vae", n_train=100)
    x_test, _ = recipe.test_data()
    assert set(x_test.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(x_test, recipe.test_data()[0])
    x_grey, _ = Recipe(loss="vae", binarize=False).test_data()
    assert len(x_grey.unique()) > 2 and len(recipe.train_data()[0]) == 100


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


def test_one_cycle_schedule_warms_up_then_ends_near_zero_and_unknown_schedules_are_refused():
    x, y = toy_digits(n=64)
    model = VAE(latent_dim=2, hidden=(8,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    used = []  # the learning rate of every optimizer step
    opt.register_step_pre_hook(lambda o, args, kwargs: used.append(o.param_groups[0]["lr"]))
    fit(model, vae_loss, (x, y), epochs=3, batch_size=16, lr=1e-2, optimizer=opt,
        schedule="one-cycle", progress=False, device="cpu")
    assert len(used) == 12 and used[0] == pytest.approx(1e-2 / 25)
    assert max(used) > 0.9e-2 and used.index(max(used)) in (2, 3)  # near the peak at 30 %
    assert used[-1] < 1e-5  # decayed from the 1e-2 peak to almost nothing by the last batch
    with pytest.raises(ValueError, match="one-cycle"):
        fit(model, vae_loss, (x, y), epochs=1, schedule="cosine", progress=False, device="cpu")


def test_the_course_seed_is_0_unless_vae_course_seed_names_another(monkeypatch):
    monkeypatch.delenv("VAE_COURSE_SEED", raising=False)
    assert course_seed() == 0  # what the notebooks' saved outputs were made with
    monkeypatch.setenv("VAE_COURSE_SEED", "")
    assert course_seed() == 0
    monkeypatch.setenv("VAE_COURSE_SEED", " 3 ")
    assert course_seed() == 3
    assert torch.equal(torch.randn(2, generator=seed_everything(course_seed())),
                       torch.randn(2, generator=torch.Generator().manual_seed(3)))


@pytest.mark.parametrize("value", ["three", "1.5", "-1", str(2**32)])
def test_a_seed_that_is_not_a_whole_number_in_range_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("VAE_COURSE_SEED", value)
    with pytest.raises(ValueError, match=r"VAE_COURSE_SEED=.*whole number from 0"):
        course_seed()
