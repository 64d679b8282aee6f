"""Grade submitted notebooks headless, each in a sandbox, and write a CSV of per-exercise results.

    python -m vae_course.instructor.grade SUBMISSIONS_DIR --assignment 05 --out grades.csv
        [--jobs 2] [--release notebooks] [--timeout 600] [--notebook-timeout 1800] [--full]
        [--sandbox require|off] [--memory MB] [--processes N] [--disk MB] [--max-output MB]

Every regular ``*.ipynb`` file under ``SUBMISSIONS_DIR`` is one submission; the student is its path
relative to that folder without ``.ipynb`` (``alice.ipynb`` -> ``alice``). Links, FIFOs and devices
get a row saying they were not graded, and nothing of what they point to is read. ``--assignment NN``
pins the notebook being graded: a submission that is another notebook's work (by its file name or
the checks it imports) is flagged, not graded as that notebook. Without it the notebook comes from
the file name (``NN_name.ipynb``), else from the checks the code imports.

**The grader, not the submission, decides the result.** As nbgrader does, it restores the released
locked cells (the setup cell and every check cell, by their nbgrader ``grade_id``) from ``--release``.
Then, for a **function exercise**, the check cell only runs the learner's function on *hidden cases*
drawn from a seed chosen for this run (``vae_course.instructor.in_kernel.collect``) and writes what
it returned as plain numbers; the verdict, the named mistakes and the feedback are computed here, in
the grader's process, against the reference here (``wire.load``: no pickle, no link, bounded size).
Nothing the submission patches in its own process (torch, the checks, a tensor subclass, a hook, a
thread) reaches that comparison. Models and training loops are judged the same way: the kernel
returns their parameters, outputs and gradients on hidden inputs and the weights its training run
left, and the grader rebuilds the model from those weights (``vae_course.checks.rebuild``). A row
says ``judged_in: submission`` only for a verdict the grader took from what the kernel reported
(a free design of notebook 04's exercise 5 that it cannot rebuild).

**Each submission runs in a box without privilege** (``vae_course.instructor.sandbox``): a root made
of read-only system folders, the Python environment, the course package and the data, and nothing
else of the host (no repository, no ``solutions/``, no other submission, no home folder, no model
cache); as root, a user id of its own with every capability dropped; own PID, network and IPC
namespaces; limits on memory, processes, file size, disk and output. Without bubblewrap the grader
refuses to run unless told ``--sandbox off`` (then a submission can do what your user can).

**Limits:** ``--timeout`` seconds per cell, ``--notebook-timeout`` per notebook (counted from its
first cell); past either, or past ``--max-output`` MB of output, the kernel is killed and the
remaining exercises are ``not run``; a hard stop of the whole worker a minute after that. The
results are read afterwards, each read bounded in size, archive members, numbers and entries. One
broken or hostile submission affects only its own rows. ``--jobs N`` grades N submissions at a
time, each kernel with the machine's cores divided by N as torch threads.

The CSV has one row per student and exercise: ``student, notebook, exercise, title, status,
points, max_points, judged_in, message``; status ``passed``, ``failed``, ``not attempted`` or
``not run`` (the check never ran). Messages are one line of at most 2,000 characters, and cells a
spreadsheet would read as a formula are written with a leading ``'`` (OWASP's advice against CSV
injection). Fast mode is on unless ``--full``; each submission has its own empty model cache.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import fcntl
import json
import math
import os
import pwd
import queue
import re
import secrets
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import nbformat

from vae_course.instructor import sandbox
from vae_course.instructor.sandbox import Limits

NOT_RUN = "not run"
STATUSES = ("passed", "failed", "not attempted")
COLUMNS = ["student", "notebook", "exercise", "title", "status", "points", "max_points",
           "judged_in", "message"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula
CHECK = re.compile(r"^ex(?P<number>\d+)\.check\((?P<answer>[A-Za-z_][A-Za-z_0-9]*)\)")
EXERCISE = re.compile(r"^\s*#\s*Exercise\s+(?P<number>\d+)\s*:")
KEPT_ENV = ("LANG", "LC_ALL", "TZ")  # the only variables of the grader's a submission sees
HARD_STOP_MARGIN = 60  # seconds past --notebook-timeout before the worker itself is killed
MAX_NOTEBOOK_BYTES = 32 * 2**20  # a submission larger than this is not read
MAX_MESSAGE = 2000  # characters of a CSV message
UID_BASE = 990_000  # as root, slot k's kernel runs as user id UID_BASE + k (no account has them)


# ------------------------------------------------------------------------ finding what to grade


def find_submissions(folder: Path) -> list[Path]:
    """Every ``*.ipynb`` entry under ``folder`` (links and other non-files too: they get a row),
    skipping hidden folders such as Jupyter's checkpoints; folder links are not followed."""
    found = []
    for root, dirs, files in os.walk(folder):  # followlinks=False
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root) / f for f in files if f.endswith(".ipynb") and not f.startswith(".")]
    return sorted(found)


