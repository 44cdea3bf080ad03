"""Gradient utilities: ``clip_grad_norm_``."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["clip_grad_norm_"]


def _norm(array: object, norm_type: float) -> float:
    xp = backend.xp_of(array)
    a = xp.abs(array)
    if math.isinf(norm_type):
        value = a.max() if a.size else 0.0
    else:
        value = (a**norm_type).sum() ** (1.0 / norm_type)
    return float(value)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale all gradients together so that their total norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of the per-parameter gradient norms (as if
    all gradients were one vector; ``inf`` is the largest absolute entry). When
    ``max_norm / (total + 1e-6) < 1`` every gradient is multiplied by that coefficient.
    Parameters without a gradient are skipped. Returns the total norm before clipping,
    a 0-d Tensor with the gradients' dtype.
    """
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    norm_type = float(norm_type)
    if not (norm_type > 0 or math.isinf(norm_type)):
        raise ValueError(f"clip_grad_norm_: norm_type must be positive or inf, got {norm_type}")
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return Tensor(np.asarray(0.0), dtype=backend.get_default_dtype())
    norms = [_norm(g.data, norm_type) for g in grads]
    if math.isinf(norm_type):
        total = max(norms)
    else:
        total = math.fsum(n**norm_type for n in norms) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"non-finite ({total}), so it cannot be clipped; pass error_if_nonfinite=False "
            "to skip this check"
        )
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g.data = g.data * coef
    return Tensor(np.asarray(total), dtype=grads[0].data.dtype, device=grads[0].device)
