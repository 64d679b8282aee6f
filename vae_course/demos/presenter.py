"""The demos ready to show, one call each, with the models of notebooks 05 and 06.

The presenter notebooks in ``demos/`` (served without code by ``make demo``) are one cell each::

    from vae_course.demos.presenter import latent_demo
    latent_demo()

The models are the ones the course trains (the same :class:`~vae_course.train.Recipe` as notebooks
04-06, so the same cache file): loaded from the model cache in a second, or trained there the first
time (a minute in full mode, seconds in fast mode). :func:`warm_cache` does that ahead of a talk.
"""

import torch

from ..budget import budget
from ..checkpoints import load_or_train
from ..models import CVAE, VAE
from ..train import Recipe
from .digit_mixer import digit_mixer
from .kl_explorer import kl_explorer
from .latent_explorer import latent_explorer


def course_recipe(loss: str) -> Recipe:
    """The recipe of notebooks 04-06's main 2-D models (``loss``: ``"ae"``, ``"vae"`` or ``"cvae"``).

    Full mode: 60 000 images, 4 epochs; fast mode: 5 000 images, 2 epochs (as in the notebooks).
    """
    B = budget()
    return Recipe(loss=loss, n_train=B.pick(full=60_000, fast=5_000), epochs=B.pick(full=4, fast=2))


def load_vae(progress: bool = True) -> VAE:
    """Notebook 05's 2-D VAE, on the CPU, in eval mode."""
    return load_or_train(lambda: VAE(latent_dim=2), course_recipe("vae"), progress=progress)[0].cpu().eval()


def load_cvae(progress: bool = True) -> CVAE:
    """Notebook 06's 2-D CVAE, on the CPU, in eval mode."""
    return load_or_train(lambda: CVAE(latent_dim=2), course_recipe("cvae"), progress=progress)[0].cpu().eval()


def kl_demo():
    """Notebook 02's KL explorer, starting from p = N(0, 1), q = N(-1, 2²)."""
    return kl_explorer(mu_p=0.0, sigma_p=1.0, mu_q=-1.0, sigma_q=2.0)


def latent_demo():
    """Notebook 05's latent explorer: the 2-D VAE over its encoded (binary) test digits."""
    vae = load_vae()
    x_test, y_test = course_recipe("vae").test_data()
    with torch.no_grad():
        mu_test, _ = vae.encode(x_test)  # (10000, 2)
    return latent_explorer(vae.decode, mu_test, y_test)


def mixer_demo():
    """Notebook 06's digit mixer: the 2-D CVAE."""
    return digit_mixer(load_cvae())


def warm_cache(progress: bool = False) -> None:
    """Train (or find) every model the demos use, so that each demo appears in seconds."""
    load_vae(progress=progress)
    load_cvae(progress=progress)


if __name__ == "__main__":  # python -m vae_course.demos.presenter: warm the cache before a talk
    warm_cache(progress=True)
    print("the demos' models are in the cache")
