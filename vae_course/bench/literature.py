"""Part 3 under the literature's protocol: ``python -m vae_course.bench.literature`` (``make bench-full``).

Burda, Grosse and Salakhutdinov (*Importance Weighted Autoencoders*, ICLR 2016, section 5; their
code, github.com/yburda/iwae) report -log p(x) of MNIST models as follows, and so does this module:

- the training images binarized afresh for every batch; the **last 400 training images held out**
  (their code's ``n_validation=400``), so every model here trains on the first 59,600 and every
  setting this module chooses is chosen on those 400, never on test images;
- **-log p(x) as -L_5000**: K = 5,000 importance samples per image, on **all 10,000 test images**
  (:func:`log_px`, the estimator of ``evaluate.log_px`` computed from the decoder's logits);
- their one-stochastic-layer network, 784-200-200-50 with **tanh** (:class:`TanhVAE`), beside the
  course's 784-512-512-50 with ReLU;
- the active units: a unit counts when the variance over images of its posterior mean exceeds 0.01
  (``evaluate.active_units``; they measured it on 500 training images, here on the test images).

Where this differs from the paper: five minutes of training (part 3's one-cycle recipe, as many
epochs as fit) instead of their 3,280 passes of batch 20 under a stepwise decayed Adam; the test set
binarized once with seed 0 instead of a fresh draw at evaluation. Every model is trained with several
seeds, and the table gives the spread across seeds apart from the standard error across images.

Resumable: every result is written into the record (``docs/benchmark.json``, block ``literature`` of
``docs/benchmark.md``) the moment it is measured, and a rerun measures only what the record lacks
(``--fresh`` starts over; a rerun with nothing to measure renders the page again). On 2 cores one
-L_5000 takes about twenty minutes for the course's network and twelve for Burda's.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from .. import evaluate
from ..data import binarize_dynamic, binarize_fixed, load_dataset, validation_split
from ..evaluate import Estimate, active_units, negative_elbo
from ..losses import importance_weighted_bound
from ..models import VAE, flatten_images
from ..speed import vae_loss_logits
from ..train import fit
from . import page
from .best import epochs_that_fit
from .quality import recipe_on_validation

VALIDATION = 400
"""Training images held out at the end of the training set, as in Burda et al.'s code."""

BURDA_2016 = {"vae": 86.76, "iwae": 85.54}
"""-L_5000 on MNIST's test set, one stochastic layer, k = 1 (VAE) and IWAE with k = 5: Burda et al.
(2016), Table 1 (active units: 19 and 22)."""

class TanhVAE(VAE):
    """The course's VAE with tanh between its layers instead of ReLU: Burda et al.'s networks."""

    def __init__(self, latent_dim: int = 50, hidden: tuple[int, ...] = (200, 200)):
        super().__init__(latent_dim, hidden)
        for mlp in (self.encoder, self.decoder):
            for i, layer in enumerate(mlp):
                if isinstance(layer, nn.ReLU):
                    mlp[i] = nn.Tanh()


ARCHITECTURES = {
    "course": (VAE, {"latent_dim": 50, "hidden": (512, 512)}),
    "burda": (TanhVAE, {"latent_dim": 50, "hidden": (200, 200)}),
}
"""name -> (class, constructor arguments): 784-512-512-50 ReLU (part 3's) and 784-200-200-50 tanh."""

CONFIGS = [{"batch_size": 128, "lr": 2e-3}, {"batch_size": 256, "lr": 3e-3},
           {"batch_size": 512, "lr": 5e-3}]
"""Part 3's candidate recipes (batch size, one-cycle peak learning rate), chosen among on validation."""


def architecture(name: str) -> str:
    cls, kwargs = ARCHITECTURES[name]
    act = "tanh" if cls is TanhVAE else "ReLU"
    return "-".join(map(str, [784, *kwargs["hidden"], kwargs["latent_dim"]])) + f" {act}"


