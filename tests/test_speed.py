import pytest
import torch

from vae_course.losses import vae_loss
from vae_course.models import VAE
from vae_course.speed import RECIPE, vae_loss_logits
from vae_course.train import Recipe, adam, fit


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_logits_loss_equals_the_course_vae_loss_for_the_same_noise(beta):
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden=(16,))
    x = torch.rand(8, 1, 28, 28)
    torch.manual_seed(1)
    expected = vae_loss(model, x, beta=beta)
    torch.manual_seed(1)
    assert vae_loss_logits(model, x, beta=beta).item() == pytest.approx(expected.item(), rel=1e-5)


def test_fits_default_fused_adam_trains_like_plain_adam():
    x = torch.rand(64, 1, 28, 28)
    losses = []
    for make in (lambda m: torch.optim.Adam(m.parameters(), lr=1e-3), lambda m: None):
        model = VAE(latent_dim=2, hidden=(8,))
        history = fit(model, vae_loss_logits, x, epochs=2, batch_size=32, optimizer=make(model),
                      progress=False, device="cpu")
        losses.append(history.train_loss[-1])
    assert losses[0] == pytest.approx(losses[1], rel=1e-4)


def test_adam_is_fused_for_a_cpu_model_and_plain_for_integer_or_mixed_parameters():
    assert adam(VAE(2, (8,)), 1e-3).defaults["fused"] is True
    model = VAE(2, (8,))
    model.register_buffer("counts", torch.zeros(3))  # buffers are not parameters: still fused
    assert adam(model).defaults["fused"] is True
    with_int = torch.nn.Module()
    with_int.w = torch.nn.Parameter(torch.zeros(2, dtype=torch.int64), requires_grad=False)
    assert not adam(with_int).defaults["fused"]


def test_the_speed_recipe_is_the_recipe_the_notebooks_train_by():
    recipe = Recipe(loss="vae")
    assert RECIPE == {"batch_size": recipe.batch_size, "lr": recipe.lr, "epochs": recipe.epochs,
                      "schedule": recipe.schedule}
    assert recipe.schedule == "one-cycle"
