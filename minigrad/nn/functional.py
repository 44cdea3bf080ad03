"""``mg.nn.functional``: stateless building blocks, each composed from Tensor ops."""

from __future__ import annotations

from .. import backend, ops
from ..tensor import Tensor


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias``: x ``(*, in)``, weight ``(out, in)``, bias ``(out,)`` ->
    ``(*, out)``."""
    if x.shape[-1:] != weight.shape[-1:]:
        raise ValueError(
            f"linear: input has {x.shape[-1] if x.ndim else 'no'} features (shape {x.shape}) "
            f"but the weight expects {weight.shape[-1]} (weight shape {weight.shape})"
        )
    out = ops.matmul(x, ops.permute(weight, 1, 0))
    return out if bias is None else out + bias


def relu(x: Tensor) -> Tensor:
    """``max(x, 0)``."""
    return ops.relu(x)


def sigmoid(x: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``."""
    return ops.sigmoid(x)


def tanh(x: Tensor) -> Tensor:
    return ops.tanh(x)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """Softmax along ``dim``."""
    return ops.softmax(x, dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """Log-softmax along ``dim`` (stable)."""
    return ops.log_softmax(x, dim)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``
    (inverted dropout); the identity when not ``training`` or ``p == 0``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    gen = backend.generator(x.device)
    keep = gen.random(x.shape, dtype=x.dtype if x.dtype.kind == "f" else None) >= p
    scale = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    return x * Tensor._from_array(scale)
