"""Checkers for notebook 00 (setup and data).

Exercise 1, "scale raw images to [0, 1]": ``to_unit_interval(images_uint8)`` turns uint8 images
(values 0..255, shape (N, 28, 28) or (N, 1, 28, 28)) into float32 images in [0, 1], same shape.
"""

import numpy as np
import torch

from vae_course.checks.core import Case, FunctionExercise, Mistake


def _to_unit_interval(images_uint8: torch.Tensor) -> torch.Tensor:
    """Reference: (N, [1,] 28, 28) uint8 in 0..255 -> float32 in [0, 1], same shape."""
    return images_uint8.float() / 255


def _random_images(*shape: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)


def _hidden_cases(seed: int) -> list[Case]:
    """The grader's cases for ``seed``: the five kinds of the public cases, with batch sizes, the
    order of the 256 values and the random pixels all drawn from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    n = torch.randint(1, 6, (4,), generator=g).tolist()  # four batch sizes, 1..5
    image_seeds = torch.randint(0, 2**62, (2,), generator=g).tolist()
    every_value = (torch.randperm(784, generator=g) % 256).to(torch.uint8).reshape(1, 28, 28)
    return [
        Case(f"hidden case: {n[0]} all-black images (every pixel 0)",
             torch.zeros(n[0], 28, 28, dtype=torch.uint8)),
        Case(f"hidden case: {n[1]} all-white images with a channel dimension (every pixel 255)",
             torch.full((n[1], 1, 28, 28), 255, dtype=torch.uint8)),
        Case("hidden case: one image holding every value 0..255, shuffled", every_value),
        Case(f"hidden case: {n[2]} random images", _random_images(n[2], 28, 28, seed=image_seeds[0])),
        Case(f"hidden case: {n[3]} random images with a channel dimension",
             _random_images(n[3], 1, 28, 28, seed=image_seeds[1])),
    ]


def _is_tensor_with(dtype: torch.dtype):
    return lambda got, expected: isinstance(got, torch.Tensor) and got.dtype == dtype


ex1 = FunctionExercise(
    1,
    "scale raw images to [0, 1]",
    reference=_to_unit_interval,
    cases=[
        Case("all-black images (every pixel 0)", torch.zeros(2, 28, 28, dtype=torch.uint8)),
        Case("all-white images (every pixel 255)", torch.full((2, 28, 28), 255, dtype=torch.uint8)),
        Case("one image holding every value 0..255",
             (torch.arange(784) % 256).to(torch.uint8).reshape(1, 28, 28)),
        Case("random images", _random_images(4, 28, 28, seed=0)),
        Case("random images with a channel dimension", _random_images(3, 1, 28, 28, seed=1)),
    ],
    hidden=_hidden_cases,
    mistakes=[
        Mistake("It looks like you used integer division (//): it rounds down, so every pixel "
                "becomes 0 or 1. Use / on a float tensor.",
                like=lambda x: (x // 255).float()),
        Mistake("It looks like you divided by 256: the brightest value is 255, and it must become "
                "exactly 1 (255 / 256 = 0.996).",
                like=lambda x: x.float() / 256),
        Mistake("It looks like you converted to float but did not divide by 255: the values must "
                "end up between 0 and 1.",
                like=lambda x: x.float()),
        Mistake("It looks like you divided by the largest value in the batch: divide by 255, the "
                "largest possible value (an all-black batch would give 0 / 0 = nan).",
                like=lambda x: x.float() / x.max()),
        Mistake("Your result is float64 (numpy's default float, or .double()): the models in this "
                "course expect float32, which .float() gives.",
                when=_is_tensor_with(torch.float64)),
        Mistake("Your function returns a numpy array: return a torch tensor, e.g. stay in torch "
                "with images_uint8.float() / 255.",
                when=lambda got, expected: isinstance(got, np.ndarray)),
        Mistake("It looks like you reshaped the images (flattened them?): return the shape you "
                "were given; flattening happens later, inside the model.",
                when=lambda got, expected: isinstance(got, torch.Tensor)
                and got.shape != expected.shape and got.numel() == expected.numel()),
    ],
    hints=[
        "A uint8 pixel goes from 0 (black) to 255 (white). Which number do you divide by so that "
        "255 becomes exactly 1?",
        "Use true division, /, which gives float32 even for a uint8 tensor (.float() first says so "
        "openly); integer division, //, would round every pixel down to 0 or 1.",
        "One line, two steps: .float(), then / 255. Keep the shape as it is (no .view, no "
        ".flatten).",
    ],
    solution="def to_unit_interval(images_uint8):\n    return images_uint8.float() / 255\n",
)
