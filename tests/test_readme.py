"""The README is the course's front door: short, and what it shows is what the course prints.

Its example is notebook 04's check on a training loop that forgets ``optimizer.zero_grad()``; the
test runs that check and requires the README's text block to be its output, word for word, so the
front page cannot drift from the course.
"""

import contextlib
import io
import re
from pathlib import Path

import torch
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def reconstruction_loss(x_hat, x):
    return F.binary_cross_entropy(x_hat, x, reduction="none").reshape(len(x), -1).sum(1)


def train_epoch_without_zero_grad(model, optimizer, x, batch_size):
    """A learner's exercise 3 of notebook 04 with one line missing: ``optimizer.zero_grad()``."""
    model.train()
    total = 0.0
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]
        x_hat, _ = model(xb)
        loss = reconstruction_loss(x_hat, xb).mean()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
    return total / len(x)


def check_output() -> str:
    """What ``ex3.check`` prints for that loop (it trains it briefly on 200 MNIST images)."""
    from vae_course.checks.nb04 import ex3

    out = io.StringIO()
    with contextlib.redirect_stdout(out), torch.random.fork_rng():
        ex3.check(train_epoch_without_zero_grad)
    return out.getvalue().rstrip()


def test_the_readme_shows_what_the_check_prints_for_a_forgotten_zero_grad():
    shown = re.search(r"```text\n(.*?)\n```", README, re.S)
    assert shown, "the README shows a check's output in a ```text block"
    printed = check_output()
    assert "zero_grad() is missing" in printed
    assert shown.group(1) == printed, "refresh the README's example: tests/test_readme.py check_output()"


def test_the_readme_is_a_front_door_not_a_manual():
    lines = README.count("\n")
    assert lines <= 170, f"the README has {lines} lines; move details to a page under docs/ and link it"


def test_the_readme_links_the_pages_it_moved_out():
    for page in ("docs/instructors.md", "docs/benchmark.md", "CONTRIBUTING.md"):
        assert f"]({page})" in README and (ROOT / page).is_file(), page
