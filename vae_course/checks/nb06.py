"""Checkers for notebook 06 (the conditional VAE).

Exercise 1, "conditioning on the label": ``condition(h, y)`` appends the one-hot label to each
row: ``(B, F)`` floats and ``(B,)`` integer labels 0..9 -> ``(B, F + 10)`` floats.

Exercise 2, "the CVAE module" (core): ``class CVAE(nn.Module)`` with ``encode(x, y) -> (mu, logvar)``,
``decode(z, y) -> x_hat`` and ``forward(x, y) -> (x_hat, mu, logvar)``; the integer labels ``y``
``(B,)`` enter both the encoder and the decoder one-hot. Checked by behaviour (``checks.behaviour``).

Exercise 3, "style transfer": ``transfer_style(model, x, y)`` encodes one image ``x``
``(1, 1, 28, 28)`` with its true label ``y`` ``(1,)`` to the posterior mean, and decodes that same
``z`` with each of the ten labels: ``-> (10, 1, 28, 28)``, row ``k`` drawn as digit ``k``.
"""

import re

import torch
from torch import nn
from torch.nn import functional as F

from vae_course.checks.behaviour import (
    SEED,
    Problem,
    band_sentence,
    build,
    call,
    check_gaussian_encoder,
    check_sampling,
    expect_gradient_everywhere,
    expect_logvar_free,
    expect_parameter_count,
    expect_probabilities,
    expect_tensor,
    expect_tuple,
    is_affine,
    mnist_slice,
    train_briefly,
)
from vae_course.checks.core import Case, FunctionExercise, Mistake
from vae_course.checks.rebuild import GaussianModuleExercise, hidden_module_cases
from vae_course.losses import cvae_loss


def _condition(h, y):
    """Reference: [h, one_hot(y)] along the feature dimension."""
    onehot = torch.zeros(len(y), 10, dtype=h.dtype)
    onehot[torch.arange(len(y)), y] = 1.0
    return torch.cat([h, onehot], dim=1)


def _rand(seed, *shape):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def _hidden_ex1(seed):
    """The grader's cases for ``seed``: the three kinds of exercise 1's cases (labels 0 and 9, a
    batch of flattened images, every label once) with random features, widths and label orders."""
    g = torch.Generator().manual_seed(seed)
    s = torch.randint(0, 2**62, (3,), generator=g).tolist()
    width = int(torch.randint(1, 7, (), generator=g))
    n_images, n_codes = int(torch.randint(3, 9, (), generator=g)), int(torch.randint(2, 5, (), generator=g))
    ends = torch.tensor([0, 9])[torch.randperm(2, generator=g)]
    labels = torch.randint(0, 9, (n_images,), generator=g)  # no 9: F.one_hot(y) alone is too narrow
    every = torch.randperm(10, generator=g)
    return [
        Case(f"hidden case: two rows of {width} features, labels {ends[0]} and {ends[1]}",
             _rand(s[0], 2, width), ends),
        Case(f"hidden case: flattened images (B = {n_images}, 784 features)", _rand(s[1], n_images, 784),
             labels),
        Case(f"hidden case: latent codes (B = 10, {n_codes} features), every label once, shuffled",
             _rand(s[2], 10, n_codes) - 0.5, every),
    ]


ex1 = FunctionExercise(
    1,
    "conditioning on the label",
    reference=_condition,
    hidden=_hidden_ex1,
    cases=[
        Case("two rows, labels 0 and 9", _rand(0, 2, 3), torch.tensor([0, 9])),
        Case("flattened images (B = 4, 784 features)", _rand(1, 4, 784), torch.tensor([3, 1, 4, 1])),
        Case("latent codes (B = 10, 2 features), every label once", _rand(2, 10, 2) - 0.5,
             torch.arange(10)),
    ],
    mistakes=[
        Mistake("It looks like you appended the label as one number: the network would read '9' "
                "as nine times '1'. Append a one-hot vector of 10 entries instead.",
                like=lambda h, y: torch.cat([h, y.float().unsqueeze(1)], dim=1)),
        Mistake("The one-hot label comes first: put it after the features, [h, one_hot(y)], "
                "the order the course's CVAE uses.",
                like=lambda h, y: torch.cat([F.one_hot(y, 10).float(), h], dim=1)),
        Mistake("The one-hot vectors look shifted or have the wrong width: F.one_hot(y, 10) has "
                "exactly 10 columns, with the 1 in column y.",
                when=lambda got, expected: isinstance(got, torch.Tensor)
                and got.shape == expected.shape and torch.equal(got[:, :-10], expected[:, :-10])),
    ],
    hints=[
        "The label enters the network as a one-hot vector of length 10: F.one_hot(y, 10).",
        "F.one_hot returns integers; convert with .float() (or .to(h.dtype)) before concatenating.",
        "return torch.cat([h, F.one_hot(y, 10).float()], dim=1)  # (B, F + 10)",
    ],
    solution="def condition(h, y):\n"
             "    return torch.cat([h, F.one_hot(y, 10).float()], dim=1)  # (B, F) -> (B, F + 10)\n",
    points=1,
)


