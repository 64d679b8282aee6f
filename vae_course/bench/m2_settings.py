"""How notebook 10 chose M2's peak learning rate and alpha: ``python -m vae_course.bench.m2_settings``.

Runs notebook 10's own code (the cells that define the data, M2, its unlabelled loss and
``train_m2``, read from ``solutions/10_*.ipynb``, so there is one copy of it) over a grid of
``(alpha, peak learning rate)`` on the first label draw, and prints each setting's accuracy on the
notebook's validation set (5,000 training images held out by seed), never on the test images. The
control (the same training without the unlabelled term) is printed as the row to beat: its
classifier gets gradients only from the classification term, and Adam is blind to that term's
scale, so alpha does not change it.

Full mode takes about 25 s per setting on 2 CPU cores; ``--tiny`` runs 4 steps per setting (seconds,
for the tests: its numbers measure nothing).
"""

import argparse
import json
import os
import time
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "10_what_the_cvae_was_invented_for.ipynb"
GRID = [(alpha, lr) for lr in (3e-3, 8e-3) for alpha in (1.0, 50.0, 200.0, 1000.0, 3000.0, 10000.0)]
# the cells that define what the sweep runs, each found by a line it holds
DEFINITIONS = ("from vae_course.train import", "x_train, y_train = load_dataset(", "def entropy(",
               "class M2(nn.Module)", "def m2_unlabelled_loss(", "def train_m2(")


def notebook_namespace(path: Path = NOTEBOOK) -> dict:
    """Execute the defining cells of notebook 10 (up to its training loop) and return their names."""
    cells = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    namespace: dict = {}
    for marker in DEFINITIONS:
        found = [c for c in cells if marker in c]
        if len(found) != 1:
            raise RuntimeError(f"{path.name}: expected one code cell holding {marker!r}, found {len(found)}")
        source = found[0].split("\nruns = []")[0]                   # definitions only, not the three draws
        exec(compile(source, f"{path.name}[{marker}]", "exec"), namespace)
    return namespace


def sweep(grid=GRID, tiny: bool = False) -> list[tuple[str, float, float]]:
    """``[(setting, validation accuracy, seconds)]`` for every ``(alpha, lr)`` and the control."""
    ns = notebook_namespace()
    if tiny:
        ns["STEPS"] = 4
    idx = ns["labelled_set"](ns["SEED"] + 100)                        # the notebook's first label draw
    xl, yl = ns["x_train"][idx], ns["y_train"][idx]

    def validation(model):
        return ns["accuracy"](model.classify, ns["x_val"], ns["y_val"])

    rows = []
    for alpha, lr in grid:
        ns["ALPHA"] = alpha
        start = time.perf_counter()
        model, _ = ns["train_m2"](xl, yl, ns["SEED"], lr=lr)
        rows.append((f"M2, alpha {alpha:g}, peak lr {lr:g}", validation(model), time.perf_counter() - start))
        print(f"| {rows[-1][0]} | {rows[-1][1]:.1%} | {rows[-1][2]:.0f} s |", flush=True)
    start = time.perf_counter()
    control, _ = ns["train_m2"](xl, yl, ns["SEED"], unlabelled=False)
    rows.append(("control: M2 without U, peak lr 0.008", validation(control), time.perf_counter() - start))
    print(f"| {rows[-1][0]} | {rows[-1][1]:.1%} | {rows[-1][2]:.0f} s |", flush=True)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="4 steps per setting: a smoke test")
    args = parser.parse_args(argv)
    if not args.tiny:
        os.environ.setdefault("VAE_COURSE_FAST", "0")                 # the notebook's full-mode steps
    print(f"notebook 10's M2 on its first label draw, {'tiny' if args.tiny else 'full'} mode: "
          "accuracy on the 5,000 validation images\n")
    print("| setting | validation accuracy | time |\n|---|---|---|", flush=True)
    rows = sweep(tiny=args.tiny)
    best = max(rows[:-1], key=lambda r: r[1])
    print(f"\nbest on validation: {best[0]} ({best[1]:.1%}); the control {rows[-1][1]:.1%}")


if __name__ == "__main__":
    main()
