"""Browser tests: the demos in JupyterLab and Voila, driven by Playwright in Debian's chromium.

Run them with ``make test-browser`` (``.ci/run`` does, after ``make test``). They need the Python
``playwright`` package (the ``test`` extra) and a chromium executable (``apt-get install chromium``,
or ``VAE_COURSE_CHROMIUM=/path/to/chrome``); without either they are skipped, with the reason.
``playwright install`` is never needed: the system's chromium is used.

The fixtures here: the demos' models in the model cache (fast mode), a JupyterLab and a Voila
server on 127.0.0.1 with a free port and a random token (each serving a temporary copy of
``demos/``, so no test ever writes to the repository), and one headless browser with a fresh profile.
Screenshots go to ``build/screenshots/`` (``VAE_COURSE_SCREENSHOTS`` overrides the folder; the
README's pictures are made with ``make screenshots``: the same tests in full mode, into ``docs/``).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from browser_servers import CHROMIUM_ARGS, Server, find_chromium, start_server

ROOT = Path(__file__).resolve().parents[2]
DEMOS = ROOT / "demos"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.call_failed = report.failed  # read by the page fixture: a screenshot of the failure
    return report


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The chromium executable, or the whole browser session is skipped with the reason."""
    pytest.importorskip("playwright", reason="the browser tests need playwright: pip install -e '.[test]'")
    path = find_chromium()
    if path is None:
        pytest.skip("no chromium found: apt-get install chromium (or set VAE_COURSE_CHROMIUM)")
    return path


@pytest.fixture(scope="session")
def demo_env(tmp_path_factory) -> dict:
    """The environment of the servers' kernels: fast mode (unless VAE_COURSE_FAST says otherwise),
    the data folder, and a warm model cache.

    The cache is ``$VAE_COURSE_CACHE`` when set (``.ci/run`` sets it, and ``make test`` has filled
    it), else the repository's ``.cache/``; the demos' two models are trained into it here if missing.
    """
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    env.setdefault("VAE_COURSE_FAST", "1")  # `make screenshots` sets 0: the full-mode models
    env.setdefault("VAE_COURSE_CACHE", str(ROOT / ".cache"))
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                 "JUPYTERLAB_WORKSPACES_DIR"):
        env[name] = str(tmp_path_factory.mktemp(name.lower()))
    # JupyterLab: no news pop-up over the widgets, no autosave
    settings = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab"
    (settings / "apputils-extension").mkdir(parents=True)
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}')
    (settings / "docmanager-extension").mkdir(parents=True)
    (settings / "docmanager-extension" / "plugin.jupyterlab-settings").write_text('{"autosave": false}')
    subprocess.run([sys.executable, "-m", "vae_course.demos.presenter"], env=env, check=True,
                   stdout=subprocess.DEVNULL, timeout=600)
    return env


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory) -> Path:
    """A temporary copy of ``demos/`` for the servers to serve: nothing is written to the repository."""
    root = tmp_path_factory.mktemp("served")
    for nb in DEMOS.glob("*.ipynb"):
        shutil.copy(nb, root / nb.name)
    return root


@pytest.fixture(scope="session")
def lab(demo_env, demo_root, chromium) -> Server:
    """A JupyterLab server (stopped by its PID at the end of the session)."""
    args = ["-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--ServerApp.root_dir={demo_root}",
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    with start_server(args, demo_env, ready_path="/api/status") as server:
        yield server


@pytest.fixture(scope="session")
def voila(demo_env, demo_root, chromium) -> Server:
    """A Voila server for the demo notebooks, as ``make demo`` starts it (stopped by its PID)."""
    env = dict(demo_env, JUPYTER_PATH=str(ROOT / "share" / "jupyter"),  # the presenter template
               JUPYTER_CONFIG_PATH=str(ROOT / "share" / "jupyter" / "config"))  # and its voila.json
    args = ["-m", "voila", "--no-browser", "--template=presenter", "--preheat_kernel=True", str(demo_root)]
    with start_server(args, env, ready_path="/voila/tree", token_flag="--token",
                      ip_flag="--Voila.ip") as server:
        yield server


@pytest.fixture(scope="session")
def browser(chromium, tmp_path_factory):
    """One headless chromium with a fresh profile for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=chromium,
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(60_000)
        yield context
        context.close()


@pytest.fixture
def page(browser, request, tmp_path_factory):
    """A new browser tab, closed after the test; if the test failed, a screenshot of it first."""
    tab = browser.new_page()
    yield tab
    if getattr(request.node, "call_failed", False):
        path = tmp_path_factory.getbasetemp() / f"failed-{request.node.name}.png"
        tab.screenshot(path=path, full_page=True)
        print(f"screenshot of the failed page: {path}")
    tab.close()


@pytest.fixture
def lab_page(page, lab):
    """A tab for JupyterLab, after every kernel session is deleted over REST (so a fresh kernel)."""
    lab.delete_sessions()
    yield page
    lab.delete_sessions()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the tests save their screenshots (the README shows them)."""
    folder = Path(os.environ.get("VAE_COURSE_SCREENSHOTS", ROOT / "build" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