def read_submission(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path``: a regular file (no link followed, no FIFO opened for reading)
    of at most ``MAX_NOTEBOOK_BYTES``. Raises ValueError with a message that quotes nothing of it."""
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        kind = "a link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
        raise ValueError(f"not graded: it is {kind}; hand in the notebook file itself")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        raise ValueError("could not read the notebook: the file cannot be opened") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ValueError("not graded: it is not a regular file")
        data = f.read(MAX_NOTEBOOK_BYTES + 1)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"could not read the notebook: it is larger than "
                         f"{MAX_NOTEBOOK_BYTES // 2**20} MB")
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as e:  # nbformat's messages quote the file: say only what kind of error
        raise ValueError(f"could not read the notebook: not a readable notebook "
                         f"({type(e).__name__})") from None
    if problem := unreadable_because(nb):
        raise ValueError(f"could not read the notebook: not a readable notebook ({problem})")
    return nb


def unreadable_because(nb: nbformat.NotebookNode) -> str | None:
    """Why ``nb`` (as nbformat read it) cannot be graded, or None: every cell needs a source."""
    for index, cell in enumerate(nb.cells):
        if not isinstance(cell, dict) or not isinstance(cell.get("source"), str):
            return f"cell {index + 1} has no source"
    return None


def notebooks_named(path: Path, nb: nbformat.NotebookNode) -> tuple[str | None, set[str]]:
    """The notebook the file name says (``NN_*.ipynb`` -> ``nbNN``) and those its code imports."""
    by_name = f"nb{m[1]}" if (m := re.match(r"(\d\d)_", Path(path).name)) else None
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    imported = {a or b for a, b in re.findall(
        r"vae_course\.checks\.(nb\d\d)\b|from\s+vae_course\.checks\s+import\s+(nb\d\d)", code)}
    return by_name, imported


def notebook_id(path: Path, nb: nbformat.NotebookNode) -> str | None:
    """``nbNN`` from the file name ``NN_*.ipynb``, else from the checks module the code imports."""
    by_name, imported = notebooks_named(path, nb)
    return by_name or (sorted(imported)[0] if imported else None)


def exercises_for(notebook: str) -> list:
    """The exercises of ``vae_course/checks/<notebook>.py`` (empty when there is no such module)."""
    import importlib

    from vae_course.checks.core import exercises_in  # torch: only in the grader's processes
    if not re.fullmatch(r"nb\d\d", notebook):
        return []
    try:
        module = importlib.import_module(f"vae_course.checks.{notebook}")
    except ModuleNotFoundError:
        return []
    return exercises_in(module)


def judged_by_grader(exercise) -> bool:
    """Whether the grader judges ``exercise`` in its own process (a function with hidden cases)."""
    from vae_course.checks.core import FunctionExercise
    return isinstance(exercise, FunctionExercise) and exercise.hidden is not None


def released_notebook(release: Path, notebook: str) -> Path | None:
    """The student notebook ``NN_*.ipynb`` of ``notebook`` (``nbNN``) in ``release``, if any."""
    found = sorted(Path(release).glob(f"{notebook[2:]}_*.ipynb"))
    return found[0] if found else None


# ------------------------------------------------------- what runs: restored cells, graded checks


def _grade_id(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def prepare(submission: nbformat.NotebookNode, release: nbformat.NotebookNode
            ) -> tuple[nbformat.NotebookNode, list[tuple[int, int, str]], list[str]]:
    """The submission with the released locked cells restored (or put back). Returns the notebook,
    ``(cell index, exercise number, answer name)`` of each check cell, and what was restored."""
    nb = copy.deepcopy(submission)
    for cell in nb.cells:  # its outputs are not the grader's business
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    locked = [(i, c) for i, c in enumerate(release.cells)
              if c.metadata.get("nbgrader", {}).get("locked") and _grade_id(c)]
    notes = []
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
    checks = [(i, int(m["number"]), m["answer"]) for i, c in enumerate(nb.cells)
              if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("locked")
              and (m := CHECK.match(c.source))]
    return nb, checks, notes


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


def collect_source(notebook: str, number: int, answer: str, seed: int, out: str) -> str:
    """The cell the grader runs in place of a function exercise's check: run the answer on the
    hidden cases of ``seed`` and write what it returned to ``out``."""
    return ("import importlib as _vc_importlib\n"
            "_vc_importlib.import_module('vae_course.instructor.in_kernel')"
            f".collect({notebook!r}, {number}, {answer!r}, {seed}, {out!r})")


# ------------------------------------------------------------------------ running one notebook


bwrap_path = sandbox.bwrap_path


def kernel_env(home: str, tmp: str, fast: bool, threads: int = 1, data: str = "") -> dict[str, str]:
    """The whole environment of a submission's kernel: none of the grader's secrets, and
    ``threads`` CPU threads for torch (kernels side by side must not share a core's worth each)."""
    env = {k: os.environ[k] for k in KEPT_ENV if k in os.environ}
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    env.update(PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
               HOME=home, TMPDIR=tmp, IPYTHONDIR=f"{home}/.ipython", USER="student",
               LOGNAME="student", MPLCONFIGDIR=f"{home}/.matplotlib", MPLBACKEND="Agg",
               VAE_COURSE_FAST="1" if fast else "0", VAE_COURSE_CACHE=f"{home}/cache",
               VAE_COURSE_DATA=data, PYTHONDONTWRITEBYTECODE="1")
    return env


class Stopped(Exception):
    """The run was stopped by one of the grader's limits (the message says which)."""


def _client_class():
    from nbclient import NotebookClient

    class BoundedClient(NotebookClient):
        """nbclient that keeps no outputs (only each cell's first error, shortened) and kills the
        kernel once the notebook has sent more than ``max_output`` bytes of output."""

        max_output = 16 * 2**20

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.sent, self.errors, self.over = 0, {}, False

        def process_message(self, msg, cell, cell_index):
            kind = msg.get("msg_type")
            if kind in ("stream", "display_data", "execute_result", "update_display_data",
                        "error", "clear_output"):
                self.sent += len(json.dumps(msg.get("content", {}), default=str))
                if kind == "error" and cell_index not in self.errors:
                    content = msg.get("content", {})
                    self.errors[cell_index] = (f"{str(content.get('ename'))[:100]}: "
                                               f"{str(content.get('evalue'))[:300]}")
                if self.sent > self.max_output and not self.over:
                    self.over = True
                    process = getattr(self.km.provisioner, "process", None)
                    if process is not None:
                        process.kill()
                return None
            return super().process_message(msg, cell, cell_index)

    return BoundedClient


@dataclass
class Job:
    """One submission for a worker: the prepared notebook, its checks and how to run it."""

    notebook: str  # the course notebook, nbNN
    prepared: str  # path of the prepared notebook (outside the box)
    work: str  # the grader's folder for this submission (outside the box)
    io: str  # the folder shared with the kernel
    checks: list  # [exercise number, seed of its hidden cases, result path]
    timeout: int
    notebook_timeout: int
    fast: bool
    bwrap: str | None
    uid: int | None = None
    threads: int = 1
    limits: Limits = field(default_factory=Limits)
    max_output_mb: int = 16
    package: str = ""  # the graded copy of vae_course (release.graded_package)
    data: str = ""  # the datasets' folder (read-only in the box)


def run_job(job: Job) -> dict:
    """Execute the prepared notebook (in a worker process, which imports no torch); returns
    ``{"error": why or None}``. What the checks left is judged afterwards (``judge_all``)."""
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_core.utils import run_sync

    work, io = Path(job.work), Path(job.io)
    if job.bwrap:
        env = kernel_env(sandbox.HOME, "/tmp", job.fast, job.threads, job.data)
        spec = sandbox.Spec(job.bwrap, str(io), env, sys.executable,
                            sandbox.needed_paths(Path(env["VAE_COURSE_DATA"])), job.uid,
                            job.limits, [[job.package, str(sandbox.installed_package())]])
        sandbox.write_spec(spec, work / "spec.json")
        launch = [sys.executable, "-I", "-m", "vae_course.instructor.sandbox",  # -I: no cwd
                  str(work / "spec.json"), "{connection_file}"]                 # on sys.path
    else:
        home = work / "home"
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        env = kernel_env(str(home), str(home / "tmp"), job.fast, job.threads, job.data)
        env["PYTHONPATH"] = str(Path(job.package).parent)  # ahead of the installed package
        launch = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    specs = work / "kernels"
    (specs / "graded").mkdir(parents=True, exist_ok=True)
    (specs / "graded" / "kernel.json").write_text(json.dumps(
        {"argv": launch, "display_name": "graded submission", "language": "python"}))
    km = AsyncKernelManager(kernel_name="graded", kernel_spec_manager=KernelSpecManager(
        kernel_dirs=[str(specs)]), connection_file=str(io / "kernel.json"),
        transport="ipc", ip=str(io / "ipc"))  # unix sockets: they cross --unshare-net
    nb = nbformat.read(job.prepared, as_version=4)
    client = _client_class()(nb, km=km, timeout=job.timeout, allow_errors=True,
                             interrupt_on_timeout=False, shutdown_kernel="immediate",
                             resources={"metadata": {"path": str(work if job.bwrap else
                                                                 work / "home")}})
    client.max_output = job.max_output_mb * 2**20
    error = None
    try:
        with client.setup_kernel(env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            deadline = time.monotonic() + job.notebook_timeout
            for index, cell in enumerate(nb.cells):
                left = math.ceil(deadline - time.monotonic())
                client.timeout = max(1, min(job.timeout, left))
                try:
                    client.execute_cell(cell, index,
                                        execution_count=client.code_cells_executed + 1)
                except Exception as e:
                    if client.over:
                        raise Stopped(f"the notebook sent more than {job.max_output_mb} MB of "
                                      f"output (--max-output) by cell {index + 1}; it was "
                                      "stopped there") from None
                    if "timed out" not in str(e).lower() and type(e).__name__ != "CellTimeoutError":
                        raise
                    limit = ("--timeout" if client.timeout == job.timeout
                             else "--notebook-timeout")
                    error = (f"cell {index + 1} ran past its time limit of {client.timeout} s "
                             f"({limit}); the run was stopped there")
                    break
                if client.over:
                    raise Stopped(f"the notebook sent more than {job.max_output_mb} MB of output "
                                  f"(--max-output) by cell {index + 1}; it was stopped there")
                if time.monotonic() >= deadline:
                    error = (f"the notebook ran past its time limit of {job.notebook_timeout} s "
                             f"(--notebook-timeout) in cell {index + 1}; it was stopped there")
                    break
    except Stopped as e:
        error = str(e)
    except Exception as e:  # the kernel died or did not start: keep what was written
        error = f"the run stopped: {type(e).__name__}: {str(e)[:300]}"
    finally:
        if km.has_kernel:  # a kernel that ignored the shutdown request: killed
            run_sync(km.shutdown_kernel)(now=True)
    if error is None and client.errors:
        index = min(client.errors)
        error = f"cell {index + 1} raised {client.errors[index]}"
    return {"error": error}


def judge_all(job: Job) -> dict[int, dict]:
    """The verdict on every check that left a result: function exercises judged here, in the
    grader's process, from the numbers their cell wrote; the others read from their result line.
    Every read is bounded (file size, archive members, numbers decoded, entries: ``wire.load``),
    so this takes a bounded time and memory whatever the kernel left."""
    from vae_course.instructor.wire import WireError, load

    exercises = {ex.number: ex for ex in exercises_for(job.notebook)}
    results = {}
    for number, key, path in job.checks:
        exercise = exercises[number]
        try:
            cases = exercise.hidden_cases(key)
            outcomes = load(path, entries_at_most=len(cases))
        except WireError:
            continue  # the check did not run (or left something the grader will not read)
        except Exception as e:  # a bug of the grader's: this exercise only, and said so
            results[number] = {"status": NOT_RUN, "message": f"the grader could not read the "
                               f"result: {type(e).__name__}: {str(e)[:200]}"}
            continue
        try:
            result = exercise.judge(cases, outcomes)
        except Exception as e:  # comparing what came back failed: the answer's fault, told so
            result = exercise.failed(f"what your function returned could not be compared with "
                                     f"the reference ({type(e).__name__}: {str(e)[:200]})")
        results[number] = {"status": result.status, "message": result.message,
                           **({"judged_in": "submission"} if result.reported else {})}
    return results


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
        return {"error": json.loads(out.strip().splitlines()[-1])["error"]}
    except (ValueError, IndexError, KeyError, TypeError):
        return {"error": f"the grader's worker failed: {one_line(err)[-500:]}"}


# ----------------------------------------------------------------------------- rows and the CSV


def one_line(message: str, limit: int = MAX_MESSAGE) -> str:
    """A multi-line feedback message as one CSV-friendly line of at most ``limit`` characters."""
    text = " | ".join(line.strip() for line in str(message).splitlines() if line.strip())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def not_run_row(student: str, message: str = "") -> dict:
    """A CSV row for a submission (or an exercise of it) whose checks did not run."""
    return {"student": student, "notebook": "", "exercise": "", "title": "", "status": NOT_RUN,
            "points": 0, "max_points": "", "judged_in": "", "message": one_line(message)}


@dataclass
class Settings:
    """How to grade: see ``main``'s options."""

    release: Path = Path("notebooks")
    timeout: int = 600
    notebook_timeout: int = 1800
    fast: bool = True
    bwrap: str | None = None
    assignment: str | None = None  # nbNN: only that notebook is graded
    threads: int | None = None  # per kernel; None: the CPU's cores shared among the jobs
    limits: Limits = field(default_factory=Limits)
    max_output_mb: int = 16
    uid_base: int = UID_BASE
    packages: Path | None = None  # where the graded copies of the package are built, one per notebook


_package_lock = threading.Lock()


def graded_copy(notebook: str, settings: Settings) -> Path:
    """The copy of the package that ``notebook``'s submissions run with (built once per run)."""
    from vae_course.instructor import release

    root = Path(settings.packages or tempfile.gettempdir()) / notebook
    with _package_lock:
        if not (root / "vae_course").is_dir():
            numbers = {ex.number for ex in exercises_for(notebook) if judged_by_grader(ex)}
            release.graded_package(notebook, numbers, root)
    return root / "vae_course"


def which_notebook(path: Path, nb: nbformat.NotebookNode, settings: Settings
                   ) -> tuple[str | None, str]:
    """The notebook to grade ``nb`` as, or None and why not."""
    if settings.assignment is None:
        found = notebook_id(path, nb)
        return found, ("" if found else "could not tell which course notebook this is: name the "
                       "file NN_name.ipynb or keep its `from vae_course.checks.nbNN` import")
    by_name, imported = notebooks_named(path, nb)
    others = sorted(({by_name} | imported) - {None, settings.assignment})
    if others:
        return None, (f"not graded: this looks like the work of {', '.join(others)} "
                      f"({'its file name' if by_name in others else 'the checks it imports'}), "
                      f"not of assignment {settings.assignment}")
    return settings.assignment, ""


@contextlib.contextmanager
def io_folder(work: Path, uid: int | None, limits: Limits):
    """The folder the kernel shares with the grader: as root, a tmpfs of ``limits.io_mb`` owned
    by the kernel's user id; otherwise a plain folder."""
    io = work / "io"
    io.mkdir(mode=0o700)
    mounted = False
    if uid is not None:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o",
                               f"size={limits.io_mb}m,mode=0700,uid={uid},gid={uid},nosuid,nodev",
                               "tmpfs", str(io)], capture_output=True)
        mounted = done.returncode == 0
        if not mounted:
            os.chown(io, uid, uid)
    try:
        yield io
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(io)], capture_output=True)


