"""PCA and k-NN (notebook 08), checked against numpy's eigendecomposition and scipy's KD-tree."""

import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree

from vae_course.reduction import PCA, fit_pca, knn_accuracy, knn_predict


def data(n=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    # low-rank images plus a little noise, in [0, 1]
    z = torch.randn(n, 5, generator=g)
    w = torch.randn(5, 784, generator=g) * 0.05
    return (0.5 + z @ w + 0.01 * torch.randn(n, 784, generator=g)).clamp(0, 1).view(n, 1, 28, 28)


def test_pca_directions_and_variances_match_the_covariance_eigenvectors():
    x = data()
    pca = fit_pca(x, d=5)
    X = x.reshape(len(x), -1).double().numpy()
    values, vectors = np.linalg.eigh(np.cov(X, rowvar=False))
    top = vectors[:, ::-1][:, :5].T
    np.testing.assert_allclose(pca.explained_variance.numpy(), values[::-1][:5], rtol=1e-4)
    # the same subspace: projection matrices agree (directions are defined up to sign)
    np.testing.assert_allclose(pca.components.double().numpy().T @ pca.components.double().numpy(),
                               top.T @ top, atol=1e-5)


def test_pca_codes_are_nested_and_reconstruction_error_is_the_discarded_variance():
    x = data()
    full = fit_pca(x, d=20)
    assert torch.allclose(full.truncate(3).encode(x), full.encode(x)[:, :3], atol=1e-5)
    pca = fit_pca(x, d=5)
    X = x.reshape(len(x), -1)
    x_hat = (pca.encode(x) @ pca.components + pca.mean)  # unclipped, to compare with the variances
    sse = ((x_hat - X) ** 2).sum(1).mean().item()
    total = ((X - X.mean(0)) ** 2).sum(1).mean().item()
    kept = pca.explained_variance.sum().item() * (len(x) - 1) / len(x)
    assert sse == pytest.approx(total - kept, rel=1e-3)
    assert pca.decode(pca.encode(x)).shape == (len(x), 1, 28, 28)


def test_knn_agrees_with_scipys_kdtree_and_breaks_ties_by_the_nearest():
    g = torch.Generator().manual_seed(1)
    z_train, z_test = torch.randn(500, 3, generator=g), torch.randn(200, 3, generator=g)
    y_train = torch.randint(0, 4, (500,), generator=g)
    ours = knn_predict(z_train, y_train, z_test, k=5, chunk=64)
    _, idx = cKDTree(z_train.numpy()).query(z_test.numpy(), k=5)
    expected = []
    for row in y_train.numpy()[idx]:
        counts = np.bincount(row, minlength=4)
        tied = set(np.flatnonzero(counts == counts.max()))
        expected.append(next(label for label in row if label in tied))
    assert ours.tolist() == expected
    assert knn_accuracy(z_train, y_train, z_train, y_train, k=1).all()  # each point is its own neighbour


def test_leave_one_out_is_the_vote_of_the_other_codes():
    g = torch.Generator().manual_seed(2)
    z, y = torch.randn(300, 2, generator=g), torch.randint(0, 3, (300,), generator=g)
    ours = knn_predict(z, y, z, k=4, chunk=64, leave_one_out=True)
    _, idx = cKDTree(z.numpy()).query(z.numpy(), k=5)
    expected = []
    for i, row in enumerate(idx):
        labels = y.numpy()[[j for j in row if j != i][:4]]
        counts = np.bincount(labels, minlength=3)
        tied = set(np.flatnonzero(counts == counts.max()))
        expected.append(next(label for label in labels if label in tied))
    assert ours.tolist() == expected
    with pytest.raises(ValueError, match="against itself"):
        knn_predict(z, y, z[:10], k=4, leave_one_out=True)


def test_bad_shapes_get_clear_errors():
    with pytest.raises(ValueError, match="d must lie"):
        fit_pca(data(10), d=50)
    with pytest.raises(ValueError, match="codes of shape"):
        fit_pca(data(), d=3).decode(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="labels"):
        knn_predict(torch.zeros(5, 2), torch.zeros(4, dtype=torch.long), torch.zeros(1, 2))


def test_a_pca_made_from_a_mean_and_directions_codes_like_the_fitted_one():
    x = data()
    fitted = fit_pca(x, d=5)
    made = PCA(mean=fitted.mean, components=fitted.components)  # as notebook 08 builds it
    assert torch.equal(made.encode(x), fitted.encode(x))
    assert made.truncate(2).explained_variance is None and made.truncate(2).d == 2
    assert torch.equal(fitted.truncate(2).explained_variance, fitted.explained_variance[:2])
