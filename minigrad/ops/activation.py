"""Activation functions, composed from primitives (no backward of their own):
``softplus gelu silu mish leaky_relu elu relu6 hardtanh hardswish``, with PyTorch's
arguments and its gradients (also at the kinks, where the two differ from a plain clip).
"""

from __future__ import annotations

import math

from ..tensor import Tensor
from .elementwise import _float, clip, sigmoid, tanh, where
from .elementwise_extra import erf, expm1, log1p

_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``
    (PyTorch's switch to the linear part)."""
    x = _float(input)
    bx = x * beta
    return where(bx > threshold, x, log1p(clip(bx, max=threshold).exp()) / beta)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:  # noqa: A002
    """``x * Phi(x)`` (``Phi`` the standard normal CDF, through ``erf``); with
    ``approximate="tanh"``, ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    x = _float(input)
    if approximate == "none":
        return x * 0.5 * (1.0 + erf(x * _SQRT_HALF))
    if approximate == "tanh":
        return 0.5 * x * (1.0 + tanh((x + 0.044715 * x * x * x) * _SQRT_2_OVER_PI))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input: Tensor) -> Tensor:  # noqa: A002
    """``x * sigmoid(x)`` (also called swish)."""
    x = _float(input)
    return x * sigmoid(x)


def mish(input: Tensor) -> Tensor:  # noqa: A002
    """``x * tanh(softplus(x))``."""
    x = _float(input)
    return x * tanh(softplus(x))


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:  # noqa: A002
    """``x`` where ``x > 0``, else ``negative_slope * x``."""
    x = _float(input)
    return where(x > 0, x, x * negative_slope)


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    x = _float(input)
    # expm1 sees only x <= 0: the unused branch must not overflow (inf * 0 is NaN)
    return where(x > 0, x, expm1(clip(x, max=0.0)) * alpha)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:  # noqa: A002
    """``x`` clamped to ``[min_val, max_val]``; the gradient is 1 strictly inside, 0 at the
    bounds and outside (PyTorch's, which differs from ``clamp`` at the bounds)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    x = _float(input)
    inside = (x > min_val) & (x < max_val)
    return where(inside, x, clip(x, min_val, max_val).detach())


def relu6(input: Tensor) -> Tensor:  # noqa: A002
    """``min(max(x, 0), 6)`` (``hardtanh(x, 0, 6)``)."""
    return hardtanh(input, 0.0, 6.0)


def hardswish(input: Tensor) -> Tensor:  # noqa: A002
    """``x * relu6(x + 3) / 6``."""
    x = _float(input)
    return x * relu6(x + 3.0) / 6.0


__all__ = ["softplus", "gelu", "silu", "mish", "leaky_relu", "elu", "hardtanh", "relu6",
           "hardswish"]
