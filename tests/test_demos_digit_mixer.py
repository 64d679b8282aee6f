"""The digit mixer: choosing a digit or moving a style slider must redraw the CVAE's image."""

import base64

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from vae_course.demos.digit_mixer import (  # noqa: E402
    decode_digits,
    default_styles,
    digit_mixer,
    draw_mixer_figure,
)
from vae_course.models import CVAE  # noqa: E402


def small_cvae(latent_dim=2):
    torch.manual_seed(0)
    return CVAE(latent_dim=latent_dim, hidden=(16,)).eval()


def test_decode_digits_draws_one_style_as_every_digit():
    model = small_cvae()
    out = decode_digits(model, [0.5, -0.5])
    assert out.shape == (10, 1, 28, 28)
    z = torch.tensor([[0.5, -0.5]]).expand(10, -1)
    assert torch.allclose(out, model.decode(z, torch.arange(10)))


def test_default_styles_have_one_row_per_style_and_one_column_per_dimension():
    s = default_styles(3, n=5)
    assert s.shape == (5, 3) and s[0, 0] < 0 < s[-1, 0]


def test_static_figure_has_every_digit_as_a_column():
    fig = draw_mixer_figure(small_cvae())
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(d) for d in range(10)]
    assert len(ax.get_yticklabels()) == 4
    plt.close(fig)


def test_choosing_a_digit_and_moving_a_slider_redraw_the_image():
    mixer = digit_mixer(small_cvae(latent_dim=3))
    assert len(mixer.sliders) == 3
    first = mixer.image.value
    mixer.digit.value = "8"
    second = mixer.image.value
    mixer.sliders[2].value = 2.0
    assert first != second != mixer.image.value


def test_without_a_widget_front_end_the_mixer_shows_a_png():
    bundle = digit_mixer(small_cvae())._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"])[:4] == b"\x89PNG"
