import pytest
import torch

from vae_course.models import AE, CVAE, VAE, flatten_images


@pytest.mark.parametrize("shape", [(5, 1, 28, 28), (5, 784)])
def test_vae_maps_images_to_mu_logvar_and_back_to_images_in_unit_range(shape):
    model = VAE(latent_dim=3, hidden=(32, 16))
    x = torch.rand(shape)
    x_hat, mu, logvar = model(x)
    assert x_hat.shape == (5, 1, 28, 28) and mu.shape == logvar.shape == (5, 3)
    assert 0 <= x_hat.min() and x_hat.max() <= 1
    assert model.config == {"latent_dim": 3, "hidden": [32, 16]}


def test_ae_code_has_the_latent_size_and_decoding_is_deterministic():
    model = AE(latent_dim=2, hidden=(16,))
    x = torch.rand(4, 1, 28, 28)
    x_hat, z = model(x)
    assert z.shape == (4, 2) and x_hat.shape == (4, 1, 28, 28)
    assert torch.equal(model(x)[0], x_hat)


def test_vae_sample_is_random_but_centred_on_mu():
    model = VAE(latent_dim=2, hidden=(8,))
    mu, logvar = torch.zeros(20_000, 2), torch.full((20_000, 2), 2 * torch.log(torch.tensor(3.0)))
    z = model.reparameterize(mu, logvar)
    assert abs(z.mean().item()) < 0.1 and abs(z.std().item() - 3.0) < 0.1


def test_cvae_decodes_each_label_differently_from_the_same_z():
    model = CVAE(latent_dim=2, hidden=(16,))
    z = torch.zeros(10, 2)
    x_hat = model.decode(z, torch.arange(10))
    assert x_hat.shape == (10, 1, 28, 28)
    assert not torch.allclose(x_hat[0], x_hat[1])
    out = model(torch.rand(3, 784), torch.tensor([0, 5, 9]))
    assert [t.shape for t in out] == [(3, 1, 28, 28), (3, 2), (3, 2)]


@pytest.mark.parametrize("bad", [torch.rand(28, 28), torch.rand(1, 28, 28), torch.rand(4, 3, 28, 28),
                                 torch.rand(4, 100)])
def test_wrong_image_shapes_name_the_expected_shape(bad):
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        VAE()(bad)


def test_a_single_image_without_batch_dimension_gets_a_hint():
    with pytest.raises(ValueError, match="unsqueeze"):
        flatten_images(torch.rand(1, 28, 28))


def test_wrong_latent_and_label_inputs_are_clear_errors():
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        AE(latent_dim=2).decode(torch.zeros(4, 3))
    cvae = CVAE(latent_dim=2)
    with pytest.raises(ValueError, match="0..9"):
        cvae.decode(torch.zeros(1, 2), torch.tensor([10]))
    with pytest.raises(ValueError, match="integer labels"):
        cvae.decode(torch.zeros(1, 2), torch.tensor([1.0]))
    with pytest.raises(ValueError, match="2 codes but 1 labels"):
        cvae.decode(torch.zeros(2, 2), torch.tensor([1]))


@pytest.mark.parametrize("shape", [(5, 1, 28, 28), (5, 784)])
def test_conv_vae_has_the_vae_interface_and_halves_then_doubles_the_side(shape):
    from vae_course.losses import vae_loss
    from vae_course.models import conv_vae

    model = conv_vae(latent_dim=3, channels=(4, 8))
    x = torch.rand(shape)
    x_hat, mu, logvar = model(x)
    assert x_hat.shape == (5, 1, 28, 28) and mu.shape == logvar.shape == (5, 3)
    assert 0 <= x_hat.min() and x_hat.max() <= 1
    assert model.encoder[0](x.view(5, 1, 28, 28)).shape == (5, 4, 14, 14)
    assert model.config == {"latent_dim": 3, "channels": [4, 8]}
    assert torch.isfinite(vae_loss(model, x.view(5, 1, 28, 28)))
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        model.decode(torch.zeros(2, 4))


def test_conv_vae_checkpoint_round_trip_rebuilds_the_same_model(tmp_path):
    from vae_course.checkpoints import load_checkpoint, save_checkpoint
    from vae_course.models import conv_vae

    model = conv_vae(latent_dim=2, channels=(2, 4))
    path = save_checkpoint(tmp_path / "conv.pt", model)
    loaded, _ = load_checkpoint(path)
    z = torch.randn(3, 2)
    assert torch.equal(loaded.decode(z), model.decode(z))


def test_conv_vae_decodes_with_the_decoder_it_is_given():
    from vae_course.models import ConvDecoder, ConvVAE

    decoder = ConvDecoder(latent_dim=3, channels=(4, 8))
    model = ConvVAE(decoder, latent_dim=3, channels=(4, 8))
    z = torch.randn(5, 3)
    assert model.decoder is decoder and torch.equal(model.decode(z), decoder(z))
    assert sum(p.numel() for p in decoder.parameters()) == (3 + 1) * 8 * 49 + (8 * 16 + 1) * 4 + 4 * 16 + 1
