"""The course's figures: a learner must see labelled axes, digit legends and aligned grids."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vae_course import plots  # noqa: E402
from vae_course.train import History  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_mosaic_places_each_image_in_its_tile_with_padding():
    images = torch.arange(6).float().view(6, 1, 1, 1).expand(6, 1, 2, 2) / 10
    grid = plots.mosaic(images, ncol=3, pad=1, pad_value=-1)
    assert grid.shape == (2 * 2 + 1, 3 * 2 + 2)
    assert grid[0, 0] == 0 and grid[0, 3] == pytest.approx(0.1) and grid[3, 6] == pytest.approx(0.5)
    assert grid[2, 0] == -1  # the padding row


def test_mosaic_of_a_grid_keeps_rows_and_columns():
    images = torch.zeros(2, 3, 1, 28, 28)
    images[1, 2] = 1.0
    grid = plots.mosaic(images, pad=0)
    assert grid.shape == (56, 84) and grid[28:, 56:].min() == 1 and grid[:28].max() == 0


def test_image_grid_has_no_ticks_but_row_and_column_captions():
    ax = plots.image_grid(torch.rand(2, 5, 1, 28, 28), row_labels=["a", "b"],
                          col_labels=list("01234"), title="t")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert [t.get_text() for t in ax.get_xticklabels()] == list("01234")
    plain = plots.image_grid(torch.rand(7, 1, 28, 28))
    assert len(plain.get_xticks()) == 0 and len(plain.get_yticks()) == 0


def test_latent_scatter_uses_tab10_and_a_legend_naming_the_digits():
    z = torch.randn(50, 2)
    y = torch.arange(50) % 10
    ax = plots.latent_scatter(z, y, title="x")
    colors = ax.collections[0].get_facecolors()[:, :3]
    assert np.allclose(colors[3], plots.DIGIT_COLORS[3])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [str(d) for d in range(10)]
    assert ax.get_xlabel() == "z₁" and ax.get_ylabel() == "z₂"


def test_latent_scatter_rejects_codes_that_are_not_2d():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plots.latent_scatter(torch.randn(5, 3), torch.zeros(5))


def test_posterior_ellipses_have_2_sigma_half_axes_and_fit_in_the_limits():
    mu = torch.tensor([[0.0, 0.0], [3.0, 1.0]])
    logvar = torch.log(torch.tensor([[0.25, 1.0], [1.0, 4.0]]))  # sigma (0.5, 1), (1, 2)
    ax = plots.posterior_ellipses(mu, logvar, torch.tensor([1, 7]))
    coll = [c for c in ax.collections if hasattr(c, "_widths")][0]
    # EllipseCollection stores half-widths
    assert np.allclose(coll._widths, [1.0, 2.0]) and np.allclose(coll._heights, [2.0, 4.0])
    assert ax.get_xlim()[0] <= -1.0 and ax.get_xlim()[1] >= 5.0
    assert ax.get_ylim()[0] <= -2.0 and ax.get_ylim()[1] >= 5.0


def test_grid_points_order_matches_manifold_rows():
    pts = plots.grid_points([0, 1, 2], [10, 20])
    assert pts.shape == (6, 2)
    assert pts[1].tolist() == [1, 10] and pts[3].tolist() == [0, 20]


def test_uniform_manifold_axes_are_in_z_units_with_largest_z2_on_top():
    z1 = np.linspace(-1, 1, 3)
    z2 = np.linspace(-2, 2, 3)
    images = torch.zeros(3, 3, 1, 28, 28)
    images[2, 0] = 1.0  # decoded at (z1=-1, z2=+2): must appear top left
    ax = plots.manifold_grid(images, z1, z2)
    im = ax.get_images()[0]
    assert np.allclose(im.get_extent(), [-1.5, 1.5, -3.0, 3.0])
    assert im.get_array()[0, 0] == 1.0 and im.get_array()[-1, 0] == 0.0


def test_non_uniform_manifold_labels_ticks_with_z_values():
    from scipy.stats import norm
    zz = norm.ppf(np.linspace(0.05, 0.95, 5))
    ax = plots.manifold_grid(torch.rand(5, 5, 1, 28, 28), zz, zz)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == f"{zz[0]:.1f}" and ax.get_xlabel() == "z₁"


def test_manifold_rejects_a_grid_of_the_wrong_size():
    with pytest.raises(ValueError, match="len\\(z2\\)"):
        plots.manifold_grid(torch.rand(3, 4, 1, 28, 28), [0, 1, 2], [0, 1, 2])


def test_latent_box_grid_counts_every_code_inside_and_finds_holes():
    g = torch.Generator().manual_seed(0)
    z = torch.cat([torch.rand(500, 2, generator=g), torch.rand(500, 2, generator=g) + 3])
    z1, z2, counts = plots.latent_box_grid(z, n=8, q=0.0)
    assert counts.shape == (len(z2), len(z1))
    assert counts.sum() == 1000
    assert np.allclose(np.diff(z1), np.diff(z1)[0]) and np.isclose(z1[1] - z1[0], z2[1] - z2[0])
    assert 0.5 < (counts == 0).mean() < 0.9  # two blobs in the corners of a square box


def test_interpolation_strips_caption_rows_and_t():
    ax = plots.interpolation_strips({"AE": torch.rand(4, 1, 28, 28), "VAE": torch.rand(4, 1, 28, 28)},
                                    t=torch.linspace(0, 1, 4))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["AE", "VAE"]
    assert ax.get_xticklabels()[0].get_text() == "t = 0.00"


def test_loss_curves_label_epochs_and_nats():
    h = History(train_loss=[3.0, 2.0], test_loss=[2.5, 2.1])
    ax = plots.loss_curves({"VAE": h, "AE": History(train_loss=[4.0, 3.0])})
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "nats / image"
    assert len(ax.get_lines()) == 3 and len(ax.get_legend().get_texts()) == 3


def test_loss_curves_refuse_to_draw_an_empty_figure_quietly():
    with pytest.raises(TypeError, match="needs a History for 'VAE'"):
        plots.loss_curves({"VAE": {"train_loss": [1, 2]}})  # e.g. a checkpoint's metadata dict
    with pytest.raises(ValueError, match="nothing to draw"):
        plots.loss_curves({"VAE": History()})


def test_share_limits_gives_both_axes_the_union():
    _, (a, b) = plt.subplots(1, 2)
    a.set_xlim(0, 1)
    a.set_ylim(-1, 1)
    b.set_xlim(-2, 0.5)
    b.set_ylim(0, 3)
    plots.share_limits(a, b)
    assert a.get_xlim() == b.get_xlim() == (-2, 1) and a.get_ylim() == b.get_ylim() == (-1, 3)
