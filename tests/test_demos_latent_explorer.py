"""The latent explorer: moving a slider must redraw the decoded image; no front end, a picture."""

import base64

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vae_course.demos.latent_explorer import (  # noqa: E402
    decode_point,
    default_ranges,
    draw_explorer_figure,
    latent_explorer,
)


def decode(z):
    # a fake decoder whose image brightness is the first coordinate, clipped to [0, 1]
    return z[:, :1].clamp(0, 1).view(-1, 1, 1, 1).expand(-1, 1, 28, 28)


@pytest.fixture
def codes():
    g = torch.Generator().manual_seed(0)
    return torch.rand(200, 2, generator=g), torch.arange(200) % 10


def test_decode_point_returns_one_28_by_28_image():
    img = decode_point(decode, (0.25, 3.0))
    assert img.shape == (28, 28) and np.allclose(img, 0.25)


def test_default_ranges_cover_the_codes():
    (lo1, hi1), (lo2, hi2) = default_ranges(torch.tensor([[0.0, 0.0], [1.0, 2.0]]))
    assert lo1 < 0 < 1 < hi1 and lo2 < 0 < 2 < hi2


def test_static_figure_marks_points_and_shows_their_decodings(codes):
    fig = draw_explorer_figure(decode, *codes, points=[(0.1, 0.1), (0.9, 0.5)])
    images = [ax for ax in fig.axes if ax.get_images()]
    assert len(images) == 2
    assert np.allclose(images[1].get_images()[0].get_array(), 0.9)
    assert fig.axes[0].get_legend() is not None
    plt.close(fig)


def test_moving_a_slider_redraws_the_image(codes):
    explorer = latent_explorer(decode, *codes)
    before = explorer.image.value
    explorer.sliders[0].value = explorer.sliders[0].max
    assert explorer.image.value != before and explorer.image.value[:4] == b"\x89PNG"


def test_without_a_widget_front_end_the_output_carries_a_png(codes):
    explorer = latent_explorer(decode, *codes)
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"])[:4] == b"\x89PNG"


def test_codes_that_are_not_2d_are_rejected():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        latent_explorer(decode, torch.rand(10, 3), torch.zeros(10))
