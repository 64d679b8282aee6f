"""Notebook 04's exercises: the autoencoder module, the reconstruction loss, the training loop and
the linear interpolation."""

import re

import pytest
import solved_cells
import torch
from torch import nn
from torch.nn import functional as F

from vae_course.checks import nb04
from vae_course.checks.core import FAILED, NOT_ATTEMPTED, PASSED
from vae_course.checks.nb04 import ex1, ex2, ex3, ex4, ex5
from vae_course.instructor.student import strip_solutions

LOSS = '''import torch
from torch.nn import functional as F
# Exercise 2: the reconstruction loss in nats per image
def reconstruction_loss(x_hat, x):
    ### BEGIN SOLUTION
    bce = F.binary_cross_entropy(x_hat, x, reduction="none")  # (B, 1, 28, 28)
    return bce.reshape(len(x), -1).sum(dim=1)                  # (B,)
    ### END SOLUTION
'''

INTERPOLATION = '''import torch
# Exercise 4: linear interpolation between two codes
def interpolate(z0, z1, steps):
    ### BEGIN SOLUTION
    t = torch.linspace(0, 1, steps).unsqueeze(1)  # (steps, 1)
    return (1 - t) * z0 + t * z1                   # (steps, D)
    ### END SOLUTION
'''


def define(source, name, **names):
    namespace = {"torch": torch, "nn": nn, "F": F, **names}
    exec(source, namespace)
    return namespace[name]


def exercise_cell(number):
    return solved_cells.exercise_cell('04_autoencoder.ipynb', number)


def test_reference_reconstruction_loss_passes():
    assert ex2.check(define(LOSS, "reconstruction_loss"))


def test_untouched_reconstruction_loss_is_not_attempted():
    assert ex2.check(define(strip_solutions(LOSS), "reconstruction_loss")).status == NOT_ATTEMPTED


@pytest.mark.parametrize("answer, named", [
    (lambda x_hat, x: F.binary_cross_entropy(x_hat, x), "averaged over the pixels"),
    (lambda x_hat, x: F.binary_cross_entropy(x_hat, x, reduction="sum"), "summed over the whole batch"),
    (lambda x_hat, x: F.binary_cross_entropy(x_hat, x, reduction="none").reshape(len(x), -1).mean(1),
     "averaged over the pixels of each image"),
    (lambda x_hat, x: ((x_hat - x) ** 2).reshape(len(x), -1).sum(1), "squared error"),
    (lambda x_hat, x: -F.binary_cross_entropy(x_hat, x, reduction="none").reshape(len(x), -1).sum(1),
     "sign is flipped"),
])
def test_reconstruction_loss_mistakes_are_named(answer, named):
    result = ex2.check(answer)
    assert result.status == FAILED and named in result.message


def test_reference_interpolation_passes():
    assert ex4.check(define(INTERPOLATION, "interpolate"))
    assert ex4.check(lambda z0, z1, steps: torch.stack([torch.lerp(z0, z1, w)
                                                        for w in torch.linspace(0, 1, steps)]))


def test_untouched_interpolation_is_not_attempted():
    assert ex4.check(define(strip_solutions(INTERPOLATION), "interpolate")).status == NOT_ATTEMPTED


@pytest.mark.parametrize("answer, named", [
    (lambda z0, z1, s: z0 + (torch.arange(s) / s).unsqueeze(1) * (z1 - z0), "last point is missing"),
    (lambda z0, z1, s: (1 - torch.linspace(1, 0, s)[:, None]) * z0
     + torch.linspace(1, 0, s)[:, None] * z1, "backwards"),
    (lambda z0, z1, s: ((1 - torch.linspace(0, 1, s)[:, None]) * z0
                        + torch.linspace(0, 1, s)[:, None] * z1).T, "transposed"),
])
def test_interpolation_mistakes_are_named(answer, named):
    result = ex4.check(answer)
    assert result.status == FAILED and named in result.message


# ----------------------------------------------------------------- exercise 1: the autoencoder

AUTOENCODER = exercise_cell(1)
Autoencoder = define(AUTOENCODER, "Autoencoder")


def test_the_solved_autoencoder_passes_and_trains_into_the_band():
    result = ex1.check(Autoencoder)
    assert result.status == PASSED
    # the reference itself, from the same seed: the measured loss (up to float differences)
    assert abs(solved_cells.reached(result.message) - nb04.AE_REFERENCE_LOSS) < 1.0


def test_the_untouched_autoencoder_is_not_attempted():
    untouched = strip_solutions(AUTOENCODER)
    assert untouched.count("raise NotImplementedError()") == 4  # __init__, encode, decode, forward
    result = ex1.check(define(untouched, "Autoencoder"))
    assert result.status == NOT_ATTEMPTED and "`__init__` still raises" in result.message


def test_an_autoencoder_with_forward_still_unwritten_is_not_attempted_and_names_it():
    class HalfDone(Autoencoder):
        def forward(self, x):
            # YOUR CODE HERE
            raise NotImplementedError()

    result = ex1.check(HalfDone)
    assert result.status == NOT_ATTEMPTED and "`forward` still raises" in result.message


