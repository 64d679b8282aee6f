"""Corruptions and PSNR (notebook 08), checked against scipy and the definitions."""

import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from vae_course.corruption import add_noise, mask_square, median_filter, psnr, square_masks


def images(n=6, seed=0):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def test_noise_is_seeded_clipped_and_leaves_the_global_stream_alone():
    x = images()
    torch.manual_seed(5)
    before = torch.rand(1)
    torch.manual_seed(5)
    a, b = add_noise(x, 0.5, seed=1), add_noise(x, 0.5, seed=1)
    assert torch.equal(a, b) and a.min() >= 0 and a.max() <= 1
    assert torch.equal(torch.rand(1), before)
    assert not torch.equal(a, add_noise(x, 0.5, seed=2))
    assert torch.equal(add_noise(x, 0.0, seed=1), x)


def test_noise_has_the_asked_standard_deviation_where_no_clipping_happens():
    x = torch.full((200, 1, 28, 28), 0.5)
    assert (add_noise(x, 0.05, seed=0) - x).std().item() == pytest.approx(0.05, rel=0.02)


def test_each_mask_is_one_square_of_the_asked_size_inside_the_margin():
    m = square_masks(50, 12, seed=0)
    assert m.shape == (50, 1, 28, 28) and (m.sum((1, 2, 3)) == 144).all()
    rows, cols = m.any(3)[:, 0], m.any(2)[:, 0]
    assert (rows.sum(1) == 12).all() and (cols.sum(1) == 12).all()
    assert not m[..., :4, :].any() and not m[..., -4:, :].any() and not m[..., :, :4].any()
    x = images(50)
    y = mask_square(x, 12, seed=0)
    assert (y[m] == 0).all() and torch.equal(y[~m], x[~m])


def test_median_filter_matches_scipy_with_repeated_edges():
    x = images(3)
    ours = median_filter(x, 3).numpy()
    theirs = ndimage.median_filter(x.numpy(), size=(1, 1, 3, 3), mode="nearest")
    np.testing.assert_allclose(ours, theirs)


def test_psnr_follows_its_definition_per_image():
    x = images(4)
    x_hat = (x + 0.1).clamp(0, 1)
    mse = ((x_hat - x) ** 2).flatten(1).mean(1)
    assert torch.allclose(psnr(x_hat, x), -10 * torch.log10(mse))
    assert psnr(torch.full((1, 1, 28, 28), 0.5), torch.zeros(1, 1, 28, 28)).item() == \
        pytest.approx(10 * math.log10(4))


@pytest.mark.parametrize("call, message", [
    (lambda: psnr(images(2), images(3)), "one shape"),
    (lambda: add_noise(images() * 255, 0.1), "0..255"),
    (lambda: add_noise(images(), -1.0), "sigma"),
    (lambda: median_filter(images(), 2), "odd"),
    (lambda: mask_square(images(), 30), "size"),
    (lambda: mask_square(torch.rand(2, 784), 5), "(B, 1, 28, 28)"),
])
def test_bad_input_gets_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()
