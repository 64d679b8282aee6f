"""Checkers for notebook 08 (what VAEs are for: compression against PCA, and denoising).

Exercise 1, "PCA by an SVD": ``pca_directions(X, d)`` takes flat images ``(N, 784)`` and returns
``(mean, components)``: the mean image ``(784,)`` and the top ``d`` principal directions as
orthonormal rows ``(d, 784)``. Directions are defined up to sign, so the check compares the
projection ``components.T @ components`` with the reference's (``numpy.linalg.eigh`` of the
covariance, an independent route to the same subspace).
Exercise 2, "PSNR": ``psnr(x_hat, x)`` returns ``10 log10(1 / MSE)`` per image, ``(B, ...) -> (B,)``.
Exercise 3, "filling a hole from the prior": ``inpaint(model, x, visible, steps, lr)`` fills the hidden
pixels of ``x`` with the decoder's mean at the code ``z*`` that maximises ``log p(x_visible | z) +
log p(z)``, found by Adam on ``z`` from the encoder's ``mu``; checked on small VAEs of random weights
(the same code for the same start, so the filled pixels are compared with the reference's).
"""

import copy
import math

import numpy as np
import torch
from torch.distributions import Normal

from vae_course import models
from vae_course.checks.core import Case, FunctionExercise, Mistake
from vae_course.corruption import square_masks


def _pca_reference(X, d):
    Xd = X.double().numpy()
    mean = Xd.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(Xd, rowvar=False))  # ascending eigenvalues
    components = vectors[:, ::-1][:, :d].T.copy()                 # (d, 784), largest first
    return torch.from_numpy(mean).float(), torch.from_numpy(components).float()


def _svd_variant(centre=True, smallest=False, rows_of_u=False, reversed_order=False):
    def pca_directions(X, d):
        mean = X.mean(dim=0)
        U, S, Vh = torch.linalg.svd(X - mean if centre else X, full_matrices=False)
        if rows_of_u:
            return mean, U[:, :d].T
        if reversed_order:
            return mean, Vh[:d].flip(0)
        return mean, (Vh[-d:] if smallest else Vh[:d])
    return pca_directions


def _compare_pca(got, expected):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "return two values, (mean, components)"
    mean, comps = got
    e_mean, e_comps = expected
    for name, g, e in (("mean", mean, e_mean), ("components", comps, e_comps)):
        if not torch.is_tensor(g):
            return f"{name} is not a tensor"
        if g.shape != e.shape:
            return f"{name} has shape {tuple(g.shape)}, expected {tuple(e.shape)}"
    if not torch.allclose(mean.double(), e_mean.double(), atol=1e-5):
        return "the mean image is not the mean of the rows of X"
    c = comps.detach().double()
    if not torch.allclose(c @ c.T, torch.eye(len(c), dtype=c.dtype), atol=1e-4):
        return "the rows of components are not orthonormal (each of length 1, at right angles)"
    e = e_comps.double()
    if not torch.allclose(c.T @ c, e.T @ e, atol=1e-4):
        return "the rows span another subspace than the top principal directions"
    cosines = (c * e).sum(dim=1).abs()  # |cos| between your row i and the i-th direction (sign is free)
    if not torch.allclose(cosines, torch.ones_like(cosines), atol=1e-3):
        return ("the rows are the top directions but not in order: row 0 must be the direction of "
                "largest spread, row 1 the next, ... (truncating to fewer directions keeps the first rows)")
    return None


def _near_subspace(g, n=60, spreads=(4.0, 3.0, 2.0, 1.0), mean=0.3):
    """n flat images (n, 784): ``mean`` (a number or an image) plus points of a random
    len(spreads)-D subspace, with these standard deviations (times 0.05), plus a little noise."""
    k = len(spreads)
    z = torch.randn(n, k, generator=g) * torch.tensor(spreads)
    W = torch.linalg.qr(torch.randn(784, k, generator=g))[0].T     # (k, 784) orthonormal
    return mean + 0.05 * z @ W + 0.002 * torch.randn(n, 784, generator=g)


def _cases_ex1():
    X = _near_subspace(torch.Generator().manual_seed(8))
    return [Case("60 images near a 4-D subspace, d = 2", X, 2),
            Case("the same images, d = 4", X, 4)]


