import json
import re
import shutil
from pathlib import Path

import pytest

from vae_course import bench
from vae_course.bench import Row, table
from vae_course.bench import page as bench_page
from vae_course.data import data_root


def test_ratios_are_course_over_baseline_for_rates_and_baseline_over_course_for_times():
    rate = Row(1, "images/s", baseline=4000.0, course=14000.0, target=3)
    time = Row(2, "seconds", baseline=120.0, course=24.0, better="lower", target=4)
    assert rate.ratio == pytest.approx(3.5) and rate.met
    assert time.ratio == pytest.approx(5.0) and time.met
    slow = Row(2, "seconds", baseline=120.0, course=40.0, better="lower", target=4)
    assert slow.ratio == pytest.approx(3.0) and slow.met is False


def test_a_value_target_is_met_only_below_it_when_lower_is_better():
    nll = Row(3, "nats", baseline=86.76, course=88.4, fmt=".2f", better="lower", compare=False,
              target=88.0)
    assert nll.ratio is None and nll.met is False
    assert Row(3, "nats", None, 87.9, better="lower", compare=False, target=88.0).met


def test_the_table_prints_each_ratio_and_verdict_in_its_row():
    rows = [Row(1, "images/s", 4000.0, 14000.0, target=3),
            Row(2, "seconds", 120.0, 40.0, fmt=".1f", better="lower", target=4)]
    lines = table(rows).splitlines()
    assert lines[0].startswith("| # | measure") and len(lines) == 4
    assert "| 4,000 | 14,000 | **3.50×** | ≥ 3× | yes |" in lines[2]
    assert "| 120.0 | 40.0 | **3.00×** | ≥ 4× | **no** |" in lines[3]


def _number(cell: str) -> tuple[float, float]:
    """The number a cell starts with, and half a unit of its last printed digit (its rounding)."""
    text = re.match(r"[\d,.]+", cell.strip()).group().replace(",", "")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return float(text), 0.5 * 10.0**-decimals


@pytest.mark.skipif(not (data_root() / "MNIST" / "raw").is_dir(), reason="MNIST not available")
def test_tiny_benchmark_prints_one_table_with_all_three_parts_and_ratios_from_its_numbers(capsys):
    rows = bench.main(["--tiny", "--cpu-only"])
    out = capsys.readouterr().out
    assert out.startswith("Machine: ") and "torch " in out
    table_lines = [line for line in out.splitlines() if line.startswith("| ")]
    assert len(table_lines) == 1 + len(rows) and {row.part for row in rows} == {1, 2, 3}
    for row, line in zip(rows, table_lines[1:]):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert len(cells) == len(bench.HEADER)
        if row.compare:  # the printed ratio is the printed values' quotient, the right way round
            (base, db), (course, dc) = _number(cells[2]), _number(cells[3])
            shown, ds = _number(cells[4].strip("*×"))
            top, bottom = (course, base) if row.better == "higher" else (base, course)
            d_top, d_bottom = (dc, db) if row.better == "higher" else (db, dc)
            low, high = (top - d_top) / (bottom + d_bottom), (top + d_top) / max(bottom - d_bottom, 1e-9)
            assert low - ds <= shown <= high + ds, line
    throughput = rows[0]
    assert throughput.baseline > 0 and throughput.course > 0
    nll = next(row for row in rows if "log p(x)" in row.measure)
    assert nll.baseline == bench.BURDA_2016_NLL and nll.course > 0


# ------------------------------------------------------------------ the benchmark page is the run

PAGE = Path(__file__).resolve().parents[1] / "docs" / "benchmark.md"


def test_the_benchmark_page_shows_what_its_record_renders():
    assert bench_page.stale_blocks(PAGE) == [], (
        "docs/benchmark.md differs from docs/benchmark.json: rerun `make bench` / `make bench-course`, "
        "or undo the edit inside a generated block")
    record = json.loads(bench_page.record_path(PAGE).read_text(encoding="utf-8"))
    assert set(record) == set(bench_page.NAMES)
    course = record["course"]["modes"]
    notebooks = {p.stem for p in (Path(__file__).parents[1] / "solutions").glob("*.ipynb")}
    assert len(course) == 2 and all(set(m["per_notebook"]) == notebooks for m in course.values())


