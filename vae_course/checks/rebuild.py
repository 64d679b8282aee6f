"""Judging a learner's model in the grader's process: rebuild it from its weights.

A model class cannot cross from a submission's sandbox to the grader (that would be code), but its
parameters can: they are plain tensors. For an exercise whose layout the notebook fixes (notebook 04's
autoencoder, 05's VAE, 06's CVAE, 09's convolutional decoder), the grader

1. sends hidden inputs (images, codes, labels and a build seed drawn afresh for every run);
2. receives, from the kernel, the model's parameters as built, what ``encode`` and ``decode``
   returned on those inputs, the gradients of a loss, the parameters after the check's training run
   and the outputs of the trained model (:meth:`GradedModuleExercise.probe`);
3. loads those parameters into its own reference of the layout (:func:`loaded`: matched by shape,
   in any order, two heads or one) and computes the outputs itself: they must be the learner's, so
   the learner's module computes the layout's function with its weights. Where they are not, the
   reference with one known mistake put in (no ReLU, a ReLU on logvar, ...) tells which mistake;
4. compares the gradients with the reference's at the same weights (a ``.detach()`` shows), and
   computes the trained model's loss on the checks' images itself: the band is judged on weights it
   evaluated, not on a number the kernel reported.

For a free design (notebook 04's exercise 5) the grader reads the layout from the parameters'
shapes (``layout_for``, ``rebuilt_as``: any chain of Linear layers); for a design it cannot rebuild
it takes the verdict of the notebook's check that the kernel reported (:class:`Reported`), and the
grader's row says ``judged_in: submission``.

In the notebook the same exercise is checked by its behaviour (:mod:`vae_course.checks.behaviour`),
which names more mistakes; the grader's verdict is this one.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from vae_course.checks.behaviour import (
    N_IMAGES,
    SEED,
    BehaviourExercise,
    ProbedExercise,
    Problem,
    Unwritten,
    band_sentence,
    build,
    expect_probabilities,
    expect_tensor,
    expect_tuple,
    judge_sampling,
    mnist_slice,
    sampled,
    slice_loss,
    spaced,
    train_briefly,
)
from vae_course.checks.core import Case, describe

MAX_ASSIGNMENTS = 256  # ways of matching parameters to the layout tried before giving up
RTOL, ATOL = 1e-4, 1e-5  # outputs recomputed from the weights agree this closely (float32)

Rearrange = Callable[[Sequence[torch.Tensor]], list[torch.Tensor]]


def parameters_of(model: nn.Module) -> tuple[torch.Tensor, ...]:
    """Detached copies of ``model``'s parameters, in the order the module registered them."""
    return tuple(p.detach().clone() for p in model.parameters())


