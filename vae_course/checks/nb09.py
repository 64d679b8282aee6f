"""Checkers for notebook 09 (sharper samples with a feature-consistent loss, and a convolutional VAE).

Exercise 1, "sharpness": ``sharpness(x)`` returns, per image, the mean squared difference between
neighbouring pixels, across and down, averaged: ``(B, 1, 28, 28) -> (B,)``.
Exercise 2, "the feature distance": ``feature_distance(feats_a, feats_b)`` takes two lists of feature
maps (one ``(B, ...)`` tensor per layer) and returns the squared Euclidean distance summed over every
feature of every layer, ``(B,)``.
Exercise 3, "the feature-consistent loss": ``dfc_loss(model, net, x, lam)`` returns the batch mean
of the negative ELBO plus ``lam`` times the feature distance, with the data's features as constants,
as a tensor the training loop can call ``backward()`` on; checked on small models of random weights
(the loss's value and the gradient it gives every weight).
Exercise 4, "a convolutional decoder": the class ``ConvDecoder(latent_dim, channels=(16, 32))``, codes
``(B, latent_dim)`` -> Bernoulli means ``(B, 1, 28, 28)``, with the layout of ``models.ConvDecoder``;
checked by what it does (shapes for two sizes, probabilities, gradients, transposed
convolutions, its parameter count, a non-linear map).
"""

import copy

import torch
from torch import nn

from vae_course import models
from vae_course.checks.behaviour import (
    SEED,
    Problem,
    build,
    call,
    count_parameters,
    expect_gradient_everywhere,
    expect_parameter_count,
    expect_probabilities,
    expect_tensor,
    is_affine,
)
from vae_course.checks.core import Case, FunctionExercise, Mistake
from vae_course.checks.loss_check import compare_losses, loss_outcome
from vae_course.checks.rebuild import GradedModuleExercise, expect_images, hidden_module_cases
from vae_course.losses import bernoulli_log_likelihood
from vae_course.perceptual import FeatureNet


def _sharpness_reference(x):
    across = (x[..., :, 1:] - x[..., :, :-1]).double().pow(2).flatten(1).mean(dim=1)
    down = (x[..., 1:, :] - x[..., :-1, :]).double().pow(2).flatten(1).mean(dim=1)
    return ((across + down) / 2).to(x.dtype)


def _sharpness_variant(power=2, directions="both", reduce="mean", per_image=True):
    def sharpness(x):
        steps = {"across": (x[..., :, 1:] - x[..., :, :-1]).abs().pow(power).flatten(1),
                 "down": (x[..., 1:, :] - x[..., :-1, :]).abs().pow(power).flatten(1)}
        parts = [steps[d] for d in (("across", "down") if directions == "both" else (directions,))]
        values = [p.mean(dim=1) if reduce == "mean" else p.sum(dim=1) for p in parts]
        result = sum(values) / len(values)
        return result if per_image else result.mean()
    return sharpness


ONE_DIRECTION = ("It looks like you measured one direction only: average the mean squared step "
                 "across (neighbours in a row) and the one down (neighbours in a column).")


def _cases_ex1():
    g = torch.Generator().manual_seed(9)
    edge = torch.zeros(1, 1, 28, 28)
    edge[..., 14:] = 1.0  # a vertical step edge: 28 steps of 1 across, none down
    ramp = torch.zeros(1, 1, 28, 28)
    ramp[..., 13], ramp[..., 14:] = 0.5, 1.0  # the same edge, blurred over two steps of 0.5
    stripes = torch.zeros(1, 1, 28, 28)
    stripes[..., ::2, :] = 1.0  # horizontal stripes: steps of 1 down only
    return [Case("one vertical edge, black to white", edge),
            Case("the same edge spread over two steps of 0.5", ramp),
            Case("horizontal stripes, one pixel wide", stripes),
            Case("4 random images", torch.rand(4, 1, 28, 28, generator=g))]


