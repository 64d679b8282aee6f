"""Numbers measured on part of a test set use a seeded random subset, never the first n images.

MNIST's test set is not evenly shuffled: its first 5,000 images are harder for a 5-nearest-neighbour
vote than its last 5,000 and carry less ink, so ``x_test[:n]`` is a biased sample, and a number on it
is not comparable with one on the whole set (issue 23, section 2). ``vae_course.data.random_subset``
draws the same rows of images and labels by seed.

The guard reads every code cell of ``solutions/`` in order (nothing is executed): a slice
``name[:stop]`` of a test tensor fails, unless ``stop`` is a number of at most 16, the few images a
figure shows. A test tensor is a name with ``test`` or ``fashion`` in it, or a name assigned from an
expression that uses one (``codes = model.encode(x_test)`` makes ``codes`` one), in any earlier
statement of the notebook; names are not told apart by scope, so the guard errs on the side of
flagging. ``KNOWN`` lists the instances not fixed yet, by notebook: a new
one fails, and a fixed one must leave the list.
"""

import ast
import json
import re
from pathlib import Path

import pytest
import torch

from vae_course.data import random_subset

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "solutions").glob("*.ipynb"))
SHOWN = 16  # at most this many images: a picture, not a measurement
TEST_NAME = re.compile(r"test|fashion")

# Instances not fixed yet, by notebook (none now): a new one fails the test, a fixed one leaves.
KNOWN: dict[str, set[str]] = {}


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def first_n_slices(*sources: str) -> set[str]:
    """The slices ``name[:stop]`` of test tensors in ``sources`` (a notebook's code cells, in order)
    that are not a figure's few images."""
    derived: set[str] = set()  # names assigned from a test tensor so far
    found = set()

    def is_test(name: str) -> bool:
        return bool(TEST_NAME.search(name)) or name in derived

    for source in sources:
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        tree = ast.parse("\n".join(lines))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                if any(is_test(name) for name in _names(node.value)):
                    for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                        derived |= _names(target)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
                    and is_test(node.value.id)):
                continue
            part = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
            if not isinstance(part, ast.Slice) or part.lower is not None or part.upper is None:
                continue
            stop = part.upper
            if isinstance(stop, ast.Constant) and isinstance(stop.value, int) and stop.value <= SHOWN:
                continue
            found.add(ast.unparse(node))
    return found


def _slices_in(path: Path) -> set[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return first_n_slices(*("".join(c["source"]) for c in cells if c["cell_type"] == "code"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_no_measurement_on_the_first_n_test_images(path):
    found, known = _slices_in(path), KNOWN.get(path.name, set())
    new = found - known
    assert not new, (f"{path.name} measures on the first n test images: {sorted(new)}. Use the whole "
                     "set, or vae_course.data.random_subset(n, x, y) for every number compared")
    assert not known - found, f"{path.name}: fixed, so take {sorted(known - found)} out of KNOWN"


@pytest.mark.parametrize("source, flagged", [
    ("a = x_test[:1000]", {"x_test[:1000]"}),
    ("a = f(x_fashion[:N_EVAL], y)", {"x_fashion[:N_EVAL]"}),
    ("a = x_test_grey[:n, 0]", {"x_test_grey[:n, 0]"}),
    ("a = x_test[:12]", set()),                      # a figure's images
    ("a = x_test[5:10]", set()),                     # not a first-n slice
    ("a = x_train[:5000]", set()),                   # training data: not a measurement
    ("a = random_subset(2000, x_test, y_test)", set()),
    ("%time a = x_test[:500]", set()),               # a magic line is not Python
    ("codes = model.encode(x_test)\nb = codes[:3000]", {"codes[:3000]"}),  # derived from a test tensor
    ("mu, logvar = vae.encode(x_test)\nn = 9", set()),  # derived, but not sliced
    ("z = model.encode(x_train)\nb = z[:3000]", set()),  # derived from training data only
])
def test_the_guard_flags_first_n_slices_of_test_tensors_only(source, flagged):
    assert first_n_slices(source) == flagged


def test_the_guard_follows_a_test_tensor_from_one_cell_to_the_next():
    cells = ["codes = vae.encode(x_test)", "sub = f(codes)", "a = sub[:200]"]
    assert first_n_slices(*cells) == {"sub[:200]"}
    assert first_n_slices(*cells[1:]) == set()  # without the cell that ties them to the test set


def test_random_subset_draws_the_same_rows_of_each_tensor_by_seed():
    x = torch.arange(100.0).view(100, 1) * torch.ones(1, 3)
    y = torch.arange(100)
    xs, ys = random_subset(10, x, y, seed=3)
    assert torch.equal(xs[:, 0].long(), ys) and len(set(ys.tolist())) == 10
    assert torch.equal(ys, ys.sort().values)                      # in their original order
    assert torch.equal(random_subset(10, y, seed=3)[0], ys)        # a function of the seed
    assert not torch.equal(random_subset(10, y, seed=4)[0], ys)
    assert not torch.equal(ys, torch.arange(10))                  # not the first ten
    assert random_subset(500, x, y)[0] is x                       # all rows: the tensors themselves


def test_random_subset_says_what_is_wrong_with_its_input():
    with pytest.raises(ValueError, match="different numbers of rows"):
        random_subset(5, torch.zeros(10), torch.zeros(9))
    with pytest.raises(ValueError, match="whole number"):
        random_subset(0, torch.zeros(10))
    with pytest.raises(ValueError, match="at least one tensor"):
        random_subset(5)
