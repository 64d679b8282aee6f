"""The feature-consistent loss and the sharpness measure (notebook 09), against independent routes."""

import pytest
import torch
from scipy import ndimage

from vae_course import models
from vae_course.losses import neg_elbo
from vae_course.perceptual import FeatureNet, feature_consistent_loss, feature_distance, sharpness


def test_sharpness_is_the_mean_squared_step_computed_another_way():
    x = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    a = x.numpy()[:, 0]
    across = ((a[:, :, 1:] - a[:, :, :-1]) ** 2).mean(axis=(1, 2))
    down = ((a[:, 1:, :] - a[:, :-1, :]) ** 2).mean(axis=(1, 2))
    assert torch.allclose(sharpness(x), torch.from_numpy((across + down) / 2).float(), atol=1e-6)
    assert torch.equal(sharpness(x.flatten(1)), sharpness(x))


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_every_blur_lowers_sharpness_and_more_blur_lowers_it_more(sigma):
    x = torch.zeros(1, 1, 28, 28)
    x[..., 8:20, 12:15] = 1.0  # a stroke, away from the border
    blurred = torch.from_numpy(ndimage.gaussian_filter(x.numpy(), sigma=(0, 0, sigma, sigma)))
    more = torch.from_numpy(ndimage.gaussian_filter(x.numpy(), sigma=(0, 0, 2 * sigma, 2 * sigma)))
    assert sharpness(more) < sharpness(blurred) < sharpness(x)


def test_sharpness_rejects_images_outside_the_unit_range():
    with pytest.raises(ValueError, match="divide by 255"):
        sharpness(torch.full((1, 1, 28, 28), 200.0))


def test_feature_distance_is_a_squared_distance_per_image_over_all_layers():
    g = torch.Generator().manual_seed(1)
    a = [torch.randn(4, 2, 5, 5, generator=g), torch.randn(4, 3, 2, 2, generator=g)]
    b = [torch.randn(4, 2, 5, 5, generator=g), torch.randn(4, 3, 2, 2, generator=g)]
    flat_a, flat_b = torch.cat([t.flatten(1) for t in a], 1), torch.cat([t.flatten(1) for t in b], 1)
    expected = torch.cdist(flat_a.double(), flat_b.double()).diagonal() ** 2
    assert torch.allclose(feature_distance(a, b).double(), expected, rtol=1e-5)
    assert torch.equal(feature_distance(a, a), torch.zeros(4))


def test_feature_distance_says_what_does_not_match():
    a = [torch.zeros(2, 3)]
    with pytest.raises(ValueError, match="equally long"):
        feature_distance(a, a + a)
    with pytest.raises(ValueError, match="differ in shape"):
        feature_distance(a, [torch.zeros(2, 4)])


def test_feature_net_gives_two_feature_maps_and_ten_logits():
    net = FeatureNet(channels=(4, 6))
    feats = net.features(torch.rand(3, 1, 28, 28))
    assert [tuple(f.shape) for f in feats] == [(3, 4, 28, 28), (3, 6, 14, 14)]
    assert net(torch.rand(3, 784)).shape == (3, 10)


def test_feature_loss_is_the_negative_elbo_plus_lambda_times_the_mean_distance_and_is_named_by_lambda():
    torch.manual_seed(0)
    net = FeatureNet(channels=(2, 3)).eval().requires_grad_(False)
    model = models.VAE(latent_dim=2, hidden=(16,))
    x = (torch.rand(5, 1, 28, 28) > 0.5).float()
    loss_fn = feature_consistent_loss(net, lam=0.5)
    assert loss_fn.__name__ == "vae_features_0.5"
    torch.manual_seed(1)
    got = loss_fn(model, x)
    torch.manual_seed(1)
    x_hat, mu, logvar = model(x)
    distance = feature_distance(net.features(x_hat), net.features(x)).mean()
    expected = neg_elbo(x_hat, x, mu, logvar) + 0.5 * distance
    assert torch.allclose(got, expected)
    got.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.decoder.parameters())
    torch.manual_seed(1)
    assert torch.allclose(feature_consistent_loss(net, lam=0.0)(model, x), neg_elbo(x_hat, x, mu, logvar))


@pytest.mark.parametrize("lam", [-1.0, float("nan")])
def test_a_negative_or_missing_lambda_is_refused(lam):
    with pytest.raises(ValueError, match="lam"):
        feature_consistent_loss(FeatureNet(), lam)
