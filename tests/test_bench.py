import pytest

from vae_course import bench
from vae_course.data import data_root


@pytest.mark.skipif(not (data_root() / "MNIST" / "raw").is_dir(), reason="MNIST not available")
def test_benchmark_prints_a_table_with_both_pipelines_and_their_ratio(capsys):
    bench.main(["--batches", "2"])
    out = capsys.readouterr().out
    assert "pytorch/examples (DataLoader + ToTensor)" in out and "vae_course" in out
    lines = [line for line in out.splitlines() if line.rstrip().endswith("x")]
    assert len(lines) == 2 and lines[0].rstrip().endswith("1.00x")
    assert "256" in lines[0] and "256" in lines[1]  # both saw the same 2 batches of 128
