"""An exercise in JupyterLab as a learner meets it: notebook 04 with exercises 1 and 2 solved and a
training loop that forgets ``optimizer.zero_grad()`` in exercise 3; Run All, and the check under it
names the mistake. The screenshot of those two cells is the README's picture (`make screenshots`)."""

import json
import re
from pathlib import Path

import pytest
from notebook_ui import open_notebook, run_all

ROOT = Path(__file__).resolve().parents[2]
NAME = "04_autoencoder_forgot_zero_grad.ipynb"


def grade_id(cell: dict) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def solved(source: str) -> str:
    """A solution cell as a learner would have written it: the solution markers dropped."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


@pytest.fixture
def learners_notebook(demo_root) -> str:
    """The student notebook 04 up to exercise 3's check: exercises 1 and 2 pasted from solutions/,
    exercise 3 the solution without its ``optimizer.zero_grad()`` line."""
    student = json.loads((ROOT / "notebooks" / "04_autoencoder.ipynb").read_text(encoding="utf-8"))
    solution = {grade_id(c): "".join(c["source"]) for c in json.loads(
        (ROOT / "solutions" / "04_autoencoder.ipynb").read_text(encoding="utf-8"))["cells"]}
    cells = []
    for cell in student["cells"]:
        gid = grade_id(cell)
        if gid in ("ex1", "ex2"):
            cell["source"] = solved(solution[gid])
        elif gid == "ex3":
            cell["source"] = "\n".join(line for line in solved(solution[gid]).splitlines()
                                       if not line.strip().startswith("optimizer.zero_grad()"))
            assert cell["source"].count("optimizer.zero_grad()") == 1  # left in the docstring only
        cells.append(cell)
        if gid == "ex3-check":
            break
    student["cells"] = cells
    (demo_root / NAME).write_text(json.dumps(student), encoding="utf-8")
    return NAME


def test_the_check_names_a_forgotten_zero_grad_in_jupyterlab(lab_page, lab, learners_notebook, screenshots):
    page = lab_page
    page.set_viewport_size({"width": 1280, "height": 1300})
    open_notebook(page, lab, learners_notebook)
    run_all(page)
    verdict = page.locator(".jp-OutputArea-output", has_text="zero_grad() is missing")
    verdict.wait_for(timeout=180_000)
    text = verdict.inner_text().strip()
    assert text.startswith("✘ Exercise 3 (the training loop): not right yet."), text
    assert re.search(r"Call optimizer\.zero_grad\(\) before loss\.backward\(\)", text), text
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text == re.search(r"```text\n(.*?)\n```", readme, re.S).group(1), \
        "the README's text of this check differs from what JupyterLab shows"
    # the learner's loop and the check under it, in one picture
    check = page.locator(".jp-CodeCell", has_text="ex3.check(train_epoch)")
    loop = page.locator(".jp-CodeCell", has_text="# Exercise 3: the training loop")
    loop.evaluate("cell => cell.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    top, bottom = loop.bounding_box(), check.bounding_box()
    page.screenshot(path=screenshots / "check_names_the_mistake.png",
                    clip={"x": top["x"], "y": top["y"], "width": max(top["width"], bottom["width"]),
                          "height": bottom["y"] + bottom["height"] - top["y"]})
