"""Scaled dot-product attention, composed from Tensor ops.

``minigrad.nn.functional`` re-exports :func:`scaled_dot_product_attention`, so this
module imports nothing from ``functional`` at import time (dropout is imported
inside the call) to keep the import graph free of cycles.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from ..autograd.context import composite
from ..ops import where
from ..tensor import Tensor

__all__ = ["masked_softmax", "scaled_dot_product_attention"]


def masked_softmax(scores: Tensor, allowed: Any | None, axis: int = -1) -> Tensor:
    """Softmax over ``axis`` that only weighs entries where ``allowed`` is True.

    ``allowed``: a bool array (or Tensor) broadcastable to ``scores``, or None (plain
    softmax). Masked entries get probability exactly 0 and no gradient; a row with no
    allowed entry gives all zeros (not NaN), as PyTorch's ``scaled_dot_product_attention``.
    """
    if allowed is None:
        return scores.softmax(axis)
    allowed = allowed.data if isinstance(allowed, Tensor) else allowed
    xp = backend.xp_of(scores.data)
    with backend.array_context(scores.data):
        allowed = xp.broadcast_to(allowed, scores.shape)
        has_any = allowed.any(axis=axis, keepdims=True)
    # The most negative finite value, not -inf: a fully masked row then stays finite
    # (uniform) instead of NaN, and is zeroed below; exp() of it underflows to exactly 0
    # in rows that have an allowed entry, so those rows equal the -inf formulation.
    lowest = float(np.finfo(scores.dtype).min)
    probs = where(allowed, scores, lowest).softmax(axis)
    # On the host, skip the zeroing when every row has a key; on a GPU that test would be
    # a host read per call, so the (cheap) zeroing always runs there.
    if xp is not np or not has_any.all():
        probs = where(has_any, probs, 0.0)
    return probs


def _check_attention_inputs(query: Tensor, key: Tensor, value: Tensor) -> None:
    name = "scaled_dot_product_attention"
    for label, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor) or t.ndim < 2:
            shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{name}: {label} must be a Tensor (..., seq, dim), got {shape}")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(
            f"{name}: query (shape {query.shape}) and key (shape {key.shape}) must have the "
            "same last dimension"
        )
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"{name}: key (shape {key.shape}) and value (shape {value.shape}) must have the "
            "same sequence length (axis -2)"
        )


def attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    allowed: Any | None,
    additive: Tensor | None,
    dropout_p: float,
    scale: float,
) -> tuple[Tensor, Tensor]:
    """``softmax(q k^T * scale + additive, masked by allowed) @ v``; returns (out, probs).

    query ``(..., L, E)``, key ``(..., S, E)``, value ``(..., S, Ev)`` -> out
    ``(..., L, Ev)`` and the attention probabilities ``(..., L, S)`` (after dropout).
    """
    scores = (query @ key.swapaxes(-1, -2)) * scale
    if additive is not None:
        scores = scores + additive
    probs = masked_softmax(scores, allowed)
    if dropout_p > 0.0:
        from .functional import dropout  # here, not at import: functional imports us

        probs = dropout(probs, dropout_p, training=True)
    return probs @ value, probs


@composite
def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """PyTorch's ``scaled_dot_product_attention``.

    query ``(..., L, E)``, key ``(..., S, E)``, value ``(..., S, Ev)`` -> ``(..., L, Ev)``.
    ``attn_mask`` broadcastable to ``(..., L, S)``: bool (True = may attend) or float
    (added to the scores; it gets a gradient). ``is_causal`` lets query i attend keys
    ``j <= i`` (top-left aligned, as PyTorch). ``scale`` defaults to ``1/sqrt(E)``.
    Dropout with ``dropout_p`` is applied to the probabilities whenever it is > 0.
    A query that may attend no key gets zeros (as PyTorch's math backend does).
    """
    _check_attention_inputs(query, key, value)
    length, source = query.shape[-2], key.shape[-2]
    allowed = None
    additive = None
    xp = backend.xp_of(query.data)
    if is_causal:
        if attn_mask is not None:
            raise ValueError(
                "scaled_dot_product_attention: pass either attn_mask or is_causal=True, not both"
            )
        with backend.array_context(query.data):  # built on the query's device
            allowed = xp.tril(xp.ones((length, source), dtype=bool))
    elif attn_mask is not None:
        if isinstance(attn_mask, Tensor):
            if attn_mask.device != query.device:
                raise RuntimeError(
                    f"scaled_dot_product_attention: attn_mask is on {attn_mask.device} but "
                    f"query is on {query.device}; move it with .to({query.device!r}) first"
                )
            mask = attn_mask
        else:  # a constant (numpy array or list): placed beside the query
            raw = attn_mask if backend.is_array(attn_mask) else np.asarray(attn_mask)
            dtype = raw.dtype if raw.dtype == np.bool_ else query.dtype
            mask = Tensor(raw, dtype=dtype, device=query.device)
        try:
            np.broadcast_shapes(mask.shape, query.shape[:-2] + (length, source))
        except ValueError:
            raise ValueError(
                f"scaled_dot_product_attention: attn_mask of shape {mask.shape} does not "
                f"broadcast to the scores' shape {query.shape[:-2] + (length, source)}"
            ) from None
        if mask.dtype == np.bool_:
            allowed = mask.data
        else:
            additive = mask
            # A -inf entry (PyTorch's way to forbid a key) must not make a row NaN. On the
            # host the mask is skipped when all entries are finite; on a GPU that test
            # would be a host read per call, so the mask is always made there.
            with backend.array_context(mask.data):
                if xp is not np or not xp.isfinite(mask.data).all():
                    allowed = mask.data != -xp.inf
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    out, _ = attention(query, key, value, allowed, additive, float(dropout_p), float(scale))
    return out
