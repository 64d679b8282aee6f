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
MAX_DETAIL = 300  # characters kept of an exception message
NUMERIC = "biufc"  # numpy dtype kinds accepted back: bool, int, uint, float, complex


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


def _decode(spec: Any, arrays: dict[str, np.ndarray], depth: int = 0) -> Any:
    if not isinstance(spec, dict) or depth > 8:
        raise WireError("malformed result")
    kind = spec.get("t")
    if kind == "tensor":
        a = arrays.get(spec.get("k"))
        if a is None or a.dtype.kind not in NUMERIC:
            raise WireError("malformed result")
        t = torch.from_numpy(np.array(a, order="C", copy=True))  # keeps 0-d arrays 0-d
        dtype = getattr(torch, str(spec.get("dtype")), None)
        return t.to(dtype) if isinstance(dtype, torch.dtype) else t
    if kind == "ndarray":
        a = arrays.get(spec.get("k"))
        if a is None or a.dtype.kind not in NUMERIC:
            raise WireError("malformed result")
        return a
    if kind == "bool":
        return bool(spec.get("v"))
    if kind == "int":
        return int(spec.get("v"))
    if kind == "float":
        return float(spec.get("v"))
    if kind == "none":
        return None
    if kind in ("tuple", "list") and isinstance(spec.get("items"), list):
        items = [_decode(s, arrays, depth + 1) for s in spec["items"][:64]]
        return tuple(items) if kind == "tuple" else items
    if kind == "other":  # a class of that name, so that feedback reads "the result is a str"
        return type(str(spec.get("type", "object"))[:80] or "object", (Foreign,), {})()
    raise WireError("malformed result")


class Foreign:
    """Stands in for a value that is not numbers (a string, a dict, a model): only its type's name
    came back, as the name of a subclass made for it."""

    def __repr__(self) -> str:
        return f"a {type(self).__name__}"

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = None  # type: ignore[assignment]


def load(path: str | os.PathLike, limit: int = MAX_BYTES) -> list[Outcome]:
    """The outcomes :func:`dump` wrote at ``path``; :class:`WireError` for anything else."""
    data = read_bounded(path, limit)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:  # no member may inflate past the limit
            if sum(i.file_size for i in z.infolist()) > 4 * limit:
                raise WireError("the result is too large")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        entries = json.loads(bytes(arrays.pop(MANIFEST)).decode())
    except WireError:
        raise
    except Exception:
        raise WireError("the result is not plain numbers the grader can read") from None
    if not isinstance(entries, list) or len(entries) > 1000:
        raise WireError("malformed result")
    outcomes = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kind") not in (
                "returned", "raised", "not attempted", "not callable"):
            raise WireError("malformed result")
        detail = str(entry.get("detail", ""))[:MAX_DETAIL]
        value = _decode(entry.get("value"), arrays) if entry["kind"] == "returned" else None
        outcomes.append(Outcome(entry["kind"], value=value, detail=detail))
    return outcomes