def _hidden_ex1(seed):
    """The grader's cases for ``seed``: like ``_cases_ex1``, with a random number of images, a
    random mean image, a 3- to 5-D subspace with random spreads (each at least 1.3 times the next),
    and d = 2 then d = the subspace's dimension."""
    g = torch.Generator().manual_seed(seed)
    n, k = int(torch.randint(40, 81, (), generator=g)), int(torch.randint(3, 6, (), generator=g))
    ratios = 1.3 + 0.4 * torch.rand(k - 1, generator=g)            # spread i / spread i + 1
    spreads = torch.cat([torch.ones(1), ratios]).cumprod(0).flip(0).tolist()
    X = _near_subspace(g, n, spreads, mean=0.2 + 0.3 * torch.rand(784, generator=g))
    return [Case(f"hidden case: {n} images near a {k}-D subspace, d = 2", X, 2),
            Case(f"hidden case: the same images, d = {k}", X, k)]


ex1 = FunctionExercise(
    1,
    "PCA by an SVD",
    reference=_pca_reference,
    cases=_cases_ex1(),
    hidden=_hidden_ex1,
    compare=_compare_pca,
    mistakes=[
        Mistake("It looks like the data were not centred: subtract the mean image before the SVD, "
                "or the first direction points at the mean instead of along the largest spread.",
                like=_svd_variant(centre=False)),
        Mistake("It looks like you kept the last d directions: torch.linalg.svd sorts the singular "
                "values from largest to smallest, so the top directions are the first rows of Vh.",
                like=_svd_variant(smallest=True)),
        Mistake("It looks like your directions come in reverse order, smallest spread first (as "
                "torch.linalg.eigh sorts its eigenvalues): put the largest first, as the SVD does.",
                like=_svd_variant(reversed_order=True)),
        Mistake("It looks like you took columns of U: those are the images' coordinates (N of them), "
                "the directions in pixel space are the rows of Vh.",
                when=lambda got, expected: torch.is_tensor(got[1]) and got[1].shape[1] != 784),
    ],
    hints=[
        "Centre the rows of X (subtract the mean image), then take the SVD: X - mean = U S Vh.",
        "The rows of Vh are orthonormal directions in pixel space, sorted by singular value, "
        "largest first.",
        "mean = X.mean(dim=0); U, S, Vh = torch.linalg.svd(X - mean, full_matrices=False); "
        "return mean, Vh[:d]",
    ],
    solution=("def pca_directions(X, d):\n"
              "    mean = X.mean(dim=0)                                        # (784,)\n"
              "    U, S, Vh = torch.linalg.svd(X - mean, full_matrices=False)  # Vh: (min(N, 784), 784)\n"
              "    return mean, Vh[:d]                                         # (784,), (d, 784)\n"),
    points=2,
)


def _psnr_reference(x_hat, x):
    mse = ((x_hat.double() - x.double()) ** 2).flatten(1).mean(dim=1)
    return (10 * torch.log10(1.0 / mse)).to(x.dtype)


def _psnr_variant(log=torch.log10, factor=10.0, peak=1.0, batch_mse=False):
    def psnr(x_hat, x):
        mse = ((x_hat - x) ** 2).flatten(1).mean(dim=1)
        if batch_mse:
            mse = mse.mean()
        return factor * log(peak**2 / mse)
    return psnr


def _cases_ex2():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(5, 1, 28, 28, generator=g)
    noisy = (x + 0.1 * torch.randn(5, 1, 28, 28, generator=g)).clamp(0, 1)
    grey = torch.full((1, 1, 28, 28), 0.5)
    return [Case("a grey image against a black one: MSE 0.25, PSNR 6.02 dB", grey, torch.zeros_like(grey)),
            Case("5 images with noise of standard deviation 0.1", noisy, x),
            Case("5 images with different errors (1 image each of MSE 0.01 to 0.05)",
                 x[:5] + torch.arange(1, 6).view(5, 1, 1, 1).sqrt() * 0.1, x[:5])]


