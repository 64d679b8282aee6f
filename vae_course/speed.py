"""The course's fastest path: the same VAE, the same objective, fewer seconds.

What the notebooks already get from ``train.fit`` and :class:`~vae_course.train.Recipe`:

- fused Adam (``train.adam``, ``fit``'s default optimizer): one kernel updates every parameter;
- the recipe's one-cycle schedule: the learning rate warms up to 8e-3 and decays to almost zero,
  so the quality of 8 epochs at a constant 1e-3 comes in 4 (``RECIPE``, the ``Recipe`` defaults).

One more change, for the benchmark and for anyone training outside the notebooks (a quarter more
images per second in the benchmark's part 1): :func:`vae_loss_logits`, where the decoder's last
layer gives logits and ``sigmoid`` and the Bernoulli log-likelihood are fused into one
``binary_cross_entropy_with_logits`` (one pass over the ``(B, 784)`` pixels instead of three, no
input checks). The notebooks keep ``losses.vae_loss``,
whose checks name a learner's mistakes. Use it with the course's own ``VAE`` and ``fit``::

    model = VAE(latent_dim=20, hidden=(400,))
    fit(model, vae_loss_logits, x_train, epochs=RECIPE["epochs"], batch_size=RECIPE["batch_size"],
        lr=RECIPE["lr"], schedule=RECIPE["schedule"])
"""

import torch
from torch.nn import functional as F

from .models import flatten_images
from .train import Recipe

RECIPE = {"batch_size": Recipe.batch_size, "lr": Recipe.lr, "epochs": Recipe.epochs,
          "schedule": Recipe.schedule}
"""The course's recipe (the defaults of :class:`~vae_course.train.Recipe`), chosen on held-out
training images (``bench.quality.recipe_on_validation``, docs/benchmark.md): the fewest epochs of a
one-cycle schedule that reach pytorch/examples' quality for the 784-400-20 VAE on MNIST."""


def vae_loss_logits(model, x: torch.Tensor, y=None, beta: float = 1.0) -> torch.Tensor:
    """The VAE objective of :func:`vae_course.losses.vae_loss`, computed from the decoder's logits.

    ``model`` is a course ``VAE`` (``encode``, ``reparameterize`` and the ``decoder`` MLP, whose
    output are logits before the sigmoid). ``x``: ``(B, 1, 28, 28)`` or ``(B, 784)`` in [0, 1].
    Returns the mean over the batch of ``-log p(x|z) + beta * KL(q(z|x) || N(0, I))``, the
    reconstruction summed over the 784 pixels and the KL over the latent units: **nats per image**.
    Same value as ``vae_loss`` (up to float rounding), without its input checks.
    """
    x = flatten_images(x)                                    # (B, 784)
    mu, logvar = model.encode(x)                             # (B, D) each
    z = model.reparameterize(mu, logvar)                     # (B, D)
    logits = model.decoder(z)                                # (B, 784)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")   # summed over B and pixels
    kl = 0.5 * (logvar.exp() + mu**2 - 1.0 - logvar).sum()                 # summed over B and units
    return (rec + beta * kl) / len(x)
