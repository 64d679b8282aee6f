"""Checking what a learner's model or training loop *does*, not only the values it returns.

From notebook 04 on, learners build the models themselves (a ``class ...(nn.Module)``) and write the
training loop once. Such an answer has no single right output to compare with: two correct
autoencoders start from different random weights. So the checks run it and watch its behaviour:

- shapes for a batch of real images, decoded pixels in [0, 1];
- a gradient reaching every parameter (a parameter that gets none is named);
- a short training run on a fixed slice of MNIST (:func:`mnist_slice`), from the same seed as the
  reference, that must land in the loss band the reference reaches (bands measured, not guessed:
  each checker states what was measured next to its band);
- for named mistakes, a targeted experiment each (is the sample's spread exp(logvar / 2)? does the
  decoder's output change with the label?).

An exercise subclasses :class:`BehaviourExercise` and writes ``behaviour(answer) -> str``: it calls
the learner's code through :func:`call`, raises :class:`Problem` for the first thing that is wrong
(with the mistakes it recognises), and returns the sentence shown after "correct.". An untouched
placeholder (``raise NotImplementedError()`` in any method) is "not attempted", naming the method.
The notebook's random state is left as it was.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import torch
from torch import nn
from torch.distributions import Normal, kl_divergence
from torch.nn import functional as F

from vae_course.checks.core import Case, Exercise, FunctionExercise, Result, describe
from vae_course.data import batches, binarize_fixed, load_dataset

N_IMAGES = 1024   # the checks' slice of MNIST: the first 1024 training images
STEPS = 300       # the training run: 300 Adam steps (lr 1e-3) in shuffled batches of 64
BATCH_SIZE = 64
LR = 1e-3
SEED = 0          # the seed every model is built and trained from (the reference's too)


class Problem(Exception):
    """What a behaviour step found wrong: ``problem`` (a phrase), the mistakes recognised
    (``diagnosis``, full sentences) and the input it was found with (``tried``)."""

    def __init__(self, problem: str, diagnosis: Sequence[str] = (), tried: str = ""):
        super().__init__(problem)
        self.problem, self.diagnosis, self.tried = problem, list(diagnosis), tried


class Unwritten(Exception):
    """The learner's code reached a ``raise NotImplementedError()`` placeholder."""

    def __init__(self, reason: str = ""):
        super().__init__(reason)
        self.reason = reason


# ------------------------------------------------------------------------------------ data


