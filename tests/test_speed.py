import pytest
import torch

from vae_course.losses import vae_loss
from vae_course.models import VAE
from vae_course.speed import fused_adam, vae_loss_logits
from vae_course.train import fit


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_logits_loss_equals_the_course_vae_loss_for_the_same_noise(beta):
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden=(16,))
    x = torch.rand(8, 1, 28, 28)
    torch.manual_seed(1)
    expected = vae_loss(model, x, beta=beta)
    torch.manual_seed(1)
    assert vae_loss_logits(model, x, beta=beta).item() == pytest.approx(expected.item(), rel=1e-5)


def test_fused_adam_trains_like_adam():
    x = torch.rand(64, 1, 28, 28)
    losses = []
    for make in (lambda m: torch.optim.Adam(m.parameters(), lr=1e-3), lambda m: fused_adam(m, 1e-3)):
        model = VAE(latent_dim=2, hidden=(8,))
        history = fit(model, vae_loss_logits, x, epochs=2, batch_size=32, optimizer=make(model),
                      progress=False, device="cpu")
        losses.append(history.train_loss[-1])
    assert losses[0] == pytest.approx(losses[1], rel=1e-4)
