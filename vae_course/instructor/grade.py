"""Grade submitted notebooks headless, each in a sandbox, and write a CSV of per-exercise results.

    python -m vae_course.instructor.grade SUBMISSIONS_DIR --out grades.csv [--jobs 2]
        [--release notebooks] [--timeout 600] [--notebook-timeout 1800] [--full]
        [--sandbox auto|require|off]

Every ``*.ipynb`` under ``SUBMISSIONS_DIR`` is one submission; the student is its path relative to
that folder without ``.ipynb`` (``alice.ipynb`` -> ``alice``, ``alice/05_vae.ipynb`` ->
``alice/05_vae``). Which course notebook it is comes from its file name (``NN_name.ipynb`` ->
``nbNN``), else from the checks it imports (``from vae_course.checks.nbNN import ...``).

**The grader, not the submission, decides the result.** As nbgrader does, it first restores the
released locked cells (the setup cell and every check cell, matched by their nbgrader ``grade_id``,
put back where a submission deleted them) from ``--release`` (the student notebooks). Each check
cell then runs the grader's own check (``vae_course.instructor.in_kernel.graded_check``): it reloads
the checks from disk, refuses the course's own reference handed in as an answer, and logs its
result with a secret drawn for this run. Only those lines count; a student's own ``exN.check``
calls, a fake ``Exercise``, a patched ``compare`` or lines written to the log are ignored.

**Each submission runs sandboxed** when Debian's ``bubblewrap`` (``bwrap``) is installed: a
read-only root, a private ``/tmp`` holding only its own working folder, the submissions folder
hidden, no network, a PID namespace (nothing it starts survives its run) and an environment of a
few variables, none of the grader's. Without bwrap (``--sandbox auto`` says so on every run;
``--sandbox require`` refuses to grade), a submission still gets a clean environment and its own
folder, but it can read and write what the grader's user can, and leave processes behind.

**Limits:** ``--timeout`` seconds per cell, ``--notebook-timeout`` per notebook (counted from its
first cell; past either the kernel is killed and the remaining exercises are ``not run``), and a
hard stop of the whole worker a minute after that. One broken or hostile submission affects only its
own rows, ``not run`` with a message saying why. ``--jobs N`` grades N submissions at a time.

**What it cannot prevent:** code in the submission runs before the checks in the same kernel, so a
determined student who studies the grader can still hook it (read the secret from the next cell's
source, patch ``importlib`` or torch itself), or call the reference inside a function of their own;
read the code of any surprising result. The sandbox confines the damage to that student's own rows.

The CSV has one row per student and exercise of that notebook: ``student, notebook, exercise,
title, status, points, max_points, message``; status ``passed``, ``failed``, ``not attempted`` or
``not run`` (the check never ran). With ``--jobs N`` each kernel gets the machine's cores divided
by N as torch threads (``OMP_NUM_THREADS``): oversubscribed threads made ``--jobs 2`` slower than
``--jobs 1`` on two cores. Cells a spreadsheet would read as a formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) are written with a leading ``'`` (OWASP's advice
against CSV injection). Fast mode is on unless ``--full``; each submission has its own empty model
cache; datasets come from ``VAE_COURSE_DATA`` (read-only in the sandbox).
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import nbformat

NOT_RUN = "not run"
STATUSES = ("passed", "failed", "not attempted")
COLUMNS = ["student", "notebook", "exercise", "title", "status", "points", "max_points", "message"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula
CHECK = re.compile(r"^ex(?P<number>\d+)\.check\((?P<answer>[A-Za-z_][A-Za-z_0-9]*)\)")
EXERCISE = re.compile(r"^\s*#\s*Exercise\s+(?P<number>\d+)\s*:")
KEPT_ENV = ("LANG", "LC_ALL", "TZ")  # the only variables of the grader's a submission sees
HARD_STOP_MARGIN = 60  # seconds past --notebook-timeout before the worker itself is killed


# ------------------------------------------------------------------------ finding what to grade


def find_submissions(folder: Path) -> list[Path]:
    """Every notebook under ``folder``, skipping Jupyter's checkpoints and hidden folders."""
    return sorted(p for p in Path(folder).rglob("*.ipynb")
                  if not any(part.startswith(".") for part in p.relative_to(folder).parts))