def iwae_loss(model, x: torch.Tensor, y=None, k: int = 5) -> torch.Tensor:
    """The importance-weighted objective (Burda et al., 2016) from ``k`` samples per image: the
    batch mean of ``-log (1/k) sum_k p(x, z_k) / q(z_k | x)``, nats per image. ``k = 1`` is the VAE's
    loss with the KL estimated from the sample instead of in closed form."""
    return -importance_weighted_bound(logits_log_weights(model, x)(k)).mean()


def logits_log_weights(model, x: torch.Tensor, posterior=None):
    """``evaluate.vae_log_weights`` computed from the decoder's logits: ``k -> (k, B)`` log-weights
    ``log p(x|z) + log p(z) - log q(z|x)``, ``z ~ q(z|x)``, for images ``x`` ``(B, 1, 28, 28)``, the
    Bernoulli term one fused ``binary_cross_entropy_with_logits`` (``posterior`` is not supported)."""
    if posterior is not None:
        raise ValueError("logits_log_weights draws from the encoder's q only.")
    x = flatten_images(x)                                            # (B, 784)
    mu, logvar = model.encode(x)                                     # (B, D) each

    def draw(k: int) -> torch.Tensor:
        z = mu + (0.5 * logvar).exp() * torch.randn(k, *mu.shape, device=mu.device)   # (k, B, D)
        logits = model.decoder(z)                                    # (k, B, 784)
        log_px_z = -F.binary_cross_entropy_with_logits(logits, x.expand(k, -1, -1),
                                                       reduction="none").sum(-1)     # (k, B)
        log_pz = evaluate.standard_normal_log_density(z)              # (k, B)
        return log_px_z + log_pz - evaluate.gaussian_log_density(z, mu, logvar)

    return draw


def log_px(model, x: torch.Tensor, K: int = 5000, chunk: int = 500, batch_size: int = 100,
           seed: int = 0) -> Estimate:
    """``evaluate.log_px`` with :func:`logits_log_weights` (1.3 to 2 times as fast on 2 cores; the
    same values to float rounding, a test checks it): the K-sample bound per image, seeded."""
    return evaluate.log_px(model, x, K=K, chunk=chunk, batch_size=batch_size, seed=seed,
                           log_weights=logits_log_weights)


def train(name: str, config: dict, x_train: torch.Tensor, seconds: float, seed: int = 0,
          objective: str = "vae", device="cpu") -> tuple[nn.Module, dict]:
    """Part 3's recipe on architecture ``name``: as many epochs of the one-cycle schedule to
    ``config["lr"]`` as fit in ``seconds`` (calibration counted), objective ``"vae"`` or ``"iwae"``
    (k = 5). Returns the model and ``{"epochs", "train_seconds"}``."""
    cls, kwargs = ARCHITECTURES[name]
    loss = vae_loss_logits if objective == "vae" else iwae_loss
    start = time.perf_counter()
    epochs, _ = epochs_that_fit(seconds, x_train, {**kwargs, **config}, device,
                                model=cls(**kwargs), loss_fn=loss)
    model = cls(**kwargs)
    fit(model, loss, x_train, epochs, batch_size=config["batch_size"], lr=config["lr"],
        schedule="one-cycle", transform=binarize_dynamic, progress=False, device=device, seed=seed)
    return model, {"epochs": epochs, "train_seconds": time.perf_counter() - start}


def measure(model, x_test: torch.Tensor, K: int, quick: tuple[int, int] | None = None) -> dict:
    """-L_K on ``x_test`` (per-image values kept for paired comparisons), the test -ELBO, the
    active units, and with ``quick = (n, K')`` the old quick estimate on the first n test images."""
    start = time.perf_counter()
    nll = log_px(model, x_test, K=K)
    result = {"nll": -nll.mean, "nll_se": nll.se, "n_test": nll.n, "K": K,
              "eval_seconds": time.perf_counter() - start,
              "neg_elbo": negative_elbo(model, x_test).mean,
              "active_units": active_units(model, x_test)[0]}
    if quick is not None:
        n, k = quick
        first = log_px(model, x_test[:n], K=k)  # the old protocol, kept only to show the difference
        result.update(quick_nll=-first.mean, quick_se=first.se, quick_n=n, quick_K=k)
    return result


