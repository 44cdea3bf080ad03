"""Explicit moves between devices (the only op that copies host <-> GPU), and the check
that refuses to mix devices where an op takes a second array outside its inputs."""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor


class ToDevice(Function):
    """A copy of ``a`` on ``device``; backward copies the gradient back."""
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


def check_same_device(op: str, name: str, value: Any, other_name: str, other: Tensor) -> None:
    """Raise a RuntimeError naming both devices unless ``value`` (a Tensor or array) is on
    ``other``'s device; minigrad never copies between devices behind the user's back."""
    data = value.data if isinstance(value, Tensor) else value
    here, there = backend.device_of(data), backend.device_of(other.data)
    if here != there:
        raise RuntimeError(
            f"{op}: {name} is on {here} but {other_name} is on {there} (shapes "
            f"{tuple(data.shape)} and {other.shape}); move it with .to({there!r}) first"
        )
