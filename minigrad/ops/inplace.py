"""In-place changes of a Tensor (``+=``, ``add_``, ``copy_`` ...), with PyTorch's autograd rules.

Every in-place op is its out-of-place op followed by a write into the tensor's own array:

- under ``no_grad`` (or when nothing involved requires grad) the result is written into
  ``t.data`` and nothing is recorded: the hand-written optimizer step;
- on a leaf that requires grad, outside ``no_grad``, it is refused (its ``.grad`` would
  no longer be the gradient of anything), before anything changes;
- otherwise the op is recorded on a copy of the old values and the tensor takes the new
  node as its ``grad_fn``, so gradients flow through the change as in PyTorch.

Each change bumps the tensor's version counter, so a graph that saved the old values
(as an op's input or output) refuses to backpropagate through them. Views made by ops
(slicing, reshape, transpose, split, broadcast_to) share their base's counter, so a
change through either is caught. A recorded in-place change of a tensor whose array is a
view into another's (``h[0].mul_(2)``), or whose operand overlaps it
(``h.div_(h[0:1])``), is refused: minigrad does not rewrite the base's history as
PyTorch does. Under ``no_grad`` such writes go through and bump the shared counter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import backend
from ..autograd.context import state
from ..autograd.function import _wrap
from ..tensor import Tensor
from ._coerce import as_tensor_like
from .broadcast import broadcast_to
from .device import to_device
from .elementwise import add, cast, clip, div, mul, sub, where


def _inplace(t: Tensor, name: str, compute: Callable[[Tensor], Tensor], others: tuple[Any, ...],
             check_cast: bool = True) -> Tensor:
    """Replace ``t``'s values by ``compute(old t)``; see the module docstring."""
    grad_on = state.grad_enabled
    if grad_on and t.requires_grad and t.grad_fn is None:
        raise RuntimeError(
            f"{name}: a leaf tensor of shape {t.shape} that requires grad cannot be used "
            "in an in-place operation outside mg.no_grad() (its .grad would no longer be the gradient of "
            "anything); do it under mg.no_grad(), as an optimizer step does, or on .detach()"
        )
    record = grad_on and (t.requires_grad or any(
        isinstance(o, Tensor) and o.requires_grad for o in others))
    if record and getattr(t.data, "base", None) is not None:
        # the array is a view into another tensor's (indexing, reshape, transpose, split):
        # the recorded write would change that tensor behind its graph's back (PyTorch
        # rewrites the base's history; minigrad does not), so refuse instead of being wrong
        made = f" (made by {t.grad_fn.name})" if t.grad_fn is not None else ""
        raise RuntimeError(
            f"{name}: this tensor of shape {t.shape}{made} shares its memory with another "
            "tensor, so a recorded in-place change would corrupt that tensor's gradient; use "
            "the out-of-place op (e.g. t = t + x), or .clone it first with t * 1"
        )
    if record:
        for o in others:
            if isinstance(o, Tensor) and o is not t and _overlaps(o.data, t.data):
                raise RuntimeError(
                    f"{name}: the operand of shape {o.shape} shares memory with the tensor of "
                    f"shape {t.shape} being written (e.g. t.div_(t[0:1])), so its saved value "
                    "would change under the op; pass a copy (o * 1) or use the out-of-place op"
                )
    old_fn, old_index = t.grad_fn, t._out_idx
    if record:
        # the new node may save its input: give it a copy the write below cannot reach
        old = _wrap(t.data.copy(), t.grad_fn, t._out_idx)
        old.requires_grad = t.requires_grad
    else:
        old = _wrap(t.data, None, 0)
    result = compute(old)
    if result.shape != t.shape:
        raise RuntimeError(
            f"{name}: the result has shape {result.shape}, which does not fit the tensor's "
            f"shape {t.shape} (an in-place op cannot change the shape; the operands broadcast "
            "to a larger one)"
        )
    if check_cast and not np.can_cast(result.data.dtype, t.data.dtype, "same_kind"):
        raise RuntimeError(
            f"{name}: the result has dtype {result.data.dtype}, which cannot be stored in the "
            f"tensor's dtype {t.data.dtype} in place; convert with .to({str(result.data.dtype)!r}) "
            "and use the out-of-place op"
        )
    try:
        t.data[...] = result.data
    except ValueError as exc:  # a read-only view (from expand / broadcast_to)
        raise RuntimeError(
            f"{name}: cannot write into this tensor of shape {t.shape}: its data is a "
            f"read-only view ({exc}); make a copy first (e.g. t * 1)"
        ) from exc
    if record:
        if t.requires_grad and not result.requires_grad:
            # t was in the graph and gets a constant (copy_/fill_): it stays in the graph,
            # its old value receiving zero gradient, as in PyTorch
            result = where(_all_true(t), result, old)
        t.grad_fn = result.grad_fn
        t._out_idx = result._out_idx
        t.requires_grad = result.requires_grad
        _move_retained(t, old_fn, old_index)
    t._bump_version()
    return t


