import os
from pathlib import Path

import pytest
import torch

from vae_course import data
from vae_course.data import (
    DatasetNotFoundError,
    batches,
    binarize_dynamic,
    binarize_fixed,
    check_images,
    class_names,
    course_folder,
    data_root,
    load_dataset,
)

needs_data = pytest.mark.skipif(
    not (data_root() / "MNIST" / "raw" / "t10k-images-idx3-ubyte").is_file(),
    reason="MNIST is not in the data folder (set VAE_COURSE_DATA)",
)


@needs_data
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_test_split_loads_as_float_images_in_unit_range_with_int_labels(name):
    x, y = load_dataset(name, "test")
    assert x.shape == (10_000, 1, 28, 28) and x.dtype == torch.float32
    assert y.shape == (10_000,) and y.dtype == torch.int64
    assert 0.0 == x.min() and x.max() == 1.0
    assert set(y.unique().tolist()) == set(range(10))


@needs_data
def test_train_split_has_sixty_thousand_images_and_each_call_returns_fresh_tensors():
    x, y = load_dataset("mnist", "train")
    assert len(x) == len(y) == 60_000
    x[0] += 1  # a learner's in-place edit must not leak into the next load
    x2, _ = load_dataset("mnist", "train")
    assert x2.max() == 1.0


def test_data_root_follows_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("VAE_COURSE_DATA", str(tmp_path))
    assert data_root() == tmp_path.resolve()
    monkeypatch.delenv("VAE_COURSE_DATA")
    assert data_root() == Path(data.__file__).resolve().parent.parent / "data"


def test_missing_dataset_offline_gives_one_readable_error_and_leaves_no_files(monkeypatch, tmp_path):
    root = tmp_path / "empty"
    root.mkdir()

    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\n<urlopen error no network>")

    monkeypatch.setattr(data.datasets.MNIST, "download", offline)
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("mnist", "train", root=root)
    message = str(err.value)
    assert str(root) in message and "VAE_COURSE_DATA" in message and "no network" in message
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert list(root.iterdir()) == []


def test_half_downloaded_files_are_removed_when_the_download_fails(monkeypatch, tmp_path):
    def partial(self, *args, **kwargs):
        raw = Path(self.raw_folder)
        raw.mkdir(parents=True, exist_ok=True)
        (raw / "train-images-idx3-ubyte.gz").write_bytes(b"half")
        raise RuntimeError("connection reset")

    monkeypatch.setattr(data.datasets.MNIST, "download", partial)
    with pytest.raises(DatasetNotFoundError, match="connection reset"):
        load_dataset("mnist", "test", root=tmp_path)
    assert list(tmp_path.iterdir()) == []


@needs_data
def test_a_corrupt_file_is_reported_by_name(tmp_path):
    src = data_root() / "MNIST" / "raw"
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in src.iterdir():
        os.symlink(f, raw / f.name)
    (raw / "t10k-labels-idx1-ubyte").unlink()
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"\0" * 10_008)
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte is corrupt") as err:
        load_dataset("mnist", "test", root=tmp_path)
    assert str(raw / "t10k-labels-idx1-ubyte") in str(err.value) and "Delete it" in str(err.value)
    # the failure is not cached: once the file is fixed, the same call works in the same process
    (raw / "t10k-labels-idx1-ubyte").unlink()
    os.symlink(src / "t10k-labels-idx1-ubyte", raw / "t10k-labels-idx1-ubyte")
    assert len(load_dataset("mnist", "test", root=tmp_path)[1]) == 10_000


def test_unknown_names_and_splits_are_clear_errors():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        load_dataset("cifar", "train")
    with pytest.raises(ValueError, match="split must be"):
        load_dataset("mnist", "validation")
    assert class_names("fashion-mnist")[9] == "Ankle boot"


def test_batches_cover_every_example_once_per_epoch_in_a_seeded_order():
    x = torch.arange(10).float().unsqueeze(1)
    y = torch.arange(10)
    got = [b for b in batches(x, y, batch_size=4, generator=torch.Generator().manual_seed(0))]
    assert [len(xb) for xb, _ in got] == [4, 4, 2]
    seen = torch.cat([yb for _, yb in got])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    assert torch.equal(torch.cat([xb for xb, _ in got]).squeeze(1).long(), seen)
    again = [yb for _, yb in batches(x, y, 4, generator=torch.Generator().manual_seed(0))]
    assert torch.equal(torch.cat(again), seen)
    unshuffled = torch.cat([yb for _, yb in batches(x, y, 3, shuffle=False)])
    assert unshuffled.tolist() == list(range(10))


def test_batches_reject_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        next(batches(torch.zeros(5, 2), torch.zeros(4)))


def test_dynamic_binarization_draws_afresh_and_matches_grey_levels_on_average():
    x = torch.full((2000, 784), 0.3)
    a, b = binarize_dynamic(x), binarize_dynamic(x)
    assert set(a.unique().tolist()) <= {0.0, 1.0}
    assert not torch.equal(a, b)
    assert abs(a.mean().item() - 0.3) < 0.01


