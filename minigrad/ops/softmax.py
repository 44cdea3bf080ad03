"""Softmax, log-softmax and logsumexp, composed from primitives (no backward of their own)."""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from .. import backend
from ..autograd.context import no_grad
from ..tensor import Tensor
from ._coerce import normalize_axis
from .elementwise import exp, log
from .reduction import max, sum


def _shift(x: Tensor, axis: int, finite: bool = False) -> Tensor | None:
    """The row maxima, detached, as the stabilizing shift; None over an empty axis. With
    ``finite`` an infinite maximum shifts by 0 (logsumexp: a row of all -inf gives -inf,
    not NaN, as in PyTorch; softmax keeps PyTorch's NaN for such rows)."""
    if x.ndim and x.shape[axis] == 0:
        return None
    # max under no_grad rather than .detach(): the same values, but made by a recorded op,
    # so that mg.compile replays the shift instead of freezing (or refusing) it
    with no_grad():
        m = max(x, axis, keepdims=True)
    if finite and m.data.dtype.kind == "f":
        xp = backend.xp_of(m.data)
        m = Tensor._from_array(xp.where(xp.isinf(m.data), 0, m.data).astype(m.data.dtype))
    return m


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis``; the max is subtracted first for stability
    (it is a constant for the gradient, which it leaves unchanged).

    Shapes: ``x`` (...), result the same shape; an empty axis gives an empty result."""
    axis = normalize_axis(axis, x.ndim, "softmax")
    m = _shift(x, axis)
    e = exp(x if m is None else x - m)
    return e / sum(e, axis, keepdims=True)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """``x - logsumexp(x)`` along ``axis``, computed stably. Shapes: as ``softmax``."""
    axis = normalize_axis(axis, x.ndim, "log_softmax")
    m = _shift(x, axis)
    if m is None:
        return x * 1.0
    shifted = x - m
    return shifted - log(sum(exp(shifted), axis, keepdims=True))


def logsumexp(x: Tensor, axis: int = -1, keepdims: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` along ``axis``, computed stably; ``-inf`` over an empty axis
    or a row of all ``-inf``, ``inf`` for a row holding ``inf`` (PyTorch's values).

    Shapes: ``x`` (..., n, ...) -> the same without ``axis`` (kept as 1 with ``keepdims``)."""
    axis = normalize_axis(axis, x.ndim, "logsumexp")
    m = _shift(x, axis, finite=True)
    xp = backend.xp_of(x.data)
    with _quiet(xp):  # log(0) = -inf is the right answer here, not a warning
        if m is None:
            out = log(sum(exp(x), axis, keepdims=True))
        else:
            out = log(sum(exp(x - m), axis, keepdims=True)) + m
    return out if keepdims else out.squeeze(axis)


def _quiet(xp: Any) -> AbstractContextManager:
    """NumPy's divide-by-zero warning silenced (CuPy does not warn)."""
    return np.errstate(divide="ignore") if xp is np else contextlib.nullcontext()