def grade_submission(path: Path, student: str, settings: Settings, uid: int | None = None
                     ) -> list[dict]:
    """The CSV rows (dicts with ``COLUMNS``) of one submitted notebook."""
    from vae_course.data import data_root

    row = not_run_row(student)
    try:
        nb = read_submission(path)
    except ValueError as e:
        return [dict(row, message=str(e))]
    notebook, why_not = which_notebook(path, nb, settings)
    if notebook is None:
        return [dict(row, message=why_not)]
    exercises = {ex.number: ex for ex in exercises_for(notebook)}
    release_path = released_notebook(settings.release, notebook)
    if not exercises or release_path is None:
        return [dict(row, notebook=notebook, message=f"no exercises or no released notebook "
                                                     f"for {notebook} in {settings.release}")]
    rows = [dict(row, notebook=notebook, exercise=n, title=ex.title, max_points=ex.points,
                 judged_in="grader" if judged_by_grader(ex) else "")
            for n, ex in sorted(exercises.items())]
    with tempfile.TemporaryDirectory(prefix="vae_course_grade_") as work:
        work = Path(work)
        with io_folder(work, uid, settings.limits) as io:
            release = nbformat.read(release_path, as_version=4)
            graded, found, notes = prepare(nb, release)
            checks = []
            for index, number, answer in found:
                if number not in exercises:
                    continue
                if not judged_by_grader(exercises[number]):  # no hidden cases: not graded
                    graded.cells[index].source = "# not graded: this exercise has no hidden cases"
                    continue
                seed = secrets.randbelow(2**31)
                out = str(io / f"ex{number}.npz")
                graded.cells[index].source = collect_source(notebook, number, answer, seed, out)
                checks.append([number, seed, out])
            prepared = work / "prepared.ipynb"  # outside the box: its seeds stay here
            nbformat.write(graded, prepared)
            job = Job(notebook, str(prepared), str(work), str(io), checks, settings.timeout,
                      settings.notebook_timeout, settings.fast, settings.bwrap, uid,
                      settings.threads or 1, settings.limits, settings.max_output_mb,
                      str(graded_copy(notebook, settings)), str(data_root()))
            outcome = run_in_worker(job)
            results = judge_all(job)
    why = "; ".join([*([outcome["error"]] if outcome.get("error") else []), *notes])
    for r in rows:
        if r["exercise"] in results:
            result = results[r["exercise"]]
            message = result["message"] + (f" ({'; '.join(notes)})" if notes else "")
            r.update(status=result["status"], message=one_line(message),
                     points=r["max_points"] if result["status"] == "passed" else 0,
                     judged_in=result.get("judged_in", r["judged_in"]))
        else:
            r["message"] = one_line("the check did not run" + (f" ({why})" if why else ""))
    return rows


