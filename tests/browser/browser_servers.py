"""Start a Jupyter server (JupyterLab or Voila) on a free port, wait until it answers, stop it by PID."""

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# the flags that work for Debian's chromium in a container without network
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def find_chromium() -> str | None:
    """``$VAE_COURSE_CHROMIUM``, else ``chromium`` / ``chromium-browser`` / ``google-chrome`` on PATH."""
    env = os.environ.get("VAE_COURSE_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running server: ``url`` (``http://127.0.0.1:PORT``), its ``token`` and its process."""

    url: str
    token: str
    process: subprocess.Popen
    log: Path

    def request(self, method: str, path: str) -> bytes:
        """``method path`` with the token in the header; returns the body (raises on HTTP errors)."""
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()

    def api(self, method: str, path: str):
        """Call the REST API (``/api/...``); returns the decoded JSON, or None for an empty answer."""
        body = self.request(method, path)
        return json.loads(body) if body else None

    def delete_sessions(self) -> int:
        """Delete every kernel session (and so its kernel); returns how many there were."""
        sessions = self.api("GET", "/api/sessions")
        for session in sessions:
            self.api("DELETE", f"/api/sessions/{session['id']}")
        return len(sessions)

    def link(self, path: str) -> str:
        """``url + path`` with the token as a query parameter (the browser logs in with it)."""
        return f"{self.url}{path}{'&' if '?' in path else '?'}token={self.token}"


@contextlib.contextmanager
def start_server(args: list[str], env: dict, ready_path: str, token_flag: str = "--IdentityProvider.token",
                 ip_flag: str = "--ip", timeout: float = 90.0):
    """Run ``python <args> --port=P <ip_flag>=127.0.0.1 <token_flag>=T``; yield a :class:`Server` once
    ``ready_path`` answers 200, and stop the process (by its PID: SIGTERM, then SIGKILL) at the end.
    """
    port, token = free_port(), secrets.token_hex(16)
    log = Path(env.get("JUPYTER_RUNTIME_DIR", ".")) / f"server-{port}.log"
    command = [sys.executable, *args, f"--port={port}", f"{ip_flag}=127.0.0.1", f"{token_flag}={token}"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", token, process, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{args[1]} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                server.request("GET", ready_path)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{args[1]} did not answer {ready_path} in {timeout:.0f} s:\n"
                                   f"{log.read_text()[-3000:]}")
            time.sleep(0.25)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
