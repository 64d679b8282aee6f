"""A whole class on a real JupyterHub, end to end (`make test-hub`, as root).

classroom/setup.py creates the class (system users, exchange, the release of assignment 05 and the
environments; torch and the rest borrowed from this venv), the hub starts with its
configurable-http-proxy, and the cycle runs as the users would: the instructor's nbgrader commands
run as vaehub-instructor; the students' servers start through the hub's REST API, and everything a
student does goes through their own server behind the proxy (nbgrader's Assignments endpoints for
fetch, submit and fetch feedback, the contents API to save the notebook, a kernel to run it).
vaehub-student1 writes exercises 1 to 3 of notebook 05 (the VAE: its sample, the module, its loss)
from solutions/, vaehub-student2 leaves the notebook as released. Then: the grades, the checker's
message in each feedback, what one student cannot read of the other's and of the instructor's, and
everything started is stopped by its PID with nothing left listening. The stages' wall times, the
servers' memory and the autograde seconds per submission are printed (`pytest -s`).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "classroom"))
import layout as L  # noqa: E402

SOLVED, OPEN = L.STUDENTS
SOLVED_EXERCISES = ("ex1", "ex2", "ex3")
STAGES: dict[str, float] = {}
MEASURED: dict[str, object] = {}


def missing() -> str | None:
    """Why the class cannot run here, or None."""
    if sys.platform != "linux" or os.geteuid() != 0:
        return "the hub test creates system users and runs the hub as root: run `make test-hub` as root"
    for tool in ("useradd", "userdel", "runuser"):
        if not shutil.which(tool):
            return f"`{tool}` is not on PATH (the test creates the class's system users)"
    try:
        import jupyterhub  # noqa: F401
        import psutil  # noqa: F401
        import requests  # noqa: F401
    except ImportError as e:
        return f"{e.name} is not installed: `pip install -e '.[test,hub]'`"
    if not shutil.which("configurable-http-proxy"):
        if not shutil.which("npm"):
            return ("configurable-http-proxy (the hub's proxy) is missing and there is no npm to install it:"
                    " apt-get install nodejs npm")
        done = subprocess.run(["npm", "install", "-g", "configurable-http-proxy"], capture_output=True,
                              text=True, timeout=300)
        if done.returncode != 0 or not shutil.which("configurable-http-proxy"):
            return f"configurable-http-proxy could not be installed with npm: {done.stderr[-500:]}"
    if L.base_python() is None:
        return (f"no python{sys.version_info.major}.{sys.version_info.minor} in /usr/bin or /usr/local/bin"
                " that the class's users can run (the class's environments are built on it)")
    if not (L.DATA / "MNIST").is_dir():
        return f"no MNIST in {L.DATA} (set VAE_COURSE_DATA)"
    return None


@contextmanager
def stage(name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    STAGES[name] = round(time.perf_counter() - start, 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def as_user(user: str, *cmd: str, cwd: Path | None = None, timeout: int = 900,
            check: bool = True) -> subprocess.CompletedProcess:
    """Run ``cmd`` as the system user ``user`` (runuser), in that user's environment."""
    env = {"HOME": f"/home/{user}", "USER": user, "PATH": f"{L.env_for(user) / 'bin'}:/usr/bin:/bin",
           "VAE_COURSE_DATA": str(L.DATA), "VAE_COURSE_FAST": "1", "MPLBACKEND": "Agg", "LANG": "C.UTF-8"}
    done = subprocess.run([shutil.which("runuser"), "-u", user, "--", *cmd], cwd=cwd or f"/home/{user}",
                          env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, \
            f"{user}: {' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def nbgrader(*args: str) -> subprocess.CompletedProcess:
    """nbgrader's command line as the instructor, in the course folder."""
    return as_user(L.INSTRUCTOR, "nbgrader", *args, cwd=L.COURSE_DIR)


def rss_mb(pid: int) -> float:
    import psutil

    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)


