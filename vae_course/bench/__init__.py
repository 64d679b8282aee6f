"""The course's numbers, measured side by side in one process: ``python -m vae_course.bench``.

Prints one Markdown table with four parts (``--page docs/benchmark.md``, as ``make bench`` runs it,
also writes it into that page and its record: :mod:`.page`):

1. training throughput of the 784-400-20 VAE, pytorch/examples' pipeline against ``train.fit``, and
   the arithmetic efficiency against a measured matmul peak, the target (:mod:`.throughput`); the
   same with ``torch.compile``, and a learner's training with its compile time counted in;
2. wall time until the test loss reaches 106 nats per image, evaluation included, once with the
   course evaluating at the end and once with both sides doing pytorch/examples' per-epoch
   evaluation and saved samples (:mod:`.quality`);
3. a quick estimate of the course's best VAE trained for five minutes, its test -ELBO and -log p(x)
   on the first 2,000 test images (:mod:`.best`); the paper's protocol is ``make bench-full``
   (:mod:`.literature`);
4. wall time to run every solution notebook, fast mode, and with ``--course`` full mode from a cold
   model cache (:mod:`.course`); ``--course-only`` runs part 4 alone (``make bench-course``).

Parts 1 to 3 run on the CPU, and again on CUDA when there is one. ``--tiny`` runs every part on a
few batches (seconds, for the tests): its numbers measure nothing. Ratios are "how many times better
the course is": images/s divided by images/s, seconds divided the other way round.
"""

import argparse
import os
import platform
from dataclasses import dataclass
from pathlib import Path

import torch

from . import page
from .best import best_vae
from .course import run_course
from .quality import baseline_time_to, course_time_to, notebook_recipe
from .throughput import (
    ExamplesVAE,
    baseline_epoch,
    compiled_epoch,
    course_epoch,
    flops_per_image,
    matmul_peak,
    notebook_training,
)

REPEATS = 2
"""Part 1 times each epoch this many times and keeps the fastest, the same for every side."""

EFFICIENCY_TARGET = 40.0
"""Part 1's target: the percentage of the float32 matmul peak that one training epoch reaches. The
ratio to pytorch/examples is shown but is no target: it follows how fast the machine runs that
side's per-image ``DataLoader`` (4.85 times as fast on one machine, 2.83 on another)."""

BURDA_2016_NLL = 86.76
"""-log p(x) of a one-stochastic-layer VAE on binarized MNIST after 3,280 passes (Burda et al., 2016)."""


@dataclass
class Row:
    """One line of the table: a measure, pytorch/examples' (or a published) value, the course's.

    ``better`` says which way is better ("higher" for images/s, "lower" for seconds and nats); the
    ratio (baseline over course or course over baseline, whichever makes better > 1) is shown when
    ``compare`` is set. ``target`` applies to the ratio when ``compare`` is set, else to the course's
    value.
    """

    part: int
    measure: str
    baseline: float | None
    course: float | None
    fmt: str = ",.0f"
    better: str = "higher"
    compare: bool = True
    target: float | None = None
    baseline_note: str = ""
    course_note: str = ""

    @property
    def ratio(self) -> float | None:
        if not self.compare or self.baseline is None or self.course is None:
            return None
        return self.course / self.baseline if self.better == "higher" else self.baseline / self.course

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if self.compare:
            return self.ratio is not None and self.ratio >= self.target
        if self.course is None:
            return None
        return self.course >= self.target if self.better == "higher" else self.course <= self.target

    def cells(self) -> list[str]:
        def value(v, note):
            return "" if v is None else f"{v:{self.fmt}}{note}"
        target = "" if self.target is None else (
            f"≥ {self.target:g}×" if self.compare else f"{'≥' if self.better == 'higher' else '≤'} "
            f"{self.target:{self.fmt}}")
        met = {None: "", True: "yes", False: "**no**"}[self.met]
        ratio = "" if self.ratio is None else f"**{self.ratio:.2f}×**"
        return [str(self.part), self.measure, value(self.baseline, self.baseline_note),
                value(self.course, self.course_note), ratio, target, met]