def unreadable_because(nb: nbformat.NotebookNode) -> str | None:
    """Why ``nb`` (as nbformat read it) cannot be graded, or None: every cell needs a source."""
    for index, cell in enumerate(nb.cells):
        if not isinstance(cell, dict) or not isinstance(cell.get("source"), str):
            return f"cell {index + 1} has no source"
    return None


def notebook_id(path: Path, nb: nbformat.NotebookNode) -> str | None:
    """``nbNN`` from the file name ``NN_*.ipynb``, else from the checks module the code imports."""
    if m := re.match(r"(\d\d)_", Path(path).name):
        return f"nb{m[1]}"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    m = re.search(r"vae_course\.checks\.(nb\d\d)\b|from\s+vae_course\.checks\s+import\s+(nb\d\d)",
                  code)
    return (m[1] or m[2]) if m else None


def exercises_for(notebook: str) -> list:
    """The exercises of ``vae_course/checks/<notebook>.py`` (empty when there is no such module)."""
    import importlib

    from vae_course.checks.core import exercises_in  # torch: only in the grader's main process
    try:
        module = importlib.import_module(f"vae_course.checks.{notebook}")
    except ModuleNotFoundError:
        return []
    return exercises_in(module)


def released_notebook(release: Path, notebook: str) -> Path | None:
    """The student notebook ``NN_*.ipynb`` of ``notebook`` (``nbNN``) in ``release``, if any."""
    found = sorted(Path(release).glob(f"{notebook[2:]}_*.ipynb"))
    return found[0] if found else None


# ------------------------------------------------------- what runs: restored cells, graded checks


def _grade_id(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def graded_cell_source(notebook: str, number: int, answer: str, secret: str, log: str) -> str:
    """The code the grader runs in place of the check cell of exercise ``number``."""
    return ("import importlib as _vc_importlib\n"
            "_vc_importlib.reload(_vc_importlib.import_module('vae_course.instructor.in_kernel'))"
            f".graded_check({notebook!r}, {number}, {answer!r}, {secret!r}, {log!r})")


def prepare(submission: nbformat.NotebookNode, release: nbformat.NotebookNode, notebook: str,
            secret: str, log: str) -> tuple[nbformat.NotebookNode, list[int], list[str]]:
    """What the grader runs: the submission with the released locked cells restored (or put back)
    and each check cell replaced by the grader's check. Returns the notebook, the exercise numbers
    it checks, and what was restored (for the message)."""
    nb = copy.deepcopy(submission)
    for cell in nb.cells:  # its outputs are not the grader's business
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    locked = [(i, c) for i, c in enumerate(release.cells)
              if c.metadata.get("nbgrader", {}).get("locked") and _grade_id(c)]
    notes, numbers = [], []
    for release_index, released in locked:
        grade_id = _grade_id(released)
        at = next((i for i, c in enumerate(nb.cells) if _grade_id(c) == grade_id), None)
        check = CHECK.match(released.source)
        if at is None and check:  # matched by its source when the metadata was lost
            at = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                       and not _grade_id(c) and CHECK.match(c.source)
                       and CHECK.match(c.source)["number"] == check["number"]), None)
        if at is None:
            at = _where_to_put_back(nb, release, release_index, check)
            nb.cells.insert(at, copy.deepcopy(released))
            notes.append(f"the locked cell {grade_id} was missing and was put back")
        elif nb.cells[at].source != released.source:
            notes.append(f"the locked cell {grade_id} was edited and was restored")
        cell = nb.cells[at]
        cell.cell_type, cell.source = "code", released.source
        cell.metadata = copy.deepcopy(released.metadata)
        cell.outputs, cell.execution_count = [], None
        if check:
            number = int(check["number"])
            cell.source = graded_cell_source(notebook, number, check["answer"], secret, log)
            numbers.append(number)
    return nb, numbers, notes


def _where_to_put_back(nb, release, release_index, check) -> int:
    """Where a missing locked cell goes: the setup cell first, a check cell after its exercise."""
    if check is None:
        return 0
    exercise = f"ex{check['number']}"
    for i, cell in enumerate(nb.cells):
        if _grade_id(cell) == exercise or (
                cell.cell_type == "code" and (m := EXERCISE.match(cell.source))
                and m["number"] == check["number"]):
            return i + 1
    return len(nb.cells)


