"""KL explorer: two 1-D Gaussians, their densities, and the KL divergence in both directions.

For presenters: ``kl_explorer()`` returns a widget with sliders for the means and standard
deviations of p and q; the densities are redrawn and ``KL(p || q)`` and ``KL(q || p)`` are printed
live. Where widgets are not rendered (nbconvert, nbval, the static site, a PDF) the same object shows
``draw_kl_figure(...)`` for the starting values instead, as every demo does
(:class:`~vae_course.demos.fallback.WidgetWithFallback`).

The closed form used (nats)::

    KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2 / s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2
"""

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch.distributions import Normal, kl_divergence

from .fallback import WidgetWithFallback, figure_png

P_COLOR = "tab:blue"
Q_COLOR = "tab:orange"


def kl_normal_1d(mu1: float, sigma1: float, mu2: float, sigma2: float) -> float:
    """``KL(N(mu1, sigma1^2) || N(mu2, sigma2^2))`` in nats; sigmas are standard deviations > 0.

    Computed by ``torch.distributions`` (not by the course's ``losses``, which notebook 02's
    exercises ask the learner to write: a class release of 02 must not need them)."""
    if not (sigma1 > 0 and sigma2 > 0):
        raise ValueError(f"standard deviations must be positive, got {sigma1} and {sigma2}.")

    def normal(mu, sigma):  # float64, so that the slider's KL is the closed form to 1e-12
        return Normal(*(torch.tensor(float(v), dtype=torch.float64) for v in (mu, sigma)))

    return kl_divergence(normal(mu1, sigma1), normal(mu2, sigma2)).item()


def _normal_pdf(x, mu, sigma):
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def kl_text(mu_p: float, sigma_p: float, mu_q: float, sigma_q: float) -> str:
    """The two KL values as one line of text: ``KL(p‖q) = ... nats,   KL(q‖p) = ... nats``."""
    kl_pq = kl_normal_1d(mu_p, sigma_p, mu_q, sigma_q)
    kl_qp = kl_normal_1d(mu_q, sigma_q, mu_p, sigma_p)
    return f"KL(p‖q) = {kl_pq:.3f} nats,   KL(q‖p) = {kl_qp:.3f} nats"


def draw_kl_figure(mu_p=0.0, sigma_p=1.0, mu_q=1.0, sigma_q=0.5, ax=None, xlim=(-5.0, 5.0)):
    """Draw both densities on ``ax`` (a new figure if None) with the two KLs in the title.

    Returns the matplotlib Figure.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.6))
    else:
        fig = ax.figure
    x = np.linspace(*xlim, 600)
    p = _normal_pdf(x, mu_p, sigma_p)
    q = _normal_pdf(x, mu_q, sigma_q)
    ax.plot(x, p, color=P_COLOR, lw=2, label=f"p = N({mu_p:.2f}, {sigma_p:.2f}²)")
    ax.fill_between(x, p, color=P_COLOR, alpha=0.2)
    ax.plot(x, q, color=Q_COLOR, lw=2, label=f"q = N({mu_q:.2f}, {sigma_q:.2f}²)")
    ax.fill_between(x, q, color=Q_COLOR, alpha=0.2)
    ax.set_xlim(*xlim)
    ax.set_ylim(0, max(p.max(), q.max()) * 1.15)
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_title(kl_text(mu_p, sigma_p, mu_q, sigma_q), fontsize=11)
    ax.legend(loc="upper left")
    return fig


def kl_explorer(mu_p=0.0, sigma_p=1.0, mu_q=1.0, sigma_q=0.5):
    """The interactive explorer: four sliders, a live text line with both KLs, and the figure.

    Returns a :class:`~vae_course.demos.fallback.WidgetWithFallback`: display it (last line of a
    cell). ``.sliders`` are the four ``FloatSlider`` by name (``"mu_p"``, ``"sigma_p"``, ``"mu_q"``,
    ``"sigma_q"``), ``.kl_label.value`` the text line, ``.image`` the ``ipywidgets.Image`` of the
    densities, ``.update()`` redraws.
    """
    import ipywidgets as widgets  # imported here so the static figure works without ipywidgets

    def slider(value, lo, hi, description):
        return widgets.FloatSlider(
            value=value, min=lo, max=hi, step=0.05, description=description, continuous_update=True
        )

    sliders = {
        "mu_p": slider(mu_p, -3.0, 3.0, "μ_p"),
        "sigma_p": slider(sigma_p, 0.1, 3.0, "σ_p"),
        "mu_q": slider(mu_q, -3.0, 3.0, "μ_q"),
        "sigma_q": slider(sigma_q, 0.1, 3.0, "σ_q"),
    }
    label = widgets.HTML()
    image = widgets.Image(format="png", layout=widgets.Layout(align_self="flex-start"))  # natural size

    def update(_change=None):
        values = {name: s.value for name, s in sliders.items()}
        label.value = f"<b>{kl_text(**values)}</b>"
        image.value = figure_png(draw_kl_figure(**values), dpi=90)

    for s in sliders.values():
        s.observe(update, names="value")
    update()
    controls = widgets.HBox(
        [widgets.VBox([sliders["mu_p"], sliders["sigma_p"]]),
         widgets.VBox([sliders["mu_q"], sliders["sigma_q"]])]
    )
    box = widgets.VBox([controls, label, image])
    box.sliders, box.kl_label, box.image, box.update = sliders, label, image, update
    png = figure_png(draw_kl_figure(mu_p, sigma_p, mu_q, sigma_q))
    return WidgetWithFallback(box, png)
