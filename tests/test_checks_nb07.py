"""Notebook 07's exercises: log p(x) in chunks and a q(z|x) optimised per image, checked by behaviour."""

import math

import solved_cells
import torch

from vae_course import losses
from vae_course.checks import nb07
from vae_course.checks.behaviour import flat_parameters, trained_vae
from vae_course.checks.core import FAILED, NOT_ATTEMPTED
from vae_course.checks.nb07 import ex1, ex2
from vae_course.instructor.student import strip_solutions


def solved(number, name):
    namespace = {"torch": torch, "math": math, "losses": losses,
                 "Normal": torch.distributions.Normal}
    exec(solved_cells.exercise_cell("07_what_the_elbo_hides.ipynb", number), namespace)
    return namespace[name]


def untouched(number, name):
    namespace = {"torch": torch, "math": math}
    exec(strip_solutions(solved_cells.exercise_cell("07_what_the_elbo_hides.ipynb", number)),
         namespace)
    return namespace[name]


# ------------------------------------------------------------------------------------ exercise 1


def test_the_solved_chunked_estimator_passes():
    result = ex1.check(solved(1, "log_px_chunked"))
    assert result, result.message


def test_the_untouched_chunked_estimator_is_not_attempted():
    assert ex1.check(untouched(1, "log_px_chunked")).status == NOT_ATTEMPTED


def test_averaging_the_chunks_estimates_is_named():
    result = ex1.check(nb07._mean_of_chunks)
    assert result.status == FAILED and "averaged with the others" in result.message


def test_a_missing_log_k_is_named():
    result = ex1.check(lambda m, x, K, chunk: nb07._log_px_chunked(m, x, K, chunk) + math.log(K))
    assert result.status == FAILED and "log K is missing" in result.message


def test_dropping_the_last_partial_chunk_is_caught():
    def drop_remainder(model, x, K, chunk):
        total = torch.full((len(x),), -math.inf)
        for _ in range(K // chunk):
            total = torch.logaddexp(total, torch.logsumexp(nb07._log_weights(model, x, chunk), 0))
        return total - math.log(K)

    result = ex1.check(drop_remainder)
    assert result.status == FAILED and "296 codes per image" in result.message


def test_one_big_draw_is_not_chunked():
    result = ex1.check(lambda m, x, K, chunk: torch.logsumexp(nb07._log_weights(m, x, K), 0)
                       - math.log(K))
    assert result.status == FAILED and "not bounded by the chunk" in result.message


def test_exponentiating_the_weights_underflows_and_is_named():
    def naive(model, x, K, chunk):
        return torch.cat([nb07._log_weights(model, x, K).exp().mean(0).log()])

    result = ex1.check(naive)
    assert result.status == FAILED and "underflow" in result.message


# ------------------------------------------------------------------------------------ exercise 2


def test_the_solved_posterior_fit_passes_and_leaves_the_model_alone():
    before = flat_parameters(trained_vae())
    result = ex2.check(solved(2, "fit_posterior"))
    assert result, result.message
    assert torch.equal(before, flat_parameters(trained_vae()))


def test_the_untouched_posterior_fit_is_not_attempted():
    assert ex2.check(untouched(2, "fit_posterior")).status == NOT_ATTEMPTED


def test_descending_the_elbo_is_named():
    result = ex2.check(lambda model, x, steps, lr: nb07._fit_posterior(model, x, steps, lr,
                                                                        maximize=True))
    assert result.status == FAILED and "went down" in result.message


def test_a_missing_kl_is_named():
    result = ex2.check(lambda model, x, steps, lr: nb07._fit_posterior(model, x, steps, lr, kl=False))
    assert result.status == FAILED and "KL term is missing" in result.message


def test_training_the_model_too_is_caught_and_undone():
    def also_the_model(model, x, steps, lr):
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        loss = losses.vae_loss(model, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return nb07._fit_posterior(model, x, steps, lr)

    before = flat_parameters(trained_vae())
    result = ex2.check(also_the_model)
    assert result.status == FAILED and "weights changed" in result.message
    assert torch.equal(before, flat_parameters(trained_vae()))  # the shared model is restored


def test_the_encoders_own_q_does_not_pass():
    def encoder_only(model, x, steps, lr):
        with torch.no_grad():
            return model.encode(x)

    result = ex2.check(encoder_only)
    assert result.status == FAILED and "logvar came back as the encoder's" in result.message
