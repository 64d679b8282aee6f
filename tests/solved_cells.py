"""Helpers the behaviour-checker tests share: reading a solved notebook's exercise cell and the loss a
check message reports."""

import json
import re
from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def reached(message: str) -> float:
    """The loss a checked model reached in its training run, read from the check's message."""
    return float(re.search(r"reaches (\d+\.\d) nats per image", message)[1])


def exercise_cell(notebook: str, number: int) -> str:
    """The source of ``solutions/<notebook>``'s `# Exercise N:` cell."""
    cells = json.loads((SOLUTIONS / notebook).read_text(encoding="utf-8"))["cells"]
    (source,) = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"
                 and "".join(c["source"]).startswith(f"# Exercise {number}:")]
    return source