HEADER = ["#", "measure", "pytorch/examples or published", "vae_course", "ratio", "target", "met"]


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    """Cores, CPU model (from /proc/cpuinfo), torch version and threads, GPU if any."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            model = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU"
    return (f"{os.cpu_count()} cores ({model}), torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads{gpu}")


def _epochs(n: int) -> str:
    return f"{n} epoch{'' if n == 1 else 's'}"


def device_rows(device: str, tiny: bool, parts=(1, 2, 3)) -> tuple[list[Row], str]:
    """Parts 1 to 3 (those in ``parts``) on one device: the rows and a line of details."""
    rows, details = [], [device]
    if 1 in parts:
        rows += throughput_rows(device, tiny)
    if 2 in parts:
        quality, losses = time_to_quality_rows(device, tiny)
        rows += [*quality, *notebook_recipe_rows(device, tiny)]
        details.append(losses)
    if 3 in parts:
        best_rows, best_details = best_vae_rows(device, tiny)
        rows += best_rows
        details.append(best_details)
    return rows, "; ".join(details)


def throughput_rows(device: str, tiny: bool) -> list[Row]:
    """Part 1: images/s of one training epoch each way, and the arithmetic efficiency; unless
    ``tiny`` (a compile takes tens of seconds), the same with ``torch.compile``."""
    on = "" if device == "cpu" else f" [{device}]"
    batches = 2 if tiny else None
    def fastest(run):  # the fastest of REPEATS epochs each way: a busy moment spoils neither side
        return min((run() for _ in range(REPEATS)), key=lambda r: r[1] + r[2])

    base_n, base_s, base_setup = fastest(lambda: baseline_epoch(device, batches))
    today_n, today_s, _ = fastest(lambda: course_epoch(device, batches, fast=False))
    fast_n, fast_s, fast_setup = fastest(lambda: course_epoch(device, batches, fast=True))
    base, today, fast = base_n / base_s, today_n / today_s, fast_n / fast_s
    flops, peak = flops_per_image(ExamplesVAE()), matmul_peak(device, n=256 if tiny else 2048)
    efficiency = efficiency_label(flops, peak)
    rows = [
        Row(1, f"784-400-20 VAE, one training epoch, batch 128, images/s{on}", base, fast,
            baseline_note=" (DataLoader + ToTensor)",
            course_note=" (`fit`, logits loss, fused Adam)"),
        Row(1, f"the same, each side's one-time setup counted in (datasets and loaders; the training "
               f"set loaded into memory), images/s{on}", base_n / (base_s + base_setup),
            fast_n / (fast_s + fast_setup), baseline_note=f" (setup {base_setup:.2f} s)",
            course_note=f" (setup {fast_setup:.2f} s)"),
        Row(1, f"the same epoch, `fit` as the notebooks call it, images/s{on}", base, today,
            course_note=" (`vae_loss`, fused Adam)"),
        Row(1, f"{efficiency} (float32 `torch.mm` peak), the first row's epoch{on}",
            100 * base * flops / peak, 100 * fast * flops / peak, fmt=".1f", compare=False,
            target=EFFICIENCY_TARGET, baseline_note=" %", course_note=" %"),
    ]
    if not tiny:
        rows += compile_rows_for(device, batches, fast, flops, peak, on)
    return rows


def compile_rows_for(device: str, batches, fast: float, flops: float, peak: float, on: str) -> list[Row]:
    """Part 1 with ``torch.compile``: the epoch's rate and efficiency once compiled (its compile time
    apart), and a learner's notebook-sized training with the compile time counted in."""
    try:
        n, seconds, compile_seconds = compiled_epoch(device, batches)
        plain = notebook_training(False, device, n_train=None if batches is None else 256,
                                  epochs=4 if batches is None else 1)
        compiled = notebook_training(True, device, n_train=None if batches is None else 256,
                                     epochs=4 if batches is None else 1)
    except Exception as exc:  # no C++ compiler, an unsupported platform: say so, measure the rest
        return [Row(1, f"`torch.compile` of the training step{on}: failed ({type(exc).__name__}: "
                       f"{str(exc).splitlines()[0][:80]})", None, None, compare=False)]
    return [
        Row(1, f"the first row's epoch with the loss compiled by `torch.compile`, images/s (compile "
               f"time apart){on}", fast, n / seconds, baseline_note=" (not compiled)",
            course_note=f" (compiling: {compile_seconds:.0f} s)"),
        Row(1, f"the same: {efficiency_label(flops, peak)}{on}", 100 * fast * flops / peak,
            100 * n / seconds * flops / peak, fmt=".1f", compare=False, baseline_note=" % (not compiled)",
            course_note=" % (compiled)"),
        Row(1, f"a learner's training, notebook 05's 784-400-2 VAE and `vae_loss`, 4 epochs: seconds "
               f"with the compile time counted in{on}", plain, compiled, fmt=",.1f", better="lower",
            baseline_note=" s (not compiled)", course_note=" s (compiled)"),
    ]


