"""Plain data between a submission's sandbox and the grader: what a learner's function returned.

Inside the sandbox, :func:`dump` writes each :class:`~vae_course.checks.core.Outcome` of a check
as numbers only: an ``.npz`` archive of arrays plus one JSON manifest that says how they nest
(a tensor, a float, a tuple of them, ``None``, or "something else, of this type"). The grader reads
it back with :func:`load`, which never unpickles (``allow_pickle=False``), follows no link, reads a
bounded number of bytes and refuses anything but numeric arrays. Whatever the submission's process
did to itself, all it can hand over is numbers; the grader compares them with its own reference.
"""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vae_course.checks.core import Outcome

MANIFEST = "manifest"  # the archive member holding the JSON structure (as uint8 bytes)
MAX_BYTES = 64 * 2**20  # an outcome file larger than this is refused
MAX_MANIFEST = 2**20  # bytes of the JSON structure
MAX_MEMBERS = 1000  # arrays in one archive
MAX_ELEMENTS = 16 * 2**20  # numbers, all arrays together, once decoded
MAX_DETAIL = 300  # characters kept of an exception message
NUMERIC = "biufc"  # numpy dtype kinds accepted back: bool, int, uint, float, complex
DTYPES = {name: getattr(torch, name) for name in (
    "float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8",
    "bool", "complex64", "complex128")}  # the tensor dtypes a result may name


class WireError(ValueError):
    """An outcome file the grader will not use (missing, too large, not plain numbers)."""


# ------------------------------------------------------------------------------ in the sandbox


def _encode(value: Any, arrays: dict[str, np.ndarray]) -> dict:
    if isinstance(value, torch.Tensor):
        key = f"a{len(arrays)}"
        with torch._C.DisableTorchFunctionSubclass():  # a subclass's own answers are not asked
            t = torch.Tensor.detach(value).cpu()
            dtype = str(t.dtype).replace("torch.", "")
            if t.dtype in (torch.bfloat16, torch.float16):
                t = t.float()
            arrays[key] = np.array(t.resolve_conj().resolve_neg().numpy(), copy=True)
        return {"t": "tensor", "k": key, "dtype": dtype}
    if isinstance(value, np.ndarray) and value.dtype.kind in NUMERIC:
        key = f"a{len(arrays)}"
        arrays[key] = np.array(value, copy=True)
        return {"t": "ndarray", "k": key}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if isinstance(value, int):
        return {"t": "int", "v": value} if abs(value) < 2**62 else {"t": "float", "v": float(value)}
    if isinstance(value, float):
        return {"t": "float", "v": repr(value)}
    if isinstance(value, np.generic) and value.dtype.kind in NUMERIC:
        return {"t": "float", "v": repr(float(value))}
    if value is None:
        return {"t": "none"}
    if isinstance(value, (tuple, list)) and len(value) <= 64:
        return {"t": type(value).__name__, "items": [_encode(v, arrays) for v in value]}
    return {"t": "other", "type": type(value).__name__[:80]}


def dump(outcomes: list[Outcome], path: str | os.PathLike) -> None:
    """Write ``outcomes`` to ``path`` (an ``.npz``), atomically."""
    arrays: dict[str, np.ndarray] = {}
    entries = []
    for o in outcomes:
        entry = {"kind": o.kind, "detail": str(o.detail)[:MAX_DETAIL]}
        if o.kind == "returned":
            entry["value"] = _encode(o.value, arrays)
        entries.append(entry)
    arrays[MANIFEST] = np.frombuffer(json.dumps(entries).encode(), dtype=np.uint8)
    tmp = Path(f"{path}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    tmp.replace(path)


# ------------------------------------------------------------------------------ in the grader


def read_bounded(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of the regular file ``path``, not following a link, refusing more than ``limit``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise WireError("no result was written") from None
    except OSError:
        raise WireError("the result is not a regular file") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise WireError("the result is not a regular file")
        if info.st_size > limit:
            raise WireError(f"the result is larger than {limit} bytes")
        return f.read(limit + 1)[:limit]


class _Budget:
    """What decoding may still take: each array once, and so many numbers in all."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays, self.used, self.elements = arrays, set(), 0

    def take(self, key: Any) -> np.ndarray:
        a = self.arrays.get(key) if isinstance(key, str) else None
        if a is None or key in self.used or a.dtype.kind not in NUMERIC:
            raise WireError("malformed result")
        self.used.add(key)
        self.elements += a.size
        if self.elements > MAX_ELEMENTS:
            raise WireError("the result holds too many numbers")
        return a


def _decode(spec: Any, budget: _Budget, depth: int = 0) -> Any:
    if not isinstance(spec, dict) or depth > 8:
        raise WireError("malformed result")
    kind = spec.get("t")
    if kind == "tensor":
        dtype = DTYPES.get(spec.get("dtype"))
        if dtype is None:
            raise WireError("malformed result")
        a = budget.take(spec.get("k"))
        t = torch.from_numpy(np.array(a, order="C", copy=True))  # keeps 0-d arrays 0-d
        return t.to(dtype)
    if kind == "ndarray":
        return budget.take(spec.get("k"))
    if kind == "bool":
        return bool(spec.get("v"))
    if kind in ("int", "float"):
        v = spec.get("v")
        if not isinstance(v, (int, float, str)) or len(str(v)) > 40:
            raise WireError("malformed result")
        return int(v) if kind == "int" else float(v)
    if kind == "none":
        return None
    if kind in ("tuple", "list") and isinstance(spec.get("items"), list):
        items = [_decode(s, budget, depth + 1) for s in spec["items"][:64]]
        return tuple(items) if kind == "tuple" else items
    if kind == "other":  # a class of that name, so that feedback reads "the result is a str"
        name = "".join(c for c in str(spec.get("type", ""))[:80] if c.isalnum() or c == "_")
        return type(name or "object", (Foreign,), {})()
    raise WireError("malformed result")


class Foreign:
    """Stands in for a value that is not numbers (a string, a dict, a model): only its type's name
    came back, as the name of a subclass made for it."""

    def __repr__(self) -> str:
        return f"a {type(self).__name__}"

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = None  # type: ignore[assignment]


def load(path: str | os.PathLike, limit: int = MAX_BYTES, entries_at_most: int = 64
         ) -> list[Outcome]:
    """The outcomes :func:`dump` wrote at ``path`` (at most ``entries_at_most``); :class:`WireError`
    for anything else. Memory and time are bounded by the limits above, whatever the file holds."""
    data = read_bounded(path, limit)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:  # no member may inflate past the limits
            members = z.infolist()
            if len(members) > MAX_MEMBERS or sum(i.file_size for i in members) > 4 * limit:
                raise WireError("the result is too large")
            manifest = [i for i in members if i.filename == f"{MANIFEST}.npy"]
            if len(manifest) != 1 or manifest[0].file_size > MAX_MANIFEST + 1024:
                raise WireError("malformed result")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        entries = json.loads(bytes(arrays.pop(MANIFEST)).decode())
        if not isinstance(entries, list) or len(entries) > entries_at_most:
            raise WireError("malformed result")
        budget = _Budget(arrays)
        outcomes = []
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("kind") not in (
                    "returned", "raised", "not attempted", "not callable"):
                raise WireError("malformed result")
            detail = str(entry.get("detail", ""))[:MAX_DETAIL]
            value = _decode(entry.get("value"), budget) if entry["kind"] == "returned" else None
            outcomes.append(Outcome(entry["kind"], value=value, detail=detail))
    except WireError:
        raise
    except Exception:
        raise WireError("the result is not plain numbers the grader can read") from None
    return outcomes
