import re

import pytest

from vae_course import bench
from vae_course.bench import Row, table
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
