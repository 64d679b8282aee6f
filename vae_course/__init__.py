"""vae_course: the helpers a learner has already built in the course's notebooks.

Modules, one idea each: ``budget`` (fast/full mode), ``data`` (datasets as tensors),
``models`` (AE, VAE, CVAE), ``losses`` (likelihoods, KL, ELBO), ``train`` (``fit``),
``checkpoints`` (safe save/load), ``checks`` (exercise checkers), ``plots`` and ``demos``.
"""

__version__ = "0.1.0"
