"""Where the classroom lives on the machine: users, folders, environments (shared by the hub's
config, the setup script and the end-to-end test)."""

import os
import sys
from pathlib import Path

COURSE_ID = "vae-course"
ASSIGNMENT = "05"                    # the course's notebook number (make release ASSIGNMENT=05)
NBGRADER_ASSIGNMENT = "ps05"         # nbgrader's name for it
NOTEBOOK = "05_vae.ipynb"
INSTRUCTOR = "vaehub-instructor"
STUDENTS = ("vaehub-student1", "vaehub-student2")
USERS = (INSTRUCTOR, *STUDENTS)

SRV = Path("/srv/vaehub")
HUB_DIR = SRV / "hub"                # root only: the hub's database, cookie secret, proxy pid file
EXCHANGE = SRV / "exchange"          # nbgrader's exchange: everyone may enter, nbgrader sets the rest
OPT = Path("/opt/vaehub")
RELEASE_DIR = OPT / "release"        # the release: student notebook, wheel, README (world-readable)
STUDENT_ENV = OPT / "student-env"    # the release wheel, jupyterhub-singleuser, nbgrader: students' servers
INSTRUCTOR_ENV = OPT / "instructor-env"  # the full course: the instructor's server and nbgrader commands
PASSWORD_FILE = HUB_DIR / "class-password"            # the students' (make hub's shared password)
INSTRUCTOR_PASSWORD_FILE = HUB_DIR / "instructor-password"  # the instructor's, an admin's: 32+ characters
COURSE_DIR = Path("/home") / INSTRUCTOR / COURSE_ID  # the instructor's nbgrader course folder

ROOT = Path(__file__).resolve().parents[1]  # this repository
# MNIST in torchvision's layout, readable by every user (the students' servers and the grading read it)
DATA = Path(os.environ.get("VAE_COURSE_DATA") or ROOT / "data")


def env_for(user: str) -> Path:
    """The Python environment a user's server and commands run in."""
    return INSTRUCTOR_ENV if user == INSTRUCTOR else STUDENT_ENV


def base_python() -> Path | None:
    """The Python the class's environments are built on: one every user can run (a venv's own may
    live where only root can read it, e.g. pyenv under /root), of this Python's minor version, so
    that packages borrowed from this venv fit. None if there is none."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for folder in ("/usr/local/bin", "/usr/bin"):
        candidate = Path(folder) / version
        if candidate.exists() and not str(candidate.resolve()).startswith("/root"):
            return candidate
    return None