def test_fixed_binarization_is_the_same_every_call():
    x = torch.rand(50, 1, 28, 28)
    assert torch.equal(binarize_fixed(x, seed=1), binarize_fixed(x, seed=1))
    assert not torch.equal(binarize_fixed(x, seed=1), binarize_fixed(x, seed=2))


def test_images_in_0_255_are_rejected_with_the_fix():
    with pytest.raises(ValueError, match="divide by 255"):
        check_images(torch.full((1, 784), 200.0))
    with pytest.raises(ValueError, match="float tensor"):
        check_images(torch.zeros(3, dtype=torch.uint8))
    with pytest.raises(ValueError, match="divide by 255"):
        binarize_dynamic(torch.full((2, 2), 255.0))


def offline(*args, **kwargs):
    raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\n<urlopen error no network>")


def download_that_fails_halfway(self, *args, **kwargs):
    """Like torchvision's MNIST.download with the network dropping: folders made, one .gz half there."""
    raw = Path(self.raw_folder)
    os.makedirs(raw, exist_ok=True)
    (raw / "train-images-idx3-ubyte.gz").write_bytes(b"half")
    raise RuntimeError("connection reset")


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@needs_data
@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_the_test_split_loads_from_a_folder_holding_only_the_test_files(monkeypatch, tmp_path, name, folder):
    raw = tmp_path / folder / "raw"
    raw.mkdir(parents=True)
    for f in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        os.symlink(data_root() / folder / "raw" / f, raw / f)
    monkeypatch.setattr(data.datasets.MNIST, "download", offline)  # no download may be needed
    x, y = load_dataset(name, "test", root=tmp_path)
    x_full, y_full = load_dataset(name, "test")
    assert torch.equal(x, x_full) and torch.equal(y, y_full)
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert tree(tmp_path) == {folder, f"{folder}/raw", f"{folder}/raw/t10k-images-idx3-ubyte",
                              f"{folder}/raw/t10k-labels-idx1-ubyte"}


@needs_data
def test_a_split_is_checksummed_once_per_process_and_only_its_own_two_files(monkeypatch, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in (data_root() / "MNIST" / "raw").iterdir():
        os.symlink(f, raw / f.name)
    hashed = []
    real_md5 = data._md5
    monkeypatch.setattr(data, "_md5", lambda path: hashed.append(Path(path).name) or real_md5(path))
    x, _ = load_dataset("mnist", "test", root=tmp_path)
    assert sorted(hashed) == ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    x[0] += 1
    x2, _ = load_dataset("mnist", "test", root=tmp_path)
    assert len(hashed) == 2 and x2.max() == 1.0  # cached, and still a fresh tensor


def make_empty_root(tmp_path):
    (tmp_path / "data").mkdir()
    return tmp_path / "data"


def make_root_that_did_not_exist(tmp_path):
    return tmp_path / "new" / "data"


def make_root_with_only_the_dataset_folder(tmp_path):
    (tmp_path / "data" / "MNIST").mkdir(parents=True)
    (tmp_path / "data" / "MNIST" / "notes.txt").write_text("mine")
    return tmp_path / "data"


def make_root_with_only_the_test_files(tmp_path):
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / f).write_bytes(b"kept as is")
    return tmp_path / "data"


@pytest.mark.parametrize("make_root", [make_empty_root, make_root_that_did_not_exist,
                                       make_root_with_only_the_dataset_folder,
                                       make_root_with_only_the_test_files])
def test_a_failed_download_leaves_the_data_folder_as_it_found_it(monkeypatch, tmp_path, make_root):
    root = make_root(tmp_path)
    before = tree(tmp_path)
    monkeypatch.setattr(data.datasets.MNIST, "download", download_that_fails_halfway)
    with pytest.raises(DatasetNotFoundError, match="connection reset"):
        load_dataset("mnist", "train", root=root)
    assert tree(tmp_path) == before
    if make_root is make_root_with_only_the_test_files:
        assert (root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").read_bytes() == b"kept as is"


def test_an_installed_wheel_keeps_data_and_models_in_the_learners_home_not_in_site_packages(tmp_path):
    clone, site = tmp_path / "clone", tmp_path / "site-packages"
    for root in (clone, site):
        (root / "vae_course").mkdir(parents=True)
    (clone / "pyproject.toml").write_text("")
    assert course_folder("data", clone / "vae_course") == clone / "data"
    assert course_folder(".cache", clone / "vae_course") == clone / ".cache"
    home = Path.home() / ".cache" / "vae_course"
    assert course_folder("data", site / "vae_course") == home / "data"
    assert course_folder(".cache", site / "vae_course") == home / "cache"


def test_validation_split_holds_out_the_last_rows_and_refuses_impossible_sizes():
    from vae_course.data import validation_split

    x = torch.arange(10).float()
    train, val = validation_split(x, 4)
    assert train.tolist() == list(range(6)) and val.tolist() == [6, 7, 8, 9]
    for bad in (0, 10, 2.5, True):
        with pytest.raises(ValueError, match="n_validation"):
            validation_split(x, bad)
