"""Basic layers: ``Linear``, ``Embedding``, ``Dropout``, ``LayerNorm``.

Each is composed from Tensor ops through ``minigrad.nn.functional``; none writes a
backward. Parameter names, shapes and default initialisation are PyTorch's.
"""

from __future__ import annotations

import math
from typing import Any

from ..tensor import Tensor
from . import functional as F
from . import init
from ._checks import check_int, check_like_weights, check_probability
from .module import Module, new_parameter


def _check_size(layer: str, **sizes: int) -> None:
    """Each size an int >= 0 (TypeError for a float or bool, ValueError when negative)."""
    for name, value in sizes.items():
        check_int(layer, name, value, 0)


class Linear(Module):
    """``y = x @ weight.T + bias``; input ``(*, in_features)`` -> ``(*, out_features)``.

    ``weight`` is ``(out_features, in_features)``, ``bias`` ``(out_features,)``; both
    start as U(-1/sqrt(in_features), 1/sqrt(in_features)), as in PyTorch.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _check_size("Linear", in_features=in_features, out_features=out_features)
        self.in_features = in_features
        self.out_features = out_features
        self.weight = new_parameter((out_features, in_features), device, dtype)
        self.bias = new_parameter((out_features,), device, dtype) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) and a matching bias bound."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        """``x (*, in_features)`` -> ``(*, out_features)``."""
        check_like_weights("Linear", "input", x, self.weight)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        """The sizes and whether there is a bias, for ``repr``."""
        bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={bias}"


class Embedding(Module):
    """A lookup table: integer indices ``(*)`` -> ``(*, embedding_dim)``.

    ``weight`` is ``(num_embeddings, embedding_dim)``, initialised N(0, 1). The row
    ``padding_idx`` (negative counts from the end) starts at zero and gets no gradient.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _check_size("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        if padding_idx is not None:
            check_int("Embedding", "padding_idx", padding_idx, -num_embeddings)
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx {padding_idx} must be within "
                    f"[{-num_embeddings}, {num_embeddings - 1}] for num_embeddings={num_embeddings}"
                )
            padding_idx %= num_embeddings
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.weight = new_parameter((num_embeddings, embedding_dim), device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """N(0, 1), with the padding row set to zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, indices: Tensor) -> Tensor:
        """Integer ``indices`` of any shape ``(*)`` -> ``(*, embedding_dim)``."""
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        """The table's sizes and padding index, for ``repr``."""
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class Dropout(Module):
    """Zeroes each element with probability ``p`` in training and scales the rest by
    ``1 / (1 - p)``; the identity in eval mode. Any shape in, same shape out."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = check_probability("Dropout", "probability", p)

    def forward(self, x: Tensor) -> Tensor:
        """``x`` of any shape -> the same shape; the identity in ``eval()`` mode."""
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        """The drop probability, for ``repr``."""
        return f"p={self.p}"


class LayerNorm(Module):
    """Normalises over the trailing ``normalized_shape`` dimensions of ``(*, *normalized_shape)``
    (biased variance, ``eps`` inside the square root), then ``* weight + bias``.

    With ``elementwise_affine`` (default) ``weight`` starts at ones and ``bias`` at zeros,
    both of shape ``normalized_shape``.
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        _check_size("LayerNorm", **{f"normalized_shape[{i}]": s for i, s in enumerate(shape)})
        self.normalized_shape = shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.weight = new_parameter(shape, device, dtype) if elementwise_affine else None
        self.bias = new_parameter(shape, device, dtype) if elementwise_affine and bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight ones, bias zeros."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        """``x (*, *normalized_shape)`` -> the same shape, normalised over the trailing dims."""
        if self.weight is not None:
            check_like_weights("LayerNorm", "input", x, self.weight)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        """The normalised shape and options, for ``repr``."""
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
