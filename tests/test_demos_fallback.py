"""One fallback for every demo: a widget where widgets render, its static picture everywhere else."""

import base64

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from vae_course.demos.fallback import WidgetWithFallback, figure_png  # noqa: E402


def test_figure_png_renders_and_closes_the_figure():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    png = figure_png(fig)
    assert png[:4] == b"\x89PNG" and not plt.fignum_exists(fig.number)


def test_fallback_works_with_no_widget_at_all():
    bundle = WidgetWithFallback(None, b"\x89PNGxx")._repr_mimebundle_()
    assert set(bundle) == {"image/png", "text/plain"}
    assert base64.b64decode(bundle["image/png"]) == b"\x89PNGxx"


def test_the_widget_s_attributes_are_reachable_through_the_fallback():
    class Fake:
        sliders = ["a slider"]

    assert WidgetWithFallback(Fake(), b"").sliders == ["a slider"]
    with pytest.raises(AttributeError):
        WidgetWithFallback(Fake(), b"").no_such_thing  # noqa: B018
