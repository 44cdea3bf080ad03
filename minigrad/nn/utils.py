"""Gradient utilities: ``clip_grad_norm_``."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["clip_grad_norm_"]


def _norms(grads: list[Any], norm_type: float) -> Any:
    """The ``norm_type``-norm of every gradient, stacked into one ``(n,)`` device array."""
    xp = backend.xp_of(grads[0])
    parts = []
    for g in grads:
        a = xp.abs(g)
        if math.isinf(norm_type):
            parts.append(a.max() if a.size else xp.zeros((), dtype=g.dtype))
        else:
            parts.append((a**norm_type).sum() ** (1.0 / norm_type))
    return xp.stack(parts)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale all gradients together so that their total norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of the per-parameter gradient norms (as if
    all gradients were one vector; ``inf`` is the largest absolute entry). Every gradient
    is multiplied by ``min(max_norm / (total + 1e-6), 1)``. Parameters without a gradient
    are skipped. Returns the total norm before clipping, a 0-d Tensor with the gradients'
    dtype on their device.

    Everything stays on the gradients' device: no host read (PyTorch's way), unless
    ``error_if_nonfinite=True`` asks for one to check the norm.
    """
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    norm_type = float(norm_type)
    if not (norm_type > 0 or math.isinf(norm_type)):
        raise ValueError(f"clip_grad_norm_: norm_type must be positive or inf, got {norm_type}")
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return Tensor(np.asarray(0.0), dtype=backend.get_default_dtype())
    device = grads[0].device
    for i, g in enumerate(grads):
        if g.device != device:
            raise RuntimeError(
                f"clip_grad_norm_: gradient {i} is on {g.device} but gradient 0 is on {device}; "
                "clip the gradients of each device separately"
            )
    arrays = [g.data for g in grads]
    with backend.array_context(arrays[0]):
        xp = backend.xp_of(arrays[0])
        dtype = np.result_type(*[a.dtype for a in arrays])
        norms = _norms(arrays, norm_type).astype(dtype, copy=False)
        if math.isinf(norm_type):
            total = norms.max()
        else:
            total = (norms**norm_type).sum() ** (1.0 / norm_type)
        if error_if_nonfinite and not bool(xp.isfinite(total)):
            raise RuntimeError(
                f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
                f"non-finite ({float(total)}), so it cannot be clipped; pass "
                "error_if_nonfinite=False to skip this check"
            )
        coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
        for g in grads:
            g.data = g.data * coef.astype(g.data.dtype, copy=False)
    return Tensor._from_array(total.astype(grads[0].data.dtype, copy=False))