def _hidden_ex1(seed):
    """The grader's cases for ``seed``: the four kinds of ``_cases_ex1`` (a step edge, the same edge
    over two half steps, stripes, random images) with a random position, direction, grey levels,
    stripe width and batch size."""
    g = torch.Generator().manual_seed(seed)
    where, width = int(torch.randint(3, 26, (), generator=g)), int(torch.randint(1, 4, (), generator=g))
    edge_down, stripes_down = (torch.rand(2, generator=g) < 0.5).tolist()
    low, high = 0.3 * float(torch.rand((), generator=g)), 1 - 0.3 * float(torch.rand((), generator=g))
    n = int(torch.randint(2, 7, (), generator=g))

    def image(profile, down):
        """A (1, 1, 28, 28) image constant along rows (down=False) or along columns (down=True)."""
        img = profile.view(1, 28).expand(28, 28)
        return (img.T if down else img).reshape(1, 1, 28, 28).contiguous()

    step = torch.full((28,), low)
    step[where:] = high
    ramp = step.clone()
    ramp[where - 1] = (low + high) / 2                              # two half steps
    stripes = ((torch.arange(28) // width) % 2).float()
    edge_name = f"a horizontal edge at row {where}" if edge_down else f"a vertical edge at column {where}"
    return [Case(f"hidden case: {edge_name}, grey level {low:.2f} to {high:.2f}", image(step, edge_down)),
            Case("hidden case: the same edge spread over two half steps", image(ramp, edge_down)),
            Case(f"hidden case: {'horizontal' if stripes_down else 'vertical'} stripes, {width} "
                 f"pixel{'s' if width > 1 else ''} wide", image(stripes, stripes_down)),
            Case(f"hidden case: {n} random images", torch.rand(n, 1, 28, 28, generator=g))]


ex1 = FunctionExercise(
    1,
    "sharpness",
    reference=_sharpness_reference,
    cases=_cases_ex1(),
    hidden=_hidden_ex1,
    rtol=1e-4, atol=1e-6,
    mistakes=[
        Mistake("It looks like you averaged absolute differences: then an edge blurred over two "
                "steps of 0.5 scores the same as the sharp edge (0.5 + 0.5 = 1). Square the steps: "
                "0.25 + 0.25 < 1.", like=_sharpness_variant(power=1)),
        Mistake(ONE_DIRECTION, like=_sharpness_variant(directions="across")),
        Mistake(ONE_DIRECTION, like=_sharpness_variant(directions="down")),
        Mistake("It looks like you summed the squared steps over the pixels: take their mean, so the "
                "number does not depend on the image size.", like=_sharpness_variant(reduce="sum")),
        Mistake("You return one number for the batch: one sharpness per image, (B, 1, 28, 28) -> (B,).",
                when=lambda got, expected: torch.is_tensor(got) and got.dim() == 0),
    ],
    hints=[
        "Neighbours across: x[..., :, 1:] - x[..., :, :-1]; down: x[..., 1:, :] - x[..., :-1, :].",
        "Square the differences, average each over the pixels of each image (.flatten(1).mean(dim=1)), "
        "then average the two directions.",
        "across = (x[..., :, 1:] - x[..., :, :-1]).pow(2).flatten(1).mean(dim=1); "
        "down = (x[..., 1:, :] - x[..., :-1, :]).pow(2).flatten(1).mean(dim=1); "
        "return (across + down) / 2",
    ],
    solution=("def sharpness(x):\n"
              "    across = (x[..., :, 1:] - x[..., :, :-1]).pow(2).flatten(1).mean(dim=1)  # (B,)\n"
              "    down = (x[..., 1:, :] - x[..., :-1, :]).pow(2).flatten(1).mean(dim=1)    # (B,)\n"
              "    return (across + down) / 2\n"),
)


def _distance_reference(feats_a, feats_b):
    total = 0
    for a, b in zip(feats_a, feats_b, strict=True):
        total = total + ((a.double() - b.double()) ** 2).flatten(1).sum(dim=1)
    return total.to(feats_a[0].dtype)


def _distance_variant(square=True, reduce="sum", layers=None, root=False, per_image=True):
    def feature_distance(feats_a, feats_b):
        pairs = list(zip(feats_a, feats_b))[:layers]
        total = 0
        for a, b in pairs:
            d = (a - b) ** 2 if square else (a - b).abs()
            d = d.flatten(1).sum(dim=1) if reduce == "sum" else d.flatten(1).mean(dim=1)
            total = total + (d.sqrt() if root else d)
        return total if per_image else total.sum()
    return feature_distance


def _cases_ex2():
    g = torch.Generator().manual_seed(2)
    a = [torch.rand(3, 8, 28, 28, generator=g), torch.rand(3, 16, 14, 14, generator=g)]
    b = [torch.rand(3, 8, 28, 28, generator=g), torch.rand(3, 16, 14, 14, generator=g)]
    one = torch.zeros(1, 2, 3, 3)
    return [Case("one image, one layer of 2 x 3 x 3 features, all differences 1", [one + 1], [one]),
            Case("3 images, two layers (8, 28, 28) and (16, 14, 14)", a, b),
            Case("the same 3 images against themselves", a, a)]


def _hidden_ex2(seed):
    """The grader's cases for ``seed``: the three kinds of ``_cases_ex2`` (one image and one layer
    with every difference equal, several images and layers, the images against themselves) with
    random sizes, numbers of layers and values."""
    g = torch.Generator().manual_seed(seed)
    c, h = int(torch.randint(1, 5, (), generator=g)), int(torch.randint(2, 6, (), generator=g))
    diff = float(0.25 + 1.75 * torch.rand((), generator=g))
    n, n_layers = int(torch.randint(2, 5, (), generator=g)), int(torch.randint(2, 4, (), generator=g))
    shapes = [(int(torch.randint(4, 17, (), generator=g)), size, size)
              for size in (28, 14, 7)[:n_layers]]
    a = [torch.rand(n, *shape, generator=g) for shape in shapes]
    b = [torch.rand(n, *shape, generator=g) for shape in shapes]
    one = torch.rand(1, c, h, h, generator=g)
    layers = " and ".join(str(shape) for shape in shapes)
    return [Case(f"hidden case: one image, one layer of {c} x {h} x {h} features, all differences "
                 f"{diff:.3f}", [one + diff], [one]),
            Case(f"hidden case: {n} images, {n_layers} layers {layers}", a, b),
            Case(f"hidden case: the same {n} images against themselves", a, a)]


ex2 = FunctionExercise(
    2,
    "the feature distance",
    reference=_distance_reference,
    cases=_cases_ex2(),
    hidden=_hidden_ex2,
    rtol=1e-4, atol=1e-3,
    mistakes=[
        Mistake("It looks like you averaged over the features: the course's distance sums the "
                "squared differences over every feature (each layer's channels and positions). "
                "DFC-VAE itself divides each layer's sum by twice its number of features; section 2 "
                "of the notebook says how the course's variant differs.",
                like=_distance_variant(reduce="mean")),
        Mistake("It looks like you used absolute differences: the distance is squared, (a - b) ** 2.",
                like=_distance_variant(square=False)),
        Mistake("It looks like you took the square root (the Euclidean distance): the loss uses its "
                "square, the sum of squared differences.", like=_distance_variant(root=True)),
        Mistake("It looks like only the first layer counts: add the distances of every layer in "
                "the lists.", like=_distance_variant(layers=1)),
        Mistake("You return one number for the batch: one distance per image, (B,); the loss takes "
                "the batch mean later.", when=lambda got, expected: torch.is_tensor(got) and got.dim() == 0),
    ],
    hints=[
        "Walk the two lists together: for a, b in zip(feats_a, feats_b). Each a is (B, C, H, W).",
        "Per layer: ((a - b) ** 2).flatten(1).sum(dim=1) is one number per image, (B,). Add the layers.",
        "return sum(((a - b) ** 2).flatten(1).sum(dim=1) for a, b in zip(feats_a, feats_b))",
    ],
    solution=("def feature_distance(feats_a, feats_b):\n"
              "    total = 0\n"
              "    for a, b in zip(feats_a, feats_b):                      # one layer at a time\n"
              "        total = total + ((a - b) ** 2).flatten(1).sum(dim=1)  # (B,)\n"
              "    return total\n"),
    points=2,
)


def _kl_per_image(mu, logvar):
    return 0.5 * (mu.double() ** 2 + logvar.double().exp() - 1 - logvar.double()).sum(dim=1)


def _dfc_reference(model, net, x, lam):
    x_hat, mu, logvar = model(x)
    rec = torch.nn.functional.binary_cross_entropy(x_hat.double(), x.double(), reduction="none")
    with torch.no_grad():
        target = net.features(x)
    distance = _distance_reference(net.features(x_hat), target).double()
    return (rec.flatten(1).sum(dim=1) + _kl_per_image(mu, logvar) + lam * distance).mean()


def _dfc_variant(kl=True, weighted=True, feature_gradient=True, reduce="mean", item=False):
    def dfc_loss(model, net, x, lam):
        x_hat, mu, logvar = model(x)
        log_lik = bernoulli_log_likelihood(x_hat, x)                                # (B,)
        with torch.no_grad():
            target = net.features(x)
        feats = net.features(x_hat if feature_gradient else x_hat.detach())
        distance = sum(((a - b) ** 2).flatten(1).sum(dim=1) for a, b in zip(feats, target))
        per_image = -log_lik + _kl_per_image(mu, logvar).float() * kl + (lam if weighted else 1.0) * distance
        loss = per_image.mean() if reduce == "mean" else per_image.sum()
        return loss.item() if item else loss
    return dfc_loss


class LossExercise(FunctionExercise):
    """A training loss of a model: each case computes it on a fresh copy of the case's model (every
    ``z`` drawn from the same seed) and compares its value and the gradient it gives every parameter
    with the reference's (``checks.loss_check``)."""

    def _call(self, fn, case):
        model, net, x, lam = copy.deepcopy(case.args)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            loss = fn(model, net, x, lam)
        return loss_outcome(loss, model)


def _loss_case(name, seed, n, latent_dim, lam):
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = models.VAE(latent_dim=latent_dim, hidden=(32,))
        for layer in model.encoder.modules():  # larger codes than at the default start: a KL
            if isinstance(layer, nn.Linear):    # of a few nats, that the loss must not leave out
                layer.weight.data.mul_(3.0)
        net = FeatureNet(channels=(4, 8)).requires_grad_(False)   # frozen, as in the notebook
    x = (torch.rand(n, 1, 28, 28, generator=g) < 0.25).float()    # binary images
    return Case(name, model, net, x, lam)


def _cases_ex3():
    return [_loss_case("8 binary images, a 3-D VAE, a FeatureNet of random weights, lam = 0.5",
                       4, 8, 3, 0.5),
            _loss_case("5 images, a 2-D VAE, lam = 2.0", 6, 5, 2, 2.0)]


def _hidden_ex3(seed):
    """The grader's cases for ``seed``: like ``_cases_ex3``, with the models, images, batch sizes,
    code sizes and lam drawn from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    n = torch.randint(3, 10, (2,), generator=g).tolist()
    L = torch.randint(2, 6, (2,), generator=g).tolist()
    lam = (0.3 + 1.7 * torch.rand(2, generator=g)).tolist()
    base = int(torch.randint(0, 2**31 - 2, (), generator=g))
    return [_loss_case(f"hidden case: {n[k]} binary images, a {L[k]}-D VAE, lam = {lam[k]:.2f}",
                       base + 5 * k, n[k], L[k], lam[k]) for k in range(2)]


ex3 = LossExercise(
    3,
    "the feature-consistent loss",
    reference=_dfc_reference,
    cases=_cases_ex3(),
    hidden=_hidden_ex3,
    seed=SEED,
    compare=compare_losses,
    mistakes=[
        Mistake("It looks like the KL term is missing: the loss is the negative ELBO (reconstruction "
                "plus KL(q(z|x) || p(z))) plus lam times the feature distance.",
                like=_dfc_variant(kl=False)),
        Mistake("It looks like lam is not used: the feature distance enters as lam * distance.",
                like=_dfc_variant(weighted=False)),
        Mistake("It looks like no gradient reaches the VAE through the feature term: the loss's "
                "value is right but its gradient is not. Only the data's features are constants "
                "(under torch.no_grad()); net.features(x_hat) must keep its graph.",
                like=_dfc_variant(feature_gradient=False)),
        Mistake("It looks like the loss is summed over the batch: take the mean over the images, "
                "as the training loss of the earlier notebooks does.", like=_dfc_variant(reduce="sum")),
        Mistake("It looks like the loss is returned as loss.item(), a number: the training loop "
                "needs the tensor, to call backward() on it.", like=_dfc_variant(item=True)),
    ],
    hints=[
        "Per image: rec = -(x log x_hat + (1 - x) log(1 - x_hat)) summed over the pixels, kl = 0.5 * "
        "(mu**2 + exp(logvar) - 1 - logvar) summed over the code, both (B,), from model(x).",
        "The features of x go under torch.no_grad() (constants); the features of x_hat keep their "
        "graph. The distance is your feature_distance of exercise 2, (B,).",
        "return (rec + kl + lam * distance).mean(): the tensor, not loss.item(), since the "
        "training loop calls backward() on it.",
    ],
    solution=("def dfc_loss(model, net, x, lam):\n"
              "    x_hat, mu, logvar = model(x)                       # (B, 1, 28, 28), (B, L), (B, L)\n"
              "    x_hat = x_hat.clamp(1e-6, 1 - 1e-6)\n"
              "    rec = -(x * x_hat.log() + (1 - x) * (1 - x_hat).log()).flatten(1).sum(dim=1)  # (B,)\n"
              "    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(dim=1)                     # (B,)\n"
              "    with torch.no_grad():\n"
              "        target = net.features(x)                       # the data's features: constants\n"
              "    feats = net.features(x_hat)                        # the gradient flows through these\n"
              "    distance = sum(((a - b) ** 2).flatten(1).sum(dim=1) for a, b in zip(feats, target))\n"
              "    return (rec + kl + lam * distance).mean()  # a tensor: training calls backward()\n"),
    points=3,
)


def layout_parameters(latent_dim, channels=(16, 32)):
    """How many numbers the layout below holds: the Linear layer's weights and biases, then the two
    transposed convolutions' (kernels 4 x 4)."""
    c1, c2 = channels
    return (latent_dim + 1) * c2 * 49 + (c2 * 16 + 1) * c1 + (c1 * 16 + 1)


LAYOUT = ("Linear(latent_dim, c2 * 7 * 7), ReLU, Unflatten to (c2, 7, 7), ConvTranspose2d(c2, c1, 4, "
          "stride=2, padding=1), ReLU, ConvTranspose2d(c1, 1, 4, stride=2, padding=1), sigmoid")


def _without_relus(*indices):
    def change(model):
        for i in indices:
            model.net[i] = nn.Identity()
        return model
    return change


def _hidden_ex4(seed):
    return hidden_module_cases(seed, code_dim=20, name=" and channels=(4, 8)")


class ConvDecoderExercise(GradedModuleExercise):
    """The learner's ``ConvDecoder`` class, checked by what its instances do; the grader rebuilds
    it from its weights (``checks.rebuild``). No training run: the exercise is the layout."""

    layout = LAYOUT + " (c1, c2 = 16, 32)"
    latent = 20
    variants = [
        (_without_relus(1, 4), "It looks like the ReLUs are missing: one after the Linear layer, one "
                               "between the transposed convolutions."),
        (_without_relus(1), "It looks like the ReLU after the Linear layer is missing."),
        (_without_relus(4), "It looks like the ReLU between the two transposed convolutions is "
                            "missing."),
    ]

    def build_kwargs(self, latent_dim):
        return {"latent_dim": latent_dim} if latent_dim == self.latent else \
            {"latent_dim": latent_dim, "channels": (4, 8)}


    def outputs(self, model, case):
        return (model(case.args[2]),)

    def check_outputs(self, case, outputs):
        n = len(case.args[1])
        expect_images(outputs[0], n, f"decoder(z) for z of shape ({n}, 20)",
                      "Two transposed convolutions with kernel 4, stride 2, padding 1 double 7 -> 14 "
                      "-> 28; the Linear layer must give c2 * 7 * 7 numbers, unflattened to (c2, 7, 7).")

    def gradient_loss(self, model, case):
        x = self.images(case)
        return -bernoulli_log_likelihood(model(case.args[2]), x).mean()

    def train(self, model):
        pass

    def trained_loss(self, model):
        return None

    def band(self, loss):
        return ("Rebuilt from your weights, your decoder computes the layout's function, with the "
                "layout's gradients, and a second one built with latent_dim and channels=(4, 8) has "
                "that layout's parameters.")

    def behaviour(self, cls):
        g = torch.Generator().manual_seed(SEED)
        z = torch.randn(8, 20, generator=g)
        model = build(cls, "`ConvDecoder(latent_dim=20)`", latent_dim=20)
        x_hat = call("`decoder(z)`", model, z)
        expect_tensor(x_hat, (8, 1, 28, 28), "decoder(z) for z of shape (8, 20)",
                      "Two transposed convolutions with kernel 4, stride 2, padding 1 double 7 -> 14 "
                      "-> 28; the Linear layer must give c2 * 7 * 7 numbers, unflattened to (c2, 7, 7).")
        expect_probabilities(x_hat, "decoder(z)")
        if not any(isinstance(m, nn.ConvTranspose2d) for m in model.modules()):
            raise Problem("your decoder has no nn.ConvTranspose2d layer",
                          ["The exercise is a convolutional decoder: after the Linear layer, the "
                           "image grows by transposed convolutions (7 -> 14 -> 28)."])
        expect_gradient_everywhere(model, x_hat.mean(), "mean pixel")
        expect_parameter_count(model, layout_parameters(20), "ConvDecoder", LAYOUT)
        small = build(cls, "`ConvDecoder(latent_dim=3, channels=(4, 8))`", latent_dim=3, channels=(4, 8))
        out = call("`ConvDecoder(latent_dim=3, channels=(4, 8))(z)`", small, z[:5, :3],
                   hints=lambda e: ["Take the code size and the channels from the arguments "
                                    "latent_dim and channels, not fixed numbers."])
        expect_tensor(out, (5, 1, 28, 28), "ConvDecoder(latent_dim=3, channels=(4, 8)) on z of shape (5, 3)",
                      "Take the code size and the channels from the arguments, not fixed numbers.")
        want = layout_parameters(3, (4, 8))
        if count_parameters(small) != want:
            raise Problem(f"ConvDecoder(latent_dim=3, channels=(4, 8)) has {count_parameters(small)} "
                          f"parameters, the layout gives {want}",
                          ["Use channels = (c1, c2) for the layer sizes: c2 after the Linear layer, c1 "
                           "between the two transposed convolutions."])
        with torch.no_grad():
            if is_affine(lambda v: torch.logit(model(v), eps=1e-7), 3 * z):
                raise Problem("the decoder's logits are affine in z",
                              ["It looks like the ReLUs are missing: one after the Linear layer, one "
                               "between the transposed convolutions."],
                              tried="codes z = 3 * N(0, I) of shape (8, 20)")
        return (f"Tested: shapes (8, 20) -> (8, 1, 28, 28) and, with channels (4, 8), (5, 3) -> "
                f"(5, 1, 28, 28); probabilities; gradients reach all {count_parameters(model)} "
                "parameters; transposed convolutions; not affine.")


ex4 = ConvDecoderExercise(
    4,
    "a convolutional decoder",
    reference=models.ConvDecoder,
    hidden=_hidden_ex4,
    hints=[
        "Build the layers in __init__ with nn.Sequential, in the order of the docstring; forward "
        "applies them and the sigmoid.",
        "c1, c2 = channels; nn.Linear(latent_dim, c2 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (c2, 7, 7)), "
        "then nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU(), "
        "nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1).",
        "forward: return torch.sigmoid(self.net(z))  # (B, L) -> (B, 1, 28, 28)",
    ],
    solution=("class ConvDecoder(nn.Module):\n"
              "    def __init__(self, latent_dim, channels=(16, 32)):\n"
              "        super().__init__()\n"
              "        c1, c2 = channels\n"
              "        self.net = nn.Sequential(\n"
              "            nn.Linear(latent_dim, c2 * 7 * 7), nn.ReLU(),  # (B, L) -> (B, c2 * 49)\n"
              "            nn.Unflatten(1, (c2, 7, 7)),                   # -> (B, c2, 7, 7)\n"
              "            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1),\n"
              "            nn.ReLU(),                                     # -> (B, c1, 14, 14)\n"
              "            nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1),  # -> (B, 1, 28, 28)\n"
              "        )\n\n"
              "    def forward(self, z):\n"
              "        return torch.sigmoid(self.net(z))\n"),
    points=2,
)