def claim_uids(base: int, count: int, stack: contextlib.ExitStack) -> list[int]:
    """``count`` user ids from ``base`` on that no account of this machine has and no other
    grading run holds: each is claimed by a lock on ``<tmp>/vae_course_uids/UID.lock`` that
    ``stack`` releases (two graders at once must not share a kernel user id)."""
    folder = Path(tempfile.gettempdir()) / "vae_course_uids"
    folder.mkdir(mode=0o700, exist_ok=True)
    uids = []
    uid = base
    while len(uids) < count:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            f = stack.enter_context(open(folder / f"{uid}.lock", "w"))
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                uids.append(uid)
            except OSError:  # another grading run has it
                pass
        uid += 1
    return uids


def grade_folder(folder: Path, settings: Settings, jobs: int = 1) -> list[dict]:
    """The CSV rows of every submission under ``folder``, ``jobs`` at a time, in file order;
    prints one summary line per submission as it finishes. As root, each of the ``jobs`` slots
    runs its kernels as a user id of its own, held for the run."""
    paths = find_submissions(folder)
    jobs = max(1, jobs)
    if settings.threads is None:  # two kernels with two threads each on two cores: 5-10x slower
        settings = replace(settings, threads=max(1, (os.cpu_count() or 1) // jobs))
    held = contextlib.ExitStack()
    slots: queue.Queue = queue.Queue()
    for uid in (claim_uids(settings.uid_base, jobs, held) if settings.bwrap and os.geteuid() == 0
                else [None] * jobs):
        slots.put(uid)

    def grade_one(path: Path) -> list[dict]:
        student = path.relative_to(folder).with_suffix("").as_posix()
        uid = slots.get()
        try:
            mine = grade_submission(path, student, settings, uid)
        except Exception as e:  # a bug of the grader's own costs this student only, and says so
            mine = [not_run_row(student, f"the grader failed on this submission: "
                                         f"{type(e).__name__}: {str(e)[:300]}")]
        finally:
            slots.put(uid)
        passed = sum(r["status"] == "passed" for r in mine if r["exercise"] != "")
        total = sum(r["exercise"] != "" for r in mine)
        print(f"{student} ({mine[0]['notebook'] or '?'}): {passed}/{total} passed", flush=True)
        return mine

    with held, tempfile.TemporaryDirectory(prefix="vae_course_packages_") as packages:
        if settings.packages is None:
            os.chmod(packages, 0o755)
            settings = replace(settings, packages=Path(packages))
        with ThreadPoolExecutor(max_workers=jobs) as pool:
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
    parser.add_argument("--assignment", metavar="NN",
                        help="grade only this course notebook (e.g. 05); other work is flagged")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"), help="the CSV to write")
    parser.add_argument("--release", type=Path, default=Path("notebooks"),
                        help="the released student notebooks, whose locked cells are restored")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at a time")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    parser.add_argument("--notebook-timeout", type=int, default=1800,
                        help="seconds allowed per notebook, counted from its first cell")
    parser.add_argument("--full", action="store_true",
                        help="run in full mode (VAE_COURSE_FAST=0) instead of fast mode")
    parser.add_argument("--sandbox", choices=["require", "auto", "off"], default="require",
                        help="bubblewrap: required (the default; 'auto' is the same), or off")
    defaults = Limits()
    parser.add_argument("--memory", type=int, default=defaults.memory_mb, metavar="MB",
                        help="memory per process of a submission (RLIMIT_DATA)")
    parser.add_argument("--processes", type=int, default=defaults.processes,
                        help="processes and threads of a submission")
    parser.add_argument("--disk", type=int, default=defaults.disk_mb, metavar="MB",
                        help="size of a submission's home folder and of its /tmp, each")
    parser.add_argument("--max-output", type=int, default=16, metavar="MB",
                        help="output a notebook may send before it is stopped")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:  # internal: one Job as JSON on stdin, its outcome as JSON on stdout
        raw = json.loads(sys.stdin.read())
        raw["limits"] = Limits(**raw["limits"])
        print(json.dumps(run_job(Job(**raw))))
        return 0
    if args.submissions is None or not find_submissions(args.submissions):
        print(f"error: no .ipynb files under {args.submissions}", file=sys.stderr)
        return 2
    assignment = None
    if args.assignment is not None:
        if not re.fullmatch(r"(nb)?\d\d", args.assignment) or not exercises_for(
                "nb" + args.assignment[-2:]):
            print(f"error: --assignment {args.assignment}: no course notebook with exercises "
                  "has that number", file=sys.stderr)
            return 2
        assignment = "nb" + args.assignment[-2:]
    bwrap = sandbox.bwrap_path() if args.sandbox != "off" else None
    if bwrap is None and args.sandbox != "off":
        print("error: bubblewrap (bwrap) is not installed or cannot build a sandbox here "
              "(Debian: apt-get install bubblewrap). The grader will not run students' code "
              "unsandboxed unless you say --sandbox off.", file=sys.stderr)
        return 2
    if bwrap is None:
        print("warning: submissions run WITHOUT a sandbox (--sandbox off): they get a clean "
              "environment and a folder of their own, but can read and write what you can, use "
              "the network and leave processes behind.", file=sys.stderr)
    if assignment is None:
        print("note: no --assignment given: each submission is graded as the notebook its file "
              "name or imports name; say --assignment NN to grade one assignment and flag the "
              "rest.", file=sys.stderr)
    limits = replace(defaults, memory_mb=args.memory, processes=args.processes,
                     disk_mb=args.disk)
    settings = Settings(args.release.resolve(), args.timeout, args.notebook_timeout,
                        not args.full, bwrap, assignment, limits=limits,
                        max_output_mb=args.max_output)
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
