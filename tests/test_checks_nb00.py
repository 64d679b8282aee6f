"""Notebook 00's exercise: scaling raw uint8 images to [0, 1]."""

import numpy as np
import pytest
import torch

from vae_course.checks.core import FAILED, NOT_ATTEMPTED
from vae_course.checks.nb00 import ex1
from vae_course.instructor.student import strip_solutions

EXERCISE_CELL = '''# Exercise 1: scale raw images to [0, 1]
def to_unit_interval(images_uint8):
    """(N, 28, 28) or (N, 1, 28, 28) uint8 in 0..255 -> float32 in [0, 1], same shape."""
    ### BEGIN SOLUTION
    return images_uint8.float() / 255
    ### END SOLUTION
'''


def define(source):
    namespace = {}
    exec(source, namespace)
    return namespace["to_unit_interval"]


def test_the_reference_solution_passes(capsys):
    assert ex1.check(define(EXERCISE_CELL))
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("answer", [
    lambda x: x / 255,  # true division of a uint8 tensor gives float32 already
    lambda x: x.to(torch.float32).div(255.0),
    lambda x: torch.from_numpy(x.numpy().astype(np.float32) / np.float32(255)),
    lambda x: x.float() * (1 / 255),  # one rounding step away from / 255 in about half the values
])
def test_other_right_answers_pass(answer):
    assert ex1.check(answer)


def test_the_untouched_student_placeholder_is_not_attempted(capsys):
    student_cell = strip_solutions(EXERCISE_CELL)
    assert "raise NotImplementedError" in student_cell
    result = ex1.check(define(student_cell))
    assert result.status == NOT_ATTEMPTED
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize("answer, named", [
    (lambda x: x // 255, "integer division"),
    (lambda x: x.float() // 255, "integer division"),
    (lambda x: x.float() / 256, "divided by 256"),
    (lambda x: torch.from_numpy(x.numpy() / 255), "float64"),
    (lambda x: x.double() / 255, "float64"),
    (lambda x: x.float().reshape(len(x), -1) / 255, "reshaped"),
    (lambda x: x.float(), "did not divide by 255"),
    (lambda x: x.float() / x.max(), "largest value in the batch"),
    (lambda x: x.numpy() / 255, "numpy array"),
])
def test_each_plausible_mistake_fails_with_a_message_naming_it(answer, named):
    result = ex1.check(answer)
    assert result.status == FAILED
    assert named in result.message
    assert result.message.count("It looks like") + result.message.count("Your ") == 1


def test_dividing_by_256_shows_the_numbers_a_learner_can_compare():
    message = ex1.check(lambda x: x.float() / 256).message
    assert "every pixel 255" in message and "yours is 0.9961, expected 1" in message


def test_a_crash_shows_the_exception_and_the_input():
    message = ex1.check(lambda x: x.div_(255)).message  # in place on a uint8 tensor
    assert "raised RuntimeError" in message and "uint8 tensor of shape" in message


def test_the_cases_cover_the_edges_and_both_shapes():
    inputs = [case.args[0] for case in ex1.cases]
    assert all(x.dtype == torch.uint8 for x in inputs)
    assert any((x == 0).all() for x in inputs) and any((x == 255).all() for x in inputs)
    assert {x.dim() for x in inputs} == {3, 4}


def test_the_exercise_matches_the_notebook_cell():
    assert (ex1.number, ex1.title) == (1, "scale raw images to [0, 1]")
    assert len(ex1.hints) >= 2


def test_multiplying_by_one_over_255_passes_though_its_floats_differ_from_dividing():
    every_value = torch.arange(256, dtype=torch.uint8).reshape(1, 16, 16)
    divided, multiplied = every_value.float() / 255, every_value.float() * (1 / 255)
    assert not torch.equal(divided, multiplied)  # notebook 00 compares with a tolerance for this reason
    assert torch.allclose(divided, multiplied, rtol=0, atol=1e-6)
    assert ex1.check(lambda x: x.float() * (1 / 255))