# ------------------------------------------------------------------ exercise 2: the CVAE module


class CVAE(nn.Module):
    """x (B, 1, 28, 28) and labels y (B,) -> q(z|x, y) -> one sample z -> x_hat (B, 1, 28, 28);
    the one-hot label is appended to the encoder's input and to the decoder's input."""

    def __init__(self, latent_dim=2, hidden=400, n_classes=10):
        super().__init__()
        self.latent_dim, self.n_classes = latent_dim, n_classes
        self.encoder = nn.Sequential(
            nn.Linear(784 + n_classes, hidden),         # (B, 794) -> (B, 400)
            nn.ReLU(),
            nn.Linear(hidden, 2 * latent_dim),          # (B, 400) -> (B, 2 * latent_dim)
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim + n_classes, hidden),  # (B, latent_dim + 10) -> (B, 400)
            nn.ReLU(),
            nn.Linear(hidden, 784),                     # (B, 400) -> (B, 784) logits
        )

    def encode(self, x, y):
        h = torch.cat([x.reshape(len(x), 784), F.one_hot(y, self.n_classes).float()], dim=1)
        mu, logvar = self.encoder(h).chunk(2, dim=1)    # (B, latent_dim) each
        return mu, logvar

    def decode(self, z, y):
        h = torch.cat([z, F.one_hot(y, self.n_classes).float()], dim=1)  # (B, latent_dim + 10)
        return torch.sigmoid(self.decoder(h)).reshape(len(z), 1, 28, 28)

    def forward(self, x, y):
        mu, logvar = self.encode(x, y)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # reparameterized sample
        return self.decode(z, y), mu, logvar


def _one_hot_width_hint(error):
    """For a Linear layer that got a few columns fewer than it expects: F.one_hot without width."""
    m = re.search(r"\((\d+)x(\d+) and (\d+)x(\d+)\)", str(error))
    if m and 0 < int(m[3]) - int(m[2]) < 10:
        return ["If the label is appended with F.one_hot(y), give it num_classes: F.one_hot(y, 10). "
                "Without it, a batch whose largest label is 4 gets only 5 columns."]
    return []


def _inputs_seen(model, fn, *args):
    """The 2-D tensors that reach each leaf module (Linear, ReLU, ...) during ``fn(*args)``."""
    seen, handles = [], []
    for module in model.modules():
        if not list(module.children()):
            handles.append(module.register_forward_pre_hook(
                lambda _, inputs: seen.extend(t for t in inputs
                                              if isinstance(t, torch.Tensor) and t.dim() == 2)))
    try:
        fn(*args)
    finally:
        for handle in handles:
            handle.remove()
    return seen


def _label_as_a_number(model, fn, y, *args):
    """Whether some layer's input has a column equal to the labels ``y`` themselves (as numbers)."""
    column = y.to(torch.float32).unsqueeze(1)
    return any(t.shape[0] == len(y) and bool((t.detach().float() == column).all(0).any())
               for t in _inputs_seen(model, fn, *args, y))


# The training run of the check (behaviour.train_briefly): 300 Adam steps (lr 1e-3, batches of 64
# shuffled with seed 0) on the first 1024 MNIST training images binarized with seed 0 and their
# labels, the model built right after torch.manual_seed(0); then the negative conditional ELBO on
# those images (one sample per image, seeded), nats per image. Measured (CPU, torch 2.x):
# - the reference (this class): 146.0; correct models over 20 seeds (10 of this class, 10 of a class
#   with two Linear heads built decoder first): 144.2 to 151.3;
# - the decoder ignores y: 170.4 to 172.5; the label appended as one number: 157.8 to 160.2;
#   the encoder ignores y: 145.2 to 147.5 (4 seeds each): the band cannot see that one, changing
#   the labels does.
CVAE_REFERENCE_LOSS, CVAE_OBSERVED, CVAE_LIMIT = 146.0, (144.2, 151.3), 155.0


