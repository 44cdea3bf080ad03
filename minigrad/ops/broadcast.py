"""Broadcasting and its adjoint: ``broadcast_to`` and ``sum_to`` are each other's backward."""

from __future__ import annotations

from collections.abc import Sequence

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from ._pairwise import sum_leading


class BroadcastTo(Function):
    """``a`` broadcast to ``shape``; backward sums the gradient back to ``a``'s shape."""

    view = True
    def forward(self, a):
        self.in_shape = a.shape
        return backend.xp_of(a).broadcast_to(a, self.shape)

    def backward(self, g):
        return sum_to(g, self.in_shape)


class SumTo(Function):
    """Sum a broadcast result back down to ``shape`` (numpy's broadcasting, reversed)."""

    def forward(self, a):
        self.in_shape = a.shape
        lead = a.ndim - len(self.shape)
        a = sum_leading(a, lead)  # pairwise: a bias gradient keeps float32 accuracy
        axes = tuple(i for i, n in enumerate(self.shape) if n == 1 and a.shape[i] != 1)
        out = a.sum(axis=axes, keepdims=True) if axes else a
        return out.reshape(self.shape)

    def backward(self, g):
        return broadcast_to(g, self.in_shape)


def broadcast_to(a: Tensor, shape: Sequence[int]) -> Tensor:
    """``a`` broadcast to ``shape`` (numpy rules); the gradient is summed back."""
    shape = tuple(int(n) for n in shape)
    if a.data.shape == shape:
        return a
    return BroadcastTo.apply(a, shape=shape)


def sum_to(g: Tensor, shape: Sequence[int]) -> Tensor:
    """Reduce ``g`` to ``shape`` by summing the broadcast dimensions."""
    if g.data.shape == tuple(shape):
        return g
    return SumTo.apply(g, shape=tuple(shape))


def expand(a: Tensor, *shape: int) -> Tensor:
    """PyTorch's ``expand``: broadcast with ``-1`` meaning "keep this size"."""
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = tuple(shape[0])
    lead = len(shape) - a.ndim
    if lead < 0:
        raise ValueError(f"expand: cannot expand shape {a.shape} to fewer dimensions {shape}")
    full = tuple(
        a.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape)
    )
    return broadcast_to(a, full)
