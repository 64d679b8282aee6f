"""What crosses from a graded kernel to the grader: numbers only, read back without trust."""

import json
import math
import os

import numpy as np
import pytest
import torch

from vae_course.checks.core import Outcome
from vae_course.instructor import wire


def test_values_come_back_as_they_went(tmp_path):
    values = [torch.tensor(1.5, dtype=torch.float64), torch.arange(6).reshape(2, 3),
              (torch.ones(2), 3, 2.5, None, True), [np.zeros(3)], float("nan"),
              torch.zeros(2, dtype=torch.bfloat16)]
    path = tmp_path / "ex1.npz"
    wire.dump([Outcome("returned", value=v) for v in values], path)
    back = [o.value for o in wire.load(path)]
    assert back[0].shape == () and back[0].dtype == torch.float64 and back[0].item() == 1.5
    assert torch.equal(back[1], values[1])
    assert isinstance(back[2], tuple) and back[2][1:] == (3, 2.5, None, True)
    assert isinstance(back[3], list) and np.array_equal(back[3][0], np.zeros(3))
    assert math.isnan(back[4])
    assert back[5].dtype == torch.bfloat16


def test_anything_that_is_not_numbers_comes_back_as_its_type_only(tmp_path):
    path = tmp_path / "ex1.npz"
    wire.dump([Outcome("returned", value="a string"), Outcome("returned", value={"a": 1}),
               Outcome("raised", detail="ValueError: " + "x" * 10_000)], path)
    got = wire.load(path)
    assert repr(got[0].value) == "a str" and got[0].value != "a string"
    assert repr(got[1].value) == "a dict"
    assert got[2].kind == "raised" and len(got[2].detail) == wire.MAX_DETAIL


def test_a_tensor_subclass_cannot_answer_for_itself(tmp_path):
    class Liar(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if func is torch.Tensor.numpy or func is torch.Tensor.detach:
                return torch.full((3,), 42.0)
            return super().__torch_function__(func, types, args, kwargs or {})

    path = tmp_path / "ex1.npz"
    wire.dump([Outcome("returned", value=torch.zeros(3).as_subclass(Liar))], path)
    assert torch.equal(wire.load(path)[0].value, torch.zeros(3))


@pytest.mark.parametrize("make", ["pickle", "link", "fifo", "huge", "junk", "object array"])
def test_a_result_the_grader_will_not_read(tmp_path, make):
    path = tmp_path / "ex1.npz"
    if make == "pickle":
        np.savez(path, manifest=np.frombuffer(b"[]", dtype=np.uint8),
                 a0=np.array([object()], dtype=object))
    elif make == "link":
        (tmp_path / "real.npz").write_bytes(b"")
        wire.dump([Outcome("returned", value=1.0)], tmp_path / "real.npz")
        path.symlink_to(tmp_path / "real.npz")
    elif make == "fifo":
        os.mkfifo(path)
    elif make == "huge":
        path.write_bytes(b"0" * (wire.MAX_BYTES + 1))
    elif make == "junk":
        path.write_text('{"status": "passed"}\n' * 1000)
    else:
        np.savez(path, manifest=np.frombuffer(b'[{"kind": "returned", "value": '
                                              b'{"t": "tensor", "k": "a0"}}]', dtype=np.uint8),
                 a0=np.array(["text"]))
    with pytest.raises(wire.WireError):
        wire.load(path)
    with pytest.raises(wire.WireError):
        wire.load(tmp_path / "missing.npz")


def _archive(path, manifest, **arrays):
    np.savez(path, manifest=np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8), **arrays)


@pytest.mark.parametrize("make", ["one array named many times", "many members", "unknown dtype",
                                  "a 5000-digit int", "more entries than cases"])
def test_a_result_built_to_exhaust_the_grader_is_refused(tmp_path, make):
    """Found by a red-team review: one 200 MB array named 64,000 times from a small manifest made
    the grader's own process ask for terabytes."""
    path = tmp_path / "ex1.npz"
    leaf = {"t": "tensor", "k": "a0", "dtype": "float64"}
    if make == "one array named many times":
        _archive(path, [{"kind": "returned", "value": {"t": "tuple", "items": [leaf] * 64}}] * 4,
                 a0=np.zeros(10))
    elif make == "many members":
        _archive(path, [], **{f"a{k}": np.zeros(1) for k in range(wire.MAX_MEMBERS + 1)})
    elif make == "unknown dtype":
        _archive(path, [{"kind": "returned", "value": dict(leaf, dtype="qint8")}], a0=np.zeros(1))
    elif make == "a 5000-digit int":
        _archive(path, [{"kind": "returned", "value": {"t": "int", "v": "9" * 5000}}])
    else:
        _archive(path, [{"kind": "returned", "value": {"t": "none"}}] * 5)
    with pytest.raises(wire.WireError):
        wire.load(path, entries_at_most=4)


def test_a_type_name_is_only_letters_and_digits(tmp_path):
    path = tmp_path / "ex1.npz"
    _archive(path, [{"kind": "returned", "value": {"t": "other", "type": "st\x00r<b>"}}])
    assert repr(wire.load(path)[0].value) == "a strb"
