"""environment.yml (conda users) and pyproject.toml (pip users) must ask for the same packages."""

import re
from pathlib import Path

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