def _hidden_ex2(seed):
    """The grader's cases for ``seed``: the three kinds of ``_cases_ex2`` (two uniform grey levels,
    noisy images, images with different errors) with random levels, noise, errors and batch sizes."""
    g = torch.Generator().manual_seed(seed)
    n_grey, n_noisy, n_errors = torch.randint(1, 4, (1,), generator=g).tolist() + \
        torch.randint(2, 7, (2,), generator=g).tolist()
    a = float(torch.rand((), generator=g))
    gap = float(0.1 + 0.6 * torch.rand((), generator=g))
    b = a + gap if a + gap <= 1 else a - gap                         # |a - b| = gap in [0.1, 0.7]
    mse = gap ** 2
    std = float(0.05 + 0.15 * torch.rand((), generator=g))
    x = torch.rand(n_noisy, 1, 28, 28, generator=g)
    noisy = (x + std * torch.randn(n_noisy, 1, 28, 28, generator=g)).clamp(0, 1)
    y = torch.rand(n_errors, 1, 28, 28, generator=g)
    errors = 0.05 + 0.25 * torch.rand(n_errors, generator=g)       # one RMSE per image
    signs = torch.where(torch.rand(n_errors, 1, 28, 28, generator=g) < 0.5, -1.0, 1.0)
    return [Case(f"hidden case: {n_grey} uniform image(s) of grey level {a:.3f} against {b:.3f}: "
                 f"MSE {mse:.4f}, PSNR {10 * math.log10(1 / mse):.2f} dB",
                 torch.full((n_grey, 1, 28, 28), a), torch.full((n_grey, 1, 28, 28), b)),
            Case(f"hidden case: {n_noisy} images with noise of standard deviation {std:.3f}", noisy, x),
            Case(f"hidden case: {n_errors} images with different errors (MSE "
                 f"{errors.min() ** 2:.4f} to {errors.max() ** 2:.4f})",
                 y + signs * errors.view(-1, 1, 1, 1), y)]


ex2 = FunctionExercise(
    2,
    "PSNR",
    reference=_psnr_reference,
    cases=_cases_ex2(),
    hidden=_hidden_ex2,
    rtol=1e-4, atol=1e-4,
    mistakes=[
        Mistake("It looks like you used the natural log: PSNR is in decibels, 10 log10(...).",
                like=_psnr_variant(log=torch.log)),
        Mistake("It looks like you used 20 log10(1 / MSE): the 20 belongs with the root-mean-square "
                "error (20 log10(1 / RMSE)); with the MSE it is 10.", like=_psnr_variant(factor=20.0)),
        Mistake("It looks like you used a peak of 255: these images have grey levels in [0, 1], so "
                "the peak is 1.", like=_psnr_variant(peak=255.0)),
        Mistake("You return one number for the batch: average the squared error over each image's "
                "pixels only, one PSNR per image, (B, ...) -> (B,).",
                when=lambda got, expected: torch.is_tensor(got) and got.dim() == 0),
    ],
    hints=[
        "MSE per image: the mean of (x_hat - x)**2 over the pixels of each image, shape (B,).",
        "PSNR = 10 log10(peak² / MSE), with peak 1 for grey levels in [0, 1].",
        "mse = ((x_hat - x) ** 2).flatten(1).mean(dim=1); return 10 * torch.log10(1 / mse)",
    ],
    solution=("def psnr(x_hat, x):\n"
              "    mse = ((x_hat - x) ** 2).flatten(1).mean(dim=1)  # (B,)\n"
              "    return 10 * torch.log10(1.0 / mse)               # (B,) in dB\n"),
)


def _inpaint_reference(model, x, visible, steps=200, lr=0.05):
    z = model.encode(x)[0].detach().double().requires_grad_(True)  # (B, L), float64 for exactness
    opt = torch.optim.Adam([z], lr=lr)
    for _ in range(steps):
        x_hat = model.decode(z.float()).double()                      # (B, 1, 28, 28)
        log_lik = -torch.nn.functional.binary_cross_entropy(x_hat, x.double(), reduction="none")
        log_prior = Normal(0.0, 1.0).log_prob(z).sum(dim=1)          # (B,)
        loss = -((log_lik * visible).flatten(1).sum(dim=1) + log_prior).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return torch.where(visible, x, model.decode(z.float()))


