"""Fast mode and full mode: how much data and how many epochs a notebook may spend.

Learners run the full course (the default). Tests and CI run a *fast mode* that shrinks epochs
and data so that every notebook executes in seconds. Notebooks never read environment variables
themselves; they ask this module::

    B = budget()
    epochs = B.pick(full=10, fast=1)

``VAE_COURSE_FAST=1`` turns fast mode on, ``VAE_COURSE_FAST=0`` forces full mode, and when the
variable is unset fast mode is on exactly when ``CI`` is set (as it is on CI services).
"""

import os
from dataclasses import dataclass

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Budget:
    """The run budget. ``fast`` is True in fast mode."""

    fast: bool

    @property
    def mode(self) -> str:
        """``"fast"`` or ``"full"``, e.g. to tell checkpoints of the two modes apart."""
        return "fast" if self.fast else "full"

    def pick(self, full, fast):
        """Return ``fast`` in fast mode and ``full`` otherwise."""
        return fast if self.fast else full


def budget() -> Budget:
    """Read the budget from the environment (each call reads it afresh)."""
    value = os.environ.get("VAE_COURSE_FAST")
    if value is None:
        return Budget(fast=bool(os.environ.get("CI")))
    value = value.strip().lower()
    if value in _TRUE:
        return Budget(fast=True)
    if value in _FALSE:
        return Budget(fast=False)
    raise ValueError(f"VAE_COURSE_FAST={value!r} is not understood: use 1 (fast mode) or 0 (full mode).")