def test_an_edit_inside_a_block_is_caught_and_a_save_rewrites_only_the_blocks(tmp_path):
    page = tmp_path / "benchmark.md"
    page.write_text(PAGE.read_text(encoding="utf-8"), encoding="utf-8")
    shutil.copy(bench_page.record_path(PAGE), bench_page.record_path(page))
    edited = page.read_text(encoding="utf-8").replace("| ≥ 4× |", "| ≥ 2× |", 1)
    page.write_text(edited, encoding="utf-8")
    assert bench_page.stale_blocks(page) == ["main"]
    course = json.loads(bench_page.record_path(PAGE).read_text(encoding="utf-8"))["course"]
    course = dict(course, date="1 January 2027")
    bench_page.save(page, {"course": course})
    text = page.read_text(encoding="utf-8")
    assert bench_page.stale_blocks(page) == []
    assert "1 January 2027" in bench_page.block(text, "course")
    outside = [bench_page.block(PAGE.read_text(encoding="utf-8"), n) for n in bench_page.NAMES]
    for name, original in zip(bench_page.NAMES, outside):
        text = text.replace(bench_page.block(text, name), original)
    assert text == PAGE.read_text(encoding="utf-8"), "the prose around the blocks changed"


def test_a_page_without_the_markers_is_an_error_not_a_silent_append(tmp_path):
    page = tmp_path / "benchmark.md"
    page.write_text("# no blocks here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no block"):
        bench_page.save(page, {"main": {"date": "d", "machine": "m", "table": "| t |", "details": []}})
    assert not bench_page.record_path(page).exists()


@pytest.mark.skipif(not (data_root() / "MNIST" / "raw").is_dir(), reason="MNIST not available")
def test_a_tiny_run_with_page_writes_its_table_into_the_page(tmp_path, capsys):
    page = tmp_path / "benchmark.md"
    page.write_text(PAGE.read_text(encoding="utf-8"), encoding="utf-8")
    shutil.copy(bench_page.record_path(PAGE), bench_page.record_path(page))
    bench.main(["--tiny", "--cpu-only", "--parts", "1", "--page", str(page)])
    out = capsys.readouterr().out
    shown = bench_page.block(page.read_text(encoding="utf-8"), "main")
    printed_table = "\n".join(line for line in out.splitlines() if line.startswith("|"))
    assert printed_table in shown and bench_page.today() in shown
    assert bench_page.stale_blocks(page) == []


def test_the_m2_sweep_runs_notebook_10s_own_code_and_scores_on_the_validation_set(monkeypatch):
    from vae_course.bench import m2_settings

    monkeypatch.setenv("VAE_COURSE_FAST", "1")
    ns = m2_settings.notebook_namespace()
    assert len(ns["x_val"]) == 5000 and not ns["held_out"][ns["pool"]].any(), "validation apart from the pool"
    rows = m2_settings.sweep(grid=[(1000.0, 8e-3)], tiny=True)
    assert [r[0] for r in rows] == ["M2, alpha 1000, peak lr 0.008", "control: M2 without U, peak lr 0.008"]
    assert all(0.0 <= accuracy <= 1.0 for _, accuracy, _ in rows)


def test_the_m2_sweep_names_a_definition_it_cannot_find(tmp_path):
    from vae_course.bench import m2_settings

    notebook = tmp_path / "10.ipynb"
    notebook.write_text(json.dumps({"cells": [{"cell_type": "code", "source": ["import torch\n"]}]}))
    with pytest.raises(RuntimeError, match="expected one code cell holding"):
        m2_settings.notebook_namespace(notebook)


# ------------------------------------------------------------- part 3 under the paper's protocol


def test_the_logits_estimator_of_log_p_is_evaluates_own_to_float_rounding():
    import torch

    from vae_course.bench.literature import TanhVAE, log_px
    from vae_course.evaluate import log_px as reference
    from vae_course.models import VAE

    torch.manual_seed(1)
    x = torch.bernoulli(torch.rand(30, 1, 28, 28))
    for model in (VAE(8, (64,)), TanhVAE(10, (32, 32))):
        ours, theirs = log_px(model, x, K=200, chunk=50), reference(model, x, K=200, chunk=50)
        assert torch.allclose(ours.per_image, theirs.per_image, atol=1e-3), type(model).__name__
        assert ours.K == 200 and ours.n == 30