@lru_cache(maxsize=1)
def _slice(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = load_dataset("mnist", "train")
    return binarize_fixed(x[:n], seed=seed), y[:n].clone()


def mnist_slice(n: int = N_IMAGES, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` MNIST training images, binarized once with ``seed``, and their labels.

    Returns fresh copies ``x`` ``(n, 1, 28, 28)`` in {0, 1} and ``y`` ``(n,)`` int64, so that code
    under test that edits its input in place harms no other check.
    """
    x, y = _slice(n, seed)
    return x.clone(), y.clone()


# ------------------------------------------------------------------------ calling learner code


def _placeholder_method(error: BaseException) -> str:
    """The name of the function whose body raised ``error`` (the innermost frame)."""
    tb = error.__traceback__
    name = ""
    while tb is not None:
        name = tb.tb_frame.f_code.co_name
        tb = tb.tb_next
    return name


def call(what: str, fn: Callable, *args: Any, hints: Callable[[Exception], list[str]] | None = None,
         **kwargs: Any) -> Any:
    """Run learner code ``fn(*args, **kwargs)``; ``what`` names the call in feedback
    ("`model.encode(x)`").

    A ``NotImplementedError`` (the untouched placeholder) becomes :class:`Unwritten` naming the
    method that raised it; any other exception becomes a :class:`Problem` quoting it, with the
    sentences ``hints(error)`` returns as diagnosis.
    """
    try:
        return fn(*args, **kwargs)
    except (Problem, Unwritten):
        raise
    except NotImplementedError as e:
        method = _placeholder_method(e)
        if str(e) == "" or str(e).startswith("Exercise "):
            raise Unwritten(f"`{method}` still raises NotImplementedError: write its body"
                            if method and method != "<module>" else "") from None
        raise Unwritten(f"it stopped at NotImplementedError: {e}") from None
    except Exception as e:  # the learner's code failed: say where, and what it said
        raise Problem(f"{what} raised {type(e).__name__}: {e}",
                      (hints(e) if hints else []) + _error_hints(e)) from None


def _error_hints(e: Exception) -> list[str]:
    """Sentences for errors a learner building an MLP on MNIST commonly hits."""
    text = str(e)
    if "mat1 and mat2 shapes cannot be multiplied" in text and "x28 and" in text:
        return ["The images reached a Linear layer as (B, 1, 28, 28): flatten them first, "
                "x.reshape(len(x), 784) -> (B, 784)."]
    return []


def build(cls: type, what: str, seed: int = SEED, **kwargs: Any) -> nn.Module:
    """``cls(**kwargs)`` built right after ``torch.manual_seed(seed)``: the same initial random
    state the reference was built from."""
    torch.manual_seed(seed)
    model = call(what, cls, **kwargs)
    if not isinstance(model, nn.Module):
        raise Problem(f"{what} gave {describe(model)}, not an nn.Module")
    return model


# ------------------------------------------------------------------------------ expectations


def expect_tensor(got: Any, shape: tuple, what: str, hint: str = "") -> torch.Tensor:
    """Raise a Problem unless ``got`` is a floating tensor of ``shape``."""
    if not isinstance(got, torch.Tensor):
        raise Problem(f"{what} is {describe(got)}, expected a tensor of shape {shape}")
    if tuple(got.shape) != tuple(shape):
        raise Problem(f"{what} has shape {tuple(got.shape)}, expected {tuple(shape)}",
                      [hint] if hint else [])
    if not got.is_floating_point():
        raise Problem(f"{what} has dtype {got.dtype}, expected floats")
    return got


def expect_tuple(got: Any, n: int, what: str, names: str) -> tuple:
    """Raise a Problem unless ``got`` is a tuple (or list) of ``n`` values."""
    if not isinstance(got, (tuple, list)) or len(got) != n:
        raise Problem(f"{what} returned {describe(got)}, expected {n} values: {names}")
    return tuple(got)


def expect_probabilities(x_hat: torch.Tensor, what: str) -> None:
    """Raise a Problem unless every decoded pixel is a probability; name the usual causes."""
    low, high = x_hat.min().item(), x_hat.max().item()
    if not math.isfinite(low) or not math.isfinite(high):
        raise Problem(f"{what} contains NaN or infinite values")
    if low < 0 or high > 1:
        raise Problem(f"{what} has values from {low:.3g} to {high:.3g}, but a decoded pixel is the "
                      "probability of ink, in [0, 1]",
                      ["It looks like the sigmoid at the end of the decoder is missing: "
                       "x_hat = torch.sigmoid(logits)."])
    if low >= 0.5:
        raise Problem(f"every value of {what} is at least 0.5 (from {low:.3g} to {high:.3g}): the "
                      "decoder can never say 'no ink here'",
                      ["It looks like a ReLU sits right before the sigmoid: sigmoid(ReLU(a)) >= 0.5. "
                       "The decoder's last Linear layer feeds the sigmoid directly."])


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def spaced(n: int) -> str:
    """``630386`` -> ``"630 386"``: thousands separated by spaces, as the course writes them."""
    return f"{n:,}".replace(",", " ")


def expect_parameter_count(model: nn.Module, reference: nn.Module | int, name: str, layout: str) -> None:
    """Raise a Problem unless ``model`` has as many parameters as the ``reference`` layout (a model
    of it, or its number of parameters)."""
    got = count_parameters(model)
    want = reference if isinstance(reference, int) else count_parameters(reference)
    if got != want:
        raise Problem(f"your {name} has {spaced(got)} parameters; the layout {layout} (weights "
                      f"and biases of its Linear layers) has {spaced(want)}",
                      ["Check the sizes of each Linear layer against the shapes in the docstring, "
                       "and that every layer is created once, in __init__."])


def parameters_without_gradient(model: nn.Module, loss: torch.Tensor) -> list[str]:
    """Backpropagate ``loss`` and name the parameters whose gradient is None or all zero."""
    model.zero_grad(set_to_none=True)
    loss.backward()
    missing = [name for name, p in model.named_parameters()
               if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    model.zero_grad(set_to_none=True)
    return missing


def expect_gradient_everywhere(model: nn.Module, loss: torch.Tensor, loss_name: str) -> None:
    """Raise a Problem naming every parameter that ``loss`` sends no gradient to."""
    if not isinstance(loss, torch.Tensor) or loss.grad_fn is None:
        raise Problem(f"the {loss_name} of your model's output does not depend on any parameter",
                      ["Does forward run under torch.no_grad(), or .detach() its output?"])
    missing = parameters_without_gradient(model, loss)
    if missing:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        raise Problem(f"after backward() of the {loss_name}, no gradient reaches {shown}",
                      ["A parameter without a gradient never trains: is that layer created in "
                       "__init__ but not used in forward (or used only after a .detach())?"])


def is_affine(fn: Callable[[torch.Tensor], torch.Tensor], v: torch.Tensor) -> bool:
    """Whether ``fn`` behaves like an affine map at ``v``: fn(2v) - fn(0) == 2 (fn(v) - fn(0))."""
    with torch.no_grad():
        zero = fn(torch.zeros_like(v))
        one, two = fn(v) - zero, fn(2 * v) - zero
    return bool(torch.allclose(two, 2 * one, rtol=1e-3, atol=1e-4 * float(one.abs().max()) + 1e-6))


def flat_parameters(model: nn.Module) -> torch.Tensor:
    """Every parameter of ``model`` in one detached vector (a snapshot)."""
    return torch.cat([p.detach().reshape(-1).clone() for p in model.parameters()])


# ------------------------------------------------------------------------------ training run


def train_briefly(model: nn.Module, loss_fn: Callable, labelled: bool = False, steps: int = STEPS,
                  batch_size: int = BATCH_SIZE, lr: float = LR, seed: int = SEED) -> float:
    """Train ``model`` with Adam on :func:`mnist_slice`, then return its loss on the whole slice.

    ``loss_fn(model, x, y)`` is one of ``vae_course.losses``' objectives (nats per image).
    Batches are shuffled with a generator seeded with ``seed``; the final loss is computed in
    eval mode without gradients, any sampling seeded with ``seed`` too.
    """
    x, y = mnist_slice()
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    torch.manual_seed(seed)
    model.train()
    done = 0
    while done < steps:
        for xb, yb in batches(x, y, batch_size, shuffle=True, generator=generator):
            loss = call("training your model (its loss)", loss_fn, model, xb,
                        yb if labelled else None)
            if not torch.isfinite(loss):
                raise Problem(f"the loss became {loss.item()} after {done} training steps")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            done += 1
            if done == steps:
                break
    return slice_loss(model, loss_fn, labelled, seed)


def slice_loss(model: nn.Module, loss_fn: Callable, labelled: bool = False, seed: int = SEED) -> float:
    """``model``'s loss on the whole of :func:`mnist_slice` (nats per image), in eval mode, without
    gradients, any sampling seeded with ``seed``: what :func:`train_briefly` reports, and what the
    grader computes on a model it rebuilt from the learner's trained weights."""
    x, y = mnist_slice()
    model.eval()
    torch.manual_seed(seed)
    with torch.no_grad():
        return float(call("your trained model (its loss)", loss_fn, model, x, y if labelled else None))


# ------------------------------------------------------------- the checks' own objectives and VAE
#   The checks train learners' models with these, never with vae_course.losses or vae_course.models:
#   in the graded copy of notebooks 04 and 05 those modules' losses and models are the answers, and
#   are left out. Each objective takes a *model*, so none of them is an answer to an exercise (which
#   maps tensors to a loss); the likelihood is torch's binary cross-entropy, the KL torch.distributions'.


def ae_objective(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """An autoencoder's ``-log p(x | x_hat)`` (Bernoulli pixels, summed over the 784), mean over the
    batch: nats per image, for ``(x_hat, z) = model(x)``."""
    x_hat = model(x)[0]
    return F.binary_cross_entropy(x_hat, x, reduction="sum") / len(x)


def vae_objective(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """A VAE's negative ELBO, ``-log p(x | z) + KL(q(z | x) || N(0, I))`` per image with one
    sampled ``z``, mean over the batch: nats per image, for ``(x_hat, mu, logvar) = model(x)`` (a
    learner's VAE or a :class:`ProbeVAE`)."""
    x_hat, mu, logvar = model(x)
    kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0))  # (B, D)
    return (F.binary_cross_entropy(x_hat, x, reduction="sum") + kl.sum()) / len(x)


class ProbeVAE(nn.Module):
    """The checks' own VAE, on which learners' functions of a VAE are run (notebooks 05 and 07):
    784 -> 600 -> ReLU -> mu and logvar (latent_dim each), latent_dim -> 600 -> ReLU -> 784 -> sigmoid.
    Its width (600, not the 400 of notebook 05's exercise 2) makes it no answer to that exercise."""

    def __init__(self, latent_dim: int = 2):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(nn.Linear(784, 600), nn.ReLU(), nn.Linear(600, 2 * latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, 600), nn.ReLU(), nn.Linear(600, 784))

    def encode(self, x):                      # (B, 1, 28, 28) -> mu, logvar (B, latent_dim) each
        h = self.encoder(x.flatten(1))        # (B, 2 * latent_dim)
        return h[:, :self.latent_dim], h[:, self.latent_dim:]

    def decode(self, z):                      # (B, latent_dim) -> (B, 1, 28, 28) in [0, 1]
        return self.decoder(z).sigmoid().view(-1, 1, 28, 28)

    def forward(self, x):                     # -> x_hat of one sampled z, mu, logvar
        mu, logvar = self.encode(x)
        return self.decode(Normal(mu, torch.exp(0.5 * logvar)).rsample()), mu, logvar


@lru_cache(maxsize=2)
def trained_vae(latent_dim: int = 2) -> nn.Module:
    """A :class:`ProbeVAE` trained by :func:`train_briefly` (300 steps on the 1024 images), in eval
    mode; built once per process and shared by the checks that need a trained model."""
    torch.manual_seed(SEED)
    model = ProbeVAE(latent_dim=latent_dim)
    train_briefly(model, vae_objective)
    return model.eval()


def band_sentence(loss: float, reference: float, observed: tuple[float, float], limit: float,
                  same_seed: bool = True) -> str:
    """How a training run's loss compares with what the reference and other correct models reach.
    ``same_seed``: the learner's model was built from the reference's seed (the notebook's check);
    else from another one (the grader's hidden case)."""
    seed = ("from the same seed" if same_seed else
            f"from seed {SEED} (yours was built from a seed the grader drew)")
    return (f"after {STEPS} Adam steps on {N_IMAGES} MNIST images your model reaches {loss:.1f} nats "
            f"per image; the reference reaches {reference:.1f} {seed}, and the correct "
            f"models measured from other seeds land between {observed[0]:.0f} and "
            f"{observed[1]:.0f} (the check asks for less than {limit:.0f})")


# ------------------------------------------------------------------------ Gaussian encoders


def _split_hint(t, batch):
    if isinstance(t, torch.Tensor) and t.dim() == 2 and t.shape[0] == batch // 2:
        return "It looks like the split is along the batch: h.chunk(2, dim=1) splits the features."
    return "encode returns (mu, logvar), each of shape (B, latent_dim)."


def check_gaussian_encoder(model, x, latent, call_text, *extra):
    """The checks a VAE's and a CVAE's ``encode`` share: shapes, two different heads, no ReLU on
    logvar. ``extra``: more arguments of encode (the labels, for a CVAE). Returns (mu, logvar)."""
    tried = (f"{len(x)} MNIST images x of shape ({len(x)}, 1, 28, 28), a model built with "
             f"latent_dim={latent}")
    out = call(f"`{call_text}`", model.encode, x, *extra)
    mu, logvar = expect_tuple(out, 2, f"`{call_text}`", "(mu, logvar)")
    try:
        for t, name in ((mu, "mu"), (logvar, "logvar")):
            expect_tensor(t, (len(x), latent), f"{name}, from {call_text}", _split_hint(t, len(x)))
    except Problem as p:
        p.tried = tried
        raise
    if torch.equal(mu, logvar):
        raise Problem("encode returns the same values for mu and logvar",
                      ["It looks like mu is used for both heads: the encoder needs two different "
                       "outputs, 2 * latent_dim numbers per image (one Linear layer split in two "
                       "halves, or two Linear heads)."], tried=tried)
    if bool((logvar >= 0).all()) and bool((logvar == 0).any()):
        share = float((logvar == 0).float().mean())
        raise Problem(f"logvar is never negative and exactly 0 for {share:.0%} of its values",
                      ["It looks like a ReLU is applied to logvar: it forces σ² = exp(logvar) ≥ 1, "
                       "wider than the prior, so every code is mostly noise. logvar is any real "
                       "number: no activation on that head."], tried=tried)
    return mu, logvar


def expect_logvar_free(model, x, *extra):
    """After training: raise a Problem if logvar is still never negative (an activation on it)."""
    with torch.no_grad():
        _, logvar = call("`model.encode(x)` after training", model.encode, x, *extra)
    if bool((logvar >= 0).all()):
        raise Problem(f"after {STEPS} training steps logvar is still never negative on "
                      f"{len(x)} images: every posterior is at least as wide as the prior",
                      ["Is an activation (ReLU, softplus, exp) applied to the logvar head? "
                       "logvar = log σ² must be free to go below 0."])


# ---------------------------------------------------------------------- sampling inside forward


def _injected(n: int, latent: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The known ``mu`` ``(n, latent)``, ``logvar`` and σ (2 in the first latent dimension, 0.5
    in the others) that :func:`sampled` hands to forward in place of the encoder's."""
    g = torch.Generator().manual_seed(1)
    sigma = torch.full((latent,), 0.5)
    sigma[0] = 2.0
    mu = torch.randn(n, latent, generator=g)
    logvar = (2 * sigma.log()).expand(n, latent).clone()
    return mu, logvar, sigma


def sampled(model: nn.Module, latent: int, x: torch.Tensor, y: torch.Tensor | None = None,
            n: int = 4000) -> tuple:
    """What ``model.forward`` does between encode and decode, as plain data (see :func:`judge_sampling`).

    ``model.encode`` is replaced, for this one call, by a function returning the known ``mu`` and
    ``logvar`` of :func:`_injected`, both leaves requiring gradients; ``model.decode`` is wrapped to
    capture the ``z`` it receives. Returns ``(encode called, decode called, z, forward returned
    encode's mu and logvar, d sum(z) / d mu, d sum(z) / d logvar, decode got forward's labels)``,
    ``None`` for what could not be seen.
    """
    mu, logvar, _ = _injected(n, latent)
    mu, logvar = mu.requires_grad_(True), logvar.requires_grad_(True)
    x_big = x[torch.arange(n) % len(x)]
    args = (x_big,) if y is None else (x_big, y[torch.arange(n) % len(y)])
    seen: dict[str, Any] = {}
    original_decode = model.decode

    def encode(*_):
        seen["encode"] = True
        return mu, logvar

    def decode(z, *rest):
        seen["z"], seen["rest"] = z, rest
        return original_decode(z, *rest)

    model.encode, model.decode = encode, decode
    try:
        torch.manual_seed(SEED)
        out = call("model(x)" if y is None else "model(x, y)", model, *args)
    finally:
        del model.encode, model.decode  # back to the class's methods
    z = seen.get("z")
    same = isinstance(out, (tuple, list)) and len(out) == 3 and out[1] is mu and out[2] is logvar
    grads: tuple = (None, None)
    if isinstance(z, torch.Tensor) and z.grad_fn is not None:
        grads = torch.autograd.grad(z.sum(), [mu, logvar], allow_unused=True)
    labels = None
    if y is not None and "rest" in seen:
        rest = seen["rest"]
        labels = bool(rest and isinstance(rest[0], torch.Tensor) and torch.equal(rest[0], args[1]))
    return ("encode" in seen, "z" in seen, z.detach() if isinstance(z, torch.Tensor) else None,
            same, *(None if g is None else g.detach() for g in grads), labels)


def judge_sampling(seen: Any, latent: int, n: int = 4000) -> None:
    """Raise a Problem for the first thing wrong in what :func:`sampled` saw: z has shape
    (n, latent); z - mu has mean 0 and standard deviation σ in each dimension (the usual wrong
    spreads are named); gradients reach mu and logvar through z; forward returns the same mu and
    logvar, and (for a CVAE) decodes with its labels. Plain data in, so it runs in the grader too."""
    if not (isinstance(seen, tuple) and len(seen) == 7):
        raise Problem("the check could not read the sample your forward draws")
    encoded, decoded, z, same, grad_mu, grad_logvar, labels = seen
    missing = [name for name, done in (("self.encode", encoded), ("self.decode", decoded)) if not done]
    if missing:
        raise Problem(f"forward does not call {' and '.join(missing)}: the check replaces encode "
                      "by one with a known mu and logvar to test the sample drawn in between",
                      ["Write forward as three steps: mu, logvar = self.encode(...); a "
                       "reparameterized z; return self.decode(z, ...), mu, logvar."])
    mu, logvar, sigma = _injected(n, latent)
    tried = (f"mu ~ N(0, 1) of shape ({n}, {latent}); logvar = log σ² with σ = 2 in dimension 1 "
             f"and σ = 0.5 in the others")
    if not isinstance(z, torch.Tensor) or tuple(z.shape) != (n, latent) or not z.is_floating_point():
        raise Problem(f"the z that forward decodes is {describe(z)}, expected shape ({n}, {latent})",
                      tried=tried)
    if not same:
        raise Problem("forward does not return the mu and logvar that self.encode gave it",
                      ["Return them as they are: return x_hat, mu, logvar."], tried=tried)
    dev = (z.float() - mu)
    spread, centre = dev.std(0), dev.mean(0)
    if bool((spread < 1e-6).all()):
        raise Problem("the z that forward decodes is mu itself: no sample is drawn",
                      ["Decode a sample z = mu + sigma * eps, eps ~ N(0, I) (the reparameterization "
                       "trick): without the noise the reconstruction term never sees the spread "
                       "of q(z|x)."], tried=tried)
    close = lambda a, b: bool(torch.allclose(a, b, rtol=0.1))  # noqa: E731
    shown = "[" + ", ".join(f"{s:.2f}" for s in spread[:3]) + (", ...]" if latent > 3 else "]")
    if not close(spread, sigma):
        diagnosis = []
        if close(spread, logvar[0].abs()):
            diagnosis.append("It looks like you sampled with logvar as the standard deviation "
                             "(z = mu + logvar * eps): logvar is log σ², so σ = exp(0.5 * logvar).")
        elif close(spread, sigma**2):
            diagnosis.append("It looks like you used exp(logvar) = σ², the variance, as the standard "
                             "deviation: σ = exp(0.5 * logvar).")
        elif close(spread, (sigma**2 + mu.var(0)).sqrt()):
            diagnosis.append("Is mu added to the noise term? z = mu + sigma * eps.")
        raise Problem(f"z - mu has standard deviation {shown} across the batch, expected σ = "
                      f"[2, 0.5, ...] = exp(logvar / 2)", diagnosis, tried=tried)
    if bool((centre.abs() > 0.15 * sigma).any()):
        raise Problem("z - mu is not centred on 0: the sample must be centred on mu",
                      ["z = mu + sigma * eps with eps ~ N(0, I) (torch.randn_like(mu))."], tried=tried)
    detached = ["It looks like z is detached from mu (z.detach(), torch.no_grad() or "
                "torch.normal(mu, sigma)): then the reconstruction term sends no gradient to the "
                "encoder's mean head, and only the KL trains it. Compute z = mu + sigma * eps with "
                "differentiable operations."]
    if grad_mu is None and grad_logvar is None:
        raise Problem("no gradient can flow from the decoded z back to mu and logvar", detached,
                      tried=tried)
    if not (isinstance(grad_mu, torch.Tensor) and tuple(grad_mu.shape) == (n, latent)
            and bool(torch.allclose(grad_mu.float(), torch.ones(n, latent)))):
        raise Problem("d z / d mu is not 1: the gradient of the reconstruction term does not reach "
                      "mu as it should", detached, tried=tried)
    if not (isinstance(grad_logvar, torch.Tensor) and bool(grad_logvar.abs().sum() > 0)):
        raise Problem("no gradient reaches logvar through z",
                      ["z must be computed from logvar: sigma = torch.exp(0.5 * logvar)."],
                      tried=tried)
    if labels is False:
        raise Problem("forward does not decode with the labels y it was given",
                      ["return self.decode(z, y), mu, logvar: the decoder needs the label."])


def check_sampling(model: nn.Module, latent: int, x: torch.Tensor, y: torch.Tensor | None = None,
                   n: int = 4000) -> None:
    """Check the reparameterized sample that ``model.forward`` draws between encode and decode:
    :func:`judge_sampling` of :func:`sampled`."""
    judge_sampling(sampled(model, latent, x, y, n), latent, n)


# ------------------------------------------------------------------------------- the exercise


class BehaviourExercise(Exercise):
    """An exercise checked by running the learner's class or function (see the module docstring).

    Subclasses implement :meth:`behaviour`. ``expects``: "class" (an ``nn.Module`` subclass) or
    "function". The result of the latest answer is kept, so that ``check`` followed by
    ``yours_or_reference`` on the same class trains it once.
    """

    expects = "class"

    def __init__(self, number: int, title: str, reference: Any, **options: Any):
        options.setdefault("points", 3)
        super().__init__(number, title, reference, **options)
        self._last: tuple[Any, Result] | None = None

    def behaviour(self, answer: Any) -> str:
        """Run the checks on ``answer``; raise :class:`Problem`; return the pass sentence."""
        raise NotImplementedError

    def evaluate(self, answer: Any) -> Result:
        if answer is Ellipsis:
            return self.not_attempted()
        if self._last is not None and self._last[0] is answer:
            return self._last[1]
        me = f"ex{self.number}.check"
        if self.expects == "class" and not (isinstance(answer, type)
                                            and issubclass(answer, nn.Module)):
            return self.failed(f"{me} expects your class itself, e.g. {me}(MyModel) (not an "
                               f"instance, not a call); what it got: {describe(answer)}")
        if self.expects == "function" and (isinstance(answer, type) or not callable(answer)):
            return self.failed(f"{me} expects your function itself, without calling it; what "
                               f"it got: {describe(answer)}")
        with torch.random.fork_rng(devices=[]):
            try:
                result = self.passed(self.behaviour(answer))
            except Unwritten as u:
                result = self.not_attempted(u.reason)
            except Problem as p:
                result = self.failed(p.problem, p.diagnosis, p.tried)
        self._last = (answer, result)
        return result


# ------------------------------------------- exercises judged from what the function returned


def agrees_on_average(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether per-image estimates ``a`` and ``b`` (independent draws, (B,)) agree on average: their
    mean difference lies within 4 standard errors (plus 0.05 nats)."""
    d = (a - b).double()
    return bool(d.mean().abs() <= 4 * d.std() / math.sqrt(len(d)) + 0.05)


def expect_estimates(got: Any, n: int, what: str, K: int, tried: str, remedy: str) -> torch.Tensor:
    """Raise a Problem unless ``got`` holds ``n`` finite per-image estimates of log p(x) (``what``,
    with ``K`` samples); ``remedy`` says how to stay in logs."""
    try:
        got = expect_tensor(got, (n,), what, "One estimate per image: shape (B,).")
    except Problem as p:
        p.tried = tried
        raise
    if not bool(torch.isfinite(got).all()):
        raise Problem(f"with K = {K} some estimates are {got[~torch.isfinite(got)][0].item()}",
                      ["The weights themselves, exp(log w) with log w around -150 nats, underflow "
                       f"to 0 in float32: stay in logs, {remedy}."], tried=tried)
    return got


class ProbedExercise(FunctionExercise):
    """A function exercise judged from what the learner's function returned on a case, so that the
    verdict can be computed in another process than the learner's (the grader's).

    Subclasses write

    - ``probe(answer, case) -> tuple``: run the learner's function and return plain tensors and
      numbers (in the submission's kernel when graded);
    - ``expect(case) -> dict``: what the reference and the named mistakes (``self.mistakes``'
      ``like``) give on the same case; by default nothing, for a verdict from properties alone
      (a class release records it);
    - ``verdict(case, returned, expected) -> str``: raise :class:`Problem`, or return the sentence
      shown after "correct." (anywhere: the grader's process included).

    Functions of the checks' briefly trained VAE take ``Case(name, indices, ...)``, the images
    ``mnist_slice()[0][indices]``: :func:`trained_vae` is trained from the same seed in every
    process, so the grader's copy is the kernel's, and their comparisons are statistical, with room
    for the last bits of floating point.
    """

    def _call(self, fn: Callable, case: Case) -> Any:
        with torch.random.fork_rng(devices=[]):
            return self.probe(fn, case)

    def probe(self, answer: Callable, case: Case) -> tuple:
        raise NotImplementedError

    def expect(self, case: Case) -> dict:
        return {}

    def verdict(self, case: Case, returned: Any, expected: dict) -> str:
        raise NotImplementedError

    def record(self) -> dict:
        """For a class release: what :meth:`expect` gives on the public cases."""
        return {"cases": [c.name for c in self.cases], "arguments": [],
                "expected": [self.expect(c) for c in self.cases], "mistakes": []}

    def _describe_case(self, case: Case) -> str:
        return case.name

    def judge(self, cases, outcomes):
        if any(o.kind != "returned" for o in outcomes) or len(outcomes) != len(cases):
            return super().judge(cases, outcomes)  # not attempted, raised, not callable, missing
        if self.reference is None:  # a class release: what was recorded on the public cases
            data = self._recorded()
            if [c.name for c in cases] != data["cases"]:
                raise ValueError(f"exercise {self.number}: this copy of the course can only judge "
                                 "the public cases it recorded")
            expecteds = data["expected"]
        else:
            expecteds = [self.expect(case) for case in cases]
        sentences = []
        for case, outcome, expected in zip(cases, outcomes, expecteds):
            try:
                sentences.append(self.verdict(case, outcome.value, expected))
            except Problem as p:
                return self.failed(p.problem, p.diagnosis, p.tried or case.name)
        return self.passed(" ".join(sentences))
