"""Shape primitives (reshape, transpose, cat, stack, split) and what is composed of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import backend
from ..autograd.context import state
from ..autograd.function import Function, OpError
from ..tensor import Tensor
from ._coerce import normalize_axis


def _shape_arg(shape: Sequence[Any]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = shape[0]
    return tuple(int(n) for n in shape)


def _check_joinable(op: str, tensors: Sequence[Tensor], axis: int, same_size: bool) -> None:
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    first = tensors[0].shape
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: element {i} is a {type(t).__name__}, expected a Tensor")
        ok = t.shape == first if same_size else (
            t.ndim == len(first) and all(a == b for k, (a, b) in enumerate(zip(t.shape, first)) if k != axis)
        )
        if not ok:
            raise OpError(
                f"{op}: tensor {i} has shape {t.shape}, incompatible with tensor 0's shape "
                f"{first} along axis {axis}"
            )


class Reshape(Function):
    """``a`` reshaped to ``shape``; backward reshapes the gradient back."""

    view = "maybe"  # a reshape of a non-contiguous array copies
    def forward(self, a):
        self.in_shape = a.shape
        return a.reshape(self.shape)

    def backward(self, g):
        return reshape(g, self.in_shape)


def reshape(a: Tensor, *shape: Any) -> Tensor:
    """``a`` with a new shape of the same size (one ``-1`` is inferred)."""
    shape = _shape_arg(shape)
    if a.data.shape == shape:
        return a
    return Reshape.apply(a, shape=shape)


class Transpose(Function):
    """``a`` with its axes permuted by ``axes``; backward applies the inverse permutation."""

    view = True
    def forward(self, a):
        return a.transpose(self.axes)

    def backward(self, g):
        inverse = [0] * len(self.axes)
        for i, ax in enumerate(self.axes):
            inverse[ax] = i
        return Transpose.apply(g, axes=tuple(inverse))


def permute(a: Tensor, *axes: Any) -> Tensor:
    """Reorder the axes: output axis i is input axis ``axes[i]``."""
    axes = _shape_arg(axes)
    if sorted(x % max(a.ndim, 1) for x in axes) != list(range(a.ndim)):
        raise OpError(f"permute: {axes} is not a permutation of the {a.ndim} axes of shape {a.shape}")
    axes = tuple(x % a.ndim for x in axes)
    if axes == tuple(range(a.ndim)):
        return a
    return Transpose.apply(a, axes=axes)


class Cat(Function):
    """The inputs joined along ``axis``; backward slices the gradient into their pieces."""
    def forward(self, *arrays):
        self.sizes = [a.shape[self.axis] for a in arrays]
        return backend.xp_of(arrays[0]).concatenate(arrays, axis=self.axis)

    def backward(self, g):
        return split(g, self.sizes, self.axis)


def cat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = tuple(tensors)
    if tensors and isinstance(tensors[0], Tensor):
        axis = normalize_axis(axis, tensors[0].ndim, "cat")
    _check_joinable("cat", tensors, axis, same_size=False)
    if len(tensors) == 1:
        return tensors[0]
    return Cat.apply(*tensors, axis=axis)


class Stack(Function):
    """The inputs stacked along a new ``axis``; backward takes each slice of the gradient."""
    def forward(self, *arrays):
        return backend.xp_of(arrays[0]).stack(arrays, axis=self.axis)

    def backward(self, g):
        lead = (slice(None),) * self.axis
        if not state.grad_enabled:  # views of g, no op records
            data = g.data
            return tuple(Tensor._from_array(data[lead + (i,)]) if need else None
                         for i, need in enumerate(self.needs_input_grad))
        return tuple(
            g[lead + (i,)] if need else None for i, need in enumerate(self.needs_input_grad)
        )


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis."""
    tensors = tuple(tensors)
    _check_joinable("stack", tensors, axis, same_size=True)
    ndim = tensors[0].ndim + 1
    if not -ndim <= axis < ndim:
        raise IndexError(f"stack: axis {axis} is out of range for a result with {ndim} dims")
    return Stack.apply(*tensors, axis=axis % ndim)