CVAE_PARAMETERS = (784 + 10) * 400 + 400 + 400 * 4 + 4 + (2 + 10) * 400 + 400 + 400 * 784 + 784


class CVAEExercise(GaussianModuleExercise):
    """The learner's ``CVAE`` class, checked by what its instances do; the grader rebuilds it from
    its weights and judges the sample its forward draws from plain data (``checks.rebuild``)."""

    layout = "784 + 10 → 400 → 2 + 2 (mu and logvar), 2 + 10 → 400 → 784"
    labelled = True
    loss_fn = cvae_loss
    measured = (CVAE_REFERENCE_LOSS, CVAE_OBSERVED, CVAE_LIMIT)
    what_passed = "your CVAE computes the layout's mu, logvar and decoder from the one-hot label"

    def layout_hints(self, params):
        shapes = [tuple(p.shape) for p in params]
        hints = []
        if (400, 785) in shapes or (400, 3) in shapes:
            hints.append("A layer takes one input more than the image or the code: it looks like "
                         "the label is appended as one number. Append the one-hot vector, "
                         "F.one_hot(y, 10).float().")
        if (400, 784) in shapes:
            hints.append("The encoder's first Linear layer takes 784 inputs: it looks like the "
                         "encoder ignores y. Append the one-hot label to the flattened image, "
                         "(B, 784 + 10).")
        if (400, 2) in shapes:
            hints.append("The decoder's first Linear layer takes latent_dim inputs: it looks like "
                         "the decoder ignores y. Append the one-hot label to z, (B, latent_dim + 10).")
        return hints

    def behaviour(self, cls):
        x, y = mnist_slice()
        xb, yb = x[:8], y[:8]
        y_other = (y + 1) % 10  # every image with another label
        model = build(cls, "`CVAE(latent_dim=2)`", latent_dim=2)
        low = torch.tensor([0, 1, 2, 3, 4, 0, 1, 2])  # labels up to 4 only
        call("`model.encode(x, y)` with labels 0 to 4", model.encode, xb, low,
             hints=_one_hot_width_hint)
        number = ["It looks like the label is appended as one number (a column equal to y): the "
                  "network would then read a 9 as nine times a 1. Append the one-hot vector, "
                  "F.one_hot(y, 10).float() (condition(h, y) of exercise 1 does it)."]
        tried = "1024 MNIST images and their labels, a model built with latent_dim=2"
        if _label_as_a_number(model, lambda x_, y_: model.encode(x_, y_), y, x):
            raise Problem("a layer of the encoder receives the labels y as they are", number,
                          tried=tried)
        mu, logvar = check_gaussian_encoder(model, x, 2, "model.encode(x, y)", y)
        mu_other, logvar_other = call("`model.encode(x, y)`", model.encode, x, y_other)
        if torch.equal(mu, mu_other) and torch.equal(logvar, logvar_other):
            raise Problem("encode(x, y) gives the same mu and logvar whatever the label y",
                          ["It looks like the encoder ignores y: append the one-hot label to the "
                           "flattened image, (B, 784 + 10), so that q(z|x, y) knows the digit and "
                           "the code can keep only the style."], tried=tried)
        z = mu[:8].detach()
        if _label_as_a_number(model, lambda z_, y_: model.decode(z_, y_), yb, z):
            raise Problem("a layer of the decoder receives the labels y as they are", number,
                          tried=tried)
        x_hat = call("`model.decode(z, y)`", model.decode, z, yb, hints=_one_hot_width_hint)
        expect_tensor(x_hat, (8, 1, 28, 28), "model.decode(z, y) for z of shape (8, 2)",
                      "Reshape the decoder's (B, 784) output back into images: "
                      ".reshape(len(z), 1, 28, 28).")
        expect_probabilities(x_hat, "model.decode(z, y)")
        if torch.equal(x_hat, call("`model.decode(z, y)`", model.decode, z, y_other[:8])):
            raise Problem("decode(z, y) draws the same images whatever the label y",
                          ["It looks like the decoder ignores y: append the one-hot label to z, "
                           "(B, latent_dim + 10), so that you can ask it for any digit."],
                          tried="8 codes z of shape (8, 2), decoded with two different labels")
        out = expect_tuple(call("`model(x, y)`", model, xb, yb), 3, "`model(x, y)`",
                           "(x_hat, mu, logvar)")
        for t, shape, name in zip(out, [(8, 1, 28, 28), (8, 2), (8, 2)], ["x_hat", "mu", "logvar"]):
            expect_tensor(t, shape, f"{name}, from model(x, y)")
        expect_probabilities(out[0], "x_hat from model(x, y)")
        torch.manual_seed(SEED)
        expect_gradient_everywhere(model, cvae_loss(model, xb, yb), "negative ELBO")
        model3 = build(cls, "`CVAE(latent_dim=3)`", latent_dim=3)
        check_gaussian_encoder(model3, xb, 3, "CVAE(latent_dim=3).encode(x, y)", yb)
        expect_parameter_count(model, CVAE_PARAMETERS, "CVAE",
                               "784 + 10 → 400 → 2 + 2 (mu and logvar), 2 + 10 → 400 → 784")
        if is_affine(lambda v: model.encode(v, yb)[0], xb):
            raise Problem("the encoder is affine in x: mu(2x) - mu(0) = 2 (mu(x) - mu(0))",
                          ["It looks like the ReLU after the encoder's hidden layer is missing."],
                          tried=tried)
        z_wide = 3 * torch.randn(8, 2, generator=torch.Generator().manual_seed(0))
        if is_affine(lambda v: torch.logit(model.decode(v, yb), eps=1e-7), z_wide):
            raise Problem("the decoder's logits are affine in z",
                          ["It looks like the ReLU after the decoder's hidden layer is missing."],
                          tried="codes z = 3 * N(0, I) of shape (8, 2)")
        check_sampling(model, 2, xb, yb)
        loss = train_briefly(model, cvae_loss, labelled=True)
        expect_logvar_free(model, x, y)
        sentence = band_sentence(loss, CVAE_REFERENCE_LOSS, CVAE_OBSERVED, CVAE_LIMIT)
        if not loss < CVAE_LIMIT:
            raise Problem(sentence, ["Your CVAE trains, but worse than the layout asks for: "
                                     "compare each layer with the docstring."])
        return ("Shapes, pixels in [0, 1], the label one-hot in both the encoder and the decoder, "
                f"a reparameterized sample with the right spread; and {sentence}.")


