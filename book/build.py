"""Build the static site: ``python book/build.py [OUT]`` (``make book``; default ``build/book``).

The pages: the README as the front page, then one page per solved notebook in course order
(``solutions/NN_*.ipynb``, with their saved outputs), then the pages the README links: for
instructors, the benchmark, CONTRIBUTING. The sources are gathered
in ``build/book-src`` and built by Sphinx with ``book/conf.py``; nothing is fetched from the network.
Prints the path of the front page.
"""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["docs/instructors", "docs/benchmark", "CONTRIBUTING"]  # linked from the README, after the notebooks


def gather(src: Path) -> list[str]:
    """Copy the pages' sources into ``src``; returns the notebook page names in course order."""
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    notebooks = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no solved notebooks in {ROOT / 'solutions'}")
    for nb in notebooks:
        shutil.copy(nb, src / nb.name)
    shutil.copy(ROOT / "CONTRIBUTING.md", src / "CONTRIBUTING.md")
    if (ROOT / "docs").is_dir():
        shutil.copytree(ROOT / "docs", src / "docs")
    names = [nb.stem for nb in notebooks]
    toc = "\n".join(names)
    (src / "index.md").write_text(
        (ROOT / "README.md").read_text()
        + f"\n\n```{{toctree}}\n:caption: The notebooks\n:maxdepth: 1\n\n{toc}\n```\n"
        + "\n```{toctree}\n:caption: More\n:maxdepth: 1\n\n"
        + "\n".join(PAGES) + "\n```\n")
    return names


def build(out: Path) -> Path:
    """Gather the sources and run Sphinx into ``out``; returns ``out / "index.html"``."""
    src = ROOT / "build" / "book-src"
    gather(src)
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(ROOT / "book"),
                    "--keep-going", str(src), str(out)], check=True)
    return out / "index.html"


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "book"
    print(build(out.resolve()))
