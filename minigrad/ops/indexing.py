"""Indexing: ``getitem`` and its adjoint, a scatter-add that accumulates repeated indices."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd.context import state
from ..autograd.function import Function, may_alias
from ..tensor import Tensor
from .device import check_same_device


def _unwrap_one(i: Any) -> Any:
    if isinstance(i, Tensor):
        return i.data
    if isinstance(i, list):
        return np.asarray(i)
    return i


def _has_int_array(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(backend.is_array(p) and p.dtype.kind in "iu" and p.ndim > 0 for p in parts)


class GetItem(Function):
    """``a[index]``; backward scatters the gradient into zeros of ``a``'s shape."""

    view = "maybe"

    def aliases(self, out: Any, array: Any) -> bool:
        """Basic indexing gives a view; integer arrays and bool masks give a copy."""
        parts = self.index if isinstance(self.index, tuple) else (self.index,)
        return not any(backend.is_array(p) for p in parts) or may_alias(out, array)

    def forward(self, a):
        self.in_shape = a.shape
        return a[self.index]

    def backward(self, g):
        return IndexAdd.apply(g, index=self.index, shape=self.in_shape, advanced=self.advanced)


def getitem(a: Tensor, index: Any) -> Tensor:
    """``a[index]`` with ints, slices, None, ..., integer arrays and bool masks.

    The gradient of integer-array indexing adds up over repeated indices."""
    raw = index
    index = unwrap_index(index)
    parts = index if isinstance(index, tuple) else (index,)
    if backend.xp_of(a.data) is not np and any(isinstance(p, list) for p in
                                                (raw if isinstance(raw, tuple) else (raw,))):
        # a Python list is index data the user wrote out: upload it (PyTorch does too)
        with backend.array_context(a.data):
            moved = tuple(backend.to_device(p, a.device) if isinstance(p, np.ndarray) else p
                          for p in parts)
        index = moved if isinstance(index, tuple) else moved[0]
        parts = moved
    for p in parts:  # an index array on another device is a device mix, never a silent copy
        if backend.is_array(p):
            check_same_device("getitem", "the index", p, "the indexed tensor", a)
    advanced = _has_int_array(index)
    if advanced and a.requires_grad and state.grad_enabled:
        # backward scatters into these positions later: keep copies the caller cannot change
        with backend.array_context(a.data):
            copied = tuple(p.copy() if backend.is_array(p) else p for p in parts)
        index = copied if isinstance(index, tuple) else copied[0]
    return GetItem.apply(a, index=index, advanced=advanced)


class IndexAdd(Function):
    """Zeros of ``shape`` with ``g`` added at ``index``; repeated indices accumulate."""

    def forward(self, g):
        xp = backend.xp_of(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        if not self.advanced:
            out[self.index] = g
        elif xp is np:
            np.add.at(out, self.index, g)
        else:
            import cupyx

            cupyx.scatter_add(out, self.index, g)
        return out

    def backward(self, g):
        return GetItem.apply(g, index=self.index, advanced=self.advanced)


def unwrap_index(index: Any) -> Any:
    """Replace Tensors (and lists) inside an index by arrays."""
    if isinstance(index, tuple):
        return tuple(_unwrap_one(i) for i in index)
    return _unwrap_one(index)
