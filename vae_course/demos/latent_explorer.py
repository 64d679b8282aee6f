"""Latent explorer: move a point over a 2-D latent plane and watch the decoder's image change.

For presenters: ``latent_explorer(decode, z_test, y_test)`` returns a widget with two sliders
(``z₁``, ``z₂``). On the left, the encoded test set is drawn behind a cross-hair marking the
current ``z``; on the right, ``decode(z)`` is redrawn live.

Where no widget front end renders it (nbval, a plain ``nbconvert`` run, a notebook viewer on the
web), the same object also carries a static PNG of the same content: the latent plane with a few
marked points and their decodings (:func:`draw_explorer_figure`). Front ends that render widgets
show the widget; the others fall back to the picture.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..plots import latent_scatter, to_numpy
from .fallback import WidgetWithFallback, figure_png

# points marked on the static figure, as fractions of the slider ranges
_TOUR = [(0.5, 0.5), (0.2, 0.8), (0.8, 0.8), (0.8, 0.2), (0.2, 0.2), (0.5, 0.9)]


@torch.no_grad()
def decode_point(decode, z) -> np.ndarray:
    """``decode`` one latent point ``z`` (length-2 sequence) -> a ``(28, 28)`` numpy image."""
    z = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(1, -1)
    return to_numpy(decode(z)).reshape(28, 28)


def default_ranges(z_background, margin: float = 0.1):
    """Slider ranges ``((lo1, hi1), (lo2, hi2))``: the 0.5-99.5 % range of the codes, widened."""
    z = to_numpy(z_background)
    lo, hi = np.quantile(z, 0.005, axis=0), np.quantile(z, 0.995, axis=0)
    pad = margin * (hi - lo)
    return tuple((float(a), float(b)) for a, b in zip(lo - pad, hi + pad, strict=True))


def draw_explorer_figure(decode, z_background, labels, points=None, ranges=None,
                         title="Latent explorer: decoded images at marked points"):
    """The static version: the latent plane with marked points (A, B, ...) and their decodings.

    Args:
        decode: ``(B, 2) -> (B, 1, 28, 28)``, e.g. ``model.decode``.
        z_background: ``(N, 2)`` encoded test images; labels: ``(N,)`` digits (tab10 colours).
        points: ``(K, 2)`` latent points to mark; default a tour over the plane.
        ranges: ``((lo1, hi1), (lo2, hi2))`` axis limits; default :func:`default_ranges`.

    Returns:
        The Figure.
    """
    ranges = ranges or default_ranges(z_background)
    if points is None:
        points = [(r1[0] + f1 * (r1[1] - r1[0]), ranges[1][0] + f2 * (ranges[1][1] - ranges[1][0]))
                  for (f1, f2), r1 in zip(_TOUR, [ranges[0]] * len(_TOUR), strict=True)]
    points = np.asarray(points, dtype=float)
    k = len(points)
    ncol = 3
    nrow = -(-k // ncol)
    fig = plt.figure(figsize=(10, 4.8))
    gs = fig.add_gridspec(nrow, 1 + ncol, width_ratios=[3.2] + [1] * ncol, wspace=0.15)
    ax = fig.add_subplot(gs[:, 0])
    latent_scatter(z_background, labels, ax=ax, s=2, alpha=0.3, legend_loc="lower left")
    ax.set_aspect("auto")
    ax.set_xlim(*ranges[0])
    ax.set_ylim(*ranges[1])
    names = [chr(ord("A") + i) for i in range(k)]
    ax.scatter(points[:, 0], points[:, 1], marker="+", s=150, color="black", linewidths=2)
    for name, (a, b) in zip(names, points, strict=True):
        ax.annotate(name, (a, b), xytext=(5, 5), textcoords="offset points", fontweight="bold")
    ax.set_title(title)
    for i, (name, p) in enumerate(zip(names, points, strict=True)):
        sub = fig.add_subplot(gs[i // ncol, 1 + i % ncol])
        sub.imshow(decode_point(decode, p), cmap="gray", vmin=0, vmax=1)
        sub.set_xticks([])
        sub.set_yticks([])
        sub.set_title(f"{name}: ({p[0]:.2g}, {p[1]:.2g})", fontsize=9)
    return fig


def _live_figure(decode, background, extent, z):
    """One frame of the widget: the pre-rendered latent plane with a cross-hair, and decode(z)."""
    fig, (ax, ax_img) = plt.subplots(1, 2, figsize=(8, 4),
                                     gridspec_kw={"width_ratios": [1.2, 1]})
    ax.imshow(background, extent=extent, aspect="auto")
    ax.axvline(z[0], color="black", lw=0.8)
    ax.axhline(z[1], color="black", lw=0.8)
    ax.plot([z[0]], [z[1]], "k+", markersize=14, mew=2)
    ax.set_xlabel("z₁")
    ax.set_ylabel("z₂")
    ax.set_title("encoded test images (colour = digit)", fontsize=10)
    ax_img.imshow(decode_point(decode, z), cmap="gray", vmin=0, vmax=1)
    ax_img.set_xticks([])
    ax_img.set_yticks([])
    ax_img.set_title(f"decode(z), z = ({z[0]:.2f}, {z[1]:.2f})", fontsize=10)
    fig.tight_layout()
    return fig


def _render_background(z_background, labels, ranges):
    """The scatter of codes as an RGB array covering exactly ``ranges`` (drawn once, reused)."""
    fig = plt.figure(figsize=(4, 4), dpi=80)
    ax = fig.add_axes([0, 0, 1, 1])
    latent_scatter(z_background, labels, ax=ax, s=3, alpha=0.35, legend_loc="lower left")
    ax.set_aspect("auto")
    ax.set_xlim(*ranges[0])
    ax.set_ylim(*ranges[1])
    ax.axis("off")
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return rgb


def latent_explorer(decode, z_background, labels, ranges=None, step: float | None = None):
    """The interactive explorer for a 2-D latent space.

    Args:
        decode: ``(B, 2) -> (B, 1, 28, 28)`` images in [0, 1], e.g. ``vae.decode``.
        z_background: ``(N, 2)`` codes of test images (``mu`` for a VAE), drawn behind.
        labels: ``(N,)`` their digits.
        ranges: slider ranges ``((lo1, hi1), (lo2, hi2))``; default :func:`default_ranges`.

    Returns:
        A :class:`WidgetWithFallback`: display it (last line of a cell). ``.sliders`` are the two
        ``FloatSlider``; ``.update()`` redraws; ``.image`` is the ``ipywidgets.Image`` shown.
    """
    import ipywidgets as widgets  # here, so that the static figure works without ipywidgets

    z_background, labels = to_numpy(z_background), to_numpy(labels)
    if z_background.ndim != 2 or z_background.shape[1] != 2:
        raise ValueError(f"the latent explorer needs (N, 2) codes, got {z_background.shape}.")
    ranges = ranges or default_ranges(z_background)
    background = _render_background(z_background, labels, ranges)
    extent = (*ranges[0], *ranges[1])
    step = step or round(max(r[1] - r[0] for r in ranges) / 200, 4)
    sliders = [widgets.FloatSlider(value=float(np.clip(0.0, *r)), min=r[0], max=r[1], step=step,
                                   description=name, continuous_update=True,
                                   layout=widgets.Layout(width="420px"))
               for name, r in zip(["z₁", "z₂"], ranges, strict=True)]
    image = widgets.Image(format="png", layout=widgets.Layout(align_self="flex-start"))  # natural size

    def update(_change=None):
        z = (sliders[0].value, sliders[1].value)
        image.value = figure_png(_live_figure(decode, background, extent, z), dpi=90)

    for s in sliders:
        s.observe(update, names="value")
    update()
    box = widgets.VBox([image, widgets.HBox(sliders)])
    box.sliders, box.image, box.update = sliders, image, update
    png = figure_png(draw_explorer_figure(decode, z_background, labels, ranges=ranges))
    return WidgetWithFallback(box, png)
