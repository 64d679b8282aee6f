"""The box a submission's kernel runs in: bubblewrap with nothing of the host but what Python needs.

The kernel sees a root of its own, built from read-only binds of the system's programs and
libraries (``/usr``, the ``/lib`` folders, a few files of ``/etc``), the Python environment, the
course package and the datasets; a private ``/tmp`` and home folder of bounded size; and one
``io`` folder shared with the grader (the kernel's sockets and the result files). The repository,
``solutions/``, the submissions folder, other students' files, home folders and the model cache are
not in it at all: there is nothing to hide, so no hidden path appears anywhere (bwrap's arguments go
through a pipe, ``--args``, not its command line).

**No privilege.** Run as root, the grader starts each kernel as a user id of its own (``uid_base``
plus the job's slot, ids with no account on the machine) with every capability dropped and
``no_new_privs`` (``setpriv``): the kernel cannot remount anything, read root's files, signal the
grader or another student's kernel. Run as an ordinary user, bubblewrap's user namespace holds the
kernel with no capabilities. Either way: own PID, network, IPC and UTS namespaces, a new session,
killed with its parent.

**Limits** (rlimits, inherited by everything the kernel starts): memory (``RLIMIT_DATA``, the heap
and anonymous mappings), processes and threads (``RLIMIT_NPROC``; counted per user id, hence one id
per slot), the size of any one file (``RLIMIT_FSIZE``) and open files; the private folders are
tmpfs of a fixed size, and as root the ``io`` folder too. Hitting one makes the submission's code
fail there; the grader reports what did not run.

``python -m vae_course.instructor.sandbox SPEC.json CONNECTION_FILE`` is the kernel's launcher (the
grader's kernelspec names it): it reads the spec the grader wrote outside the box, sets the limits
and execs bwrap.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

HOME = "/home/student"  # the kernel's home and working folder, inside the box
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "nsswitch.conf",
       "passwd", "group", "hosts", "fonts", "mime.types")  # what Python and matplotlib read of /etc
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")


@dataclass
class Limits:
    """What one submission may use; each is a hard limit."""

    memory_mb: int = 6144  # RLIMIT_DATA: heap and anonymous memory of each process
    processes: int = 256  # RLIMIT_NPROC: processes and threads of the kernel's user id
    file_mb: int = 256  # RLIMIT_FSIZE: the largest file it may write
    disk_mb: int = 512  # the size of its home folder and of its /tmp (tmpfs, each)
    io_mb: int = 64  # the size of the io folder (tmpfs; as root only)
    open_files: int = 1024  # RLIMIT_NOFILE


@dataclass
class Spec:
    """Everything the launcher needs to start one kernel in its box (JSON, written by the grader)."""

    bwrap: str
    io: str  # the folder shared with the grader, at the same path inside
    env: dict[str, str]
    python: str  # the interpreter the kernel runs (inside the box)
    binds: list[str]  # host paths bound read-only at the same path
    uid: int | None = None  # as root: the user id the kernel runs as
    limits: Limits = field(default_factory=Limits)
    overlays: list[list[str]] = field(default_factory=list)  # [host path, path inside], read-only


def bwrap_path() -> str | None:
    """The bubblewrap binary, when it is installed and can build a box here."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net",
                            "--cap-drop", "ALL", "true"], capture_output=True, timeout=30)
    return path if probe.returncode == 0 else None


def installed_package() -> Path:
    """The folder of the installed ``vae_course`` (an editable install's is the repository's)."""
    import vae_course

    return Path(vae_course.__file__).resolve().parent


def needed_paths(data: Path | None) -> list[str]:
    """The host paths a kernel needs besides the course package: Python, its environment and the
    datasets. (The package itself comes as an overlay: the graded copy, bound where it is
    installed.)"""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    if data is not None and data.exists():
        paths.add(data.resolve())
    for entry in sys.path:  # site folders outside the prefixes (a --user site, PYTHONPATH)
        p = Path(entry).resolve() if entry else None
        if p and p.is_dir() and "site-packages" in p.parts and not any(
                p.is_relative_to(q) for q in paths):
            paths.add(p)
    return sorted(str(p) for p in paths)