def test_the_iwae_loss_is_minus_the_importance_weighted_bound_of_the_same_samples():
    import torch

    from vae_course.bench.literature import iwae_loss
    from vae_course.evaluate import iw_bound, vae_log_weights
    from vae_course.models import VAE

    model = VAE(6, (32,))
    x = torch.bernoulli(torch.rand(12, 1, 28, 28, generator=torch.Generator().manual_seed(2)))
    torch.manual_seed(5)
    loss = iwae_loss(model, x, k=5)
    torch.manual_seed(5)
    with torch.no_grad():
        bound = iw_bound(vae_log_weights(model, x), K=5, chunk=5)   # the same five z per image
    assert loss.item() == pytest.approx(-bound.mean().item(), abs=1e-3)
    loss.backward()  # it trains: gradients reach the encoder
    assert model.encoder[0].weight.grad.abs().sum() > 0


def test_burdas_network_has_tanh_and_comes_back_from_a_checkpoint_as_itself(tmp_path):
    import torch
    from torch import nn

    from vae_course.bench.literature import TanhVAE
    from vae_course.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
    from vae_course.models import VAE

    model = TanhVAE()
    kinds = {type(m) for m in model.modules()}
    assert nn.Tanh in kinds and nn.ReLU not in kinds
    assert [m.out_features for m in model.encoder if isinstance(m, nn.Linear)] == [200, 200, 100]
    save_checkpoint(tmp_path / "burda.pt", model)
    loaded, _ = load_checkpoint(tmp_path / "burda.pt", TanhVAE)
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(loaded.encode(x)[0], model.eval().encode(x)[0])
    with pytest.raises(CheckpointError, match="TanhVAE, not a VAE"):
        load_checkpoint(tmp_path / "burda.pt", VAE)


@pytest.mark.skipif(not (data_root() / "MNIST" / "raw").is_dir(), reason="MNIST not available")
def test_a_tiny_literature_run_writes_its_block_into_the_page_and_the_readme(tmp_path, capsys):
    from vae_course.bench import literature

    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "benchmark.md"
    page.write_text(PAGE.read_text(encoding="utf-8"), encoding="utf-8")
    shutil.copy(bench_page.record_path(PAGE), bench_page.record_path(page))
    readme = tmp_path / "README.md"
    readme.write_text((PAGE.parents[1] / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    run = literature.main(["--tiny", "--fresh", "--seeds", "0,1", "--seconds", "1", "--page", str(page)])
    assert set(run["models"]) == {"course/vae/0", "course/vae/1", "burda/vae/0", "burda/vae/1",
                                  "burda/iwae/0"}
    assert [r["lr"] for r in run["selection"]["rows"]] == [c["lr"] for c in literature.CONFIGS]
    assert run["recipe"]["chosen"] in run["recipe"]["rows"]
    record = bench_page.load(page)["literature"]
    assert record["models"].keys() == run["models"].keys()  # a tiny run saves: the test's own page
    assert bench_page.stale_blocks(page) == []
    shown = bench_page.block(readme.read_text(encoding="utf-8"), "literature")
    assert "784-200-200-50 tanh, IWAE (k = 5)" in shown and "86.76" in shown and "85.54" in shown
    full = bench_page.block(page.read_text(encoding="utf-8"), "literature")
    assert "784-512-512-50 ReLU, VAE" in full and "The old quick estimate on the same model" in full
    # resumable: a second run measures nothing the record has, and renders the page from the record
    page.write_text(page.read_text(encoding="utf-8").replace("784-512-512-50 ReLU, VAE", "edited by hand"),
                    encoding="utf-8")
    assert bench_page.stale_blocks(page) == ["literature"]
    capsys.readouterr()
    again = literature.main(["--tiny", "--seeds", "0,1", "--seconds", "1", "--page", str(page)])
    assert again["models"] == record["models"]
    assert ": trained" not in capsys.readouterr().out
    assert bench_page.stale_blocks(page) == []


def test_fit_calls_after_epoch_with_each_epoch_number():
    import torch

    from vae_course.losses import vae_loss
    from vae_course.models import VAE
    from vae_course.train import fit

    seen = []
    fit(VAE(2, (16,)), vae_loss, torch.rand(40, 1, 28, 28), epochs=3, batch_size=20, progress=False,
        device="cpu", after_epoch=seen.append)
    assert seen == [1, 2, 3]
