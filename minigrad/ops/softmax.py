"""Softmax and log-softmax, composed from primitives (no backward of their own)."""

from __future__ import annotations

from ..tensor import Tensor
from ._coerce import normalize_axis
from .elementwise import exp, log
from .reduction import max, sum


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis``; the max is subtracted first for stability
    (it is a constant for the gradient, which it leaves unchanged)."""
    axis = normalize_axis(axis, x.ndim, "softmax")
    e = exp(x - max(x, axis, keepdims=True).detach())
    return e / sum(e, axis, keepdims=True)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """``x - logsumexp(x)`` along ``axis``, computed stably."""
    axis = normalize_axis(axis, x.ndim, "log_softmax")
    shifted = x - max(x, axis, keepdims=True).detach()
    return shifted - log(sum(exp(shifted), axis, keepdims=True))


def logsumexp(x: Tensor, axis: int = -1, keepdims: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` along ``axis``, computed stably."""
    axis = normalize_axis(axis, x.ndim, "logsumexp")
    m = max(x, axis, keepdims=True).detach()
    out = log(sum(exp(x - m), axis, keepdims=True)) + m
    return out if keepdims else out.squeeze(axis)
