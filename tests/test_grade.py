"""The course's grader: a folder of submitted notebooks in, a CSV of per-exercise results out.

The submissions are made as a student makes them: from a released notebook (the generator's student
version of a small solved notebook for notebook 01's two exercises), with answers written into the
exercise cells, or with code that tries to fool the grader. Each hostile submission must get its
own honest rows while every other student's rows stay as they would be. The attacks are those a
student who has read the grader's code found against its earlier version (issue 21): each got full
points for a wrong answer, read what it should not, or harmed another student's row.

The sandbox's tests need bubblewrap and root (as CI and many course servers run the grader); they
are skipped, saying so, elsewhere.
"""

import copy
import csv
import json
import os
import shutil
import time
from pathlib import Path

import nbformat
import pytest
import solved_cells
from nbformat.v4 import new_code_cell, new_notebook

from vae_course.checks import nb00
from vae_course.instructor import grade, student

ROOT = Path(__file__).resolve().parents[1]
SANDBOX = grade.bwrap_path()
AS_ROOT = os.geteuid() == 0
needs_sandbox = pytest.mark.skipif(SANDBOX is None, reason="bubblewrap (bwrap) is not installed "
                                   "or cannot build a sandbox here")
needs_root_sandbox = pytest.mark.skipif(SANDBOX is None or not AS_ROOT,
                                        reason="needs bubblewrap and root (the grader run as root "
                                               "drops to a user id of its own per kernel)")

SETUP = "import math\n\nimport torch\n\nfrom vae_course.checks.nb01 import ex1, ex2"
EX1 = ("# Exercise 1: the Monte-Carlo ELBO\ndef mc_elbo(log_joint, log_q, z):\n"
       "    ### BEGIN SOLUTION\n    return (log_joint(z) - log_q(z)).mean()\n    ### END SOLUTION")
EX2 = ("# Exercise 2: the importance-weighted bound\ndef iw_bound(log_joint, log_q, z):\n"
       "    ### BEGIN SOLUTION\n    log_w = log_joint(z) - log_q(z)\n"
       "    return torch.logsumexp(log_w, dim=0) - math.log(len(log_w))\n    ### END SOLUTION")
WRONG_EX1 = "def mc_elbo(log_joint, log_q, z):\n    return log_joint(z).mean()  # log q forgotten"


def released() -> tuple[nbformat.NotebookNode, dict[str, str]]:
    """The released notebook, made by the course's generator, and the solution of each exercise."""
    nb = new_notebook()
    nb.cells = [new_code_cell(s) for s in [SETUP, EX1, "ex1.check(mc_elbo)", EX2,
                                            "ex2.check(iw_bound)"]]
    solved = student.tag_notebook(nb, student.exercise_points("nb01"))
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solved.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    return student.student_notebook(solved), answers


RELEASE, ANSWERS = released()


def submission(answers: dict[str, str] = (), extra: tuple[str, ...] = (),
               check_cells: dict[int, str] = ()) -> nbformat.NotebookNode:
    """The released notebook with ``answers`` (grade id -> source) written in, the check cells
    ``check_cells`` (cell index -> source) edited, and ``extra`` cells added after the setup."""
    nb = copy.deepcopy(RELEASE)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in dict(answers):
            cell.source = dict(answers)[grade_id]
    for index, source in dict(check_cells).items():
        nb.cells[index].source = source
    nb.cells[1:1] = [new_code_cell(source) for source in extra]
    return nb


SOLVED = {"ex1": ANSWERS["ex1"], "ex2": ANSWERS["ex2"]}


def write_release(folder: Path) -> Path:
    release = folder / "release"
    release.mkdir()
    nbformat.write(RELEASE, release / "01_tiny.ipynb")
    shutil.copy(ROOT / "notebooks" / "03_reparameterization.ipynb", release)
    return release


def write_answers(student: nbformat.NotebookNode, answers: dict[str, dict[str, str]], subs: Path,
                  number: str) -> Path:
    """``subs/NN_<name>.ipynb`` for each ``{name: {grade_id: source}}``: the student notebook with
    those cells replaced."""
    subs.mkdir()
    for name, sources in answers.items():
        nb = copy.deepcopy(student)
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id in sources:
                cell.source = sources[grade_id]
        nbformat.write(nb, subs / f"{number}_{name}.ipynb")
    return subs


def run_grader(submissions: Path, release: Path, out: Path, *options: str) -> dict:
    """Run the grader's command line; ``{(student, exercise): row}`` from the CSV it wrote."""
    sandbox = [] if "--sandbox" in options or SANDBOX else ["--sandbox", "off"]
    assert grade.main([str(submissions), "--release", str(release), "--out", str(out),
                       *sandbox, *options]) == 0
    with open(out, newline="", encoding="utf-8") as f:
        return {(r["student"], r["exercise"]): r for r in csv.DictReader(f)}


# A wrong answer (log q forgotten) with a trick that made the earlier grader pass it.
WRONG = {"ex1": WRONG_EX1}
PASSED_LINE = ("json.dumps({'exercise': 1, 'notebook': 'nb01', 'status': 'passed', "
               "'message': 'forged', 'secret': 'x'})")