def _overlaps(a: Any, b: Any) -> bool:
    """Whether two arrays may share memory (not the same array: ``t.mul_(t)`` is fine)."""
    if a is b:
        return False
    if isinstance(a, np.ndarray):
        return np.may_share_memory(a, b)
    return a.base is b or b.base is a or (a.base is not None and a.base is b.base)


def _all_true(t: Tensor) -> Any:
    with backend.array_context(t.data):
        return backend.xp_of(t.data).ones(t.shape, dtype=bool)


def _move_retained(t: Tensor, old_fn: Any, old_index: int) -> None:
    """``retain_grad()`` was asked of ``t``, not of its old value: it follows ``t``."""
    retained = getattr(old_fn, "retained", None)
    if retained and old_index in retained and retained[old_index]() is t:
        del retained[old_index]
        t.retain_grad()


def add_(t: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """``t += alpha * other`` in place; returns ``t``."""
    return _inplace(t, "add_", lambda old: add(old, _scaled(other, alpha, t)), (other,))


def sub_(t: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """``t -= alpha * other`` in place; returns ``t``."""
    return _inplace(t, "sub_", lambda old: sub(old, _scaled(other, alpha, t)), (other,))


def mul_(t: Tensor, other: Any) -> Tensor:
    """``t *= other`` in place; returns ``t``."""
    return _inplace(t, "mul_", lambda old: mul(old, other), (other,))


def div_(t: Tensor, other: Any) -> Tensor:
    """``t /= other`` (true division) in place; an int tensor is refused, as in PyTorch."""
    return _inplace(t, "div_", lambda old: div(old, other), (other,))


def clamp_(t: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Clamp ``t`` into ``[min, max]`` in place; returns ``t``."""
    return _inplace(t, "clamp_", lambda old: clip(old, min, max), ())


def copy_(t: Tensor, src: Any) -> Tensor:
    """Copy ``src`` (broadcast to ``t``'s shape, cast to its dtype, moved to its device)
    into ``t``; the gradient flows to ``src``. Returns ``t``."""
    src = as_tensor_like(src, t)
    if src.device != t.device:
        src = to_device(src, t.device)  # asked for by name: copy_ crosses devices in PyTorch

    def compute(old: Tensor) -> Tensor:
        value = cast(src, t.data.dtype)
        return broadcast_to(value, t.shape) if value.shape != t.shape else value * 1

    return _inplace(t, "copy_", compute, (src,), check_cast=False)


def fill_(t: Tensor, value: Any, _name: str = "fill_") -> Tensor:
    """Set every element to ``value`` (a number or a 0-d tensor); returns ``t``."""
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(
            f"{_name}: the value must be a number or a 0-d tensor, got a tensor of shape "
            f"{value.shape}"
        )
    if not isinstance(value, Tensor):
        xp = backend.xp_of(t.data)
        return _inplace(t, _name, lambda old: _wrap(xp.full(t.shape, value, dtype=t.data.dtype),
                                                    None, 0), (), check_cast=False)
    return copy_(t, value)


def zero_(t: Tensor) -> Tensor:
    """Fill with zeros in place; returns ``t``."""
    return fill_(t, 0, "zero_")


def _scaled(other: Any, alpha: Any, like: Tensor) -> Any:
    if alpha == 1:
        return other
    if isinstance(alpha, float) and like.data.dtype.kind in "biu":
        raise RuntimeError(
            f"alpha={alpha!r}: a float alpha cannot be used with an integer tensor "
            f"(dtype {like.data.dtype})"
        )
    if isinstance(other, Tensor):
        return other * alpha
    return as_tensor_like(other, like) * alpha


__all__ = ["add_", "sub_", "mul_", "div_", "clamp_", "copy_", "fill_", "zero_"]