def efficiency_label(flops: float, peak: float) -> str:
    return f"arithmetic efficiency: images/s × {flops / 1e6:.2f} MFLOP ÷ {peak / 1e9:,.0f} GFLOP/s"


def time_to_quality_rows(device: str, tiny: bool) -> tuple[list[Row], str]:
    """Part 2: seconds until the test loss reaches 106 nats, each way; and the losses on the way."""
    on = "" if device == "cpu" else f" [{device}]"
    batches = 2 if tiny else None
    target = 1e9 if tiny else 106.0
    b = baseline_time_to(target, device, max_epochs=1 if tiny else 12, max_batches=batches)
    tiny_recipe = {"recipe": {"batch_size": 128, "lr": 3e-3, "epochs": 1, "schedule": "one-cycle"}}
    kwargs = {"n_train": 256 if tiny else None, **(tiny_recipe if tiny else {})}
    c = course_time_to(target, device, **kwargs)
    e = course_time_to(target, device, every_epoch=True, **kwargs)
    reached = {True: "", False: ", not reached"}
    row = Row(2, f"seconds until the test loss ≤ {target:g} nats (grey-level BCE + KL), "
                 f"evaluation included; the course evaluates once, at the end of its schedule{on}",
              b["seconds"], c["seconds"], fmt=",.1f", better="lower",
              baseline_note=f" s ({_epochs(b['epochs'])}{reached[b['reached']]})",
              course_note=f" s ({_epochs(c['epochs'])}{reached[c['reached']]})")
    fair = Row(2, f"the same, both sides evaluating and saving a reconstruction figure and 64 "
                  f"samples after every epoch (pytorch/examples' per-epoch work){on}",
               b["seconds"], e["seconds"], fmt=",.1f", better="lower", target=4,
               baseline_note=f" s ({_epochs(b['epochs'])}{reached[b['reached']]})",
               course_note=f" s ({_epochs(e['epochs'])}{reached[e['reached']]})")
    losses = (f"test loss at each evaluation: pytorch/examples {[round(v, 2) for v in b['test_loss']]}"
              f", course {[round(v, 2) for v in c['test_loss']]}, course every epoch "
              f"{[round(v, 2) for v in e['test_loss']]}")
    return [row, fair], losses


def notebook_recipe_rows(device: str, tiny: bool) -> list[Row]:
    """Part 2, the notebooks' side: their 2-D VAE by the old recipe and by the course's."""
    on = "" if device == "cpu" else f" [{device}]"
    epochs = (2, 1) if tiny else (8, 4)
    r = notebook_recipe(device, n_train=512 if tiny else None, epochs=epochs)
    (old_loss, old_s), (new_loss, new_s) = r["old"], r["course"]
    return [
        Row(2, f"notebooks 04-06's 2-D VAE (784-400-2, binarized MNIST): test −ELBO, nats; old recipe "
               f"against the course's{on}", old_loss, new_loss, fmt=".2f", better="lower", compare=False,
            baseline_note=f" ({_epochs(epochs[0])}, constant 1e-3)",
            course_note=f" ({_epochs(epochs[1])}, one-cycle to 8e-3)"),
        Row(2, f"the same: training seconds{on}", old_s, new_s, fmt=",.1f", better="lower",
            baseline_note=" s", course_note=" s"),
    ]