# --------------------------------------------------------------------- choosing on validation


def choose_config(x_train: torch.Tensor, x_val: torch.Tensor, seconds: float, K: int = 1000,
                  device="cpu", configs=CONFIGS) -> tuple[dict, list[dict], dict[int, nn.Module]]:
    """Train the course's network with each of ``configs`` for ``seconds`` and score each by -L_K
    on the validation images; returns the best config, one row per config (with its difference
    from the best, paired over the same images, and that difference's SE), and the models."""
    rows, values, models = [], [], {}
    for i, config in enumerate(configs):
        model, info = train("course", config, x_train, seconds, seed=0, device=device)
        est = log_px(model, x_val, K=K)
        values.append(-est.per_image)
        models[i] = model
        rows.append({**config, **info, "val_nll": -est.mean, "val_se": est.se})
    best = min(range(len(rows)), key=lambda i: rows[i]["val_nll"])
    for row, v in zip(rows, values):
        diff = v - values[best]
        row["minus_best"] = diff.mean().item()
        row["minus_best_se"] = (diff.std() / math.sqrt(len(diff))).item() if len(diff) > 1 else 0.0
    return configs[best], rows, models


# --------------------------------------------------------------------------- the record


def model_rows(models: dict) -> list[tuple[tuple[str, str], list[dict]]]:
    """``[((architecture, objective), [result per seed])]``: the VAE rows first, the course's
    network first, seeds in order."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for _, m in sorted(models.items()):
        groups.setdefault((m["architecture"], m["objective"]), []).append(m)
    return sorted(groups.items(), key=lambda item: (item[0][1] != "vae", "tanh" in item[0][0]))


def spread(values: list[float]) -> str:
    """``mean ± sd (n seeds)`` or the single value."""
    if len(values) == 1:
        return f"{values[0]:.2f} (1 seed)"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f} sd ({len(values)} seeds)"


def render(run: dict) -> str:
    """The literature block: the chosen config, one row per (architecture, objective), the seeds."""
    models = run.get("models", {})
    lines = [f"The last run of `make bench-full`, on {run['machine']}, {run['date']} "
             f"(training on the first {run['n_train']:,} training images, the last {VALIDATION} "
             "held out; every model trained for five minutes):", ""]
    if "recipe" in run:
        rec = run["recipe"]
        lines += [f"Part 2's recipe (784-400-20 VAE, grey-level BCE + KL) chosen on the last "
                  f"{rec['n_validation']:,} training images, trained on the others:", "",
                  "| batch | peak lr | schedule | epochs | validation loss, nats |", "|---|---|---|---|---|"]
        for r in rec["rows"]:
            bold = "**" if r == rec["chosen"] else ""
            lines.append(f"| {r['batch_size']} | {r['lr']:g} | {r['schedule']} | {r['epochs']} | "
                         f"{bold}{r['val_loss']:.2f}{bold} |")
        c = rec["chosen"]
        lines += ["", f"Chosen (the fewest one-cycle epochs whose loss is at most pytorch/examples' "
                  f"recipe's, the first row, on the same images; then the lowest loss): batch "
                  f"{c['batch_size']}, peak {c['lr']:g}, {c['epochs']} epochs." + (
                      f" {rec['note']}" if rec.get("note") else ""), ""]
    if "selection" in run:
        sel = run["selection"]
        lines += [f"Part 3's recipe chosen on the {VALIDATION} validation images (−L_{sel['K']:,}, "
                  "course network, seed 0; the difference from the best is paired over the same "
                  "images):", "", "| batch | peak lr | epochs | validation −log p, nats | − best |",
                  "|---|---|---|---|---|"]
        for r in sel["rows"]:
            lines.append(f"| {r['batch_size']} | {r['lr']:g} | {r['epochs']} | "
                         f"{r['val_nll']:.2f} ± {r['val_se']:.2f} | "
                         f"{r['minus_best']:+.2f} ± {r['minus_best_se']:.2f} |")
        lines += ["", f"Chosen: batch {sel['chosen']['batch_size']}, peak lr "
                  f"{sel['chosen']['lr']:g}." + (f" {sel['note']}" if sel.get("note") else ""), ""]
    any_model = next(iter(models.values()), {"K": 5000, "n_test": 10_000})
    lines += [f"| model, objective | published (Burda et al. 2016, Table 1) | −L_{any_model['K']:,} on "
              f"{any_model['n_test']:,} test images: each seed ± SE over images | across seeds | "
              "epochs (training seconds) | active units | test −ELBO |", "|---|---|---|---|---|---|---|"]
    for (arch, objective), ms in model_rows(models):
        published = BURDA_2016["iwae" if objective == "iwae" else "vae"]
        label = "VAE" if objective == "vae" else "IWAE, k = 5"
        what = "784-200-200-50 tanh" if objective == "iwae" else "784-200-200-50 tanh, VAE"
        lines.append(
            f"| {arch}, {label} | {published:.2f} ({what}, 3,280 passes) | "
            + ", ".join(f"{m['nll']:.2f} ± {m['nll_se']:.2f}" for m in ms) + " | "
            + spread([m["nll"] for m in ms]) + " | "
            + ", ".join(f"{m['epochs']} ({m['train_seconds']:.0f} s)" for m in ms)
            + " | " + ", ".join(str(m["active_units"]) for m in ms) + " | "
            + ", ".join(f"{m['neg_elbo']:.2f}" for m in ms) + " |")
    quick = [m for m in models.values() if "quick_nll" in m]
    if quick:
        m = quick[0]
        lines += ["", f"The old quick estimate on the same model ({m['architecture']}, seed "
                  f"{m['seed']}): −L_{m['quick_K']:,} on the first {m['quick_n']:,} test images "
                  f"{m['quick_nll']:.2f} ± {m['quick_se']:.2f}, against {m['nll']:.2f} ± "
                  f"{m['nll_se']:.2f} by the protocol above."]
    timing = ", ".join(f"{k} {m['eval_seconds']:.0f} s" for k, m in sorted(models.items()))
    lines += ["", f"Seconds per −L_K evaluation: {timing}."]
    return "\n".join(lines)


def render_short(run: dict) -> str:
    """The README's version: one row per model, seeds summarised, the protocol in the header."""
    lines = ["| five CPU minutes of training (recipe chosen on 400 held-out images) | −log p(x): −L₅₀₀₀ "
             "on all 10,000 test images, nats (mean ± sd over seeds; SE over images) | "
             "Burda et al. 2016, 3,280 passes |", "|---|---|---|"]
    for (arch, objective), ms in model_rows(run.get("models", {})):
        published = BURDA_2016["iwae" if objective == "iwae" else "vae"]
        ses = "/".join(f"{m['nll_se']:.2f}" for m in ms)
        lines.append(f"| {arch}, {'VAE' if objective == 'vae' else 'IWAE (k = 5)'} | "
                     f"{spread([m['nll'] for m in ms])}; SE {ses} | {published:.2f} |")
    return "\n".join(lines + ["", f"The run of {run['date']}, on {run['machine']}."])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2", help="training seeds (default 0,1,2)")
    parser.add_argument("--archs", default="course,burda", help="architectures (course, burda)")
    parser.add_argument("--no-iwae", action="store_true", help="skip the IWAE row")
    parser.add_argument("--no-select", action="store_true",
                        help="skip choosing the recipe on validation (use the record's choice)")
    parser.add_argument("--fresh", action="store_true", help="ignore the record's results")
    parser.add_argument("--recipe-only", action="store_true",
                        help="only choose part 2's recipe on validation (minutes; not timed)")
    parser.add_argument("--seconds", type=float, default=300.0, help="training budget per model")
    parser.add_argument("--tiny", action="store_true",
                        help="seconds-long run on a few images (checks the script, measures nothing)")
    parser.add_argument("--page", type=Path, default=None, help="the page to write (docs/benchmark.md)")
    args = parser.parse_args(argv)

    from . import machine  # the package's __init__, imported late: it imports this module's page

    x, _ = load_dataset("mnist", "train")
    x_train, x_val = validation_split(x, VALIDATION)
    x_test = binarize_fixed(load_dataset("mnist", "test")[0], seed=0)       # (10000, 1, 28, 28)
    x_val = binarize_fixed(x_val, seed=0)
    K, K_val, seconds, quick = 5000, 1000, args.seconds, (2000, 1000)
    if args.tiny:
        x_train, x_val, x_test = x_train[:512], x_val[:16], x_test[:16]
        K, K_val, seconds, quick = 8, 4, 1.0, (8, 4)
    record = {}
    if args.page is not None and page.record_path(args.page).exists() and not args.fresh:
        record = page.load(args.page).get("literature", {})
    run = {"machine": machine(), "date": page.today(), "n_train": len(x_train),
           "models": dict(record.get("models", {}))}
    for step in ("selection", "recipe"):
        if step in record:
            run[step] = record[step]

    def save():
        if args.page is not None:  # a tiny run too: the tests give it a page of their own
            page.save(args.page, {"literature": run})

    if "recipe" not in run or args.recipe_only:
        chosen, rows = recipe_on_validation(n_train=256 if args.tiny else None,
                                            n_validation=16 if args.tiny else 10_000)
        run["recipe"] = {"rows": rows, "chosen": chosen, "n_validation": 16 if args.tiny else 10_000}
        print(render(run), flush=True)
        save()
    if args.recipe_only:
        return run
    winner = None  # the selection's best model, and its row: it is seed 0 of the course's network
    if not args.no_select and "selection" not in run:
        chosen, rows, models = choose_config(x_train, x_val, seconds, K=K_val, configs=CONFIGS)
        run["selection"] = {"K": K_val, "rows": rows, "chosen": chosen}
        winner = models[CONFIGS.index(chosen)], rows[CONFIGS.index(chosen)]
        print(render(run), flush=True)
        save()
    config = run.get("selection", {}).get("chosen", CONFIGS[1])
    jobs = [(arch, "vae", int(s)) for arch in args.archs.split(",") for s in args.seeds.split(",")]
    if not args.no_iwae:
        jobs.append(("burda", "iwae", 0))
    trained = {}  # the trainings first, on a quiet machine (their budgets are wall time), then evaluations
    for arch, objective, seed in jobs:
        key = f"{arch}/{objective}/{seed}"
        if key in run["models"]:
            continue
        if key == "course/vae/0" and winner is not None:
            model, row = winner
            trained[key] = model, {"epochs": row["epochs"], "train_seconds": row["train_seconds"]}
        else:
            trained[key] = train(arch, config, x_train, seconds, seed=seed, objective=objective)
        print(f"{key}: trained, {trained[key][1]['epochs']} epochs", flush=True)
    for key, (model, info) in trained.items():
        arch, objective, seed = key.split("/")
        result = measure(model, x_test, K, quick=quick if key == "course/vae/0" else None)
        run["models"][key] = {"architecture": architecture(arch), "objective": objective,
                              "seed": int(seed), **config, **info, **result}
        print(f"{key}: -L_{K} {result['nll']:.2f} ± {result['nll_se']:.2f}, "
              f"{result['active_units']} active units, evaluation {result['eval_seconds']:.0f} s",
              flush=True)
        save()
    save()  # a rerun with nothing left to measure still renders the page from the record
    print(render(run))
    return run


if __name__ == "__main__":
    # `python -m` runs this file as __main__; page.py renders with the package's copy of it, so main
    # runs from that copy too (two copies of one module led a run to save with mismatched code).
    from vae_course.bench.literature import main as package_main

    package_main()
