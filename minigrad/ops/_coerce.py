"""Turning Python scalars and arrays into Tensors that match a partner Tensor."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor


def scalar_dtype(value: Any, like: np.dtype) -> np.dtype:
    """dtype a Python scalar takes next to a tensor of dtype ``like`` (PyTorch's rule:
    a scalar never widens a float tensor; a float scalar makes an int tensor float)."""
    if like.kind in "fc":
        return like
    if isinstance(value, bool):
        return like
    if isinstance(value, int):
        return like if like.kind in "iu" else np.dtype(np.int64)
    return backend.get_default_dtype()


def as_tensor_like(value: Any, like: Tensor) -> Tensor:
    """``value`` as a Tensor on ``like``'s device; scalars take ``like``'s dtype."""
    if isinstance(value, Tensor):
        return value
    xp = backend.xp_of(like.data)
    if isinstance(value, bool | int | float | np.number | np.bool_):
        dtype = scalar_dtype(value, like.data.dtype)
        if xp is np:
            return Tensor._from_array(np.asarray(value, dtype=dtype))
        with like.data.device:  # a fill kernel on like's GPU: no host->device copy
            return Tensor._from_array(xp.full((), value, dtype=dtype))
    if backend.is_array(value):
        if value.dtype.kind == "f" and like.data.dtype.kind == "f":
            with backend.array_context(value):
                value = value.astype(like.data.dtype, copy=False)
        return Tensor._from_array(value)
    array = np.asarray(value)
    if array.dtype.kind == "f":
        dt = like.data.dtype if like.data.dtype.kind == "f" else backend.get_default_dtype()
        array = array.astype(dt)
    with backend.array_context(like.data):  # nested lists: an upload the user wrote out
        return Tensor._from_array(xp.asarray(array))


def pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Both operands of a binary op as Tensors. An int/bool operand next to a float one
    takes the float dtype, so ``int_tensor * 0.5`` is float32, never float64."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor) and a.data.dtype is b.data.dtype:
            return a, b  # the common case, kept cheap
        b = as_tensor_like(b, a)
    elif isinstance(b, Tensor):
        a = as_tensor_like(a, b)
    else:
        raise TypeError(
            f"expected at least one Tensor operand, got {type(a).__name__} and {type(b).__name__}"
        )
    ka, kb = a.data.dtype.kind, b.data.dtype.kind
    if ka == kb == "f" and a.data.dtype != b.data.dtype and (a.ndim == 0) != (b.ndim == 0):
        # like a Python scalar, a 0-d tensor never widens a float tensor (PyTorch's rule)
        if a.ndim == 0 and not a.requires_grad:
            a = _astype(a, b.data.dtype)
        elif b.ndim == 0 and not b.requires_grad:
            b = _astype(b, a.data.dtype)
        return a, b
    if ka != kb:
        if ka in "biu" and kb in "fc":
            a = _astype(a, b.data.dtype)
        elif kb in "biu" and ka in "fc":
            b = _astype(b, a.data.dtype)
    return a, b


def _astype(t: Tensor, dtype: np.dtype) -> Tensor:
    """``t``'s data cast to ``dtype`` on its own device (no gradient)."""
    with backend.array_context(t.data):
        return Tensor._from_array(t.data.astype(dtype))


def normalize_axis(axis: Any, ndim: int, op: str) -> Any:
    """Check axes against ``ndim`` (negative allowed); returns an int, a tuple or None."""
    if axis is None:
        return None
    axes = axis if isinstance(axis, tuple | list) else (axis,)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise IndexError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimension(s)")
        out.append(a % ndim if ndim else 0)
    return tuple(out) if isinstance(axis, tuple | list) else out[0]