FORGE_FILES = ("import json, os, sys\n"
               "def forge():  # into the kernel's folders: where its connection file is, and its own\n"
               "    here = sys.argv[sys.argv.index('-f') + 1] if '-f' in sys.argv else '.'\n"
               "    for folder in {os.getcwd(), os.path.dirname(os.path.abspath(here))}:\n"
               "        for name in ['ex1.json', 'ex1.npz', 'grade_log.jsonl']:\n"
               "            try:\n"
               "                with open(os.path.join(folder, name), 'a') as f:\n"
               f"                    f.write({PASSED_LINE} + '\\n')\n"
               "            except OSError:\n"
               "                pass\n")
LIAR = ("import torch\n"
        "class Liar(torch.Tensor):\n"
        "    @classmethod\n"
        "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
        "        if func in (torch.isclose, torch.Tensor.any, torch.allclose, torch.equal):\n"
        "            return torch.ones((), dtype=torch.bool) if func is not torch.isclose else "
        "torch.ones(args[0].shape, dtype=torch.bool)\n"
        "        return super().__torch_function__(func, types, args, kwargs or {})\n"
        "def mc_elbo(log_joint, log_q, z):\n"
        "    return log_joint(z).mean().as_subclass(Liar)\n")
STACK_WALKER = ("import inspect\n"
                "def mc_elbo(log_joint, log_q, z):\n"
                "    for frame in inspect.stack():\n"
                "        me = frame.frame.f_locals.get('self')\n"
                "        if hasattr(me, 'reference'):\n"
                "            me.reference = lambda log_joint, log_q, z: log_joint(z).mean()\n"
                "            me.compare = lambda *a, **k: None\n"
                "    return log_joint(z).mean()\n")
