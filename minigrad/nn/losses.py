"""Loss modules (``nn.CrossEntropyLoss``, ...): each holds its options and calls its
function from ``minigrad.nn.functional``. ``weight`` and ``pos_weight`` are buffers, so
they move with ``.to(device)`` and appear in ``state_dict`` as in PyTorch."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .module import Module

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
            )
        self.reduction = reduction

    def _buffer(self, name: str, value: Any) -> None:
        if value is not None and not isinstance(value, Tensor):
            from .. import creation

            value = creation.tensor(value)
        self.register_buffer(name, value)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """``F.cross_entropy``: logits ``(N, C)`` / ``(N, C, d1, ...)`` / ``(C,)`` and class
    indices ``(N,)`` / ``(N, d1, ...)`` / ``()`` (or class probabilities shaped like the
    logits); a scalar unless ``reduction="none"``."""

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        self._buffer("weight", weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        """Apply the module; shapes as in the class docstring."""
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    """``F.nll_loss``: log-probabilities ``(N, C, ...)`` and class indices ``(N, ...)``."""

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self._buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        """Apply the module; shapes as in the class docstring."""
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class MSELoss(_Loss):
    """``F.mse_loss``: squared error of two tensors of one shape."""

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        """Apply the module; shapes as in the class docstring."""
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """``F.l1_loss``: absolute error of two tensors of one shape."""

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        """Apply the module; shapes as in the class docstring."""
        return F.l1_loss(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """``F.binary_cross_entropy_with_logits``: logits and 0/1 (or soft) targets of one shape."""

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(reduction)
        self._buffer("weight", weight)
        self._buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        """Apply the module; shapes as in the class docstring."""
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


__all__ = ["BCEWithLogitsLoss", "CrossEntropyLoss", "L1Loss", "MSELoss", "NLLLoss"]