class Split(Function):
    """Several outputs: consecutive pieces of ``sizes`` along ``axis``."""

    view = True
    def forward(self, a):
        self.in_shape = a.shape
        lead = (slice(None),) * self.axis
        pieces = []
        start = 0
        for n in self.sizes:  # plain slicing: numpy.split costs ~10x more per call
            pieces.append(a[lead + (slice(start, start + n),)])
            start += n
        return tuple(pieces)

    def backward(self, *grads):
        if all(g is not None for g in grads):
            return cat(grads, self.axis)
        ref = next(g for g in grads if g is not None)
        xp = backend.xp_of(ref.data)
        filled = []
        for g, n in zip(grads, self.sizes):
            if g is None:
                shape = list(self.in_shape)
                shape[self.axis] = n
                g = Tensor._from_array(xp.zeros(shape, dtype=ref.data.dtype))
            filled.append(g)
        return cat(filled, self.axis)


def split(a: Tensor, split_size_or_sections: Any, axis: int = 0) -> tuple[Tensor, ...]:
    """PyTorch's split: an int is the size of each piece (the last may be smaller),
    a list gives the sizes, which must add up to the length of ``axis``."""
    axis = normalize_axis(axis, a.ndim, "split")
    length = a.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [step] * (length // step) + ([length % step] if length % step else [])
        sizes = sizes or [0]
    else:
        sizes = [int(n) for n in split_size_or_sections]
        if sum(sizes) != length or any(n < 0 for n in sizes):
            raise OpError(
                f"split: sections {sizes} must be non-negative and add up to {length}, "
                f"the size of axis {axis} of shape {a.shape}"
            )
    if len(sizes) == 1:
        return (a,)
    return Split.apply(a, sizes=sizes, axis=axis)


def transpose(a: Tensor, *axes: Any) -> Tensor:
    """With two ints, swap those two axes (PyTorch's ``transpose(dim0, dim1)``); with a
    full permutation, reorder the axes (numpy's); with none, reverse them."""
    axes = _shape_arg(axes) if axes else tuple(reversed(range(a.ndim)))
    if len(axes) == 2:
        return swapaxes(a, *axes)
    return permute(a, *axes)


def swapaxes(a: Tensor, axis0: int, axis1: int) -> Tensor:
    """Swap two axes."""
    axes = list(range(a.ndim))
    i, j = normalize_axis(axis0, a.ndim, "swapaxes"), normalize_axis(axis1, a.ndim, "swapaxes")
    axes[i], axes[j] = axes[j], axes[i]
    return permute(a, *axes)


def unsqueeze(a: Tensor, axis: int) -> Tensor:
    """Insert a size-1 axis at ``axis`` (negative counts from the new end)."""
    ndim = a.ndim + 1
    if not -ndim <= axis < ndim:
        raise IndexError(f"unsqueeze: axis {axis} is out of range for a result with {ndim} dims")
    axis %= ndim
    shape = a.shape[:axis] + (1,) + a.shape[axis:]
    return reshape(a, shape)


def squeeze(a: Tensor, axis: Any = None) -> Tensor:
    """Drop size-1 axes (all of them, or only ``axis`` when it has size 1, like PyTorch)."""
    if axis is None:
        return reshape(a, tuple(n for n in a.shape if n != 1))
    axes = normalize_axis(axis if isinstance(axis, tuple | list) else (axis,), a.ndim, "squeeze")
    return reshape(a, tuple(n for i, n in enumerate(a.shape) if not (i in axes and n == 1)))


def flatten(a: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge axes ``start_dim..end_dim`` into one."""
    if a.ndim == 0:
        return reshape(a, (1,))
    s = normalize_axis(start_dim, a.ndim, "flatten")
    e = normalize_axis(end_dim, a.ndim, "flatten")
    n = 1
    for size in a.shape[s : e + 1]:
        n *= size
    return reshape(a, a.shape[:s] + (n,) + a.shape[e + 1 :])


def chunk(a: Tensor, chunks: int, axis: int = 0) -> tuple[Tensor, ...]:
    """Split into ``chunks`` pieces of size ceil(n / chunks) (PyTorch's chunk)."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    axis = normalize_axis(axis, a.ndim, "chunk")
    length = a.shape[axis]
    step = max(-(-length // chunks), 1)
    return split(a, step, axis)