class NoReLU(Autoencoder):
    def __init__(self, latent_dim=2, hidden=400):
        super().__init__(latent_dim, hidden)
        self.encoder = nn.Sequential(nn.Linear(784, hidden), nn.Linear(hidden, latent_dim))


class DecoderWithoutReLU(Autoencoder):
    def __init__(self, latent_dim=2, hidden=400):
        super().__init__(latent_dim, hidden)
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.Linear(hidden, 784))


class NoSigmoid(Autoencoder):
    def decode(self, z):
        return self.decoder(z).reshape(len(z), 1, 28, 28)


class ReLUBeforeSigmoid(Autoencoder):
    def decode(self, z):
        return torch.sigmoid(F.relu(self.decoder(z))).reshape(len(z), 1, 28, 28)


class NotFlattened(Autoencoder):
    def encode(self, x):
        return self.encoder(x)


class FlatOutput(Autoencoder):
    def decode(self, z):
        return torch.sigmoid(self.decoder(z))


class FixedCode(Autoencoder):
    def __init__(self, latent_dim=2, hidden=400):
        super().__init__(2, hidden)


class UnusedLayer(Autoencoder):
    def __init__(self, latent_dim=2, hidden=400):
        super().__init__(latent_dim, hidden)
        self.extra = nn.Linear(latent_dim, latent_dim)  # created, never used


class DetachedCode(Autoencoder):
    def forward(self, x):
        z = self.encode(x)
        return self.decode(z.detach()), z


class WideHidden(Autoencoder):
    def __init__(self, latent_dim=2, hidden=400):
        super().__init__(latent_dim, 512)


@pytest.mark.parametrize("answer, named", [
    (NoReLU, "ReLU after the encoder's hidden layer is missing"),
    (DecoderWithoutReLU, "ReLU after the decoder's hidden layer is missing"),
    (NoSigmoid, "sigmoid at the end of the decoder is missing"),
    (ReLUBeforeSigmoid, "a ReLU sits right before the sigmoid"),
    (NotFlattened, "flatten them first"),
    (FlatOutput, "Reshape the decoder's (B, 784) output"),
    (FixedCode, "Use the latent_dim argument"),
    (UnusedLayer, "no gradient reaches extra.weight, extra.bias"),
    (DetachedCode, "no gradient reaches encoder.0.weight"),
    (WideHidden, "the layout 784 → 400 → 2 → 400 → 784"),
])
def test_autoencoder_mistakes_are_named(answer, named):
    result = ex1.check(answer)
    assert result.status == FAILED and named in result.message, result.message


def test_a_model_that_trains_short_of_the_band_fails_with_the_numbers(monkeypatch):
    monkeypatch.setattr(nb04, "AE_LIMIT", 150.0)  # below what the reference reaches
    result = ex1.check(define(AUTOENCODER, "Autoencoder"))
    assert result.status == FAILED
    assert "less than 150" in result.message and solved_cells.reached(result.message) > 150


def test_the_check_wants_the_class_not_an_instance():
    result = ex1.check(Autoencoder())
    assert result.status == FAILED and "expects your class itself" in result.message


def test_check_then_yours_or_reference_trains_once_and_keeps_the_notebook_s_random_state():
    cls = define(AUTOENCODER, "Autoencoder")
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ex1.check(cls)
    assert torch.equal(torch.rand(3), expected)  # the check drew its numbers from a forked state
    assert ex1.yours_or_reference(cls) is cls     # from the result just found: no second training
    assert ex1.yours_or_reference(define(strip_solutions(AUTOENCODER), "Autoencoder")) \
        is ex1.reference


# ---------------------------------------------------------------- exercise 3: the training loop

reconstruction_loss = define(LOSS, "reconstruction_loss")
LOOP = exercise_cell(3)
train_epoch = define(LOOP, "train_epoch", reconstruction_loss=reconstruction_loss)


def test_the_solved_training_loop_passes():
    result = ex3.check(train_epoch)
    assert result.status == PASSED
    final = float(re.search(r"reach a loss of (\d+\.\d) nats", result.message)[1])
    assert abs(final - nb04.LOOP_REFERENCE_LOSS) < 1.0


def test_the_untouched_training_loop_is_not_attempted():
    untouched = strip_solutions(LOOP)
    assert "raise NotImplementedError()" in untouched
    assert ex3.check(define(untouched, "train_epoch")).status == NOT_ATTEMPTED


def loop(*, zero_grad=True, step=True, reduce="mean", returns="mean", as_tensor=False):
    """The training loop with one mistake: the variants a learner plausibly writes."""
    def train_epoch(model, optimizer, x, batch_size):
        total, means = 0.0, []
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size]
            x_hat, _ = model(xb)
            if reduce == "pixels":
                loss = F.binary_cross_entropy(x_hat, xb)
            else:
                per_image = reconstruction_loss(x_hat, xb)
                loss = per_image.sum() if reduce == "sum" else per_image.mean()
            if zero_grad:
                optimizer.zero_grad()
            loss.backward()
            if step:
                optimizer.step()
            total = total + (loss if as_tensor else loss.item()) * len(xb)
            means.append(loss.item())
        return {"mean": lambda: total / len(x), "last": lambda: means[-1],
                "unweighted": lambda: sum(means) / len(means)}[returns]()
    return train_epoch


