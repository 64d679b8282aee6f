"""What a new user's install relies on: pip and conda ask for the same packages, the metadata builds
without warnings, and `make test` / `make lab` do what the README says."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}  # pip name -> conda-forge name where they differ


def _split(requirement: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + [r for extra in project["optional-dependencies"].values()
                                      for r in extra]
    return dict(_split(r) for r in reqs)


def conda_requirements() -> dict[str, str]:
    """The conda (not pip) entries under ``dependencies:``, parsed without a YAML library."""
    out = {}
    text = (ROOT / "environment.yml").read_text().split("\ndependencies:\n", 1)[1]
    for line in text.splitlines():
        m = re.match(r"^  - ([A-Za-z].*)$", line)  # two-space indent: conda list, not pip's
        if m:
            name, spec = _split(m.group(1))
            out[name] = spec
    return out


def test_environment_yml_lists_the_same_packages_and_minimum_versions_as_pyproject():
    pip = {CONDA_NAMES.get(k, k): v for k, v in pyproject_requirements().items()}
    conda = conda_requirements()
    python = conda.pop("python")
    conda.pop("pip")
    assert conda == pip, (
        f"only in pyproject: {sorted(set(pip) - set(conda))}, only in environment.yml: "
        f"{sorted(set(conda) - set(pip))}, different versions: "
        f"{sorted(k for k in set(pip) & set(conda) if pip[k] != conda[k])}"
    )
    assert python == "=3.11"


def test_environment_yml_installs_the_course_package_itself():
    assert re.search(r"^\s+- -e \.$", (ROOT / "environment.yml").read_text(), re.M)


def test_the_ci_script_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_license_is_an_spdx_string_so_installs_print_no_deprecation_banner():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    assert all((ROOT / f).is_file() for f in pyproject["project"]["license-files"])
    assert "setuptools>=77" in pyproject["build-system"]["requires"]  # SPDX strings need 77+


def _make_dry_run(target: str) -> str:
    make = shutil.which("make")
    if make is None:
        pytest.skip("no make on this machine")
    run = subprocess.run([make, "-n", "-C", str(ROOT), target], capture_output=True, text=True, check=True)
    return run.stdout


def test_make_test_runs_the_notebooks_in_fast_mode_unless_the_user_says_otherwise():
    (pytest_line,) = [line for line in _make_dry_run("test").splitlines() if re.search(r"/pytest\b", line)]
    probe = re.sub(r"\S*/pytest\b.*$", "printenv VAE_COURSE_FAST", pytest_line)  # the line's environment
    unset = {k: v for k, v in os.environ.items() if k != "VAE_COURSE_FAST"}
    for env, mode in [(unset, "1"), ({**unset, "VAE_COURSE_FAST": "0"}, "0")]:
        shell = subprocess.run(["sh", "-c", probe], capture_output=True, text=True, env=env)
        assert shell.stdout.strip() == mode, f"`{pytest_line}` with {env.get('VAE_COURSE_FAST')=}"


def test_make_lab_serves_notebooks_and_solutions_and_starts_as_root():
    recipe = " ".join(_make_dry_run("lab").split())
    assert "--ServerApp.root_dir=." in recipe and "--LabApp.default_url=/lab/tree/notebooks" in recipe
    assert ("--allow-root" in recipe) == (os.getuid() == 0)


def test_make_demo_prepares_the_demos_models_before_voila_serves_them():
    lines = [line for line in _make_dry_run("demo").splitlines() if line.strip()]
    prepare = next(i for i, line in enumerate(lines) if "-m vae_course.demos.presenter" in line)
    serve = next(i for i, line in enumerate(lines) if "voila" in line and "--template=presenter" in line)
    assert prepare < serve, "a room would watch the digit mixer train"