def read_results(log_text: str, secret: str, notebook: str, numbers: list[int]) -> dict[int, dict]:
    """``{exercise: {"status", "message"}}`` from the log lines the grader's checks wrote (the last
    one of each exercise); every other line is ignored, malformed or not."""
    results = {}
    for line in log_text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not (isinstance(entry, dict) and entry.get("secret") == secret
                and entry.get("notebook") == notebook and entry.get("exercise") in numbers
                and entry.get("status") in STATUSES and isinstance(entry.get("message"), str)):
            continue
        results[entry["exercise"]] = {"status": entry["status"], "message": entry["message"]}
    return results


# ------------------------------------------------------------------------ running one notebook


def bwrap_path() -> str | None:
    """The bubblewrap binary, when it is installed and works here (it needs user namespaces)."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net",
                            "true"], capture_output=True, timeout=30)
    return path if probe.returncode == 0 else None


def kernel_env(work: Path, fast: bool, threads: int = 1) -> dict[str, str]:
    """The whole environment of a submission's kernel: none of the grader's secrets, and
    ``threads`` CPU threads for torch (kernels side by side must not share a core's worth each)."""
    env = {k: os.environ[k] for k in KEPT_ENV if k in os.environ}
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    env.update(PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
               HOME=str(work), TMPDIR=str(work / "tmp"), IPYTHONDIR=str(work / ".ipython"),
               MPLCONFIGDIR=str(work / ".matplotlib"), MPLBACKEND="Agg",
               VAE_COURSE_FAST="1" if fast else "0", VAE_COURSE_CACHE=str(work / "cache"),
               PYTHONDONTWRITEBYTECODE="1")
    if "VAE_COURSE_DATA" in os.environ:
        env["VAE_COURSE_DATA"] = os.path.abspath(os.environ["VAE_COURSE_DATA"])
    return env


def sandbox_argv(bwrap: str, work: Path, env: dict[str, str], hide: list[Path]) -> list[str]:
    """bwrap's arguments: read-only root, private /tmp with ``work`` in it, ``hide`` emptied, no
    network, own PID namespace, only ``env``."""
    argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    needed = {Path(sys.prefix), Path(sys.base_prefix), Path(__file__).resolve().parents[2]}
    if "VAE_COURSE_DATA" in env:
        needed.add(Path(env["VAE_COURSE_DATA"]))
    for path in sorted(needed):  # what lives under /tmp must be bound again after the tmpfs
        if path.exists():
            argv += ["--ro-bind", str(path), str(path)]
    for path in hide:
        if path.exists():
            argv += ["--tmpfs", str(path)]
    argv += ["--bind", str(work), str(work), "--chdir", str(work), "--unshare-pid",
             "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
             "--new-session", "--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    return argv


@dataclass
class Job:
    """One submission for a worker: the prepared notebook and how to run it."""

    notebook: str  # path of the prepared notebook, inside ``work``
    work: str
    timeout: int
    notebook_timeout: int
    fast: bool
    bwrap: str | None
    hide: list[str]
    threads: int = 1


def run_job(job: Job) -> dict:
    """Execute the prepared notebook (in a worker process); return ``{"error": why or None}``."""
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient

    work = Path(job.work)
    (work / "tmp").mkdir(exist_ok=True)
    env = kernel_env(work, job.fast, job.threads)
    launch = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    if job.bwrap:
        launch = sandbox_argv(job.bwrap, work, env, [Path(p) for p in job.hide]) + ["--"] + launch
    specs = work / ".kernels"
    (specs / "graded").mkdir(parents=True, exist_ok=True)
    (specs / "graded" / "kernel.json").write_text(json.dumps(
        {"argv": launch, "display_name": "graded submission", "language": "python"}))
    km = AsyncKernelManager(kernel_name="graded", kernel_spec_manager=KernelSpecManager(
        kernel_dirs=[str(specs)]), connection_file=str(work / "kernel.json"),
        transport="ipc", ip=str(work / "ipc"))  # unix sockets: they cross --unshare-net
    nb = nbformat.read(job.notebook, as_version=4)
    client = NotebookClient(nb, km=km, timeout=job.timeout, allow_errors=True,
                            interrupt_on_timeout=False, shutdown_kernel="immediate",
                            resources={"metadata": {"path": job.work}})
    error = None
    try:
        with client.setup_kernel(env=env):  # leaving it shuts the kernel (and its sandbox) down
            deadline = time.monotonic() + job.notebook_timeout
            for index, cell in enumerate(nb.cells):
                left = math.ceil(deadline - time.monotonic())
                client.timeout = max(1, min(job.timeout, left))
                try:
                    client.execute_cell(cell, index,
                                        execution_count=client.code_cells_executed + 1)
                except Exception as e:
                    if "timed out" not in str(e).lower() and type(e).__name__ != "CellTimeoutError":
                        raise
                    limit = ("--timeout" if client.timeout == job.timeout
                             else "--notebook-timeout")
                    error = (f"cell {index + 1} ran past its time limit of {client.timeout} s "
                             f"({limit}); the run was stopped there")
                    break
                if time.monotonic() >= deadline:
                    error = (f"the notebook ran past its time limit of {job.notebook_timeout} s "
                             f"(--notebook-timeout) in cell {index + 1}; it was stopped there")
                    break
    except Exception as e:  # the kernel died or did not start: keep what was logged
        error = f"the run stopped: {type(e).__name__}: {e}"
    finally:
        if km.has_kernel:  # a kernel that ignored the shutdown request: killed
            run_sync(km.shutdown_kernel)(now=True)
    if error is None:
        for index, cell in enumerate(nb.cells):  # cells counted from 1, as a reader counts
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if errors:
                error = f"cell {index + 1} raised {errors[0]['ename']}: {errors[0]['evalue']}"
                break
    return {"error": error}


def run_in_worker(job: Job) -> dict:
    """``run_job`` in a child process of its own, killed (with its kernel and sandbox) when it
    outlives the notebook's limit by a minute."""
    limit = job.notebook_timeout + HARD_STOP_MARGIN
    proc = subprocess.Popen([sys.executable, "-m", "vae_course.instructor.grade", "--worker"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(json.dumps(asdict(job)), timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"error": f"the grader's worker ran past {limit} s and was killed"}
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"the grader's worker failed: {one_line(err)[-500:]}"}


# ----------------------------------------------------------------------------- rows and the CSV


def one_line(message: str) -> str:
    """A multi-line feedback message as one CSV-friendly line."""
    return " | ".join(line.strip() for line in message.splitlines() if line.strip())


def not_run_row(student: str, message: str = "") -> dict:
    """A CSV row for a submission (or an exercise of it) whose checks did not run."""
    return {"student": student, "notebook": "", "exercise": "", "title": "", "status": NOT_RUN,
            "points": 0, "max_points": "", "message": message}


@dataclass
class Settings:
    """How to grade: see ``main``'s options."""

    release: Path = Path("notebooks")
    timeout: int = 600
    notebook_timeout: int = 1800
    fast: bool = True
    bwrap: str | None = None
    hide: tuple[str, ...] = ()
    threads: int | None = None  # per kernel; None: the CPU's cores shared among the jobs


def grade_submission(path: Path, student: str, settings: Settings) -> list[dict]:
    """The CSV rows (dicts with ``COLUMNS``) of one submitted notebook."""
    row = not_run_row(student)
    try:
        nb = nbformat.read(path, as_version=4)
        problem = unreadable_because(nb)
    except Exception as e:
        problem = f"{type(e).__name__}: {e}"
    if problem:
        return [dict(row, message=f"could not read the notebook: not a readable notebook "
                                  f"({problem})")]
    notebook = notebook_id(path, nb)
    if notebook is None:
        return [dict(row, message="could not tell which course notebook this is: name the file "
                                  "NN_name.ipynb or keep its `from vae_course.checks.nbNN` import")]
    exercises = {ex.number: ex for ex in exercises_for(notebook)}
    release_path = released_notebook(settings.release, notebook)
    if not exercises or release_path is None:
        return [dict(row, notebook=notebook, message=f"no exercises or no released notebook "
                                                     f"for {notebook} in {settings.release}")]
    rows = [dict(row, notebook=notebook, exercise=n, title=ex.title, max_points=ex.points)
            for n, ex in sorted(exercises.items())]
    secret = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="vae_course_grade_") as work:
        log = Path(work) / "grade_log.jsonl"
        release = nbformat.read(release_path, as_version=4)
        graded, numbers, notes = prepare(nb, release, notebook, secret, str(log))
        name = Path(work) / Path(path).name
        nbformat.write(graded, name)
        outcome = run_in_worker(Job(str(name), work, settings.timeout, settings.notebook_timeout,
                                    settings.fast, settings.bwrap, list(settings.hide),
                                    settings.threads or 1))
        text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    results = read_results(text, secret, notebook, numbers)
    why = "; ".join([*([outcome["error"]] if outcome.get("error") else []), *notes])
    for r in rows:
        if r["exercise"] in results:
            result = results[r["exercise"]]
            r.update(status=result["status"], message=one_line(result["message"]),
                     points=r["max_points"] if result["status"] == "passed" else 0)
            if notes:
                r["message"] += f" ({'; '.join(notes)})"
        else:
            r["message"] = "the check did not run" + (f" ({why})" if why else "")
    return rows


def grade_folder(folder: Path, settings: Settings, jobs: int = 1) -> list[dict]:
    """The CSV rows of every submission under ``folder``, ``jobs`` at a time, in file order;
    prints one summary line per submission as it finishes."""
    paths = find_submissions(folder)
    if settings.threads is None:  # two kernels with two threads each on two cores: 5-10x slower
        settings = replace(settings, threads=max(1, (os.cpu_count() or 1) // max(1, jobs)))

    def grade_one(path: Path) -> list[dict]:
        student = path.relative_to(folder).with_suffix("").as_posix()
        try:
            mine = grade_submission(path, student, settings)
        except Exception as e:  # a bug of the grader's own costs this student only, and says so
            mine = [not_run_row(student, f"the grader failed on this submission: "
                                         f"{type(e).__name__}: {e}")]
        passed = sum(r["status"] == "passed" for r in mine if r["exercise"] != "")
        total = sum(r["exercise"] != "" for r in mine)
        print(f"{student} ({mine[0]['notebook'] or '?'}): {passed}/{total} passed", flush=True)
        return mine

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return [row for rows in pool.map(grade_one, paths) for row in rows]


def spreadsheet_safe(value: object) -> object:
    """``value``, with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(rows: list[dict], out: Path) -> None:
    """Write ``rows`` with ``COLUMNS``, every cell made spreadsheet-safe, atomically."""
    tmp = Path(out).with_name(f".{Path(out).name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: spreadsheet_safe(row.get(k, "")) for k in COLUMNS} for row in rows)
    tmp.replace(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_course.instructor.grade",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR", nargs="?")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"), help="the CSV to write")
    parser.add_argument("--release", type=Path, default=Path("notebooks"),
                        help="the released student notebooks, whose locked cells are restored")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at a time")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    parser.add_argument("--notebook-timeout", type=int, default=1800,
                        help="seconds allowed per notebook, counted from its first cell")
    parser.add_argument("--full", action="store_true",
                        help="run in full mode (VAE_COURSE_FAST=0) instead of fast mode")
    parser.add_argument("--sandbox", choices=["auto", "require", "off"], default="auto",
                        help="bubblewrap: use it when installed (auto), refuse without (require)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:  # internal: one Job as JSON on stdin, its outcome as JSON on stdout
        print(json.dumps(run_job(Job(**json.loads(sys.stdin.read())))))
        return 0
    if args.submissions is None or not find_submissions(args.submissions):
        print(f"error: no .ipynb files under {args.submissions}", file=sys.stderr)
        return 2
    bwrap = bwrap_path() if args.sandbox != "off" else None
    if bwrap is None and args.sandbox == "require":
        print("error: --sandbox require, but bubblewrap (bwrap) is not installed or does not work "
              "here (Debian: apt-get install bubblewrap)", file=sys.stderr)
        return 2
    if bwrap is None:
        print("warning: submissions run WITHOUT a sandbox: "
              + ("--sandbox off" if args.sandbox == "off" else "bubblewrap (bwrap) is not "
                 "installed or does not work here (Debian: apt-get install bubblewrap)")
              + ". They get a clean environment and a folder of their own, but can read and "
              "write what you can, use the network and leave processes behind.", file=sys.stderr)
    settings = Settings(args.release.resolve(), args.timeout, args.notebook_timeout,
                        not args.full, bwrap, (str(args.submissions.resolve()),))
    started = time.monotonic()
    rows = grade_folder(args.submissions, settings, args.jobs)
    write_csv(rows, args.out)
    took = time.monotonic() - started
    count = len(find_submissions(args.submissions))
    print(f"wrote {args.out} ({len(rows)} rows): {count} notebooks in {took:.0f} s with "
          f"--jobs {args.jobs}, {60 * count / took:.1f} notebooks per minute")
    return 0


if __name__ == "__main__":
    sys.exit(main())
