"""The course's best VAE in five minutes of wall time, evaluated as the literature does.

Dynamically binarized MNIST (a fresh Bernoulli draw of every training batch), the test set binarized
once with seed 0; a wider VAE than the notebooks' (two hidden layers of 512, 50 latent units), the
logits loss of :mod:`vae_course.speed`, ``fit``'s fused Adam, and a one-cycle learning-rate
schedule over as many epochs as fit in the time budget (one whole epoch timed first, that
calibration counted in the budget). Then the test negative ELBO (all 10,000 images, one z each) and
the importance-sampled -log p(x) (``evaluate.log_px``, K samples per image, on the first ``n_test``
test images), both in nats per image with their standard errors.
"""

import time

from ..data import binarize_dynamic, binarize_fixed, load_dataset
from ..evaluate import log_px, negative_elbo
from ..models import VAE
from ..speed import vae_loss_logits
from ..train import fit

BEST = {"latent_dim": 50, "hidden": (512, 512), "batch_size": 256, "lr": 3e-3}
"""The configuration: architecture, batch size and the one-cycle schedule's peak learning rate."""


def epochs_that_fit(seconds: float, x, config: dict, device="cpu", warmup_batches: int = 30,
                    margin: float = 0.85, model=None, loss_fn=vae_loss_logits) -> tuple[int, float]:
    """How many whole epochs of ``config`` fit in ``seconds``: a throwaway model trains a few
    warm-up batches, then one whole epoch of ``x`` is timed; ``margin`` leaves room for a long run
    being slower per epoch than one epoch alone (measured on 2 cores: 96 epochs planned with a
    margin of 0.93 took 314 s of a 300 s budget, 12 % slower per epoch than the timed one).
    ``model`` (default a ``VAE`` of ``config``'s size) and ``loss_fn`` are the throwaway's.
    Returns (epochs, training images per second of the timed epoch)."""
    probe = model if model is not None else VAE(config["latent_dim"], config["hidden"])
    start = time.perf_counter()
    fit(probe, loss_fn, x[:warmup_batches * config["batch_size"]], epochs=1,
        batch_size=config["batch_size"], lr=config["lr"], transform=binarize_dynamic, progress=False,
        device=device)
    epoch_start = time.perf_counter()
    fit(probe, loss_fn, x, epochs=1, batch_size=config["batch_size"], lr=config["lr"],
        transform=binarize_dynamic, progress=False, device=device, reinit=False)
    epoch_seconds = time.perf_counter() - epoch_start
    left = seconds - (time.perf_counter() - start)
    return max(1, int(margin * left / epoch_seconds)), len(x) / epoch_seconds


def best_vae(seconds: float = 300.0, K: int = 1000, n_test: int = 2000, n_train: int = 60_000,
             config: dict = BEST, device="cpu") -> dict:
    """Train the best configuration for at most about ``seconds`` and evaluate it.

    Returns a dict: ``architecture`` (layer sizes), ``batch_size``, ``epochs``,
    ``train_seconds`` (calibration included), ``images_per_second``, ``neg_elbo`` and
    ``neg_elbo_se`` (full test set), ``nll`` and ``nll_se`` (-log p(x) from K importance samples
    on the first ``n_test`` binarized test images), ``K``, ``n_test``, ``eval_seconds``; all
    losses in nats per image.
    """
    x, _ = load_dataset("mnist", "train")
    x = x[:n_train]
    x_test = binarize_fixed(load_dataset("mnist", "test")[0], seed=0)      # (10000, 1, 28, 28)
    start = time.perf_counter()
    epochs, rate = epochs_that_fit(seconds, x, config, device)
    model = VAE(config["latent_dim"], config["hidden"])
    fit(model, vae_loss_logits, x, epochs, batch_size=config["batch_size"], lr=config["lr"],
        schedule="one-cycle", transform=binarize_dynamic, progress=False, device=device)
    x_test = x_test.to(device)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    bound = negative_elbo(model, x_test)
    ll = log_px(model, x_test[:n_test], K=K, chunk=250, batch_size=100)
    sizes = [784, *config["hidden"], config["latent_dim"]]
    return {"architecture": "-".join(map(str, sizes)), "batch_size": config["batch_size"],
            "epochs": epochs, "train_seconds": train_seconds, "images_per_second": rate,
            "neg_elbo": bound.mean, "neg_elbo_se": bound.se, "nll": -ll.mean, "nll_se": ll.se,
            "K": K, "n_test": ll.n, "eval_seconds": time.perf_counter() - start}