def best_vae_rows(device: str, tiny: bool) -> tuple[list[Row], str]:
    """Part 3: the best VAE in five minutes, its test -ELBO and -log p(x)."""
    on = "" if device == "cpu" else f" [{device}]"
    budget = 1 if tiny else 300
    best = best_vae(**({"K": 4, "n_test": 8, "n_train": 512} if tiny else {}), seconds=budget,
                    device=device)
    rows = [
        Row(3, f"quick estimate (not the paper's protocol: `make bench-full` has it): best VAE in "
               f"{best['train_seconds']:.0f} s ({_epochs(best['epochs'])}, "
               f"{best['architecture']}, batch {best['batch_size']}): test −ELBO, nats{on}",
            None, best["neg_elbo"], fmt=".2f", better="lower", compare=False,
            course_note=f" ± {best['neg_elbo_se']:.2f}"),
        Row(3, f"the same: −log p(x), K = {best['K']:,} importance samples, first "
               f"{best['n_test']:,} test images (the paper: K = 5,000, all 10,000), nats{on}",
            BURDA_2016_NLL, best["nll"], fmt=".2f", better="lower", compare=False,
            baseline_note=" (Burda et al. 2016, 784-200-200-50 tanh, 3,280 passes)",
            course_note=f" ± {best['nll_se']:.2f}"),
        Row(3, f"the same: training wall time, calibration included, seconds{on}", None,
            best["train_seconds"], fmt=",.0f", better="lower", compare=False, target=budget,
            course_note=" s"),
    ]
    return rows, (f"best VAE: {best['images_per_second']:,.0f} images/s, evaluation "
                  f"{best['eval_seconds']:.0f} s")


def course_rows(full: bool) -> tuple[list[Row], list[str], dict[str, dict]]:
    """Part 4: the whole course in fast mode, and in full mode from a cold cache when ``full``; the
    rows, the lines of details and ``{mode: run_course's result}``."""
    rows, details, results = [], [], {}
    for fast in (True, False) if full else (True,):
        result = run_course(fast)
        mode = "fast mode (`VAE_COURSE_FAST=1`)" if fast else "full mode, cold model cache"
        results[mode] = result
        failed = f", failed: {', '.join(result['failed'])}" if result["failed"] else ""
        rows.append(Row(4, f"every solution notebook, {mode}, seconds", None, result["seconds"],
                        better="lower", compare=False, target=300 if fast else None,
                        course_note=f" s{failed}"))
        details.append(f"{mode}: " + ", ".join(f"{k} {v:.0f} s" for k, v in result["per_notebook"].items()))
    return rows, details, results


def main(argv=None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", action="store_true",
                        help="also run every solution notebook in full mode from a cold cache (long)")
    parser.add_argument("--course-only", action="store_true",
                        help="only part 4, in fast mode and in full mode from a cold cache")
    parser.add_argument("--no-notebooks", action="store_true", help="skip part 4 altogether")
    parser.add_argument("--tiny", action="store_true",
                        help="a few batches of everything, no notebooks: checks the script, measures nothing")
    parser.add_argument("--parts", default="1,2,3,4",
                        help="which parts to run, e.g. --parts 1,2 (default: all four)")
    parser.add_argument("--cpu-only", action="store_true", help="do not run parts 1-3 on CUDA too")
    parser.add_argument("--page", type=Path, default=None,
                        help="write this run into the benchmark page (docs/benchmark.md, as make bench "
                             "does) and its record beside it (docs/benchmark.json); see bench/page.py")
    args = parser.parse_args(argv)

    parts = {int(p) for p in args.parts.split(",")}
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() and not args.cpu_only else [])
    rows, details, notebooks = [], [], {}
    for device in devices if not args.course_only else []:
        r, d = device_rows(device, args.tiny, parts)
        rows += r
        details.append(d)
    if 4 in parts and not (args.tiny or args.no_notebooks):
        r, d, notebooks = course_rows(args.course or args.course_only)
        rows += r
        details += d
    rows.sort(key=lambda row: row.part)
    print(f"Machine: {machine()}")
    print(table(rows))
    print("\n".join(details))
    if args.page is not None:
        runs = {}
        if not args.course_only:
            runs["main"] = {"date": page.today(), "machine": machine(), "table": table(rows),
                            "details": details, "parts": sorted(parts)}
        if len(notebooks) == 2:  # fast and full mode
            runs["course"] = {"date": page.today(), "machine": machine(), "modes": notebooks}
        page.save(args.page, runs)
        print(f"wrote {args.page} and {page.record_path(args.page)}")
    return rows


if __name__ == "__main__":
    main()
