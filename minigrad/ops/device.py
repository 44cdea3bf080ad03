"""Explicit moves between devices (the only op that copies host <-> GPU)."""

from __future__ import annotations

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor


class ToDevice(Function):
    def forward(self, a):
        self.src = backend.device_of(a)
        return backend.to_device(a, self.device)

    def backward(self, g):
        return to_device(g, self.src)


def to_device(a: Tensor, device: str) -> Tensor:
    """``a`` on ``device``; the gradient flows back to ``a``'s device."""
    if backend.device_of(a.data) == device:
        return a
    return ToDevice.apply(a, device=device)