class Hub:
    """The hub's REST API (as the test's admin service) and each user's server behind the proxy."""

    def __init__(self, url: str, token: str):
        import requests

        self.url, self.session = url, requests.Session()
        self.session.headers["Authorization"] = f"token {token}"
        self.tokens: dict[str, str] = {}

    def api(self, method: str, path: str, **kwargs):
        response = self.session.request(method, f"{self.url}/hub/api{path}", timeout=60, **kwargs)
        assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.text else None

    def start_server(self, user: str) -> int:
        """Start ``user``'s server through the hub, wait until it is ready; its PID."""
        self.api("POST", f"/users/{user}/server")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            server = self.api("GET", f"/users/{user}")["servers"].get("", {})
            if server.get("ready"):
                self.tokens[user] = self.api("POST", f"/users/{user}/tokens",
                                             json={"note": "test_hub", "expires_in": 3600})["token"]
                return server["state"]["pid"]
            time.sleep(1)
        raise AssertionError(f"{user}'s server did not start in 3 minutes")

    def user(self, user: str, method: str, path: str, **kwargs):
        """A request to ``user``'s own server, through the proxy, with ``user``'s token."""
        import requests

        response = requests.request(method, f"{self.url}/user/{user}/{path}", timeout=600,
                                    headers={"Authorization": f"token {self.tokens[user]}"}, **kwargs)
        assert response.status_code < 400, f"{user}: {method} {path}: {response.status_code} {response.text}"
        return response.json() if response.text else None

    def assignments(self, user: str, action: str) -> list[dict]:
        """nbgrader's Assignments tab: fetch, submit or fetch_feedback, in ``user``'s server."""
        answer = self.user(user, "POST", f"assignments/{action}",
                           params={"course_id": L.COURSE_ID, "assignment_id": L.NBGRADER_ASSIGNMENT})
        assert answer["success"], f"{user}: {action}: {answer['value']}"
        return answer["value"]

    def run_notebook(self, user: str, nb: nbformat.NotebookNode) -> int:
        """Run every code cell of ``nb`` in a kernel of ``user``'s server (errors go on, as Run All
        with a failing cell would not, but every cell's memory counts); the kernel's PID."""
        kernel = self.user(user, "POST", "api/kernels", json={"name": "python3"})
        ws = f"{self.url.replace('http', 'ws', 1)}/user/{user}/api/kernels/{kernel['id']}/channels"
        asyncio.run(_execute(ws, self.tokens[user], [c.source for c in nb.cells if c.cell_type == "code"]))
        return kernel["id"]


async def _execute(url: str, token: str, codes: list[str]) -> None:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    conn = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}))
    session = uuid.uuid4().hex
    for code in codes:
        msg_id = uuid.uuid4().hex
        await conn.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session,
                       "username": "test", "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": False}}))
        while True:
            message = await asyncio.wait_for(conn.read_message(), 600)
            assert message is not None, "the kernel's websocket closed"
            if isinstance(message, bytes):  # a message with binary buffers (a plot's, a widget's)
                continue
            reply = json.loads(message)
            if (reply.get("parent_header", {}).get("msg_id") == msg_id and reply["msg_type"] == "status"
                    and reply["content"]["execution_state"] == "idle"):
                break
    conn.close()


def children(pid: int) -> list[int]:
    import psutil

    return [p.pid for p in psutil.Process(pid).children(recursive=True)]


def class_processes() -> list[str]:
    import psutil

    return [f"{p.pid} {p.info['username']} {' '.join(p.info['cmdline'] or [])[:120]}"
            for p in psutil.process_iter(["username", "cmdline"]) if p.info["username"] in L.USERS]


def listening_ports(pids: list[int]) -> set[int]:
    import psutil

    ports = set()
    for pid in pids:
        try:
            ports |= {c.laddr.port for c in psutil.Process(pid).net_connections("tcp")
                      if c.status == psutil.CONN_LISTEN}
        except psutil.NoSuchProcess:
            pass
    return ports


def with_answers(released: nbformat.NotebookNode, exercises: tuple[str, ...]) -> nbformat.NotebookNode:
    """The released notebook with the solution cells ``exercises`` of solutions/ written in."""
    solution = nbformat.read(ROOT / "solutions" / L.NOTEBOOK, as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("grade_id") in exercises}
    assert set(answers) == set(exercises)
    for cell in released.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return released


GRADES = """
import json, sys
from nbgrader.api import Gradebook
with Gradebook("sqlite:///gradebook.db") as gb:
    print(json.dumps({s: {g: gb.find_grade(g, "{notebook}", "{assignment}", s).score for g in sys.argv[1:]}
                      for s in {students}}))
"""