def gradients_of(model: nn.Module, loss: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """d loss / d parameter for each parameter of ``model`` (zeros where none reaches it)."""
    model.zero_grad(set_to_none=True)
    loss.backward()
    grads = tuple(torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()
                  for p in model.parameters())
    model.zero_grad(set_to_none=True)
    return grads


def shapes_text(tensors: Sequence[torch.Tensor]) -> str:
    return ", ".join(str(tuple(t.shape)) for t in tensors)


def assignments(params: Sequence[torch.Tensor], shapes: Sequence[tuple[int, ...]]
                ) -> Iterator[tuple[int, ...]]:
    """Every way of giving each slot of ``shapes`` one of ``params`` of its shape, each parameter
    used once and all of them used: tuples of indices into ``params``, one per slot."""
    if len(params) != len(shapes):
        return
    options = [[i for i, p in enumerate(params) if tuple(p.shape) == tuple(s)] for s in shapes]
    if any(not o for o in options):
        return
    for choice in itertools.product(*options):
        if len(set(choice)) == len(choice):
            yield choice


def compose(*options: Sequence[Rearrange]) -> list[Rearrange]:
    """Every combination of one rearrangement from each list, applied in turn (identity first)."""
    result = []
    for chosen in itertools.product(*options):
        def rearrange(params, chosen=chosen):
            for f in chosen:
                params = f(params)
            return list(params)
        result.append(rearrange)
    return result


def gaussian_heads(hidden: int, latent: int) -> list[Rearrange]:
    """How a right answer may hold its encoder's two heads: one ``Linear(hidden, 2 * latent)``
    (mu first, as the reference, or logvar first), or two ``Linear(hidden, latent)`` (mu's
    registered first or second), which are joined into the reference's one."""
    whole, half = (2 * latent, hidden), (latent, hidden)

    def swapped(params):
        out = list(params)
        for i, p in enumerate(out):
            if tuple(p.shape) in (whole, (2 * latent,)):
                out[i] = torch.cat(p.chunk(2)[::-1])
        return out

    def joined(reverse):
        def rearrange(params):
            out = list(params)
            for shape in (half, (latent,)):
                found = [i for i, p in enumerate(out) if tuple(p.shape) == shape]
                if len(found) != 2:
                    return list(params)
                a, b = (out[found[1]], out[found[0]]) if reverse else (out[found[0]], out[found[1]])
                out[found[0]] = torch.cat([a, b])
                del out[found[1]]
            return out
        return rearrange

    return [list, swapped, joined(False), joined(True)]


def label_columns(widths: Sequence[tuple[int, int]], n_classes: int = 10) -> list[Rearrange]:
    """For a learner who put the one-hot label *before* the image or the code: the weights of shape
    ``(out, n_classes + rest)`` get their first ``n_classes`` columns moved to the end."""
    def moved(params):
        out = list(params)
        for i, p in enumerate(out):
            if p.dim() == 2 and tuple(p.shape) in [(o, n_classes + r) for o, r in widths]:
                out[i] = torch.cat([p[:, n_classes:], p[:, :n_classes]], dim=1)
        return out
    return [list, moved]


def without_relu(part: str, index: int = 1) -> Callable[[nn.Module], nn.Module]:
    """A variant: the ReLU at ``index`` of the reference's ``part`` (``nn.Sequential``) taken out."""
    def change(model):
        getattr(model, part)[index] = nn.Identity()
        return model
    return change


def relu_before_sigmoid(model: nn.Module) -> nn.Module:
    """A variant: a ReLU after the decoder's last Linear layer, right before the sigmoid."""
    model.decoder.append(nn.ReLU())
    return model


def logvar_through(f: Callable[[torch.Tensor], torch.Tensor] | None) -> Callable[[nn.Module], nn.Module]:
    """A variant: ``encode`` returns ``f(logvar)`` as logvar (``None``: mu for both heads)."""
    def change(model):
        encode = model.encode

        def changed(*args):
            mu, logvar = encode(*args)
            return mu, (mu if f is None else f(logvar))
        model.encode = changed
        return model
    return change


def loaded(reference: nn.Module, params: Sequence[torch.Tensor],
           rearrangements: Sequence[Rearrange] = (list,)) -> Iterator[tuple[nn.Module, Callable]]:
    """``reference`` (a fresh instance of the layout) with the learner's ``params`` loaded, in every
    way their shapes allow (each rearrangement, each matching by shape; at most
    :data:`MAX_ASSIGNMENTS`). Yields ``(model, mapping)``, where ``mapping`` turns any list ordered
    like ``params`` (their gradients too) into the reference's order."""
    slots = [tuple(p.shape) for p in reference.parameters()]
    tried = 0
    for rearrange in rearrangements:
        arranged = rearrange(params)
        for choice in assignments(arranged, slots):
            tried += 1
            if tried > MAX_ASSIGNMENTS:
                return
            model = copy.deepcopy(reference)
            with torch.no_grad():
                for p, i in zip(model.parameters(), choice):
                    p.copy_(arranged[i])

            def mapping(values, rearrange=rearrange, choice=choice):
                values = rearrange(values)
                return [values[i] for i in choice]
            yield model, mapping


def close(a: Any, b: torch.Tensor) -> bool:
    """Whether ``a`` is a tensor of ``b``'s shape with ``b``'s values (up to float32 noise)."""
    return (isinstance(a, torch.Tensor) and tuple(a.shape) == tuple(b.shape)
            and bool(torch.allclose(a.float(), b.float(), rtol=RTOL, atol=ATOL)))


def _flat(values: Any) -> list:
    if isinstance(values, (tuple, list)):
        return [v for item in values for v in _flat(item)]
    return [values]


def all_close(got: Any, want: Any) -> bool:
    """Whether the (nested) outputs ``got`` are ``want``'s, tensor for tensor (see :func:`close`)."""
    got, want = _flat(got), _flat(want)
    return len(got) == len(want) and all(close(a, b) for a, b in zip(got, want))


class Reported(Exception):
    """A verdict the grader could not compute and takes from what the submission's kernel reported
    (``status``, ``message``): the grader's row then says ``judged_in: submission``."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status, self.message = status, message


STATUS_CODES = ("passed", "failed", "not attempted")


def report(result: Any) -> tuple[int, torch.Tensor]:
    """A kernel-side :class:`~vae_course.checks.core.Result` as plain numbers: its status code and
    the bytes of its message (at most 4000)."""
    data = str(result.message).encode("utf-8")[:4000]
    return STATUS_CODES.index(result.status), torch.tensor(list(data), dtype=torch.uint8)


def reported(value: Any) -> Reported:
    """The :class:`Reported` verdict that :func:`report` wrote."""
    ok = (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], int)
          and 0 <= value[0] < len(STATUS_CODES) and isinstance(value[1], torch.Tensor)
          and value[1].dtype == torch.uint8 and value[1].dim() == 1)
    if not ok:
        return Reported("failed", "the check could not read what your kernel reported")
    text = bytes(value[1][:4000].tolist()).decode("utf-8", errors="replace")
    return Reported(STATUS_CODES[value[0]], text)


class BehaviourProbedExercise(BehaviourExercise, ProbedExercise):
    """An exercise checked by its behaviour in the notebook (``behaviour``) and, by the grader, on
    hidden cases through ``probe`` (in the submission's kernel) and ``verdict`` (in the grader's
    process). In ``probe``, learner code runs through :func:`~vae_course.checks.behaviour.call`;
    an untouched placeholder it meets counts as not attempted, any other failure as raised."""

    def __init__(self, number: int, title: str, reference: Any, *, hidden: Callable, **options: Any):
        super().__init__(number, title, reference, cases=(), hidden=hidden, **options)

    def _call(self, answer, case):
        try:
            return super()._call(answer, case)
        except Unwritten as u:
            placeholder = NotImplementedError(f"Exercise {self.number}: {u.reason}")
            placeholder.detail = u.reason  # e.g. a stub of the course's own answer, named
            raise placeholder from None
        except Problem as p:
            raise RuntimeError(p.problem) from None


class GradedModuleExercise(BehaviourProbedExercise):
    """A model exercise with a fixed layout: checked by its behaviour in the notebook, judged from
    its weights by the grader (see the module docstring).

    A hidden case is ``Case(name, build_seed, indices, codes, labels, other_latent)``: the model is
    built right after ``torch.manual_seed(build_seed)``, the images are ``mnist_slice()[0][indices]``.
    Subclasses say what the layout is and what is compared:

    - ``reference_model(latent_dim)``: a fresh instance of the layout, by default the exercise's
      ``reference`` class built like the learner's (the grader's only: a class release and the
      copy a submission runs with have no reference);
    - ``outputs(model, case)``: the deterministic outputs compared (e.g. ``encode(x)``, ``decode(z)``);
    - ``check_outputs(case, outputs)``: shapes and ranges, from plain data (raise :class:`Problem`);
    - ``gradient_loss(model, case)``: a deterministic loss whose gradients are compared;
    - ``train(model)``: the check's training run; ``trained_loss(model)``: its loss on the checks'
      images (the grader computes it on the rebuilt model), and ``band(loss)`` the verdict on it;
    - ``variants``: ``(change(model) -> model, sentence)``: the reference with one mistake put in;
    - ``rearrangements(latent_dim)``: other ways a right answer may store its weights (two heads);
    - ``extra_probe(model, case)`` / ``extra_verdict(case, extra)``: anything else (the sample drawn
      in forward).
    """

    layout = ""  # the layout in words, for messages
    latent = 2
    variants: Sequence[tuple[Callable[[nn.Module], nn.Module], str]] = ()
    what = "`model`"

    def __init__(self, number: int, title: str, reference: Any, *, hidden: Callable,
                 rebuilt_as: Callable[..., nn.Module] | None = None, **options: Any):
        super().__init__(number, title, reference, hidden=hidden, **options)
        self.rebuilt_as = rebuilt_as  # a free design's grader-side model (see layout_for)

    # ------------------------------------------------------------------ in the submission's kernel

    def build_kwargs(self, latent_dim: int) -> dict:
        return {"latent_dim": latent_dim}

    def _call(self, cls, case):
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise TypeError(f"expected your class itself (an nn.Module subclass), got {describe(cls)}")
        return super()._call(cls, case)

    def probe(self, cls, case):
        seed, *_, other_latent = case.args
        model = build(cls, f"`{cls.__name__}(latent_dim={self.latent})`", seed=seed,
                      **self.build_kwargs(self.latent))
        before = parameters_of(model)
        model.eval()
        with torch.no_grad():
            outs = tuple(self.outputs(model, case))
        model.train()
        torch.manual_seed(SEED)
        try:  # outputs of the wrong shapes: the verdict says so (check_outputs) before any gradient
            grads = gradients_of(model, self.gradient_loss(model, case))
        except (Problem, Unwritten, NotImplementedError):
            raise
        except Exception:
            grads = None
        other = parameters_of(build(cls, f"`{cls.__name__}(latent_dim={other_latent})`",
                                    **self.build_kwargs(other_latent)))
        extra = self.extra_probe(model, case)
        self.train(model)
        after = parameters_of(model)
        model.eval()
        with torch.no_grad():
            outs_after = tuple(self.outputs(model, case))
        return before, outs, grads, other, after, outs_after, extra

    # ---------------------------------------------------------------- anywhere (the grader's too)

    def images(self, case: Case) -> torch.Tensor:
        return mnist_slice()[0][case.args[1]]

    def outputs(self, model: nn.Module, case: Case) -> tuple:
        raise NotImplementedError

    def check_outputs(self, case: Case, outputs: tuple) -> None:
        raise NotImplementedError

    def gradient_loss(self, model: nn.Module, case: Case) -> torch.Tensor:
        raise NotImplementedError

    def reference_model(self, latent_dim: int) -> nn.Module:
        if self.reference is None:
            raise ValueError(f"exercise {self.number}: this copy of the course has no reference to "
                             "judge with (the grader's full copy has)")
        return self.reference(**self.build_kwargs(latent_dim))

    def train(self, model: nn.Module) -> None:
        raise NotImplementedError

    def trained_loss(self, model: nn.Module) -> float:
        raise NotImplementedError

    def band(self, loss: float) -> str:
        raise NotImplementedError

    def layout_for(self, params: Sequence[torch.Tensor], latent_dim: int) -> nn.Module:
        """The grader's model to load ``params`` into: the layout's (a free design reads it from
        the parameters' shapes)."""
        return self.reference_model(latent_dim)

    def rearrangements(self, latent_dim: int) -> Sequence[Rearrange]:
        return [list]

    def layout_hints(self, params: Sequence[torch.Tensor]) -> list[str]:
        """Sentences for parameter shapes that tell a known mistake (a label as one number)."""
        return []

    def extra_probe(self, model: nn.Module, case: Case) -> Any:
        return None

    def extra_verdict(self, case: Case, extra: Any) -> None:
        pass

    def _reference_outputs(self, model, case):
        model.eval()
        with torch.no_grad():
            return tuple(self.outputs(model, case))

    def _load(self, params, case, outs, when, latent):
        """The reference loaded with ``params`` that reproduces ``outs``; a Problem otherwise."""
        if not isinstance(params, tuple) or not all(isinstance(p, torch.Tensor) for p in params):
            raise Problem("the check could not read your model's parameters")
        reference = self.layout_for(params, latent)
        if reference is None:
            raise Problem(f"{when}, your model's parameters have the shapes {shapes_text(params)}, "
                          f"which do not form {self.layout}")
        candidates = []
        for model, mapping in loaded(reference, params, self.rearrangements(latent)):
            if all_close(outs, self._reference_outputs(model, case)):
                return model, mapping
            candidates.append(model)
        if not candidates:
            want = list(reference.parameters())
            raise Problem(f"{when}, your model's parameters have the shapes {shapes_text(params)} "
                          f"({spaced(sum(p.numel() for p in params))} numbers); the layout "
                          f"{self.layout} has {shapes_text(want)} "
                          f"({spaced(sum(p.numel() for p in want))}; a Linear(in, out) weight has "
                          "shape (out, in))",
                          self.layout_hints(params) or
                          ["Check the sizes of each layer against the docstring, that every layer "
                           "is created once in __init__, and that none is left unused."])
        named = [sentence for change, sentence in self.variants
                 if any(all_close(outs, self._reference_outputs(change(copy.deepcopy(m)), case))
                        for m in candidates)]
        raise Problem(f"{when}, your model's parameters fit the layout {self.layout}, but what it "
                      "computes with them is not what the layout computes",
                      named or ["Compare forward, encode and decode with the docstring, step by "
                                "step: the activations, and where each one goes."],
                      tried=case.name)

    def verdict(self, case, returned, expected):
        if not (isinstance(returned, tuple) and len(returned) == 7):
            raise Problem("the check could not read what your model did")
        before, outs, grads, other, after, outs_after, extra = returned
        if not isinstance(outs, tuple):
            raise Problem("the check could not read your model's outputs")
        try:
            self.check_outputs(case, outs)
        except Problem as p:
            p.tried = p.tried or case.name
            raise
        model, mapping = self._load(before, case, outs, "right after it is built", self.latent)
        if not (isinstance(grads, tuple) and len(grads) == len(before)):
            raise Problem("the check could not read your model's gradients")
        model.train()
        torch.manual_seed(SEED)
        model.zero_grad(set_to_none=True)
        self.gradient_loss(model, case).backward()
        names = [name for name, _ in model.named_parameters()]
        for name, got, p in zip(names, mapping(list(grads)), model.parameters()):
            want = torch.zeros_like(p) if p.grad is None else p.grad
            if not close(got, want):
                none = isinstance(got, torch.Tensor) and not bool(got.abs().sum() > 0)
                raise Problem(f"the gradient that reaches {name} (shape {tuple(p.shape)}; named as "
                              "in the reference layout, where encoder.0 is the encoder's first "
                              "layer) is " + ("zero, where the layout's model at your "
                              "weights gets one" if none else "not the one the layout's model "
                              "gets at your weights"),
                              ["Does the computation leave the graph somewhere (a .detach(), "
                               "torch.no_grad(), .item() or .numpy() inside forward, encode or "
                               "decode)?"] if none else [], tried=case.name)
        if not (isinstance(other, tuple) and all(isinstance(p, torch.Tensor) for p in other)):
            raise Problem("the check could not read your second model's parameters")
        other_latent = case.args[-1]
        layout = self.layout_for(other, other_latent)
        slots = [] if layout is None else [tuple(p.shape) for p in layout.parameters()]
        if layout is None or not any(next(assignments(f(other), slots), None) is not None
                   for f in self.rearrangements(other_latent)):
            raise Problem(f"a model built with latent_dim={other_latent} has parameters of the shapes "
                          f"{shapes_text(other)}, not those of the layout for that code size",
                          ["Use the latent_dim argument for the code size instead of a fixed 2."])
        self.extra_verdict(case, extra)
        trained, _ = self._load(after, case, outs_after, "after the check's training run", self.latent)
        return self.band(self.trained_loss(trained))


# ------------------------------------------------------------------------ shared by the exercises


def hidden_module_cases(seed: int, n: int = 8, other_latents: tuple[int, int] = (3, 6),
                        code_dim: int = 2, name: str = "") -> list[Case]:
    """The grader's case for ``seed``: a build seed, ``n`` of the checks' images, ``n`` codes
    3 * N(0, I) of width ``code_dim``, their labels and a second code size in ``other_latents``."""
    g = torch.Generator().manual_seed(seed)
    build_seed = int(torch.randint(0, 2**62, (), generator=g))
    indices = torch.randperm(N_IMAGES, generator=g)[:n]
    codes = 3 * torch.randn(n, code_dim, generator=g)
    labels = torch.randint(0, 10, (n,), generator=g)
    other = int(torch.randint(other_latents[0], other_latents[1] + 1, (), generator=g))
    return [Case(f"hidden case: a model built from a seed of the grader's, {n} of the checks' "
                 f"images, {n} codes 3 * N(0, I) and labels of the grader's, and a second model "
                 f"with latent_dim={other}{name}", build_seed, indices, codes, labels, other)]


def expect_images(t: Any, n: int, what: str, hint: str = "") -> None:
    expect_tensor(t, (n, 1, 28, 28), what, hint)
    expect_probabilities(t, what)


def gaussian_encoder_outputs(case, n, latent, mu, logvar, call_text):
    """Plain-data checks of encode's (mu, logvar) for ``n`` images: shapes, two different heads."""
    for t, name in ((mu, "mu"), (logvar, "logvar")):
        expect_tensor(t, (n, latent), f"{name}, from {call_text}",
                      "encode returns (mu, logvar), each of shape (B, latent_dim).")
    if torch.equal(mu, logvar):
        raise Problem("encode returns the same values for mu and logvar",
                      ["It looks like mu is used for both heads: the encoder needs two different "
                       "outputs, 2 * latent_dim numbers per image."], tried=case.name)


GAUSSIAN_VARIANTS = [
    (without_relu("encoder"), "It looks like the ReLU after the encoder's hidden layer is missing."),
    (without_relu("decoder"), "It looks like the ReLU after the decoder's hidden layer is missing."),
    (logvar_through(torch.relu), "It looks like a ReLU is applied to logvar: it forces σ² = "
                                 "exp(logvar) ≥ 1. logvar is any real number: no activation on "
                                 "that head."),
    (logvar_through(F.softplus), "It looks like a softplus is applied to logvar: logvar is any "
                                 "real number, no activation on that head."),
]


class GaussianModuleExercise(GradedModuleExercise):
    """The grader's side of a VAE exercise (05's VAE; with ``labelled``, 06's CVAE): encode's mu and
    logvar and decode on hidden inputs, the gradients of a deterministic negative ELBO (decoding
    mu), the sample forward draws for a known mu and logvar, and the band on the trained model's
    loss ``loss_fn``. Subclasses set ``layout``, ``loss_fn``, ``labelled``, the band's numbers
    (``measured``: reference, observed range, limit) and ``what_passed`` (the pass sentence's start)."""

    variants = GAUSSIAN_VARIANTS
    labelled = False
    loss_fn: Callable = None
    measured: tuple = ()
    what_passed = ""

    def _labels(self, case):
        return (case.args[3],) if self.labelled else ()

    def rearrangements(self, latent_dim):
        heads = gaussian_heads(400, latent_dim)
        return compose(heads, label_columns([(400, 784), (400, latent_dim)])) if self.labelled \
            else heads

    def outputs(self, model, case):
        y = self._labels(case)
        return model.encode(self.images(case), *y), model.decode(case.args[2], *y)

    def check_outputs(self, case, outputs):
        encoded, x_decoded = outputs
        n, y = len(case.args[1]), ", y" if self.labelled else ""
        mu, logvar = expect_tuple(encoded, 2, f"`model.encode(x{y})`", "(mu, logvar)")
        gaussian_encoder_outputs(case, n, 2, mu, logvar, f"model.encode(x{y})")
        expect_images(x_decoded, n, f"model.decode(z{y})", "Reshape the decoder's (B, 784) output "
                                                           "back into images: .reshape(len(z), 1, 28, 28).")

    def gradient_loss(self, model, case):
        x, y = self.images(case), self._labels(case)
        mu, logvar = model.encode(x, *y)
        rec = F.binary_cross_entropy(model.decode(mu, *y), x, reduction="sum")  # at z = mu
        kl = 0.5 * (logvar.exp() + mu**2 - 1 - logvar).sum()
        return (rec + kl) / len(x)

    def extra_probe(self, model, case):
        return sampled(model, 2, self.images(case), *self._labels(case))

    def extra_verdict(self, case, extra):
        judge_sampling(extra, 2)

    def train(self, model):
        train_briefly(model, type(self).loss_fn, labelled=self.labelled)

    def trained_loss(self, model):
        return slice_loss(model, type(self).loss_fn, labelled=self.labelled)

    def band(self, loss):
        reference, observed, limit = self.measured
        sentence = band_sentence(loss, reference, observed, limit, same_seed=False)
        if not loss < limit:
            raise Problem(sentence, ["Your model trains, but worse than the layout asks for: "
                                     "compare each layer with the docstring."])
        return (f"Rebuilt from your weights, {self.what_passed}, with the layout's gradients; "
                "forward decodes z = mu + σ·eps with the right spread and gradients; and "
                f"{sentence} (computed by the grader from your trained weights).")
