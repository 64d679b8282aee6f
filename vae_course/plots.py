"""The course's figures: image grids, latent scatters, posterior ellipses, manifolds, loss curves.

One look for every notebook, so that the learner's eye carries over:

- digits are coloured with one fixed categorical map, ``tab10`` (digit ``d`` is ``DIGIT_COLORS[d]``),
  always with a legend that names the digits;
- image grids have no ticks; rows and columns are captioned instead;
- latent axes are labelled in z units (``z₁``, ``z₂``), losses in nats / image.

Every function draws into ``ax`` when given one (so figures can be composed side by side with
shared limits) and otherwise creates its own figure; it returns the Axes it drew on
(``ax.figure`` is the Figure). Inputs may be torch tensors or numpy arrays.
"""

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import EllipseCollection
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

DIGIT_CMAP = "tab10"
DIGIT_COLORS = plt.get_cmap(DIGIT_CMAP).colors[:10]
DIGIT_NAMES = [str(d) for d in range(10)]


def to_numpy(a) -> np.ndarray:
    """A torch tensor (any device, with or without grad) or array-like as a numpy array."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def _new_ax(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _as_tiles(images) -> np.ndarray:
    """``(..., 1, H, W)`` or ``(..., H, W)`` or ``(..., H*W)`` with H = W -> ``(..., H, W)``."""
    a = to_numpy(images).astype(np.float32)
    if a.ndim >= 3 and a.shape[-3] == 1:
        a = a.reshape(a.shape[:-3] + a.shape[-2:])
    elif a.ndim >= 1 and a.shape[-1] == 784 and (a.ndim == 1 or a.shape[-2] != 784):
        a = a.reshape(a.shape[:-1] + (28, 28))
    if a.ndim < 2:
        raise ValueError(f"expected images of shape (..., 1, H, W), got {to_numpy(images).shape}.")
    return a


def mosaic(images, ncol: int | None = None, pad: int = 1, pad_value: float = 0.5) -> np.ndarray:
    """Tile images into one 2-D array.

    Args:
        images: ``(N, 1, H, W)`` (laid out row by row, ``ncol`` per row) or ``(R, C, 1, H, W)``
            (a grid already); ``(…, H, W)`` without the channel axis is accepted too.
        ncol: tiles per row for the ``(N, ...)`` form; default ``ceil(sqrt(N))``.
        pad: pixels of ``pad_value`` between tiles (0 for a seamless manifold).

    Returns:
        ``(R*H + (R-1)*pad, C*W + (C-1)*pad)`` float array; empty cells are ``pad_value``.
    """
    a = _as_tiles(images)
    if a.ndim == 3:
        n = a.shape[0]
        ncol = ncol or max(1, math.ceil(math.sqrt(n)))
        nrow = math.ceil(n / ncol)
        full = np.full((nrow * ncol,) + a.shape[1:], pad_value, dtype=np.float32)
        full[:n] = a
        a = full.reshape(nrow, ncol, *a.shape[1:])
    if a.ndim != 4:
        raise ValueError(f"expected (N, 1, H, W) or (R, C, 1, H, W) images, got shape {a.shape}.")
    R, C, H, W = a.shape
    out = np.full((R * H + (R - 1) * pad, C * W + (C - 1) * pad), pad_value, dtype=np.float32)
    for r in range(R):
        for c in range(C):
            out[r * (H + pad):r * (H + pad) + H, c * (W + pad):c * (W + pad) + W] = a[r, c]
    return out


def image_grid(images, ncol: int | None = None, ax=None, title: str | None = None,
               row_labels=None, col_labels=None, pad: int = 1, cmap: str = "gray",
               tile_inches: float = 0.6):
    """Show images as one grid without ticks, with optional row and column captions.

    Args:
        images: ``(N, 1, 28, 28)`` with ``ncol`` per row, or ``(R, C, 1, 28, 28)``; values in [0, 1].
        row_labels: R strings written left of the rows; col_labels: C strings above the columns.
        tile_inches: size of one tile when a new figure is created.

    Returns:
        The Axes.
    """
    grid = mosaic(images, ncol=ncol, pad=pad)
    a = _as_tiles(images)
    if a.ndim == 3:
        C = ncol or max(1, math.ceil(math.sqrt(a.shape[0])))
        R = math.ceil(a.shape[0] / C)
    else:
        R, C = a.shape[:2]
    H, W = a.shape[-2:]
    ax = _new_ax(ax, (max(2.0, C * tile_inches + (0.6 if row_labels is not None else 0)),
                      max(1.0, R * tile_inches + (0.4 if title else 0))))
    ax.imshow(grid, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if row_labels is not None:
        ax.set_yticks([r * (H + pad) + H / 2 - 0.5 for r in range(R)], [str(s) for s in row_labels])
        ax.tick_params(axis="y", length=0)
    if col_labels is not None:
        ax.xaxis.tick_top()
        ax.set_xticks([c * (W + pad) + W / 2 - 0.5 for c in range(C)], [str(s) for s in col_labels])
        ax.tick_params(axis="x", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)
    return ax


def digit_legend(ax, labels=None, names=None, loc="upper right", title="digit", **kwargs):
    """Add a legend naming the digits present in ``labels`` (default all ten) in tab10 colours."""
    present = sorted(set(to_numpy(labels).tolist())) if labels is not None else range(10)
    names = names or DIGIT_NAMES
    handles = [Line2D([], [], marker="o", linestyle="", markersize=6,
                      markerfacecolor=DIGIT_COLORS[d], markeredgecolor="none", label=names[d])
               for d in present]
    kwargs.setdefault("fontsize", 8)
    kwargs.setdefault("framealpha", 0.85)
    return ax.legend(handles=handles, loc=loc, title=title, **kwargs)


def latent_scatter(z, labels, ax=None, title: str | None = None, s: float = 2.0,
                   alpha: float = 0.6, legend: bool = True, names=None, legend_loc="upper right",
                   xlabel="z₁", ylabel="z₂"):
    """Scatter 2-D codes coloured by digit (tab10), with a legend naming the digits.

    Args:
        z: ``(N, 2)`` codes (a 2-D latent, or two chosen coordinates of a larger one).
        labels: ``(N,)`` integers 0..9.
        names: class names for the legend (default the digits "0".."9").

    Returns:
        The Axes (equal aspect, axes labelled in z units).
    """
    z, labels = to_numpy(z), to_numpy(labels).astype(int)
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"latent_scatter needs (N, 2) codes, got shape {z.shape}.")
    ax = _new_ax(ax, (5.5, 5))
    colors = np.asarray(DIGIT_COLORS)[labels]
    ax.scatter(z[:, 0], z[:, 1], c=colors, s=s, alpha=alpha, linewidths=0, rasterized=True)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_aspect("equal", adjustable="box")
    if legend:
        digit_legend(ax, labels, names=names, loc=legend_loc)
    if title:
        ax.set_title(title)
    return ax


def posterior_ellipses(mu, logvar, labels, ax=None, n_std: float = 2.0, title: str | None = None,
                       alpha: float = 0.12, legend: bool = True, names=None, centers: bool = True,
                       legend_loc="upper right"):
    """Draw each input's posterior N(mu, diag(exp(logvar))) as an axis-aligned ellipse mu ± n_std·σ.

    Args:
        mu: ``(N, 2)`` posterior means; logvar: ``(N, 2)`` log-variances (log σ², not log σ).
        labels: ``(N,)`` digits, which colour the ellipses (tab10).
        n_std: half-axes are ``n_std * sigma`` (2 covers about 86 % of a 2-D Gaussian's mass).
        centers: also mark each mean with a small dot.

    Returns:
        The Axes, with limits fitted to the ellipses and equal aspect.
    """
    mu, logvar = to_numpy(mu).astype(float), to_numpy(logvar).astype(float)
    labels = to_numpy(labels).astype(int)
    if mu.shape != logvar.shape or mu.ndim != 2 or mu.shape[1] != 2:
        raise ValueError(f"mu and logvar must both be (N, 2), got {mu.shape} and {logvar.shape}.")
    ax = _new_ax(ax, (5.5, 5))
    sigma = np.exp(0.5 * logvar)
    colors = np.asarray(DIGIT_COLORS)[labels]
    face = np.concatenate([colors, np.full((len(colors), 1), alpha)], axis=1)
    edge = np.concatenate([colors, np.full((len(colors), 1), min(1.0, 3 * alpha))], axis=1)
    coll = EllipseCollection(2 * n_std * sigma[:, 0], 2 * n_std * sigma[:, 1], np.zeros(len(mu)),
                             units="xy", offsets=mu, offset_transform=ax.transData,
                             facecolors=face, edgecolors=edge, linewidths=0.5)
    coll.set_rasterized(True)
    ax.add_collection(coll)
    if centers:
        ax.scatter(mu[:, 0], mu[:, 1], c=colors, s=1.5, linewidths=0, rasterized=True)
    lo = (mu - n_std * sigma).min(axis=0)
    hi = (mu + n_std * sigma).max(axis=0)
    margin = 0.03 * (hi - lo)
    ax.set_xlim(lo[0] - margin[0], hi[0] + margin[0])
    ax.set_ylim(lo[1] - margin[1], hi[1] + margin[1])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("z₁")
    ax.set_ylabel("z₂")
    if legend:
        digit_legend(ax, labels, names=names, loc=legend_loc)
    if title:
        ax.set_title(title)
    return ax


def grid_points(z1, z2):
    """All points of the grid ``z1 × z2`` as ``(len(z2) * len(z1), 2)``, row-major with z2 outer.

    Row ``i * len(z1) + j`` is ``(z1[j], z2[i])``: decode these and reshape to
    ``(len(z2), len(z1), 1, 28, 28)`` for :func:`manifold_grid`.
    """
    z1, z2 = np.asarray(z1, dtype=np.float32), np.asarray(z2, dtype=np.float32)
    Z1, Z2 = np.meshgrid(z1, z2)
    return np.stack([Z1.ravel(), Z2.ravel()], axis=1)


def _uniform(v) -> bool:
    d = np.diff(v)
    return len(v) > 1 and np.allclose(d, d[0], rtol=1e-3, atol=1e-6) and d[0] > 0


def manifold_grid(images, z1, z2, ax=None, title: str | None = None, n_ticks: int = 5,
                  cmap: str = "gray"):
    """Show images decoded on a grid of latent points, placed where they were decoded.

    Args:
        images: ``(len(z2), len(z1), 1, 28, 28)``; ``images[i, j]`` decoded at ``(z1[j], z2[i])``
            (the order of :func:`grid_points`). Both ``z1`` and ``z2`` increasing.
        z1, z2: the grid coordinates in z units.

    When both coordinates are evenly spaced the axes are real z coordinates (tile centres sit at
    the grid points), so points can be overlaid and limits shared with a scatter. Otherwise (e.g. a
    grid through the inverse Gaussian CDF) tick labels give the z value of the tile centres.
    Largest z₂ is at the top, as in a scatter plot.

    Returns:
        The Axes.
    """
    z1, z2 = np.asarray(to_numpy(z1), float), np.asarray(to_numpy(z2), float)
    a = _as_tiles(images)
    if a.shape[:2] != (len(z2), len(z1)):
        raise ValueError(f"images must be (len(z2), len(z1), 1, H, W) = ({len(z2)}, {len(z1)}, ...), "
                         f"got {a.shape[:2]}.")
    grid = mosaic(a[::-1], pad=0)  # row 0 of the picture = largest z2
    ax = _new_ax(ax, (6, 6))
    if _uniform(z1) and _uniform(z2):
        d1, d2 = z1[1] - z1[0], z2[1] - z2[0]
        extent = (z1[0] - d1 / 2, z1[-1] + d1 / 2, z2[0] - d2 / 2, z2[-1] + d2 / 2)
        ax.imshow(grid, cmap=cmap, vmin=0, vmax=1, extent=extent, interpolation="nearest",
                  aspect="equal" if np.isclose(d1, d2) else "auto")
    else:
        n1, n2 = len(z1), len(z2)
        ax.imshow(grid, cmap=cmap, vmin=0, vmax=1, extent=(0, n1, 0, n2), interpolation="nearest")
        ix = np.unique(np.linspace(0, n1 - 1, min(n_ticks, n1)).round().astype(int))
        iy = np.unique(np.linspace(0, n2 - 1, min(n_ticks, n2)).round().astype(int))
        ax.set_xticks(ix + 0.5, [f"{z1[i]:.1f}" for i in ix])
        ax.set_yticks(iy + 0.5, [f"{z2[i]:.1f}" for i in iy])
    ax.set_xlabel("z₁")
    ax.set_ylabel("z₂")
    if title:
        ax.set_title(title)
    return ax


def interpolation_strips(rows: dict, t=None, title: str | None = None, tile_inches: float = 0.7):
    """Stack interpolation strips, one row per method, captioned on the left.

    Args:
        rows: ``{"caption": images (S, 1, 28, 28)}``; all rows with the same number S of steps.
        t: ``(S,)`` interpolation weights written above the columns (e.g. ``torch.linspace(0, 1, S)``;
            0 = the first image, 1 = the second).

    Returns:
        The Axes.
    """
    names = list(rows)
    strips = [_as_tiles(rows[k]) for k in names]
    S = strips[0].shape[0]
    if any(s.shape[0] != S for s in strips):
        raise ValueError("all interpolation strips must have the same number of steps.")
    col_labels = None
    if t is not None:
        col_labels = [f"{v:.2f}" for v in to_numpy(t)]
        col_labels[0] = "t = " + col_labels[0]
    _, ax = plt.subplots(figsize=(S * tile_inches + 1.5, len(names) * tile_inches + 0.8))
    image_grid(np.stack(strips), ax=ax, row_labels=names, col_labels=col_labels, title=title)
    return ax


def loss_curves(histories: dict, ax=None, title: str | None = None, ylabel: str = "nats / image"):
    """Plot per-epoch training (dashed) and test (solid) losses of one or more runs.

    Args:
        histories: ``{"name": History}``, as returned by ``train.fit`` or ``checkpoints.load_or_train``.

    Returns:
        The Axes (x: epoch, starting at 1).

    Raises:
        TypeError: a value is not a ``History`` (e.g. a dict of metadata).
        ValueError: there is nothing to draw (no run has a single epoch recorded).
    """
    from .train import History

    for name, h in histories.items():
        if not isinstance(h, History):
            raise TypeError(f"loss_curves needs a History for {name!r}, got {type(h).__name__}: pass "
                            "what fit() or load_or_train() returned.")
    if not any(h.train_loss or h.test_loss for h in histories.values()):
        raise ValueError(f"nothing to draw: the histories {list(histories)} hold no epoch.")
    ax = _new_ax(ax, (5.5, 3.5))
    for i, (name, h) in enumerate(histories.items()):
        color = f"C{i}"
        if h.train_loss:
            ax.plot(range(1, len(h.train_loss) + 1), h.train_loss, "--", color=color,
                    label=f"{name} (train)")
        if h.test_loss:
            ax.plot(range(1, len(h.test_loss) + 1), h.test_loss, "-o", color=color, markersize=3,
                    label=f"{name} (test)")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs only: no tick at 1.5
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return ax


def share_limits(*axes):
    """Give all ``axes`` the union of their x and y limits (side-by-side comparisons)."""
    xs = np.array([ax.get_xlim() for ax in axes])
    ys = np.array([ax.get_ylim() for ax in axes])
    for ax in axes:
        ax.set_xlim(xs[:, 0].min(), xs[:, 1].max())
        ax.set_ylim(ys[:, 0].min(), ys[:, 1].max())
    return axes


def latent_box_grid(z, n: int = 20, q: float = 0.01):
    """A square-celled grid over the box holding the central ``1 - 2q`` of the codes per axis.

    Args:
        z: ``(N, 2)`` codes. n: cells along the longer side of the box. q: quantile cut per side.

    Returns:
        ``(z1, z2, counts)``: cell centres ``z1 (n1,)``, ``z2 (n2,)`` (equal spacing on both
        axes) and ``counts (n2, n1)``, how many codes fall into each cell, in the order of
        :func:`grid_points` (row ``i`` is ``z2[i]``). A cell with count 0 is a hole: no code there.
    """
    z = to_numpy(z).astype(float)
    lo, hi = np.quantile(z, q, axis=0), np.quantile(z, 1 - q, axis=0)
    step = (hi - lo).max() / n
    n1, n2 = np.maximum(1, np.ceil((hi - lo) / step - 1e-9)).astype(int)
    z1 = lo[0] + step * (np.arange(n1) + 0.5)
    z2 = lo[1] + step * (np.arange(n2) + 0.5)
    counts, _, _ = np.histogram2d(z[:, 0], z[:, 1], bins=[n1, n2],
                                  range=[[lo[0], lo[0] + n1 * step], [lo[1], lo[1] + n2 * step]])
    return z1, z2, counts.T