ex2 = CVAEExercise(
    2,
    "the CVAE module",
    reference=CVAE,
    hidden=hidden_module_cases,
    points=3,
    hints=[
        "notebook 05's VAE with the label appended twice: the encoder's first Linear layer takes "
        "784 + n_classes inputs, the decoder's first Linear layer latent_dim + n_classes.",
        "encode: h = condition(x.reshape(len(x), 784), y) (B, 794), then mu, logvar = "
        "self.encoder(h).chunk(2, dim=1). decode: h = condition(z, y) (B, latent_dim + 10).",
        "forward(x, y): mu, logvar = self.encode(x, y); z = mu + torch.exp(0.5 * logvar) * "
        "torch.randn_like(mu); return self.decode(z, y), mu, logvar.",
    ],
    solution='''class CVAE(nn.Module):
    def __init__(self, latent_dim=2, hidden=400, n_classes=10):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(
            nn.Linear(784 + n_classes, hidden),         # (B, 794) -> (B, 400)
            nn.ReLU(),
            nn.Linear(hidden, 2 * latent_dim),          # (B, 400) -> (B, 4)
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim + n_classes, hidden),  # (B, 12) -> (B, 400)
            nn.ReLU(),
            nn.Linear(hidden, 784),                     # (B, 400) -> (B, 784) logits
        )

    def encode(self, x, y):
        h = condition(x.reshape(len(x), 784), y)        # (B, 784) -> (B, 794)
        mu, logvar = self.encoder(h).chunk(2, dim=1)    # (B, 2) each
        return mu, logvar

    def decode(self, z, y):
        h = condition(z, y)                             # (B, 2) -> (B, 12)
        return torch.sigmoid(self.decoder(h)).reshape(len(z), 1, 28, 28)

    def forward(self, x, y):
        mu, logvar = self.encode(x, y)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # reparameterized sample
        return self.decode(z, y), mu, logvar
''',
)


class StyleModel(nn.Module):
    """The small conditional model exercise 3's cases hand to ``transfer_style``: exercise 2's
    interface, ``encode(x, y) -> (mu, logvar)`` and ``decode(z, y)``, but not its layout (so not its
    answer): the label picks a vector that is added to each hidden layer's input (nn.Embedding),
    which is what a Linear layer does with an appended one-hot label."""

    def __init__(self, latent_dim=2, hidden=32, n_classes=10):
        super().__init__()
        self.enc_x, self.enc_y = nn.Linear(784, hidden), nn.Embedding(n_classes, hidden)
        self.enc_out = nn.Linear(hidden, 2 * latent_dim)
        self.dec_z, self.dec_y = nn.Linear(latent_dim, hidden), nn.Embedding(n_classes, hidden)
        self.dec_out = nn.Linear(hidden, 784)

    def encode(self, x, y):
        h = torch.relu(self.enc_x(x.reshape(len(x), 784)) + self.enc_y(y))  # (B, hidden)
        mu, logvar = self.enc_out(h).chunk(2, dim=1)                         # (B, latent_dim) each
        return mu, logvar

    def decode(self, z, y):
        h = torch.relu(self.dec_z(z) + self.dec_y(y))                        # (B, hidden)
        return torch.sigmoid(self.dec_out(h)).reshape(len(z), 1, 28, 28)


