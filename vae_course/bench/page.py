"""The benchmark page (``docs/benchmark.md``) shows the last run of ``make bench``, not a copy of it.

A run with ``--page docs/benchmark.md`` saves what it measured in the record beside the page
(``docs/benchmark.json``) and rewrites the page's generated blocks from that record:

- ``main``: parts 1 to 4 (``make bench``): the machine, the date, the table and the lines of details;
- ``course``: every solution notebook's run time, fast mode and full mode from a cold model cache
  (``make bench-course``).

Each block sits between ``<!-- make bench: NAME -->`` and ``<!-- /make bench: NAME -->``; the prose
around it is written by hand and quotes no number of a block. ``tests/test_bench.py`` renders the
record again and requires the page to show exactly that, so an edit by hand, or a record without its
page, fails the tests.
"""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

NAMES = ("main", "course", "literature")


def begin(name: str) -> str:
    return f"<!-- make bench: {name} -->"


def end(name: str) -> str:
    return f"<!-- /make bench: {name} -->"


def today() -> str:
    day = datetime.date.today()
    return f"{day.day} {day:%B %Y}"


def render_main(run: dict) -> str:
    """The table of parts 1 to 4 and the details under it."""
    details = "\n".join(f"- {line}" for line in run["details"])
    parts = run.get("parts", [1, 2, 3, 4])
    which = "" if parts == [1, 2, 3, 4] else f" (parts {', '.join(map(str, parts))} only)"
    return (f"The last run of `make bench`{which}, on {run['machine']}, {run['date']}:\n\n"
            f"{run['table']}\n\n"
            f"Details the run printed under the table:\n\n{details}")


def render_course(run: dict) -> str:
    """Seconds per notebook, a row per mode, and the whole course."""
    names = list(next(iter(run["modes"].values()))["per_notebook"])
    short = [n.split("_", 1)[0] for n in names]
    lines = ["| mode | " + " | ".join(short) + " | all |", "|---|" + "---|" * (len(names) + 1)]
    for mode, result in run["modes"].items():
        seconds = [result["per_notebook"][n] for n in names]
        lines.append(f"| {mode} | " + " | ".join(f"{s:.0f}" for s in seconds)
                     + f" | {sum(seconds):.0f} |")
        if result["failed"]:
            lines.append(f"| ({mode}: failed) | " + ", ".join(result["failed"]) + " |")
    return (f"The last run of `make bench-course`, on {run['machine']}, {run['date']}: each solution "
            "notebook executed with `jupyter nbconvert --execute`, in course order, in a fresh kernel, "
            "all of them sharing one model cache that starts empty (so a notebook trains what the "
            "notebooks before it did not), in seconds:\n\n" + "\n".join(lines))


def render_literature(run: dict) -> str:
    """Part 3 under Burda et al.'s protocol (``make bench-full``): see :mod:`.literature`."""
    from .literature import render  # imported here: literature imports this module
    return render(run)


def render_literature_short(run: dict) -> str:
    from .literature import render_short
    return render_short(run)


RENDER = {"main": render_main, "course": render_course, "literature": render_literature}
SHORT = {"literature": render_literature_short}
"""What a companion page (the README) shows of a block, where it differs from the full page's."""


def block(page: str, name: str) -> str | None:
    """The text of block ``name`` on ``page`` (without its markers), or None."""
    found = re.search(re.escape(begin(name)) + r"\n(.*?)\n" + re.escape(end(name)), page, re.S)
    return found.group(1) if found else None


def with_block(page: str, name: str, text: str) -> str:
    """``page`` with block ``name`` replaced by ``text``; a ValueError if its markers are missing."""
    if block(page, name) is None:
        raise ValueError(f"the page has no block {begin(name)} ... {end(name)}")
    pattern = re.escape(begin(name)) + r"\n.*?\n" + re.escape(end(name))
    return re.sub(pattern, lambda _: f"{begin(name)}\n{text}\n{end(name)}", page, flags=re.S)


def record_path(page: Path) -> Path:
    return page.with_suffix(".json")


def load(page: Path) -> dict:
    """The page's record: ``{name: run}``."""
    return json.loads(record_path(page).read_text(encoding="utf-8"))


def companions(page: Path) -> list[Path]:
    """The other pages that show blocks of ``page``'s record: the README beside ``docs/``."""
    readme = page.resolve().parent.parent / "README.md"
    return [readme] if readme.is_file() and begin("literature") in readme.read_text(encoding="utf-8") else []


def save(page: Path, runs: dict[str, dict]) -> None:
    """Merge ``runs`` (``{"main": ..., "course": ...}``, either or both) into the page's record and
    rewrite the page's blocks from it. Both files are written whole and then renamed into place."""
    path = record_path(page)
    record = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    record.update(runs)
    text = page.read_text(encoding="utf-8")
    for name, run in record.items():
        text = with_block(text, name, RENDER[name](run))
    others = []
    for other in companions(page):
        other_text = other.read_text(encoding="utf-8")
        for name, run in record.items():
            if block(other_text, name) is not None:
                other_text = with_block(other_text, name, SHORT.get(name, RENDER[name])(run))
        others.append((other, other_text))
    for target, content in ((path, json.dumps(record, indent=1, ensure_ascii=False) + "\n"),
                            (page, text), *others):
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_text(content, encoding="utf-8")
        temporary.replace(target)


def stale_blocks(page: Path) -> list[str]:
    """The blocks of ``page`` that differ from what its record renders (missing ones included)."""
    record = load(page)
    text = page.read_text(encoding="utf-8")
    stale = [name for name in NAMES if name not in record
             or block(text, name) != RENDER[name](record[name])]
    for other in companions(page):
        other_text = other.read_text(encoding="utf-8")
        stale += [f"{other.name}: {name}" for name in NAMES if block(other_text, name) is not None
                  and (name not in record
                       or block(other_text, name) != SHORT.get(name, RENDER[name])(record[name]))]
    return stale
