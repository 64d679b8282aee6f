"""Digit mixer: pick a digit, move the style sliders, and watch a conditional VAE draw it.

For presenters: ``digit_mixer(cvae)`` returns a widget with ten digit buttons and one slider per
latent dimension (the "style"); the image ``cvae.decode(z, y)`` is redrawn live, large, next to a
strip of all ten digits decoded from the same code (the same style for every digit only as far as
the trained model makes it so: notebook 06 measures it).

Where no widget front end renders it (nbval, a plain ``nbconvert`` run, a web viewer), the same
object shows a static picture of the same content instead: every digit (columns) for a few styles
(rows), :func:`draw_mixer_figure`.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..plots import image_grid, to_numpy
from .fallback import WidgetWithFallback, figure_png


@torch.no_grad()
def decode_digits(cvae, z, digits=range(10)) -> torch.Tensor:
    """Decode one style ``z`` (length ``latent_dim``) as each of ``digits``: ``-> (K, 1, 28, 28)``."""
    digits = torch.as_tensor(list(digits), dtype=torch.long)
    z = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(1, -1)
    return cvae.decode(z.expand(len(digits), -1), digits)


def default_styles(latent_dim: int, n: int = 4, scale: float = 1.5) -> np.ndarray:
    """``(n, latent_dim)`` styles along the diagonal from ``-scale`` to ``+scale`` (the prior's bulk)."""
    return np.linspace(-scale, scale, n)[:, None] * np.ones((1, latent_dim))


def draw_mixer_figure(cvae, styles=None, title="Digit mixer: one code z per row, decoded with every label"):
    """The static version: rows = styles ``(S, latent_dim)``, columns = the digits 0..9.

    Returns the Figure.
    """
    styles = default_styles(cvae.latent_dim) if styles is None else np.asarray(styles, float)
    grid = torch.stack([decode_digits(cvae, s) for s in styles])  # (S, 10, 1, 28, 28)
    row_labels = ["z=(" + ", ".join(f"{v:.1f}" for v in s[:3]) + (", …" if len(s) > 3 else "")
                  + ")" for s in styles]
    ax = image_grid(grid, row_labels=row_labels, col_labels=[str(d) for d in range(10)],
                    title=title, tile_inches=0.7)
    return ax.figure


def _frame(cvae, digit: int, z) -> plt.Figure:
    big = to_numpy(decode_digits(cvae, z, [digit]))[0, 0]
    strip = decode_digits(cvae, z)
    fig = plt.figure(figsize=(8, 3.3))
    gs = fig.add_gridspec(1, 2, width_ratios=[1, 2.6], wspace=0.05)
    ax = fig.add_subplot(gs[0])
    ax.imshow(big, cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"digit {digit}", fontsize=11)
    ax2 = fig.add_subplot(gs[1])
    image_grid(strip, ncol=5, ax=ax2, title="the same code, every digit")
    return fig


def digit_mixer(cvae, digit: int = 3, limit: float = 3.0, step: float = 0.05):
    """The interactive mixer for a trained CVAE (``cvae.decode(z, y)``, ``cvae.latent_dim``).

    Returns a :class:`~vae_course.demos.fallback.WidgetWithFallback`; ``.digit`` is the
    ``ToggleButtons`` for the digit, ``.sliders`` the style ``FloatSlider`` s (one per latent
    dimension, range ±``limit``), ``.update()`` redraws, ``.image`` the ``ipywidgets.Image``.
    """
    import ipywidgets as widgets  # here, so that the static figure works without ipywidgets

    buttons = widgets.ToggleButtons(options=[str(d) for d in range(10)], value=str(digit),
                                    description="digit",
                                    style={"button_width": "32px"})
    sliders = [widgets.FloatSlider(value=0.0, min=-limit, max=limit, step=step,
                                   description=f"z{chr(0x2081 + i) if i < 9 else i + 1}",
                                   continuous_update=True)
               for i in range(cvae.latent_dim)]
    image = widgets.Image(format="png")

    def update(_change=None):
        z = [s.value for s in sliders]
        image.value = figure_png(_frame(cvae, int(buttons.value), z), dpi=72)

    buttons.observe(update, names="value")
    for s in sliders:
        s.observe(update, names="value")
    update()
    box = widgets.VBox([buttons, widgets.HBox([image, widgets.VBox(sliders)])])
    box.digit, box.sliders, box.image, box.update = buttons, sliders, image, update
    return WidgetWithFallback(box, figure_png(draw_mixer_figure(cvae)))