@pytest.mark.parametrize("answer, named", [
    (loop(zero_grad=False), "optimizer.zero_grad() is missing"),
    (loop(reduce="sum"), "summed over the batch instead of averaged"),
    (loop(reduce="pixels"), "averaged over the pixels too"),
    (loop(step=False), "optimizer.step() is never called"),
    (loop(returns="last"), "returned the last batch's loss"),
    (loop(returns="unweighted"), "without weighting them by their size"),
    (loop(as_tensor=True), "Accumulate loss.item()"),
])
def test_training_loop_mistakes_are_named(answer, named):
    result = ex3.check(answer)
    assert result.status == FAILED and named in result.message, result.message


def test_a_shuffling_loop_is_told_to_go_in_order():
    def shuffled(model, optimizer, x, batch_size):
        return train_epoch(model, optimizer, x[torch.randperm(len(x))], batch_size)

    result = ex3.check(shuffled)
    assert result.status == FAILED and "Go through x in order" in result.message


def test_a_loop_that_trains_short_of_the_band_fails(monkeypatch):
    monkeypatch.setattr(nb04, "LOOP_LIMIT", 150.0)
    result = ex3.check(define(LOOP, "train_epoch", reconstruction_loss=reconstruction_loss))
    assert result.status == FAILED and "less than 150" in result.message


# ------------------------------------------------------- exercise 5: a better autoencoder (stretch)

BETTER = exercise_cell(5)
BetterAutoencoder = define(BETTER, "BetterAutoencoder")


def test_the_solved_better_autoencoder_passes_and_clears_the_bar():
    result = ex5.check(BetterAutoencoder)
    assert result.status == PASSED, result.message
    assert abs(solved_cells.reached(result.message) - nb04.BETTER_REFERENCE_LOSS) < 1.0
    assert solved_cells.reached(result.message) <= ex5.bar_nats


def test_the_untouched_better_autoencoder_is_not_attempted():
    untouched = strip_solutions(BETTER)
    assert untouched.count("raise NotImplementedError()") == 4  # __init__, encode, decode, forward
    result = ex5.check(define(untouched, "BetterAutoencoder"))
    assert result.status == NOT_ATTEMPTED and "`__init__` still raises" in result.message


def test_the_exercise_1_layout_misses_the_bar_with_the_measured_number():
    class Plain(Autoencoder):
        def __init__(self, latent_dim=2):
            super().__init__(latent_dim)

    result = ex5.check(Plain)
    assert result.status == FAILED
    assert solved_cells.reached(result.message) > ex5.bar_nats
    assert abs(solved_cells.reached(result.message) - nb04.AE_REFERENCE_LOSS) < 1.0  # 159.4 measured
    assert "Loss above the bar: 159.4 > 155" in result.message
    assert "about what exercise 1's layout reaches" in result.message


class TooBig(BetterAutoencoder):
    def __init__(self, latent_dim=2):
        super().__init__(latent_dim)
        self.encoder[0], self.encoder[2] = nn.Linear(784, 1024), nn.Linear(1024, 256)


class FixedLatent(BetterAutoencoder):
    def __init__(self, latent_dim=2):
        super().__init__(3)  # ignores latent_dim


class FixedLatentTwo(BetterAutoencoder):
    def __init__(self, latent_dim=2):
        super().__init__(2)


class UnusedBranch(BetterAutoencoder):
    def __init__(self, latent_dim=2):
        super().__init__(latent_dim)
        self.skip = nn.Linear(784, 784)  # created, never used


class FlatBetterOutput(BetterAutoencoder):
    def decode(self, z):
        return torch.sigmoid(self.decoder(z))


@pytest.mark.parametrize("answer, named", [
    (TooBig, "Too many parameters"),
    (TooBig, "1 601 298 parameters, more than the 1 260 772 allowed"),
    (FixedLatent, "z, the second value forward returns has shape (8, 3), expected (8, 2)"),
    (FixedLatentTwo, "Use the latent_dim argument"),
    (UnusedBranch, "no gradient reaches skip.weight, skip.bias"),
    (FlatBetterOutput, "reshape (B, 784) to (B, 1, 28, 28)"),
])
def test_better_autoencoder_mistakes_are_named(answer, named):
    result = ex5.check(answer)
    assert result.status == FAILED and named in result.message, result.message


def test_a_design_too_slow_for_the_check_is_named(monkeypatch):
    monkeypatch.setattr(ex5, "max_slowdown", 0.01)  # below what any model manages
    result = ex5.check(define(BETTER, "BetterAutoencoder"))
    assert result.status == FAILED and "too slow" in result.message, result.message


def test_the_bar_lies_between_the_exercise_1_model_and_the_reference():
    assert nb04.BETTER_REFERENCE_LOSS < ex5.bar_nats < nb04.AE_OBSERVED[0]
    assert ex5.max_parameters == 2 * ex5.ex1_parameters == 1_260_772
