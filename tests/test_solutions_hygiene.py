"""What a learner sees in the saved solutions: no warnings or errors, no stale numbers, no dead links.

Pure reads of ``solutions/*.ipynb`` (nothing is executed), so these run in a second.

* A saved output with a warning or an error under it is a bug (``../shared/STYLE.md``), unless the
  markdown cell right above the code cell says ``expected warning`` (the lesson is the warning).
* Result numbers (nats, %, seconds, "12x", ...) are rendered from the variables that hold them
  (``display(Markdown(f"..."))``, an output), never typed into markdown, where they go stale as soon
  as the code, the mode (fast or full) or the machine changes. LaTeX math, inline code and the
  ``**Run time:**`` header line (an expectation stated before running) are not scanned.
* Every "notebook NN" points at a notebook that exists.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = sorted(SOLUTIONS.glob("*.ipynb"))
EXPECTED_WARNING_MARKER = "expected warning"  # in the markdown cell right above, any case


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else (value or "")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _ids(paths):
    return [p.name for p in paths]


# ---------------------------------------------------------------------------------------------------
# 1. Saved outputs: no warning or error a learner would see.

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_STDERR_PROBLEM = re.compile(r"Warning|Error|Traceback")
_ANY_OUTPUT_PROBLEM = re.compile(r"Warning:")


def _first_line_matching(text: str, pattern: re.Pattern) -> str:
    for line in _ANSI.sub("", text).splitlines():
        if pattern.search(line):
            return line.strip()[:160]
    return _ANSI.sub("", text).strip().splitlines()[0][:160] if text.strip() else ""


def output_problems(cells: list[dict]) -> list[tuple[int, str]]:
    """(cell index, first offending line) for every warning or error shown in a saved output."""
    problems = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        above = cells[i - 1] if i > 0 else None
        if (above is not None and above["cell_type"] == "markdown"
                and EXPECTED_WARNING_MARKER in _text(above["source"]).lower()):
            continue
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error":
                line = _ANSI.sub("", f"{out.get('ename', '')}: {out.get('evalue', '')}").splitlines()
                problems.append((i, f"error output: {line[0][:160] if line else ''}"))
            elif kind == "stream":
                text = _text(out.get("text"))
                if out.get("name") == "stderr" and _STDERR_PROBLEM.search(_ANSI.sub("", text)):
                    problems.append((i, f"stderr: {_first_line_matching(text, _STDERR_PROBLEM)}"))
                elif _ANY_OUTPUT_PROBLEM.search(_ANSI.sub("", text)):
                    line = _first_line_matching(text, _ANY_OUTPUT_PROBLEM)
                    problems.append((i, f"{out.get('name')}: {line}"))
            else:
                text = _text(out.get("data", {}).get("text/plain"))
                if _ANY_OUTPUT_PROBLEM.search(_ANSI.sub("", text)):
                    problems.append((i, f"{kind}: {_first_line_matching(text, _ANY_OUTPUT_PROBLEM)}"))
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_saved_solution_output_shows_the_learner_a_warning_or_an_error(path):
    problems = output_problems(_cells(path))
    assert not problems, (
        f"{path.name}: {len(problems)} output(s) show a warning or an error "
        f"(fix the cause and re-run the notebook; if the warning is the lesson, write "
        f"'{EXPECTED_WARNING_MARKER}' in the markdown cell right above):\n"
        + "\n".join(f"  cell {i}: {line}" for i, line in problems)
    )


def test_a_warning_or_an_error_in_an_output_is_found_and_the_marker_exempts_it():
    def code(*outputs):
        return {"cell_type": "code", "source": "x = 1", "outputs": list(outputs)}

    stderr_warning = {"output_type": "stream", "name": "stderr",
                      "text": ["100%|####| 3/3\n", "/x/y.py:5: UserWarning: Detected pickle protocol 4\n"]}
    cells = [
        code({"output_type": "stream", "name": "stderr", "text": "100%|##########| 10/10 [00:01<00:00]\n"}),
        code(stderr_warning),
        code({"output_type": "error", "ename": "ValueError", "evalue": "bad shape", "traceback": []}),
        code({"output_type": "execute_result", "data": {"text/plain": "DeprecationWarning: old"}}),
        code({"output_type": "stream", "name": "stdout", "text": "loss 105.1\n"}),
        {"cell_type": "markdown", "source": "The next cell shows an **expected warning**: read it."},
        code(stderr_warning),
    ]
    assert output_problems(cells) == [
        (1, "stderr: /x/y.py:5: UserWarning: Detected pickle protocol 4"),
        (2, "error output: ValueError: bad shape"),
        (3, "execute_result: DeprecationWarning: old"),
    ]


# ---------------------------------------------------------------------------------------------------
# 2. Markdown: no hand-typed result numbers.

_NUMBER = (r"(?<![\w.,\u2009\u202f\u00a0])"
           r"(?:\d{1,3}(?:[\u2009\u202f\u00a0 ]\d{3})+(?![\d.,])|\d+(?:[.,]\d+)*|\.\d+)")
_UNIT = "|".join([
    r"\s*nats?\b",
    r"\s*(?:%|percent\b|per cent\b)",
    r"\s*(?:ms|sec|seconds?|min|minutes?|hours?)\b",
    r"\s+s\b",                  # "67 s"; a bare "s" needs the space: "the 1s and 0s" are digits
    r"\s?×(?!\s*\d)",           # "2.3×", but not "28×28" (a shape)
    r"x(?![\w-])",              # "12x", but not "0x1F", "2x2" or "2x-wide"
    r"\s*SE\b",
    r"\s*times\b",
    r"\s*dB\b",
])
RESULT_NUMBER = re.compile(rf"{_NUMBER}(?:{_UNIT})")

# Spans that are not prose, blanked out (same length, newlines kept) before scanning.
_NOT_PROSE = re.compile("|".join([
    r"^[ \t]*(```|~~~).*?^[ \t]*\1",                # fenced code
    r"(`+)(?:(?!\2).)+?\2",                          # inline code
    r"\$\$.+?\$\$",                                  # display math
    r"(?<![\\$])\$(?!\$)(?:\\.|[^$\\\n]|\n(?![ \t]*\n))+?\$",  # inline math (no blank line inside)
    r"\\\[.+?\\\]|\\\(.+?\\\)",                       # \[...\], \(...\)
    r"\\begin\{(\w+\*?)\}.*?\\end\{\3\}",             # LaTeX environments
    r"^\*\*Run time:\*\*.*?(?=\n[ \t]*\n|\Z)",        # the header paragraph: an expectation
    r"<[^>\n]+>",                                    # HTML tags and their attributes
    r"\]\([^)\s]*\)",                                # link targets
]), re.M | re.S)


def _blank(match: re.Match) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def result_numbers(markdown: str) -> list[str]:
    """The result-like numbers in a markdown source, each with some context, newlines flattened."""
    prose = _NOT_PROSE.sub(_blank, markdown)
    found = []
    for m in RESULT_NUMBER.finditer(prose):
        start, end = max(0, m.start() - 40), min(len(markdown), m.end() + 25)
        snippet = " ".join(markdown[start:end].split())
        found.append(f"{m.group(0).strip()!r} in «…{snippet}…»")
    return found


@pytest.mark.parametrize(("text", "flagged"), [
    ("the decoder costs 543.4 nats per image", True),
    ("about 150 nats / image in full mode", True),
    ("KL of 1 nat", True),
    ("the classifier recognises ≈ 41 % of them", True),
    ("23 % of cells", True),
    ("98 % of the codes", True),          # a chosen parameter, but typed: render it or rephrase
    ("inside the 99.9% interval", True),
    ("trained in 67 s on a laptop", True),
    ("took 2 minutes", True),
    ("12x noisier", True),
    ("2.3× faster than the DataLoader", True),
    ("about 5 times too large", True),
    ("within 3.3 SE", True),
    ("a 20 dB gain", True),
    ("almost 1 000 times", True),
    ("$784 \\log 2 \\approx 543.4$ nats for a decoder that knows nothing", False),
    ("$$\\mathrm{KL} = 0.5 \\times 3\\,\\text{nats}$$", False),
    ("a loss like `105.1 nats` is printed", False),
    ("**Run time:** about 2 minutes on a 2-core laptop CPU.", False),
    ("**Run time:** about a minute,\nthen 30 s more for the\nclassifier.\n\nText.", False),
    ("the 1st to 99th percentile", False),
    ("notebook 05", False),
    ("a 2-D code", False),
    ("28×28 grey pixels", False),
    ("the 1s and the 0s of the test set", False),
    ("60 000 training images", False),
    ("shape `(N, 1, 28, 28)`", False),
    ('<img src="fig.png" width="50%">', False),
])
def test_the_result_number_detector_flags_results_and_leaves_math_code_and_names_alone(text, flagged):
    assert bool(result_numbers(text)) == flagged, result_numbers(text)


def test_text_after_the_run_time_paragraph_is_still_scanned():
    assert result_numbers("**Run time:** about 2 minutes.\n\nThe VAE reaches 105.1 nats.")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_result_number_is_hand_typed_in_markdown_where_it_would_go_stale(path):
    findings = [(i, hit) for i, cell in enumerate(_cells(path)) if cell["cell_type"] == "markdown"
                for hit in result_numbers(_text(cell["source"]))]
    assert not findings, (
        f"{path.name}: {len(findings)} result number(s) typed into markdown. Render them from the "
        'variables that hold them (display(Markdown(f"..."))) or say it without the number:\n'
        + "\n".join(f"  cell {i}: {hit}" for i, hit in findings)
    )


# ---------------------------------------------------------------------------------------------------
# 3. No pointer to a notebook that does not exist.

_NOTEBOOK_REF = re.compile(
    r"\b[Nn]otebooks?\s+(\d{1,2}(?:\s*(?:–|—|-|to|and|or)\s*\d{1,2}\b)*)(?!\d|[.,]\d)|\bnb(\d{2})\b")


def notebook_numbers_referenced(text: str) -> set[str]:
    found = set()
    for m in _NOTEBOOK_REF.finditer(text):
        found |= {n.zfill(2) for n in re.findall(r"\d{1,2}", m.group(1) or m.group(2))}
    return found


def _existing_numbers() -> set[str]:
    return {p.name[:2] for p in NOTEBOOKS if p.name[:2].isdigit()}


def test_the_notebook_reference_finder_reads_single_numbers_ranges_and_module_names():
    assert notebook_numbers_referenced("as in notebook 07, and notebooks 04–06 or notebook 2") == \
        {"07", "04", "06", "02"}
    assert notebook_numbers_referenced("from vae_course.checks.nb05 import ex1") == {"05"}
    assert notebook_numbers_referenced("Notebook 04's autoencoder, as in notebook 05.") == {"04", "05"}
    assert notebook_numbers_referenced("each notebook's 3 exercises, section 3.2, notebook 1.5") == set()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_solution_points_the_learner_at_a_notebook_that_does_not_exist(path):
    existing = _existing_numbers()
    dead = [(i, n) for i, cell in enumerate(_cells(path))
            for n in sorted(notebook_numbers_referenced(_text(cell["source"])) - existing)]
    assert not dead, (f"{path.name} points at notebooks that solutions/ does not have: "
                      + ", ".join(f"cell {i}: notebook {n}" for i, n in dead))


@pytest.mark.parametrize("doc", ["README.md", "CONTRIBUTING.md"])
def test_the_docs_point_at_no_notebook_that_does_not_exist(doc):
    dead = notebook_numbers_referenced((ROOT / doc).read_text(encoding="utf-8")) - _existing_numbers()
    assert not dead, f"{doc} points at notebooks that solutions/ does not have: {sorted(dead)}"


# ---------------------------------------------------------------------------------------------------
# 4. Anatomy: every notebook opens with its title, goals, prerequisites and run time (STYLE.md).


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_every_notebook_opens_with_its_numbered_title_and_its_run_time(path):
    first = _cells(path)[0]
    text = _text(first["source"])
    number = path.name[:2]
    assert first["cell_type"] == "markdown" and text.startswith(f"# {number} · "), (
        f"{path.name} must open with a markdown cell '# {number} · title' (the book and the learner "
        f"read the title there), not {first['cell_type']}: {text[:60]!r}")
    assert "**Run time:**" in text, f"{path.name}'s first cell does not say how long it runs"
