"""``save`` / ``load``: state dicts as ``.npz`` files, without pickle, written atomically.

A state dict is a mapping from ``str`` to arrays (Tensors, numpy or cupy arrays, Python
numbers). Nested mappings and lists, such as an optimizer's state dict, are flattened
with ``"/"`` between the levels (``"state/0/exp_avg"``, ``"param_groups/0/lr"``); module
keys use ``"."`` and are stored unchanged. ``load`` returns that flat dict of numpy
arrays, and ``Optimizer.load_state_dict`` accepts it as it is (``unflatten`` rebuilds the
nesting for anything else).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import backend

SEP = "/"

__all__ = ["save", "load", "flatten", "unflatten"]


def _to_host_array(key: str, value: Any) -> np.ndarray:
    from .tensor import Tensor

    if isinstance(value, Tensor):
        value = value.data
    if backend.is_array(value):
        array = backend.to_device(value, "cpu")
    elif isinstance(value, bool | int | float | np.generic) or (
        isinstance(value, list | tuple) and all(isinstance(v, bool | int | float) for v in value)
    ):
        array = np.asarray(value)
    else:
        raise TypeError(
            f"save: value for key {key!r} is a {type(value).__name__}; expected a Tensor, "
            "an array, a number, a list of numbers or a nested dict of those"
        )
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"save: value for key {key!r} has dtype {array.dtype}; only bool, integer and "
            "float arrays can be saved without pickle"
        )
    return array


def flatten(obj: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Flatten a (possibly nested) state dict to ``{"a/b/c": host numpy array}``.

    Mappings and lists/tuples that hold mappings are walked; their keys (or indices)
    are joined with ``"/"``. A list or tuple of plain numbers becomes one array.
    """
    if not isinstance(obj, Mapping):
        raise TypeError(f"save: expected a dict (a state dict), got {type(obj).__name__}")
    flat: dict[str, np.ndarray] = {}
    stack: list[tuple[str, Any]] = [("", obj)]
    while stack:
        prefix, node = stack.pop()
        if isinstance(node, Mapping):
            items = [(str(k), v) for k, v in node.items()]
        elif isinstance(node, list | tuple) and any(isinstance(v, Mapping) for v in node):
            items = [(str(i), v) for i, v in enumerate(node)]
        else:
            flat[prefix] = _to_host_array(prefix, node)
            continue
        for k, v in reversed(items):
            if not isinstance(k, str) or not k:
                raise TypeError(f"save: keys must be non-empty strings, got {k!r} under {prefix!r}")
            stack.append((f"{prefix}{SEP}{k}" if prefix else k, v))
    return flat


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of ``flatten`` for mappings: ``{"a/b": x}`` -> ``{"a": {"b": x}}``.

    List levels come back as dicts with string indices (``"0"``, ``"1"`` ...).
    """
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(SEP)
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"unflatten: key {key!r} nests under a value at {part!r}")
            node = child
        node[leaf] = value
    return out


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def save(obj: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a state dict to ``path`` as an ``.npz`` file (no pickle), atomically.

    The file is written to a temporary file in the same folder and moved into place
    with ``os.replace``, so an error or a crash mid-write leaves any previous file at
    ``path`` intact and no temporary file behind. ``path`` is used exactly as given
    (no ``.npz`` is appended).
    """
    arrays = flatten(obj)
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            f"save: folder {str(folder)!r} does not exist (saving to {str(target)!r})"
        )
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode())  # mkstemp makes 0600 files; use what open() would
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def load(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a file written by ``save``: a flat dict ``{key: numpy array}``.

    Pickled content (object arrays) is refused with a ``ValueError``.
    """
    with np.load(path, allow_pickle=False) as f:
        out = {}
        for key in f.files:
            try:
                out[key] = f[key]
            except ValueError as exc:
                raise ValueError(
                    f"load: entry {key!r} in {str(path)!r} holds pickled objects, which are "
                    "refused (only plain numeric arrays are loaded)"
                ) from exc
    return out
