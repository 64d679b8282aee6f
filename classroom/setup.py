"""Set up (or remove) the classroom on this machine, as root.

    sudo .venv/bin/python classroom/setup.py             # users, folders, environments, release
    sudo .venv/bin/python classroom/setup.py --remove    # the users, their homes, /srv/vaehub, /opt/vaehub

Creates the system users vaehub-instructor, vaehub-student1 and vaehub-student2 (homes 0700), nbgrader's
exchange /srv/vaehub/exchange (1777: everyone may enter and create, no one may remove another's
entries; nbgrader sets the modes inside), the release of assignment 05 in /opt/vaehub/release (built
from this clone with vae_course.instructor.release), the students' environment
/opt/vaehub/student-env (the release's wheel, jupyterhub-singleuser, nbgrader; world-readable), the
instructor's environment /opt/vaehub/instructor-env (the full course from this clone; readable by
the instructor only), and the instructor's nbgrader course folder with notebook 05's source.

``--borrow-deps`` (the end-to-end test's shortcut): the two environments take torch, JupyterLab and
the rest from this Python's site-packages through a .pth file instead of installing them (minutes of
downloads); what differs between them (the course package, nbgrader's and JupyterHub's scripts and
config) is installed as in a real setup. Run it again after changing the course: it is idempotent,
and keeps an environment built before with the same packages (only the course package is installed
again).
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import secrets
import shutil
import signal
import site
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import layout as L  # noqa: E402

CLASS_NBGRADER_CONFIG = f"""# nbgrader for the class's servers: the hub's exchange, one course
c = get_config()  # noqa: F821
c.Exchange.root = "{L.EXCHANGE}"
c.CourseDirectory.course_id = "{L.COURSE_ID}"
c.ExchangeFactory.submit = "vaehub_exchange.PrivateSubmit"  # other students cannot enter a submission
"""


def run(*cmd: str | os.PathLike, **kwargs) -> None:
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def create_users() -> None:
    for user in L.USERS:
        try:
            pwd.getpwnam(user)
        except KeyError:
            run("useradd", "--create-home", "--shell", "/bin/bash", user)
        os.chmod(Path("/home") / user, 0o700)


def purelib(python: Path) -> str:
    """The site-packages folder of the environment of ``python``."""
    return subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()


def base_python() -> Path:
    found = L.base_python()
    if found is None:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        sys.exit(f"no {version} in /usr/local/bin or /usr/bin for the class's environments "
                 f"(apt-get install {version} {version}-venv)")
    return found


def make_env(path: Path, borrow: bool, course: str, packages: list[str]) -> None:
    """A venv at ``path`` with the course package ``course`` and ``packages`` installed (their
    dependencies borrowed from this Python when ``borrow``, else installed too). An environment
    built before with the same packages is kept, and only ``course`` is installed again."""
    python = path / "bin" / "python"
    stamp = path / ".classroom-packages"
    wanted = json.dumps({"borrow": borrow, "python": str(base_python()), "packages": packages})
    if stamp.exists() and stamp.read_text() == wanted:
        run(python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", course)
        return
    if path.exists():
        shutil.rmtree(path)
    run(base_python(), "-m", "venv", path)
    packages = [course, *packages]
    if borrow:
        ours = [p for p in site.getsitepackages() + sys.path if p.endswith("site-packages")]
        Path(purelib(python), "_borrowed_dependencies.pth").write_text("\n".join(dict.fromkeys(ours)) + "\n")
        # and their data files (nbconvert's templates, JupyterLab's and nbgrader's extensions)
        for borrowed in ours:
            share = Path(borrowed).parents[2] / "share" / "jupyter"
            for entry in share.glob("*") if share.is_dir() else []:
                link = path / "share" / "jupyter" / entry.name
                if not link.exists():
                    link.parent.mkdir(parents=True, exist_ok=True)
                    link.symlink_to(entry)
        # soupsieve (nbconvert's HTML, so generate_feedback) from the index: the borrowed one may use
        # regular-expression features that the base Python's patch release mis-parses (soupsieve 4.1
        # with Debian's 3.11.2: "Invalid character 'i' position 0")
        run(python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", *packages, "soupsieve")
    else:
        run(python, "-m", "pip", "install", "-q", *packages)
    stamp.write_text(wanted)


def jupyterhub_requirement() -> str:
    import jupyterhub

    return f"jupyterhub=={jupyterhub.__version__}"  # the single-user servers speak the hub's version


def setup(borrow: bool) -> None:
    create_users()
    instructor = pwd.getpwnam(L.INSTRUCTOR)
    for folder, mode in ((L.SRV, 0o755), (L.HUB_DIR, 0o700), (L.EXCHANGE, 0o1777), (L.OPT, 0o755)):
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, mode)
    for file, size in ((L.PASSWORD_FILE, 9), (L.INSTRUCTOR_PASSWORD_FILE, 33)):
        if not file.exists():
            file.write_text(secrets.token_urlsafe(size) + "\n")
            os.chmod(file, 0o600)

    # the release: student notebook, wheel without the answers, README
    if L.RELEASE_DIR.exists():
        shutil.rmtree(L.RELEASE_DIR)
    run(sys.executable, "-m", "vae_course.instructor.release", L.ASSIGNMENT, "--out", L.RELEASE_DIR,
        cwd=L.ROOT)
    (wheel,) = L.RELEASE_DIR.glob("*.whl")

    hub = jupyterhub_requirement()
    make_env(L.STUDENT_ENV, borrow, str(wheel), [hub, "nbgrader>=0.9", "alembic"])
    make_env(L.INSTRUCTOR_ENV, borrow, str(L.ROOT), [hub, "nbgrader>=0.9", "alembic"])
    for env in (L.STUDENT_ENV, L.INSTRUCTOR_ENV):
        if shutil.which("runuser"):  # the environment's users can start its Python
            user = L.INSTRUCTOR if env == L.INSTRUCTOR_ENV else L.STUDENTS[0]
            run("runuser", "-u", user, "--", env / "bin" / "python", "-c", "import nbgrader, jupyterhub")
        shutil.copy(Path(__file__).with_name("vaehub_exchange.py"), purelib(env / "bin" / "python"))
        config = env / "etc" / "jupyter"
        config.mkdir(parents=True, exist_ok=True)
        (config / "nbgrader_config.py").write_text(CLASS_NBGRADER_CONFIG)
        run("chmod", "-R", "a+rX,go-w", env)
    # the instructor's environment holds the course's references: the instructor's group only
    os.chown(L.INSTRUCTOR_ENV, 0, instructor.pw_gid)
    os.chmod(L.INSTRUCTOR_ENV, 0o750)

    # the instructor's nbgrader course folder: the course's config and notebook 05's source
    source = L.COURSE_DIR / "source" / L.NBGRADER_ASSIGNMENT
    source.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(__file__).with_name("nbgrader_config.py"), L.COURSE_DIR / "nbgrader_config.py")
    shutil.copy(L.ROOT / "solutions" / L.NOTEBOOK, source / L.NOTEBOOK)
    run("chown", "-R", f"{L.INSTRUCTOR}:{L.INSTRUCTOR}", L.COURSE_DIR)
    run("chmod", "-R", "go-rwx", L.COURSE_DIR)

    readable = subprocess.run(["runuser", "-u", L.STUDENTS[0], "--", "ls", L.DATA / "MNIST"],
                              capture_output=True) if shutil.which("runuser") else None
    if readable is not None and readable.returncode != 0:
        print(f"note: the students cannot read {L.DATA / 'MNIST'} (VAE_COURSE_DATA): chmod -R a+rX it, "
              "and every folder above it a+x")
    if os.stat(L.ROOT).st_mode & 0o005 and (L.ROOT / "solutions").exists():
        print(f"note: {L.ROOT} (with solutions/) is readable by every user of this machine, students "
              f"included; on a real server keep the clone where they cannot read it "
              f"(chmod o-rx {L.ROOT}).")


def stop_processes(uid: int) -> None:
    """Stop what a class user still runs (a kernel the hub did not stop), by PID."""
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _owner(p) == uid]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(1 if pids else 0)


def _owner(proc: Path) -> int | None:
    try:
        return proc.stat().st_uid
    except FileNotFoundError:
        return None


def remove() -> None:
    for user in L.USERS:
        try:
            uid = pwd.getpwnam(user).pw_uid
        except KeyError:
            continue
        stop_processes(uid)
        run("userdel", "--remove", user, stderr=subprocess.DEVNULL)
    for folder in (L.SRV, L.OPT):
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--remove", action="store_true", help="remove the users and the folders")
    parser.add_argument("--borrow-deps", action="store_true",
                        help="take torch and the rest from this Python instead of installing them")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("classroom/setup.py creates system users: run it as root (sudo)")
    remove() if args.remove else setup(args.borrow_deps)


if __name__ == "__main__":
    main()