def _inpaint_variant(prior=True, masked=True, start="mu", move=True, keep=True, weights=False,
                     pixel_mean=False, last_inside=False):
    def inpaint(model, x, visible, steps=200, lr=0.05):
        with torch.no_grad():
            mu = model.encode(x)[0]
        z = (mu if start == "mu" else torch.zeros_like(mu)).clone().requires_grad_(True)
        opt = torch.optim.Adam([z, *model.parameters()] if weights else [z], lr=lr)
        x_hat = model.decode(z)
        for _ in range(steps if move else 0):
            x_hat = model.decode(z).clamp(1e-6, 1 - 1e-6)
            log_lik = x * x_hat.log() + (1 - x) * (1 - x_hat).log()
            log_lik = log_lik * visible if masked else log_lik
            log_lik = log_lik.flatten(1).mean(1) if pixel_mean else log_lik.flatten(1).sum(1)
            loss = -(log_lik + (-0.5 * z**2).sum(1) * prior).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if not last_inside:
            with torch.no_grad():
                x_hat = model.decode(z)
        return torch.where(visible, x, x_hat.detach()) if keep else x_hat.detach()
    return inpaint


def _small_vae(seed, latent_dim=4, hidden=(64,)):
    """A VAE of random weights drawn from ``seed``, not frozen (as the notebook's is not): a z that
    is not a leaf, or an optimiser over the weights, shows."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = models.VAE(latent_dim=latent_dim, hidden=hidden)
        for layer in model.modules():  # larger weights than the default, for codes that matter
            if isinstance(layer, torch.nn.Linear):
                layer.weight.data.mul_(2.5)
    return model.eval()


def _images_of(model, g, n):
    """``n`` images (n, 1, 28, 28) that ``model`` can explain: decoded prior draws, made noisier.
    Decoded on one thread, as in the grader's kernel: a matrix product's last bits depend on how many
    threads share it, and the kernel and the grader must build the very same images."""
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with torch.no_grad():
            x = model.decode(torch.randn(n, model.latent_dim, generator=g))
    finally:
        torch.set_num_threads(threads)
    return (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(0, 1)


def _inpaint_case(name, seed, n, size, steps, lr, latent_dim=4):
    g = torch.Generator().manual_seed(seed)
    model = _small_vae(seed, latent_dim)
    x = _images_of(model, g, n)
    visible = ~square_masks(n, size, seed=seed + 1)
    return Case(name, model, x.masked_fill(~visible, 0.0), visible, steps=steps, lr=lr)


def _cases_ex3():
    return [_inpaint_case("6 images, a 12 x 12 square hidden, a 4-D VAE of random weights, 40 Adam "
                          "steps", 3, 6, 12, steps=40, lr=0.05),
            _inpaint_case("3 images, an 8 x 8 square hidden, 25 steps at lr = 0.1", 5, 3, 8,
                          steps=25, lr=0.1)]


def _hidden_ex3(seed):
    """The grader's cases for ``seed``: like ``_cases_ex3``, with a VAE, images, square sizes and
    places, batch sizes, code sizes, step counts and learning rates drawn from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    draws = (torch.randint(2, 8, (2,), generator=g).tolist()          # batch sizes
             + torch.randint(10, 21, (2,), generator=g).tolist())    # square sides
    L = int(torch.randint(2, 7, (), generator=g))
    steps = torch.randint(15, 41, (2,), generator=g).tolist()
    lrs = (0.03 + 0.09 * torch.rand(2, generator=g)).tolist()
    base = int(torch.randint(0, 2**31 - 2, (), generator=g))
    return [_inpaint_case(f"hidden case: {draws[k]} images, a {draws[2 + k]} x {draws[2 + k]} square "
                          f"hidden, a {L}-D VAE, {steps[k]} steps at lr = {lrs[k]:.3f}",
                          base + 7 * k, draws[k], draws[2 + k], steps[k], lrs[k], L)
            for k in range(2)]


class InpaintExercise(FunctionExercise):
    """``inpaint`` run on a copy of each case's model: what it returns, and how far the model's
    weights moved (they must not)."""

    def _call(self, fn, case):
        args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
        before = [p.detach().clone() for p in args[0].parameters()]
        filled = fn(*args, **kwargs)
        moved = max((p.detach() - b).abs().max().item() for p, b in zip(args[0].parameters(), before))
        return filled, moved


