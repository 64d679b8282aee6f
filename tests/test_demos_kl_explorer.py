"""The KL explorer: a presenter moving a slider must see correct, live KL numbers."""

import base64
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch.distributions import Normal, kl_divergence  # noqa: E402

from vae_course.demos.kl_explorer import (  # noqa: E402
    draw_kl_figure,
    kl_explorer,
    kl_normal_1d,
    kl_text,
)

means = st.floats(-3, 3)
sigmas = st.floats(0.1, 3)


@settings(max_examples=50, deadline=None)
@given(m1=means, s1=sigmas, m2=means, s2=sigmas)
def test_kl_numbers_shown_agree_with_torch_distributions(m1, s1, m2, s2):
    ref = kl_divergence(
        Normal(torch.tensor(m1, dtype=torch.float64), torch.tensor(s1, dtype=torch.float64)),
        Normal(torch.tensor(m2, dtype=torch.float64), torch.tensor(s2, dtype=torch.float64)),
    ).item()
    assert math.isclose(kl_normal_1d(m1, s1, m2, s2), ref, rel_tol=1e-9, abs_tol=1e-12)


def test_kl_of_a_gaussian_with_itself_is_zero():
    assert kl_normal_1d(0.3, 1.7, 0.3, 1.7) == pytest.approx(0.0, abs=1e-15)


def test_non_positive_sigma_is_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="positive"):
        kl_normal_1d(0.0, 0.0, 0.0, 1.0)


def test_static_figure_has_both_densities_labels_and_the_kls_in_its_title():
    fig = draw_kl_figure(0.0, 1.0, 1.0, 0.5)
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 2
    assert ax.get_xlabel() and ax.get_ylabel()
    # KL(N(0,1) || N(1,0.5^2)) = log 0.5 + (1 + 1) / 0.5 - 0.5 = 2.807 nats
    assert "KL(p‖q) = 2.807" in ax.get_title()
    plt.close(fig)


def test_static_figure_title_matches_the_closed_form_both_ways():
    text = kl_text(0.0, 1.0, 1.0, 0.5)
    assert f"{kl_normal_1d(0.0, 1.0, 1.0, 0.5):.3f}" in text.split(",")[0]
    assert f"{kl_normal_1d(1.0, 0.5, 0.0, 1.0):.3f}" in text.split(",")[1]


def test_moving_a_slider_updates_the_printed_kls():
    box = kl_explorer(0.0, 1.0, 0.0, 1.0)
    assert "KL(p‖q) = 0.000" in box.kl_label.value
    box.sliders["mu_q"].value = 2.0  # KL = (2^2)/2 = 2 both ways for equal sigmas
    assert "KL(p‖q) = 2.000" in box.kl_label.value
    assert "KL(q‖p) = 2.000" in box.kl_label.value
    box.sliders["sigma_q"].value = 0.5
    expected = kl_normal_1d(0.0, 1.0, 2.0, 0.5)
    assert f"KL(p‖q) = {expected:.3f}" in box.kl_label.value
    plt.close("all")


def test_moving_a_slider_redraws_the_densities():
    box = kl_explorer()
    before = box.image.value
    box.sliders["sigma_p"].value = 2.5
    assert box.image.value != before and box.image.value[:4] == b"\x89PNG"


def test_without_a_widget_front_end_the_explorer_shows_the_starting_figure():
    bundle = kl_explorer(0.0, 1.0, -1.0, 2.0)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"])[:4] == b"\x89PNG"