def bwrap_args(spec: Spec) -> list[str]:
    """bwrap's arguments (after the program name) for ``spec``; the kernel command follows."""
    args = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    if spec.uid is None:  # an ordinary user: bwrap's user namespace, no capabilities in it
        args += ["--unshare-user", "--cap-drop", "ALL"]
    for path in SYSTEM:
        p = Path(path)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), path]
        elif p.is_dir():
            args += ["--ro-bind", path, path]
    for name in ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    args += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu",
             "--proc", "/proc", "--dev", "/dev"]
    size = str(spec.limits.disk_mb * 2**20)
    args += ["--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", HOME]
    binds = [*spec.binds, *(inside for _, inside in spec.overlays), spec.io]
    for parent in _parents(binds):  # made by bwrap: readable by the kernel's user, nothing in them
        args += ["--perms", "0755", "--dir", parent]
    for path in spec.binds:
        args += ["--ro-bind", path, path]
    for host, inside in spec.overlays:  # after the binds: over what they bound there
        args += ["--ro-bind", host, inside]
    args += ["--bind", spec.io, spec.io]
    if spec.uid is not None:  # bwrap (root) made them; the kernel's user writes in them
        args += ["--chmod", "1777", HOME, "--chmod", "1777", "/tmp"]
    args += ["--chdir", HOME]
    for key, value in spec.env.items():
        args += ["--setenv", key, value]
    return args


def _parents(paths: list[str]) -> list[str]:
    """The folders above ``paths`` that bwrap must create (shortest first), none of them a system
    folder, a bound path or inside one."""
    found = set()
    for path in paths:
        for parent in Path(path).parents:
            p = str(parent)
            if p in ("/", "/tmp") or p in SYSTEM or any(
                    p == b or p.startswith(b.rstrip("/") + "/") for b in paths):
                continue
            found.add(p)
    return sorted(found, key=lambda p: (p.count("/"), p))


def kernel_command(spec: Spec, connection_file: str) -> list[str]:
    """What runs inside the box: the kernel, as ``spec.uid`` without privilege when root."""
    kernel = [spec.python, "-m", "ipykernel_launcher", "-f", connection_file]
    if spec.uid is None:
        return kernel
    return ["/usr/bin/setpriv", f"--reuid={spec.uid}", f"--regid={spec.uid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--", *kernel]


def set_limits(limits: Limits) -> None:
    """Apply ``limits`` to this process (and so to everything it execs and starts)."""
    for which, value in [(resource.RLIMIT_DATA, limits.memory_mb * 2**20),
                         (resource.RLIMIT_NPROC, limits.processes),
                         (resource.RLIMIT_FSIZE, limits.file_mb * 2**20),
                         (resource.RLIMIT_NOFILE, limits.open_files),
                         (resource.RLIMIT_CORE, 0)]:
        resource.setrlimit(which, (value, value))


def write_spec(spec: Spec, path: Path) -> None:
    path.write_text(json.dumps(asdict(spec)))
    os.chmod(path, 0o600)


def launch(spec_path: str, connection_file: str) -> None:
    """Exec bwrap for the spec at ``spec_path``, its arguments passed through a pipe."""
    raw = json.loads(Path(spec_path).read_text())
    spec = Spec(**{**raw, "limits": Limits(**raw["limits"])})
    args = bwrap_args(spec)  # through the pipe; the command itself must follow on the command line
    read, write = os.pipe()
    data = b"".join(a.encode() + b"\0" for a in args)
    if len(data) > 60000:  # more than a pipe holds before the reader starts
        raise SystemExit("the sandbox's arguments are too long")
    os.write(write, data)
    os.close(write)
    os.set_inheritable(read, True)
    if spec.uid is not None:  # the connection file, written by the grader, is the kernel's to read
        os.chown(connection_file, spec.uid, spec.uid)
    set_limits(spec.limits)
    os.execv(spec.bwrap, [spec.bwrap, "--args", str(read), "--",
                          *kernel_command(spec, connection_file)])


if __name__ == "__main__":
    launch(sys.argv[1], sys.argv[2])
