"""Which objects of the package answer which exercise: the one map a graded copy of the course reads.

Learners import ``vae_course`` whole: for self-study every answer is one call away, on purpose.
When a submission is *graded*, its kernel gets a copy of the package without the answers to the
exercises the grader judges (``vae_course.instructor.release.graded_package``): the checks module's
references, named-mistake variants and solutions are taken out, and the package's own version of each
answer below is replaced by a stub that says where it is taught. A test keeps the map complete: every
exercise of ``vae_course/checks/`` has an entry (an empty tuple where the package holds no version of
the answer, with the reason in a comment).

``"losses.kl_mvn"`` names a function of ``vae_course/losses.py``; ``"models.VAE.reparameterize"`` a
method. The checks never need one of these while they run (they train and probe with their own
objectives and model, ``checks.behaviour``), so a graded copy leaves every one of them out.
"""

from __future__ import annotations

ANSWERS: dict[tuple[str, int], tuple[str, ...]] = {
    ("nb00", 1): (),  # scaling to [0, 1] happens inside data.load_dataset, not as a function
    ("nb01", 1): (),  # the Monte-Carlo ELBO: no function of the package computes it from log_joint
    ("nb01", 2): ("losses.importance_weighted_bound", "evaluate.iw_bound"),
    ("nb02", 1): ("losses.kl_normal", "losses.kl_normal_std"),
    ("nb02", 2): ("losses.kl_mvn",),
    ("nb03", 1): (),  # the models' reparameterize draws its own eps; this exercise is given eps
    ("nb03", 2): (),  # the pathwise gradient estimate: not in the package
    ("nb04", 1): ("models.AE",),
    ("nb04", 2): ("losses.bernoulli_log_likelihood",),
    ("nb04", 3): ("train.fit",),
    ("nb04", 4): (),  # interpolation is torch.lerp
    ("nb04", 5): ("models.AE",),
    ("nb05", 1): ("models.VAE.reparameterize", "models.CVAE.reparameterize",
                  "models.ConvVAE.reparameterize"),
    ("nb05", 2): ("models.VAE",),
    ("nb05", 3): ("losses.vae_loss", "losses.neg_elbo"),
    ("nb05", 4): (),  # decoding prior draws: a line of the notebook, not a package function
    ("nb05", 5): ("evaluate.log_px", "evaluate.iw_bound", "evaluate.vae_log_weights"),
    ("nb06", 1): ("models.CVAE.one_hot",),
    ("nb06", 2): ("models.CVAE",),
    ("nb06", 3): (),  # style transfer: a few lines of the notebook
    ("nb07", 1): ("evaluate.log_px", "evaluate.iw_bound"),
    ("nb07", 2): ("evaluate.fit_posterior",),
    ("nb08", 1): ("reduction.fit_pca",),
    ("nb08", 2): ("corruption.psnr",),
    ("nb08", 3): (),  # inpainting from the prior: the notebook's own function, not in the package
    ("nb09", 1): ("perceptual.sharpness",),
    ("nb09", 2): ("perceptual.feature_distance",),
    ("nb09", 3): ("perceptual.feature_consistent_loss",),
    ("nb09", 4): ("models.ConvDecoder", "models.conv_vae"),
    ("nb10", 1): (),  # the conditional importance-sampled estimate: the notebook's own function
    ("nb10", 2): (),  # the entropy of q(y|x): one line of the notebook, not a package function
    ("nb10", 3): (),  # M2's unlabelled loss: the notebook's own function (the package holds no M2)
}
