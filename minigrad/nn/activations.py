"""Activation modules (``nn.ReLU``, ``nn.GELU``, ...): each calls its function from
``minigrad.nn.functional``; shapes are unchanged, ``(*) -> (*)``.

``inplace=True`` (where PyTorch has it) writes the result into the input with
``copy_`` and returns the input, so PyTorch's in-place rules apply to it.
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .module import Module


class _Elementwise(Module):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = bool(inplace)

    def _fn(self, x: Tensor) -> Tensor:
        raise TypeError(f"{type(self).__name__} defines no function")  # every subclass does

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        out = self._fn(input)
        return input.copy_(out) if self.inplace else out

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_Elementwise):
    """``max(x, 0)``."""

    def _fn(self, x: Tensor) -> Tensor:
        return F.relu(x)


class ReLU6(_Elementwise):
    """``min(max(x, 0), 6)``."""

    def _fn(self, x: Tensor) -> Tensor:
        return F.relu6(x)


class SiLU(_Elementwise):
    """``x * sigmoid(x)``."""

    def _fn(self, x: Tensor) -> Tensor:
        return F.silu(x)


class Mish(_Elementwise):
    """``x * tanh(softplus(x))``."""

    def _fn(self, x: Tensor) -> Tensor:
        return F.mish(x)


class Hardswish(_Elementwise):
    """``x * relu6(x + 3) / 6``."""

    def _fn(self, x: Tensor) -> Tensor:
        return F.hardswish(x)


class LeakyReLU(_Elementwise):
    """``x`` where positive, else ``negative_slope * x``."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.negative_slope = negative_slope

    def _fn(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        """Constructor arguments that differ from the defaults."""
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(_Elementwise):
    """``x`` where positive, else ``alpha * (exp(x) - 1)``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.alpha = alpha

    def _fn(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        """Constructor arguments that differ from the defaults."""
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Hardtanh(_Elementwise):
    """``x`` clamped to ``[min_val, max_val]``."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
        super().__init__(inplace)
        self.min_val, self.max_val = min_val, max_val

    def _fn(self, x: Tensor) -> Tensor:
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        """Constructor arguments that differ from the defaults."""
        return f"min_val={self.min_val}, max_val={self.max_val}"


class Tanh(Module):
    """Elementwise hyperbolic tangent."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Apply the module; shapes as in the class docstring."""
        return F.tanh(input)


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Apply the module; shapes as in the class docstring."""
        return F.sigmoid(input)


class GELU(Module):
    """``x * Phi(x)``; ``approximate="tanh"`` for the tanh formula."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Apply the module; shapes as in the class docstring."""
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        """Constructor arguments that differ from the defaults."""
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta``, linear beyond ``threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Apply the module; shapes as in the class docstring."""
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        """Constructor arguments that differ from the defaults."""
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """Softmax along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Apply the module; shapes as in the class docstring."""
        return F.softmax(input, _dim(self, input))

    def extra_repr(self) -> str:
        """Constructor arguments that differ from the defaults."""
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """Log-softmax along ``dim``."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Apply the module; shapes as in the class docstring."""
        return F.log_softmax(input, _dim(self, input))


class Identity(Module):
    """Returns its input (arguments are accepted and ignored, as in PyTorch)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:  # noqa: A002
        """Apply the module; shapes as in the class docstring."""
        return input


def _dim(module: Softmax, x: Tensor) -> int:
    if module.dim is not None:
        return module.dim
    # PyTorch's legacy choice when dim is None: 0 for 0-, 1- and 3-d input, else 1
    return 0 if x.ndim in (0, 1, 3) else 1


__all__ = ["ELU", "GELU", "Hardswish", "Hardtanh", "Identity", "LeakyReLU", "LogSoftmax", "Mish",
           "ReLU", "ReLU6", "SiLU", "Sigmoid", "Softmax", "Softplus", "Tanh"]