HOSTILE = {
    # hands in the reference: `ex1.check(ex1.reference)` in a cell of its own, and as its answer
    "h_reference_checked": (submission(extra=["ex1.check(ex1.reference)"]),
                            ("not attempted", "not attempted"), "not attempted yet"),
    "h_reference_answer": (submission({"ex1": "mc_elbo = ex1.reference"}),
                           ("failed", "not attempted"), "not right yet"),
    "h_reference_call": (submission({"ex1": "mc_elbo = ex1.reference.__call__"}),
                         ("failed", "not attempted"), "not right yet"),
    "h_reference_partial": (submission({"ex1": "import functools\n"
                                                "mc_elbo = functools.partial(ex1.reference)"}),
                            ("failed", "not attempted"), "not right yet"),
    "h_reference_wrapped": (submission({"ex2": "def iw_bound(log_joint, log_q, z):\n"
                                               "    from vae_course.checks import nb01\n"
                                               "    return nb01._iw_reference(log_joint, log_q, z)"}),
                            ("not attempted", "failed"), "not right yet"),
    "h_package_answer": (submission({"ex2": "def iw_bound(log_joint, log_q, z):\n"
                                            "    from vae_course.losses import "
                                            "importance_weighted_bound as f\n"
                                            "    return f(log_joint(z) - log_q(z))"}),
                         ("not attempted", "not attempted"), "not attempted yet"),
    "h_package_answer_evaluate": (submission({"ex2": "def iw_bound(log_joint, log_q, z):\n"
                                                     "    from vae_course.evaluate import iw_bound\n"
                                                     "    log_w = log_joint(z) - log_q(z)\n"
                                                     "    return iw_bound(lambda k: log_w[:, None], "
                                                     "len(log_w), chunk=len(log_w))[0]"}),
                                  ("not attempted", "not attempted"), "not attempted yet"),
    "h_exec_reference_source": (submission({"ex1": "import inspect\nfrom vae_course.checks import nb01\n"
                                                   "exec(inspect.getsource(nb01._mc_elbo_reference)"
                                                   ".replace('_mc_elbo_reference', 'mc_elbo'))"}),
                                ("failed", "not attempted"), "not right yet"),
    "h_exec_solution": (submission({"ex1": "import contextlib, io\nbuf = io.StringIO()\n"
                                           "with contextlib.redirect_stdout(buf):\n"
                                           "    ex1.solution()\n"
                                           "exec('\\n'.join(l[4:] for l in buf.getvalue()"
                                           ".splitlines()[2:]))"}),
                        ("failed", "not attempted"), "not right yet"),
    # a fresh Exercise whose reference is the wrong answer, bound to the name the check cell uses
    "h_fake_exercise": (submission(WRONG, extra=[
        "from vae_course.checks.core import FunctionExercise\nfrom vae_course.checks import nb01\n"
        "ex1 = FunctionExercise(1, 'fake', reference=lambda log_joint, log_q, z: "
        "log_joint(z).mean(), cases=nb01.ex1.cases, hidden=nb01.ex1.hidden)"]),
        ("failed", "not attempted"), "not right yet"),
    # patches the comparison so that everything agrees
    "h_patched_compare": (submission(WRONG, extra=[
        "import vae_course.checks.core as core\ncore.compare = lambda *args, **kwargs: None\n"
        "core.FunctionExercise.compare = lambda *args, **kwargs: None\n"
        "core.FunctionExercise.judge = lambda self, *a: self.passed()"]),
        ("failed", "not attempted"), "not right yet"),
    "h_patched_torch": (submission(WRONG, extra=[
        "import torch\ntorch.isclose = lambda a, b, **k: torch.ones(torch.as_tensor(a).shape, "
        "dtype=torch.bool)\ntorch.Tensor.any = lambda self, *a, **k: torch.tensor(False)\n"
        "torch.allclose = lambda *a, **k: True"]), ("failed", "not attempted"), "not right yet"),
    "h_tensor_subclass": (submission({"ex1": LIAR}), ("failed", "not attempted"), "not right yet"),
    "h_stack_walker": (submission({"ex1": STACK_WALKER}), ("failed", "not attempted"),
                       "not right yet"),
    # rewrites what the check hands over, from hooks the kernel runs around the check
    "h_profile_hook": (submission(WRONG, extra=[
        "import sys, torch\nfrom vae_course.checks.core import Outcome\n"
        "def hook(frame, event, arg):\n"
        "    if event == 'call' and frame.f_code.co_name == 'dump':\n"
        "        outs = frame.f_locals.get('outcomes')\n"
        "        if isinstance(outs, list):\n"
        "            outs[:] = [Outcome('returned', value=torch.tensor(0.0))] * len(outs)\n"
        "sys.setprofile(hook)"]), ("failed", "failed"), "not right yet"),
    "h_audit_hook": (submission(WRONG, extra=[
        FORGE_FILES + "import sys\n"
        "def hook(event, args):\n"
        "    if event == 'open' and str(args[0]).endswith(('.npz', '.json', '.jsonl')):\n"
        "        forge()\n"
        "sys.addaudithook(hook)"]), ("failed", "not attempted"), "not right yet"),
    "h_meta_path": (submission(WRONG, extra=[
        "import sys, types\nfake = types.ModuleType('vae_course.instructor.in_kernel')\n"
        "fake.collect = lambda *a, **k: print('✔ Exercise 1: correct.')\n"
        "sys.modules['vae_course.instructor.in_kernel'] = fake\n"
        "class Finder:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        return None\n"
        "sys.meta_path.insert(0, Finder())"]), ("not run", "not run"), "the check did not run"),
    "h_input_transformer": (submission(WRONG, extra=[
        "ip = get_ipython()\n"
        "ip.input_transformers_post.append(lambda lines: [l.replace('.collect(', '.__doc__ and print(')"
        " for l in lines])"]), ("not run", "not run"), "the check did not run"),
    "h_post_run_hook": (submission(WRONG, extra=[
        FORGE_FILES + "get_ipython().events.register('post_run_cell', lambda *a: forge())"]),
        ("failed", "not attempted"), "not right yet"),
    "h_thread": (submission(WRONG, extra=[
        FORGE_FILES + "import threading, time\n"
        "def loop():\n    for _ in range(400):\n        forge(); time.sleep(0.05)\n"
        "threading.Thread(target=loop, daemon=True).start()"]),
        ("failed", "not attempted"), "not right yet"),
    # right only when it cannot see the grader's environment
    "h_reads_environment": (submission({"ex1": "import os\n" + ANSWERS["ex1"].replace(
        "    return", "    if 'GRADER_ONLY_SECRET' in os.environ:\n        return 0.0\n    return")}),
        ("passed", "not attempted"), "correct"),
    # deletes both check cells: the grader puts them back
    "h_deleted_checks": (new_notebook(cells=[
        c for c in submission(SOLVED).cells
        if not c.metadata.get("nbgrader", {}).get("grade_id", "").endswith("-check")]),
        ("passed", "passed"), "was missing and was put back"),
    # edits a check cell to print a pass
    "h_edited_check": (submission(WRONG, check_cells={2: "print('✔ Exercise 1: correct.')"}),
                       ("failed", "not attempted"), "was edited and was restored"),
    # a 50 MB exception message: the row's message stays one short line
    "h_huge_message": (submission({"ex1": "def mc_elbo(log_joint, log_q, z):\n"
                                          "    raise ValueError('x' * 50_000_000)"}),
                       ("failed", "not attempted"), "your function raised ValueError"),
}
# A later cell calls the grader's collect again, with the arguments it reads from the history of
# the check cell it has seen, on the reference (absent from the graded copy) and then on its answer.
HOSTILE["h_check_again"] = (submission(WRONG, extra=[
    "import re\nip = get_ipython()\n"
    "def again(*a):\n"
    "    for src in ip.user_ns.get('In', []):\n"
    "        m = re.search(r\"collect\\('nb01', 1, 'mc_elbo', (\\d+), '([^']+)'\\)\", src)\n"
    "        if m:\n"
    "            from vae_course.instructor import in_kernel\n"
    "            ip.user_ns['fake'] = ex1.reference\n"
    "            in_kernel.collect('nb01', 1, 'fake', int(m[1]) + 1, m[2])\n"
    "ip.events.register('post_run_cell', again)"]), ("failed", "not attempted"), "not right yet")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One grader run, two at a time: solved, partly solved, untouched, broken and hostile."""
    folder = tmp_path_factory.mktemp("grading")
    subs = folder / "submissions"
    subs.mkdir()
    for name, nb in [("alice", submission(SOLVED)), ("bob", submission({"ex1": ANSWERS["ex1"]})),
                     ("carol", submission()), *((k, v[0]) for k, v in HOSTILE.items())]:
        nbformat.write(nb, subs / f"{name}.ipynb")
    (subs / "dora.ipynb").write_text("{ this is not a notebook")
    gina = json.loads(nbformat.writes(submission(SOLVED)))
    del gina["cells"][3]["source"]  # a cell saved without its source
    (subs / "gina.ipynb").write_text(json.dumps(gina))
    (subs / "erin").mkdir()  # notebook 01's work, handed in as notebook 03
    nbformat.write(submission(SOLVED), subs / "erin" / "03_reparameterization.ipynb")
    (subs / ".ipynb_checkpoints").mkdir()
    nbformat.write(submission(SOLVED), subs / ".ipynb_checkpoints" / "zed-checkpoint.ipynb")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADER_ONLY_SECRET", "the grader's own")
        mp.setenv("VAE_COURSE_FAST", "0")  # the grader turns fast mode on by itself
        return run_grader(subs, write_release(folder), folder / "grades.csv", "--jobs", "2",
                          "--timeout", "120")


def statuses(rows, student):
    return tuple(rows[student, e]["status"] for e in "12")


def test_solved_partly_solved_and_untouched_submissions(graded):
    assert statuses(graded, "alice") == ("passed", "passed")
    assert statuses(graded, "bob") == ("passed", "not attempted")
    assert statuses(graded, "carol") == ("not attempted", "not attempted")
    assert [graded["alice", e]["points"] for e in "12"] == ["1", "1"]
    assert [graded["bob", e]["points"] for e in "12"] == ["1", "0"]
    assert list(graded["alice", "1"]) == grade.COLUMNS
    assert [graded["alice", e]["judged_in"] for e in "12"] == ["grader", "grader"]
    assert "hidden case" in graded["alice", "1"]["message"]
    assert "not attempted yet" in graded["carol", "1"]["message"]
    assert not any(student.startswith("zed") for student, _ in graded)  # checkpoints skipped


def test_a_wrong_answer_is_told_its_mistake_on_the_hidden_cases(graded):
    # the notebook's own mistake list recognises "log q is missing" on cases drawn for this run
    message = graded["h_patched_torch", "1"]["message"]
    assert "log q is missing" in message and "hidden case" in message


def test_broken_files_get_one_honest_row_each(graded):
    assert graded["dora", ""]["status"] == "not run"
    assert "could not read the notebook" in graded["dora", ""]["message"]
    assert "cell 4 has no source" in graded["gina", ""]["message"]


def test_a_file_named_for_another_notebook_is_graded_as_that_notebook(graded):
    assert statuses(graded, "erin/03_reparameterization") == ("failed", "failed")
    assert "`reparameterize` is not defined" in graded[
        "erin/03_reparameterization", "1"]["message"]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_submission_gets_its_own_honest_rows(graded, name):
    _, expected, says = HOSTILE[name]
    assert statuses(graded, name) == expected, graded[name, "1"]["message"]
    assert says in graded[name, "1"]["message"] + graded[name, "2"]["message"]
    assert all(len(graded[name, e]["message"]) <= grade.MAX_MESSAGE for e in "12")


def test_the_csv_reads_back_with_the_standard_reader(graded):
    assert graded["h_huge_message", "1"]["points"] == "0"  # the fixture read it with DictReader


def test_the_grader_s_check_cell_replaces_the_submission_s():
    nb, checks, notes = grade.prepare(submission(check_cells={2: "print('passed')"}), RELEASE)
    assert checks == [(2, 1, "mc_elbo"), (4, 2, "iw_bound")]
    assert notes == ["the locked cell ex1-check was edited and was restored"]
    assert nb.cells[2].source == "ex1.check(mc_elbo)"
    assert nb.cells[0].source == RELEASE.cells[0].source
    assert "collect('nb01', 1, 'mc_elbo', 7, '/io/ex1.npz')" in grade.collect_source(
        "nb01", 1, "mc_elbo", 7, "/io/ex1.npz")


def test_a_sandboxed_submission_cannot_touch_the_next_or_outlive_its_run(tmp_path):
    subs, out = tmp_path / "submissions", tmp_path / "grades.csv"
    subs.mkdir()
    victim = subs / "b_victim.ipynb"
    nbformat.write(submission(SOLVED), victim)
    before = victim.read_bytes()
    marker = tmp_path / "escaped.txt"
    attacker = submission(extra=[
        "import os, subprocess, urllib.request\n"
        "for cmd in [['mount', '--bind', '/', '/tmp'], ['mount', '-o', 'remount,bind,rw', '/'],\n"
        "            ['mount', '-t', 'tmpfs', 'none', '/usr']]:\n"
        "    print(cmd, subprocess.run(cmd, capture_output=True).returncode)\n"
        f"for target in [{str(victim)!r}, {str(marker)!r}, '/usr/evil', "
        f"{str(ROOT / 'solutions' / 'evil')!r}]:\n"
        "    try:\n"
        "        open(target, 'w').write('overwritten')\n"
        "    except OSError as e:\n"
        "        print('refused:', e)\n"
        f"subprocess.Popen(['sh', '-c', 'sleep 3; echo hacked > {out}; echo x > {marker}'], "
        "start_new_session=True)\n"
        "try:\n"
        "    urllib.request.urlopen('http://127.0.0.1:9', timeout=2)\n"
        "except OSError as e:\n"
        "    print('no network:', e)"])
    nbformat.write(attacker, subs / "a_attacker.ipynb")
    rows = run_grader(subs, write_release(tmp_path), out, "--sandbox", "require",
                      "--timeout", "120")
    time.sleep(5)  # the detached process would have written by now
    assert victim.read_bytes() == before and not marker.exists()
    assert not (ROOT / "solutions" / "evil").exists()
    assert "hacked" not in out.read_text()
    assert statuses(rows, "b_victim") == ("passed", "passed")
    assert statuses(rows, "a_attacker") == ("not attempted", "not attempted")


# Each probe is an answer that is right only when the box holds: it raises, naming what leaked,
# when it can see or do what it should not. Paths are filled in by the test.
PROBES = r"""
import os, subprocess
def leaks():
    found = []
    status = open('/proc/self/status').read()
    caps = [l.split()[1] for l in status.splitlines() if l.startswith(('CapEff', 'CapPrm', 'CapBnd'))]
    if any(int(c, 16) for c in caps): found.append(f'capabilities {caps}')
    if os.getuid() == 0 or os.geteuid() == 0: found.append('runs as root')
    for path in SECRET_PATHS:
        if os.path.exists(path): found.append(f'sees {path}')
    for path in ['/etc/shadow', '/root/.bashrc', '/root/.profile']:
        try:
            open(path).read(1); found.append(f'reads {path}')
        except OSError:
            pass
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                line = open(f'/proc/{pid}/cmdline', 'rb').read().decode(errors='replace')
            except OSError:
                continue
            for path in SECRET_PATHS:
                if path in line: found.append(f'/proc/{pid}/cmdline names {path}')
    if subprocess.run(['mount', '-t', 'tmpfs', 'none', '/mnt'], capture_output=True).returncode == 0:
        found.append('can mount')
    return found