@pytest.fixture(scope="module")
def setup_class():
    reason = missing()
    if reason:
        pytest.skip(reason)
    setup = [sys.executable, str(ROOT / "classroom" / "setup.py")]
    subprocess.run([*setup, "--remove"], check=True, capture_output=True)
    with stage("setup: users, exchange, release 05, environments"):
        done = subprocess.run([*setup, "--borrow-deps"], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    yield
    removed = subprocess.run([*setup, "--remove"], capture_output=True, text=True)
    assert removed.returncode == 0, removed.stdout[-2000:] + removed.stderr[-2000:]


@pytest.mark.hub
def test_a_class_on_jupyterhub(setup_class, tmp_path):
    token = secrets.token_hex(32)
    port, proxy_api, hub_api = free_port(), free_port(), free_port()
    env = dict(os.environ, VAEHUB_PORT=str(port), VAEHUB_PROXY_API_PORT=str(proxy_api),
               VAEHUB_HUB_PORT=str(hub_api), VAEHUB_API_TOKEN=token, VAEHUB_STUDENT_FAST="1",
               VAE_COURSE_DATA=str(L.DATA), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    log = (tmp_path / "hub.log").open("w")
    pids: dict[str, int] = {}
    hub_process = None
    try:
        with stage("hub start (hub and proxy up)"):
            hub_process = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(ROOT / "classroom" / "jupyterhub_config.py")],
                cwd=L.HUB_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
            pids["hub"] = hub_process.pid
            hub = Hub(f"http://127.0.0.1:{port}", token)
            deadline = time.monotonic() + 60
            while not listening(port) or not (L.HUB_DIR / "jupyterhub-proxy.pid").exists():
                assert hub_process.poll() is None and time.monotonic() < deadline, \
                    (tmp_path / "hub.log").read_text()[-3000:]
                time.sleep(0.5)
            while True:
                try:
                    hub.api("GET", "/")
                    break
                except Exception:
                    assert time.monotonic() < deadline, (tmp_path / "hub.log").read_text()[-3000:]
                    time.sleep(0.5)
            pids["proxy"] = int((L.HUB_DIR / "jupyterhub-proxy.pid").read_text())

        with stage("instructor: generate_assignment + release_assignment"):
            nbgrader("generate_assignment", L.NBGRADER_ASSIGNMENT, "--force")
            nbgrader("release_assignment", L.NBGRADER_ASSIGNMENT, "--force")

        with stage("two students' servers start through the hub"):
            for student in L.STUDENTS:
                pids[student] = hub.start_server(student)
        MEASURED["server RSS after start, MB"] = {s: rss_mb(pids[s]) for s in L.STUDENTS}
        imported = as_user(OPEN, "python", "-c", "import vae_course; print(vae_course.__file__)").stdout
        assert imported.startswith(str(L.STUDENT_ENV)), f"the students' servers import {imported}"

        with stage("students fetch"):
            for student in L.STUDENTS:
                fetched = hub.assignments(student, "fetch")
                assert any(a["status"] == "fetched" for a in fetched), fetched
        path = f"{L.NBGRADER_ASSIGNMENT}/{L.NOTEBOOK}"
        released = nbformat.from_dict(hub.user(SOLVED, "GET", f"api/contents/{path}")["content"])
        solved = with_answers(released, SOLVED_EXERCISES)

        with stage("student1 writes exercises 1-3, saves, runs the notebook in their server"):
            hub.user(SOLVED, "PUT", f"api/contents/{path}",
                     json={"type": "notebook", "format": "json", "content": solved})
            kernel = hub.run_notebook(SOLVED, solved)
        kernels = children(pids[SOLVED])
        assert kernels, f"no kernel under {SOLVED}'s server ({kernel})"
        MEASURED["student1 after running the notebook, MB"] = {
            "server": rss_mb(pids[SOLVED]), "kernel": sum(rss_mb(k) for k in kernels)}

        with stage("students submit"):
            for student in L.STUDENTS:
                submitted = hub.assignments(student, "submit")
                assert any(a["status"] == "submitted" for a in submitted), submitted

        with stage("instructor collects"):
            nbgrader("collect", L.NBGRADER_ASSIGNMENT)
        autograde = {}
        for student in L.STUDENTS:
            start = time.perf_counter()
            nbgrader("autograde", L.NBGRADER_ASSIGNMENT, "--create", f"--student={student}")
            autograde[student] = round(time.perf_counter() - start, 1)
        STAGES["instructor autogrades (both)"] = round(sum(autograde.values()), 1)
        MEASURED["autograde seconds per submission"] = autograde
        with stage("instructor: generate_feedback + release_feedback"):
            nbgrader("generate_feedback", L.NBGRADER_ASSIGNMENT)
            nbgrader("release_feedback", L.NBGRADER_ASSIGNMENT)
        with stage("students fetch feedback"):
            for student in L.STUDENTS:
                hub.assignments(student, "fetch_feedback")

        # the grades: student1 full points for exercises 1-3, nothing for the open ones; student2 nothing
        source = nbformat.read(L.COURSE_DIR / "source" / L.NBGRADER_ASSIGNMENT / L.NOTEBOOK, as_version=4)
        points = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader["points"] for c in source.cells
                  if c.metadata.get("nbgrader", {}).get("grade")}
        assert set(points) == {f"ex{n}-check" for n in range(1, 6)}
        script = (GRADES.replace("{notebook}", Path(L.NOTEBOOK).stem)
                  .replace("{assignment}", L.NBGRADER_ASSIGNMENT).replace("{students}", repr(L.STUDENTS)))
        grades = json.loads(as_user(L.INSTRUCTOR, "python", "-c", script, *points, cwd=L.COURSE_DIR).stdout)
        expected = {SOLVED: {g: (p if g.removesuffix("-check") in SOLVED_EXERCISES else 0)
                             for g, p in points.items()},
                    OPEN: dict.fromkeys(points, 0)}
        assert grades == expected

        # each student's feedback, read in their own server, holds the checker's message
        feedback = {}
        for student in L.STUDENTS:
            folders = hub.user(student, "GET", f"api/contents/{L.NBGRADER_ASSIGNMENT}/feedback")["content"]
            assert len(folders) == 1, folders
            html = hub.user(student, "GET", f"api/contents/{folders[0]['path']}/05_vae.html",
                            params={"format": "text", "type": "file"})["content"]
            feedback[student] = html
        for n in range(1, 6):
            verdict = "correct." if f"ex{n}" in SOLVED_EXERCISES else "not attempted yet"
            assert re.search(rf"Exercise {n} \(.*?\): {re.escape(verdict)}", feedback[SOLVED]), (n, verdict)
            assert re.search(rf"Exercise {n} \(.*?\): not attempted yet", feedback[OPEN]), n

        # what one student cannot read: the other's submission and copy, the instructor's course
        inbound = L.EXCHANGE / L.COURSE_ID / "inbound"
        (theirs,) = inbound.glob(f"{SOLVED}+{L.NBGRADER_ASSIGNMENT}+*")
        mine = as_user(OPEN, "cat", f"/home/{OPEN}/{path}")  # the control: reading works as that user
        assert json.loads(mine.stdout)["cells"]
        for attempt in (["cat", str(theirs / L.NOTEBOOK)], ["ls", str(inbound)],
                        ["cat", f"/home/{SOLVED}/{path}"],
                        ["ls", str(L.COURSE_DIR / "source")],
                        ["cat", str(L.COURSE_DIR / "source" / L.NBGRADER_ASSIGNMENT / L.NOTEBOOK)],
                        ["cat", str(L.COURSE_DIR / "gradebook.db")],
                        ["ls", str(L.INSTRUCTOR_ENV)]):
            denied = as_user(OPEN, *attempt, check=False)
            assert denied.returncode != 0 and "Permission denied" in denied.stderr, \
                (attempt, denied.stdout[:200])

        # stop everything by its PID: the servers (through the hub), then the hub, which stops its proxy
        started = [pids["hub"], pids["proxy"], *(pids[s] for s in L.STUDENTS), *kernels]
        ports = listening_ports(started) | {port, proxy_api, hub_api}
        with stage("stop servers, hub and proxy"):
            for student in L.STUDENTS:
                hub.session.delete(f"{hub.url}/hub/api/users/{student}/server", timeout=60)
            hub_process.send_signal(signal.SIGTERM)
            hub_process.wait(timeout=60)
            deadline = time.monotonic() + 30
            while any(_alive(p) for p in started) and time.monotonic() < deadline:
                time.sleep(0.5)
        assert not [p for p in started if _alive(p)], "still running after the hub stopped"
        assert not [p for p in sorted(ports) if listening(p)], "still listening"
        assert not class_processes(), class_processes()
    finally:
        log.close()
        for pid in pids.values():  # on a failure: whatever is left, by its PID
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if hub_process is not None and hub_process.poll() is None:
            hub_process.kill()
            hub_process.wait()
        print("\nstage wall times (s):", json.dumps(STAGES, indent=1))
        print("measured:", json.dumps(MEASURED, indent=1))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_classroom_s_nbgrader_config_is_the_instructors_page_s():
    """classroom/nbgrader_config.py holds docs/instructors.md's config as it is (and the exchange)."""
    from test_nbgrader import readme_config

    ours = (ROOT / "classroom" / "nbgrader_config.py").read_text()
    for line in readme_config().splitlines():
        if line.strip() and not line.startswith("c = get_config()"):
            assert line in ours.splitlines(), line