def _compare_inpaint(answer, expected):
    (got, moved), (expected, _) = answer, expected
    if moved > 0:
        return (f"the model's weights moved (by up to {moved:.2e}): inpainting optimises the code z "
                "alone, so give Adam [z] only")
    if not torch.is_tensor(got):
        return f"inpaint returned {type(got).__name__}, not a tensor of images"
    if got.shape != expected.shape:
        return f"inpaint returned shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
    if not torch.isfinite(got).all():
        return "the filled images hold NaN or infinite values"
    gap = (got.double() - expected.double()).abs().max().item()
    if gap > 2e-4:
        return (f"a filled pixel differs from the reference's by up to {gap:.3f} (the same model, "
                "images and mask: exactly `steps` Adam steps from the encoder's mu end at the same "
                "code, and the hidden pixels are the decoder's at that code)")
    return None


ex3 = InpaintExercise(
    3,
    "filling a hole from the prior",
    reference=_inpaint_reference,
    cases=_cases_ex3(),
    hidden=_hidden_ex3,
    compare=_compare_inpaint,
    mistakes=[
        Mistake("It looks like the visible pixels were replaced too: keep them as they are and fill "
                "only the hidden ones, torch.where(visible, x, x_hat).",
                like=_inpaint_variant(keep=False)),
        Mistake("It looks like the prior term log p(z) is missing: without it z* maximises the "
                "likelihood of the visible pixels alone and can wander to codes the decoder has "
                "never seen.", like=_inpaint_variant(prior=False)),
        Mistake("It looks like the hidden pixels count in the likelihood: multiply the per-pixel "
                "log-likelihood by `visible` before summing, or z* explains the black square too.",
                like=_inpaint_variant(masked=False)),
        Mistake("It looks like z starts at zero: start from the encoder's guess, mu = "
                "model.encode(x)[0].", like=_inpaint_variant(start="zero")),
        Mistake("It looks like the model's weights were optimised too: Adam's parameters are [z] "
                "only; the model stays as it was trained.",
                when=lambda got, expected: got[1] > 0),
        Mistake("It looks like the log-likelihood is averaged over the pixels (a mean, as "
                "F.binary_cross_entropy's default reduction does): sum it over the visible pixels "
                "of each image, or the prior weighs hundreds of times more than the image.",
                like=_inpaint_variant(pixel_mean=True)),
        Mistake("It looks like the hidden pixels come from the decoder inside the loop, one step "
                "before the last: decode the final z after the loop.",
                like=_inpaint_variant(last_inside=True)),
        Mistake("It looks like z never moved: the hidden pixels are those of the decoder at the "
                "encoder's mu. Take `steps` Adam steps on z (optimizer over [z], zero_grad, "
                "backward, step).", like=_inpaint_variant(move=False)),
    ],
    hints=[
        "Start from z = model.encode(x)[0], detached, as a leaf that needs a gradient "
        "(.detach().clone().requires_grad_(True)); the optimizer is torch.optim.Adam([z], lr=lr).",
        "The loss to minimise, per image: -(sum over the visible pixels of x log x_hat + (1 - x) "
        "log(1 - x_hat)) - log N(z; 0, I), with x_hat = model.decode(z); average it over the batch.",
        "After the loop: with torch.no_grad(): return torch.where(visible, x, model.decode(z)).",
    ],
    solution=("def inpaint(model, x, visible, steps=200, lr=0.05):\n"
              "    z = model.encode(x)[0].detach().clone().requires_grad_(True)  # (B, L) start at mu\n"
              "    opt = torch.optim.Adam([z], lr=lr)\n"
              "    model.requires_grad_(False)                                    # gradients for z only\n"
              "    for _ in range(steps):\n"
              "        x_hat = model.decode(z).clamp(1e-6, 1 - 1e-6)              # (B, 1, 28, 28)\n"
              "        log_lik = (x * x_hat.log() + (1 - x) * (1 - x_hat).log()) * visible\n"
              "        log_prior = Normal(0.0, 1.0).log_prob(z).sum(dim=1)        # (B,)\n"
              "        loss = -(log_lik.flatten(1).sum(dim=1) + log_prior).mean()\n"
              "        opt.zero_grad()\n"
              "        loss.backward()\n"
              "        opt.step()\n"
              "    model.requires_grad_(True)\n"
              "    with torch.no_grad():\n"
              "        return torch.where(visible, x, model.decode(z))           # visible pixels kept\n"),
    points=3,
)