"""
LIMITS = r"""
import os, subprocess, time, torch
def over_limits():
    found = []
    try:
        torch.empty(5 * 2**30, dtype=torch.uint8).fill_(1); found.append('5 GiB allocated')
    except (RuntimeError, MemoryError):
        pass
    procs = []
    try:
        for _ in range(200):
            procs.append(subprocess.Popen(['sleep', '30']))
        found.append('200 processes started')
    except OSError:
        pass
    for p in procs:
        p.kill()
    written = 0
    try:
        with open(os.path.expanduser('~/big'), 'wb') as f:
            for _ in range(2048):
                f.write(b'x' * 2**20); written += 1
        found.append('2 GiB written')
    except OSError:
        pass
    os.remove(os.path.expanduser('~/big'))
    return found
"""


@needs_root_sandbox
def test_the_box_hides_the_host_and_holds_the_limits(tmp_path):
    subs = tmp_path / "submissions"
    subs.mkdir()
    secret_paths = [str(subs), str(ROOT / "solutions"), str(ROOT / "tests"), str(tmp_path)]
    probe = (f"SECRET_PATHS = {secret_paths!r}\n" + PROBES + LIMITS
             + "def mc_elbo(log_joint, log_q, z):\n"
               "    found = leaks() + over_limits()\n"
               "    if found:\n"
               "        raise RuntimeError('leak: ' + '; '.join(found))\n"
               "    return (log_joint(z) - log_q(z)).mean()\n")
    nbformat.write(submission({"ex1": probe, "ex2": ANSWERS["ex2"]}), subs / "prober.ipynb")
    nbformat.write(submission(SOLVED), subs / "zoe.ipynb")  # graded beside it, unharmed
    rows = run_grader(subs, write_release(tmp_path), tmp_path / "grades.csv", "--jobs", "2",
                      "--timeout", "300", "--memory", "3072", "--processes", "64", "--disk",
                      "256")
    assert statuses(rows, "prober") == ("passed", "passed"), rows["prober", "1"]["message"]
    assert statuses(rows, "zoe") == ("passed", "passed")


@needs_sandbox
def test_files_that_are_not_notebooks_of_this_assignment_are_not_graded(tmp_path):
    subs = tmp_path / "submissions"
    subs.mkdir()
    nbformat.write(submission(SOLVED), subs / "alice.ipynb")
    os.mkfifo(subs / "a_fifo.ipynb")  # would hang a reader
    secret = tmp_path / "root_only.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    secret.chmod(0o600)
    (subs / "b_link_secret.ipynb").symlink_to(secret)
    (subs / "c_link_alice.ipynb").symlink_to(subs / "alice.ipynb")  # a second grade for alice
    (subs / "d_folder_link").symlink_to(subs, target_is_directory=True)
    other = json.loads((ROOT / "solutions" / "00_setup_and_data.ipynb").read_text())
    (subs / "e_other.ipynb").write_text(json.dumps(other))  # notebook 00's work, no NN_ name
    started = time.monotonic()
    rows = run_grader(subs, write_release(tmp_path), tmp_path / "grades.csv", "--assignment", "01",
                      "--timeout", "120", "--notebook-timeout", "120")
    assert time.monotonic() - started < 150
    assert statuses(rows, "alice") == ("passed", "passed")
    for name in ["a_fifo", "b_link_secret", "c_link_alice"]:
        assert rows[name, ""]["status"] == "not run"
        assert "not graded" in rows[name, ""]["message"]
    assert not any(student.startswith("d_folder_link") for student, _ in rows)
    assert rows["e_other", ""]["status"] == "not run"
    assert "work of nb00" in rows["e_other", ""]["message"]
    assert "TOP-SECRET" not in (tmp_path / "grades.csv").read_text()


@needs_sandbox
def test_a_flood_of_output_is_stopped_and_the_next_student_is_graded(tmp_path):
    subs = tmp_path / "submissions"
    subs.mkdir()
    nbformat.write(submission(SOLVED, extra=["for _ in range(10**6):\n    print('x' * 1000)"]),
                   subs / "a_flood.ipynb")
    nbformat.write(submission(SOLVED), subs / "b_next.ipynb")
    rows = run_grader(subs, write_release(tmp_path), tmp_path / "grades.csv", "--max-output", "4",
                      "--timeout", "120")
    assert statuses(rows, "a_flood") == ("not run", "not run")
    assert "(--max-output)" in rows["a_flood", "1"]["message"]
    assert statuses(rows, "b_next") == ("passed", "passed")


def test_a_cell_that_ignores_interrupts_is_stopped_and_the_next_student_is_graded(tmp_path):
    subs = tmp_path / "submissions"
    subs.mkdir()
    stubborn = submission(SOLVED, extra=[
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "while True:\n    time.sleep(0.1)"])
    nbformat.write(stubborn, subs / "a_stubborn.ipynb")
    nbformat.write(submission(SOLVED), subs / "b_next.ipynb")
    started = time.monotonic()
    rows = run_grader(subs, write_release(tmp_path), tmp_path / "grades.csv", "--timeout", "20",
                      "--notebook-timeout", "60")
    assert time.monotonic() - started < 120
    assert statuses(rows, "a_stubborn") == ("not run", "not run")
    assert "cell 2 ran past its time limit of 20 s (--timeout)" in rows["a_stubborn", "1"][
        "message"]
    assert statuses(rows, "b_next") == ("passed", "passed")


def test_a_notebook_past_its_own_time_limit_is_stopped(tmp_path):
    subs = tmp_path / "submissions"
    subs.mkdir()
    slow = submission(SOLVED, extra=["import time\ntime.sleep(1.5)"] * 6)  # each under --timeout
    nbformat.write(slow, subs / "slow.ipynb")
    rows = run_grader(subs, write_release(tmp_path), tmp_path / "grades.csv", "--timeout", "30",
                      "--notebook-timeout", "8")
    assert statuses(rows, "slow") == ("not run", "not run")
    assert "(--notebook-timeout)" in rows["slow", "1"]["message"]


def test_without_a_sandbox_the_grader_refuses_unless_told(tmp_path, capsys, monkeypatch):
    subs = tmp_path / "submissions"
    subs.mkdir()
    nbformat.write(submission(SOLVED), subs / "alice.ipynb")
    monkeypatch.setattr(grade.sandbox, "bwrap_path", lambda: None)
    assert grade.main([str(subs), "--release", str(write_release(tmp_path)),
                       "--out", str(tmp_path / "g.csv")]) == 2
    assert "will not run students' code unsandboxed" in capsys.readouterr().err
    rows = run_grader(subs, tmp_path / "release", tmp_path / "grades.csv", "--sandbox", "off")
    assert statuses(rows, "alice") == ("passed", "passed")
    assert "WITHOUT a sandbox" in capsys.readouterr().err


# ------------------------------------------------------------------------------ the small parts


def test_an_empty_folder_is_an_error(tmp_path, capsys):
    assert grade.main([str(tmp_path), "--out", str(tmp_path / "g.csv")]) == 2
    assert "no .ipynb files" in capsys.readouterr().err


def test_the_notebook_is_known_from_its_file_name_or_its_checks_import():
    nb = new_notebook()
    assert grade.notebook_id("05_vae.ipynb", nb) == "nb05"
    assert grade.notebook_id("alice.ipynb", nb) is None
    nb.cells = [new_code_cell("from vae_course.checks.nb03 import ex1, ex2")]
    assert grade.notebook_id("alice.ipynb", nb) == "nb03"
    nb.cells = [new_code_cell("from vae_course.checks import nb06")]
    assert grade.notebook_id("alice.ipynb", nb) == "nb06"


def test_a_notebook_s_exercises_come_from_its_checks_module():
    assert grade.exercises_for("nb00") == [nb00.ex1]
    assert grade.exercises_for("nb99") == []


def test_students_in_subfolders_are_named_by_their_path(tmp_path):
    (tmp_path / "alice").mkdir()
    nbformat.write(new_notebook(), tmp_path / "alice" / "05_vae.ipynb")
    nbformat.write(new_notebook(), tmp_path / "bob.ipynb")
    found = [p.relative_to(tmp_path).as_posix() for p in grade.find_submissions(tmp_path)]
    assert found == ["alice/05_vae.ipynb", "bob.ipynb"]




def test_cells_a_spreadsheet_would_run_as_formulas_are_written_as_text(tmp_path):
    row = {"student": "@alice", "notebook": "nb00", "exercise": 1, "title": "-1 + 2",
           "status": "failed", "judged_in": "grader", "message": '=HYPERLINK("http://x","click")'}
    risky = ["+1", "\tx", "\rx"]
    rows = [row] + [dict(row, student=s, title=s, message=s) for s in risky]
    grade.write_csv(rows, tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as f:
        written = list(csv.DictReader(f))
    assert written[0] == {"student": "'@alice", "notebook": "nb00", "exercise": "1",
                          "title": "'-1 + 2", "status": "failed", "points": "", "max_points": "",
                          "judged_in": "grader", "message": '\'=HYPERLINK("http://x","click")'}
    assert [(r["student"], r["title"], r["message"]) for r in written[1:]] == [
        ("'" + s, "'" + s, "'" + s) for s in risky]




@needs_sandbox
def test_a_course_notebook_solved_and_untouched_with_both_kinds_of_exercise(tmp_path):
    """Notebook 09 as handed in: two function exercises, a training step (run twice on the
    grader's hidden models) and a convolutional decoder (rebuilt from its weights), all judged by
    the grader; the real release is ``notebooks/``."""
    subs = tmp_path / "submissions"
    subs.mkdir()
    shutil.copy(ROOT / "solutions" / "09_sharper_samples_and_conv_vae.ipynb",
                subs / "09_solved.ipynb")
    shutil.copy(ROOT / "notebooks" / "09_sharper_samples_and_conv_vae.ipynb",
                subs / "09_untouched.ipynb")
    rows = run_grader(subs, ROOT / "notebooks", tmp_path / "grades.csv", "--assignment", "09",
                      "--jobs", "2", "--timeout", "600")
    got = {(s, e): (r["status"], r["judged_in"]) for (s, e), r in rows.items()}
    assert got == {("09_solved", "1"): ("passed", "grader"), ("09_solved", "2"): ("passed", "grader"),
                   ("09_solved", "3"): ("passed", "grader"), ("09_solved", "4"): ("passed", "grader"),
                   ("09_untouched", "1"): ("not attempted", "grader"),
                   ("09_untouched", "2"): ("not attempted", "grader"),
                   ("09_untouched", "3"): ("not attempted", "grader"),
                   ("09_untouched", "4"): ("not attempted", "grader")}


@needs_sandbox
def test_notebook_10_solved_and_untouched_with_a_loss_judged_by_its_gradients(tmp_path):
    """Notebook 10 as handed in: the conditional importance-sampled estimate, the entropy and M2's
    unlabelled loss (value and gradients on the grader's hidden M2 models), all judged by the grader."""
    subs = tmp_path / "submissions"
    subs.mkdir()
    name = "10_what_the_cvae_was_invented_for.ipynb"
    shutil.copy(ROOT / "solutions" / name, subs / "10_solved.ipynb")
    shutil.copy(ROOT / "notebooks" / name, subs / "10_untouched.ipynb")
    rows = run_grader(subs, ROOT / "notebooks", tmp_path / "grades.csv", "--assignment", "10",
                      "--jobs", "2", "--timeout", "600")
    got = {(s, e): (r["status"], r["judged_in"]) for (s, e), r in rows.items()}
    assert got == {**{("10_solved", str(n)): ("passed", "grader") for n in (1, 2, 3)},
                   **{("10_untouched", str(n)): ("not attempted", "grader") for n in (1, 2, 3)}}


@needs_sandbox
def test_notebook_05_s_samplers_are_judged_by_the_grader_from_what_they_drew(tmp_path):
    """Exercises 1 (the reparameterized sample) and 4 (samples from the prior) of 05, right and
    wrong: judged in the grader's process from the draws, gradients and codes the kernel returned
    (the grader decodes the codes with its own copy of the model)."""
    student = nbformat.read(ROOT / "notebooks" / "05_vae.ipynb", as_version=4)
    right, prior, log_px = (solved_cells.exercise_cell("05_vae.ipynb", n) for n in (1, 4, 5))
    answers = {
        "right": {"ex1": right, "ex4": prior, "ex5": log_px},
        "variance": {"ex1": right.replace("torch.exp(0.5 * logvar)", "torch.exp(logvar)"),
                     "ex4": prior.replace("torch.randn(", "torch.rand(")},
        "detached": {"ex1": right.replace("return mu + sigma * eps",
                                          "return (mu + sigma * eps).detach()")},
        # the package's VAE and loss, and the checks' own VAE and objective, passed off as answers
        "borrowed": {"ex2": "# Exercise 2: the VAE module\nfrom vae_course.models import VAE\n",
                     "ex3": "# Exercise 3: the VAE loss in nats per image\n"
                            "from vae_course import losses\n\n\n"
                            "def vae_loss(x_hat, x, mu, logvar):\n"
                            "    return losses.neg_elbo(x_hat, x, mu, logvar)\n"},
        "probe": {"ex2": "# Exercise 2: the VAE module\n"
                         "from vae_course.checks.behaviour import ProbeVAE as VAE\n"},
    }
    assert all(source not in (right, prior) for a in list(answers.values())[1:]
               for source in a.values())
    subs = write_answers(student, answers, tmp_path / "submissions", "05")
    rows = run_grader(subs, ROOT / "notebooks", tmp_path / "grades.csv", "--assignment", "05",
                      "--jobs", "2", "--timeout", "600")
    got = {(s, e): (rows[s, e]["status"], rows[s, e]["judged_in"])
           for s in ("05_right", "05_variance", "05_detached") for e in "14"}
    assert (rows["05_right", "5"]["status"], rows["05_right", "5"]["judged_in"]) == (
        "passed", "grader")  # the grader trained its own copy of the checks' VAE: the same one
    assert got == {("05_right", "1"): ("passed", "grader"), ("05_right", "4"): ("passed", "grader"),
                   ("05_variance", "1"): ("failed", "grader"),
                   ("05_variance", "4"): ("failed", "grader"),
                   ("05_detached", "1"): ("failed", "grader"),
                   ("05_detached", "4"): ("not attempted", "grader")}
    assert "sigma²" in rows["05_variance", "1"]["message"]
    assert "torch.rand draws uniform" in rows["05_variance", "4"]["message"]
    assert "backpropagating" in rows["05_detached", "1"]["message"]
    assert rows["05_right", "2"]["status"] == "not attempted"
    borrowed = {e: (rows["05_borrowed", e]["status"], rows["05_borrowed", e]["judged_in"])
                for e in "23"}
    assert borrowed == {"2": ("not attempted", "grader"), "3": ("not attempted", "grader")}
    assert all("leaves it out" in rows["05_borrowed", e]["message"] for e in "23")
    assert rows["05_probe", "2"]["status"] == "failed"


@needs_sandbox
def test_notebook_07_s_estimates_are_judged_by_the_grader_on_its_own_copy_of_the_model(tmp_path):
    """Notebook 07 solved and untouched: both exercises (functions of the checks' trained VAE) are
    judged in the grader's process, on a model it trained itself from the same seed."""
    subs = tmp_path / "submissions"
    subs.mkdir()
    shutil.copy(ROOT / "solutions" / "07_what_the_elbo_hides.ipynb", subs / "07_solved.ipynb")
    shutil.copy(ROOT / "notebooks" / "07_what_the_elbo_hides.ipynb", subs / "07_untouched.ipynb")
    rows = run_grader(subs, ROOT / "notebooks", tmp_path / "grades.csv", "--assignment", "07",
                      "--jobs", "2", "--timeout", "600")
    got = {(s, e): (r["status"], r["judged_in"]) for (s, e), r in rows.items()}
    assert got == {("07_solved", "1"): ("passed", "grader"), ("07_solved", "2"): ("passed", "grader"),
                   ("07_untouched", "1"): ("not attempted", "grader"),
                   ("07_untouched", "2"): ("not attempted", "grader")}


# A BatchNorm design for exercise 5 of 04: right, but not a chain of Linear layers, which is what the
# grader can rebuild from weights; its row must say that the verdict is the kernel's.
BATCHNORM_DESIGN = '''# Exercise 5: a better autoencoder
class BetterAutoencoder(nn.Module):
    def __init__(self, latent_dim=2):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(784, 512), nn.BatchNorm1d(512), nn.ReLU(),
                                     nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, 256), nn.ReLU(), nn.Linear(256, 512),
                                     nn.ReLU(), nn.Linear(512, 784))

    def encode(self, x):
        return self.encoder(x.reshape(len(x), 784))

    def decode(self, z):
        return torch.sigmoid(self.decoder(z)).reshape(len(z), 1, 28, 28)

    def forward(self, x):
        z = self.encode(x)
        return self.decode(z), z
'''


@needs_sandbox
def test_notebook_04_s_models_and_loop_are_judged_by_the_grader_from_their_weights(tmp_path):
    """Notebook 04's autoencoder, training loop and better autoencoder, right, wrong with the
    kernel's comparisons patched, and borrowed from the course: the grader rebuilds each model from
    the weights the kernel returned and runs the reference loop itself, so patching torch in the
    kernel changes nothing; a design it cannot rebuild is passed on as the kernel's verdict, and
    its row says so (``judged_in: submission``)."""
    student = nbformat.read(ROOT / "notebooks" / "04_autoencoder.ipynb", as_version=4)
    ae, loss, loop, better = (solved_cells.exercise_cell("04_autoencoder.ipynb", n)
                              for n in (1, 2, 3, 5))
    patch = ("\nimport torch as _t\n_t.allclose = lambda *a, **k: True\n"
             "_t.equal = lambda *a, **k: True\n_t.Tensor.__lt__ = lambda *a, **k: True\n")
    no_relu = ae.replace("nn.ReLU(),\n            nn.Linear(hidden, latent_dim)",
                         "nn.Linear(hidden, latent_dim)")
    assert no_relu != ae
    answers = {
        "right": {"ex1": ae, "ex2": loss, "ex3": loop, "ex5": better},  # the loop uses ex2's loss
        "forged": {"ex1": no_relu + patch,
                   "ex3": "# Exercise 3: the training loop\n"
                          "def train_epoch(model, optimizer, x, batch_size):\n"
                          "    return 100.0\n" + patch,
                   "ex5": BATCHNORM_DESIGN},
        "borrowed": {"ex1": "# Exercise 1: the autoencoder module\n"
                            "from vae_course.models import AE as Autoencoder\n",
                     "ex2": "# Exercise 2: the reconstruction loss in nats per image\n"
                            "from vae_course import losses\n\n\n"
                            "def reconstruction_loss(x_hat, x):\n"
                            "    return -losses.bernoulli_log_likelihood(x_hat, x)\n"},
    }
    subs = write_answers(student, answers, tmp_path / "submissions", "04")
    rows = run_grader(subs, ROOT / "notebooks", tmp_path / "grades.csv", "--assignment", "04",
                      "--jobs", "2", "--timeout", "600")
    got = {(s, e): (rows[s, e]["status"], rows[s, e]["judged_in"])
           for s in ("04_right", "04_forged") for e in "135"}
    assert got == {("04_right", "1"): ("passed", "grader"), ("04_right", "3"): ("passed", "grader"),
                   ("04_right", "5"): ("passed", "grader"),
                   ("04_forged", "1"): ("failed", "grader"), ("04_forged", "3"): ("failed", "grader"),
                   ("04_forged", "5"): ("passed", "submission")}
    assert "ReLU after the encoder's hidden layer is missing" in rows["04_forged", "1"]["message"]
    assert "weights have not changed" in rows["04_forged", "3"]["message"]
    assert "what your kernel reported" in rows["04_forged", "5"]["message"]
    assert "Rebuilt from your weights" in rows["04_right", "1"]["message"]
    assert (rows["04_borrowed", "1"]["status"], rows["04_borrowed", "1"]["judged_in"]) == (
        "not attempted", "grader")
    assert "leaves it out" in rows["04_borrowed", "1"]["message"]
    assert rows["04_borrowed", "2"]["status"] != "passed"
