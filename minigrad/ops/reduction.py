"""Reductions: ``sum`` and ``max`` are primitives; ``mean``, ``min`` and ``var`` are composed."""

from __future__ import annotations

import builtins
from typing import Any

from .. import backend
from ..autograd.context import state
from ..autograd.function import Function
from ..tensor import Tensor
from ._coerce import normalize_axis
from ._pairwise import sum_leading
from .broadcast import broadcast_to


def _keepdims_shape(in_shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    if axis is None:
        return (1,) * len(in_shape)
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(1 if i in axes else n for i, n in enumerate(in_shape))


def _count(shape: tuple[int, ...], axis: Any) -> int:
    if axis is None:
        axes = range(len(shape))
    else:
        axes = axis if isinstance(axis, tuple) else (axis,)
    n = 1
    for i in axes:
        n *= shape[i]
    return n


class Sum(Function):
    """``a.sum(axis, keepdims)``; backward broadcasts the gradient back to ``a``'s shape.

    A float32 sum over leading axes (a batch, a sequence) is blocked and pairwise, as
    NumPy already is along the last axis, so its error does not grow with the rows."""

    def forward(self, a):
        self.in_shape = a.shape
        lead = _leading_count(self.axis, a.ndim)
        if lead:
            out = sum_leading(a, lead)
            return out.reshape(_keepdims_shape(a.shape, self.axis)) if self.keepdims else out
        return a.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, g):
        shape = _keepdims_shape(self.in_shape, self.axis)
        if not state.grad_enabled:  # one view, no op records
            xp = backend.xp_of(g.data)
            return Tensor._from_array(xp.broadcast_to(g.data.reshape(shape), self.in_shape))
        return broadcast_to(g.reshape(shape), self.in_shape)


def _leading_count(axis: Any, ndim: int) -> int:
    """k when ``axis`` is exactly the leading axes 0..k-1 of fewer than all ``ndim``, else 0."""
    if axis is None:
        return 0
    axes = sorted(axis) if isinstance(axis, tuple) else [axis]
    k = len(axes)
    return k if k < ndim and axes == list(range(k)) else 0


def sum(a: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (int, tuple or None for all)."""
    axis = normalize_axis(axis, a.ndim, "sum")
    return Sum.apply(a, axis=axis, keepdims=keepdims)


class Max(Function):
    """Maximum over ``axis``; ties share the gradient equally (like ``amax``)."""

    save_inputs = True
    save_output = True

    def forward(self, a):
        return a.max(axis=self.axis, keepdims=self.keepdims)

    def backward(self, g):
        a = self.inputs[0].data
        shape = _keepdims_shape(a.shape, self.axis)
        out = self.out.reshape(shape)
        mask = a == out
        count = mask.sum(axis=self.axis, keepdims=True)
        weight = Tensor._from_array((mask / count).astype(a.dtype, copy=False))
        return broadcast_to(g.reshape(shape), a.shape) * weight


def max(a: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over ``axis`` (values only; see ``argmax`` for indices). With a Tensor as
    second argument, the elementwise maximum of the two (PyTorch's ``max(a, b)``)."""
    if isinstance(axis, Tensor):
        from .elementwise import maximum

        return maximum(a, axis)
    axis = normalize_axis(axis, a.ndim, "max")
    return Max.apply(a, axis=axis, keepdims=keepdims)


def mean(a: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (an empty reduction gives NaN, as in NumPy)."""
    axis = normalize_axis(axis, a.ndim, "mean")
    total = sum(a, axis, keepdims)
    count = _count(a.shape, axis)
    return total / count if count else total * float("nan")


def var(a: Tensor, axis: Any = None, keepdims: bool = False, correction: int = 1) -> Tensor:
    """Variance over ``axis`` with Bessel's ``correction`` (PyTorch's default 1)."""
    axis = normalize_axis(axis, a.ndim, "var")
    centred = a - mean(a, axis, keepdims=True)
    n = _count(a.shape, axis)
    return sum(centred * centred, axis, keepdims) / builtins.max(n - correction, 0)


def min(a: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over ``axis``: ``-max(-a)``; with a Tensor second argument, elementwise."""
    if isinstance(axis, Tensor):
        from .elementwise import minimum

        return minimum(a, axis)
    return -max(-a, axis, keepdims)


def argmax(a: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Indices of the maxima (an int64 tensor, no gradient)."""
    axis = normalize_axis(axis, a.ndim, "argmax")
    return Tensor._from_array(backend.xp_of(a.data).argmax(a.data, axis=axis, keepdims=keepdims))


def argmin(a: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Indices of the minima (an int64 tensor, no gradient)."""
    axis = normalize_axis(axis, a.ndim, "argmin")
    return Tensor._from_array(backend.xp_of(a.data).argmin(a.data, axis=axis, keepdims=keepdims))