def _model(seed=0, latent_dim=2, hidden=32):
    """A small untrained StyleModel in eval mode, its weights drawn from a generator seeded with
    ``seed`` (PyTorch's default ranges for the Linear layers, N(0, 1) for the label vectors),
    leaving the global random state alone."""
    with torch.device("meta"):  # no initial draw from the global generator
        model = StyleModel(latent_dim=latent_dim, hidden=hidden)
    model = model.to_empty(device="cpu")
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, nn.Linear):
                bound = layer.in_features ** -0.5
                layer.weight.uniform_(-bound, bound, generator=g)
                layer.bias.uniform_(-bound, bound, generator=g)
            elif isinstance(layer, nn.Embedding):
                layer.weight.normal_(generator=g)
    return model.eval()


@torch.no_grad()
def _transfer_style(model, x, y):
    """Reference: z = posterior mean with the true label, decoded with labels 0..9."""
    mu, _ = model.encode(x, y)                             # (1, L)
    labels = torch.arange(10)                              # (10,)
    return model.decode(mu.expand(10, -1), labels)         # (10, 1, 28, 28)


def _wrong_label(model, x, y):
    with torch.no_grad():
        mu, _ = model.encode(x, torch.zeros_like(y))
        return model.decode(mu.expand(10, -1), torch.arange(10))


def _sampled(model, x, y):
    with torch.no_grad():
        mu, logvar = model.encode(x, y)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return model.decode(z.expand(10, -1), torch.arange(10))


def _hidden_ex3(seed):
    """The grader's cases for ``seed``: like exercise 3's two cases, each a random CVAE (its latent
    size and width drawn too) and a random image, with two different labels."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randperm(10, generator=g)[:2].tolist()  # two labels: at least one is not 0
    cases = []
    for label in labels:
        model_seed, image_seed = torch.randint(0, 2**62, (2,), generator=g).tolist()
        latent_dim = int(torch.randint(2, 5, (), generator=g))
        hidden = int(torch.randint(16, 49, (), generator=g))
        cases.append(Case(f"hidden case: a random conditional model (latent_dim={latent_dim}, "
                          f"{hidden} hidden units), an image labelled {label}",
                          _model(model_seed, latent_dim, hidden), _rand(image_seed, 1, 1, 28, 28),
                          torch.tensor([label])))
    return cases


ex3 = FunctionExercise(
    3,
    "style transfer",
    reference=_transfer_style,
    hidden=_hidden_ex3,
    cases=[
        Case(f"a random conditional model, an image labelled {label}", _model(),
             _rand(10 + label, 1, 1, 28, 28), torch.tensor([label]))
        for label in (3, 7)
    ],
    seed=0,
    check_dtype=True,
    mistakes=[
        Mistake("It looks like you encoded with a label other than the image's own: the encoder "
                "must see the true label y, so that z keeps only the style.",
                like=_wrong_label),
        Mistake("It looks like you sampled z: use the posterior mean mu, so that the ten images "
                "share exactly the same style.",
                like=_sampled),
        Mistake("Decode with all ten labels, torch.arange(10), and the same z repeated ten times; "
                "the result should have shape (10, 1, 28, 28).",
                when=lambda got, expected: isinstance(got, torch.Tensor)
                and got.shape != expected.shape),
    ],
    hints=[
        "Two steps: mu, logvar = model.encode(x, y); then model.decode(z, labels).",
        "Repeat the code for the ten labels: z = mu.expand(10, -1) (10, L), labels = "
        "torch.arange(10) (10,).",
        "return model.decode(mu.expand(10, -1), torch.arange(10)), under torch.no_grad().",
    ],
    solution="@torch.no_grad()\n"
             "def transfer_style(model, x, y):\n"
             "    mu, _ = model.encode(x, y)                              # (1, L): the style\n"
             "    return model.decode(mu.expand(10, -1), torch.arange(10))  # (10, 1, 28, 28)\n",
    points=1,
)
