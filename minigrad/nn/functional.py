"""``mg.nn.functional``: stateless building blocks, each composed from Tensor ops."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend, ops
from ..autograd.context import composite
from ..tensor import Tensor


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias``: x ``(*, in)``, weight ``(out, in)``, bias ``(out,)`` ->
    ``(*, out)``."""
    if x.shape[-1:] != weight.shape[-1:]:
        raise ValueError(
            f"linear: input has {x.shape[-1] if x.ndim else 'no'} features (shape {x.shape}) "
            f"but the weight expects {weight.shape[-1]} (weight shape {weight.shape})"
        )
    return ops.linear(x, weight, bias)


def relu(x: Tensor) -> Tensor:
    """``max(x, 0)``."""
    return ops.relu(x)


def sigmoid(x: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``."""
    return ops.sigmoid(x)


def tanh(x: Tensor) -> Tensor:
    """Elementwise hyperbolic tangent."""
    return ops.tanh(x)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """Softmax along ``dim``."""
    return ops.softmax(x, dim)


@composite
def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """Log-softmax along ``dim`` (stable)."""
    return ops.log_softmax(x, dim)


@composite
def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``
    (inverted dropout); the identity when not ``training`` or ``p == 0``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    return x * dropout_scale(tuple(x.shape), p, x)


def dropout_scale(shape: tuple[int, ...], p: float, like: Tensor) -> Tensor:
    """What inverted dropout multiplies a tensor of ``shape`` (dtype and device of
    ``like``) by: a constant Tensor, 0 with probability ``p`` and ``1 / (1 - p)``
    elsewhere (all 0, drawing nothing, when ``p`` is 1). It is the draw ``dropout``
    makes, so a caller that passes it to a compiled function gets ``dropout``'s numbers."""
    dtype = like.dtype
    with backend.array_context(like.data):  # the mask is drawn on like's own device
        if p >= 1.0:
            return Tensor._from_array(backend.xp_of(like.data).zeros(shape, dtype=dtype))
        gen = backend.generator(like.device)
        keep = gen.random(shape, dtype=dtype if dtype.kind == "f" else None) >= p
        scale = keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))
    return Tensor._from_array(scale)


# ---------------------------------------------------------------- losses and lookups
_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_float(op: str, name: str, t: Tensor) -> None:
    if t.data.dtype.kind != "f":
        raise TypeError(
            f"{op}: {name} must be a floating tensor, got dtype {t.data.dtype} (shape {t.shape})"
        )


def _raw(op: str, name: str, value: Any, like: Tensor, like_name: str = "input") -> Any:
    """The array behind ``value`` (Tensor, array or list), on ``like``'s device."""
    data = value.data if isinstance(value, Tensor) else value
    if not backend.is_array(data):
        data = np.asarray(data)
    ops.check_same_device(op, name, data, like_name, like)
    return data


def _float_tensor(op: str, name: str, value: Any, like: Tensor) -> Tensor:
    """``value`` as a Tensor in ``like``'s float dtype (Tensors are used as they are)."""
    if isinstance(value, Tensor):
        return value
    return Tensor(_raw(op, name, value, like), dtype=like.dtype)


def _class_last(x: Tensor) -> Tensor:
    """``(N, C, d1, ..., dk)`` -> ``(N * d1 * ... * dk, C)``; ``(C,)`` -> ``(1, C)``."""
    if x.ndim == 1:
        return x.reshape(1, x.shape[0])
    if x.ndim > 2:
        x = x.permute(0, *range(2, x.ndim), 1)
    return x.reshape(-1, x.shape[-1])


def _check_targets(op: str, inp: Tensor, target: Any, ignore_index: int) -> tuple[Any, Any]:
    """Validate class-index targets; returns them flat, ``(M,)``, and the mask of
    out-of-range ones on a GPU (None on the CPU, where they raise at once).

    Reading the range check back on a GPU would stall the pipeline on every training
    step, so there it stays on the device: out-of-range targets make their loss NaN."""
    expected = () if inp.ndim == 1 else (inp.shape[0], *inp.shape[2:])
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: target must hold integer class indices (or, for cross_entropy, float "
            f"probabilities shaped like the input {inp.shape}), got dtype {target.dtype} "
            f"with shape {tuple(target.shape)}"
        )
    if tuple(target.shape) != expected:
        raise ValueError(
            f"{op}: input of shape {inp.shape} needs a target of shape {expected}, "
            f"got {tuple(target.shape)}"
        )
    num_classes = inp.shape[0] if inp.ndim == 1 else inp.shape[1]
    flat = target.reshape(-1)
    bad = ((flat < 0) | (flat >= num_classes)) & (flat != ignore_index)
    if not isinstance(bad, np.ndarray):
        return flat, bad
    if bad.any():
        value = int(flat[np.argmax(bad)])
        raise IndexError(
            f"{op}: target value {value} is out of range: expected class indices in "
            f"[0, {num_classes - 1}] for {num_classes} classes, or ignore_index={ignore_index}"
        )
    return flat, None


def _class_weight(op: str, weight: Any, num_classes: int, like: Tensor) -> Any:
    """Per-class rescaling weights as a ``(C,)`` array in the input's dtype, or None."""
    if weight is None:
        return None
    w = _raw(op, "weight", weight, like)
    if tuple(w.shape) != (num_classes,):
        raise ValueError(
            f"{op}: weight must have shape ({num_classes},) (one per class), got {tuple(w.shape)}"
        )
    with backend.array_context(w):
        return w.astype(like.data.dtype, copy=False)


def _nll_terms(
    logp: Tensor, target: Any, weight: Any, ignore_index: int, bad: Any = None
) -> tuple[Tensor, Any, Any]:
    """Per-element ``-w[t] * logp[i, t]`` for flat ``logp (M, C)``, ``target (M,)``.

    Returns the loss terms, the per-element weights (0 where ignored) and the mask of
    kept elements. Where ``bad`` (out-of-range targets, on a GPU) is True the term is NaN.
    """
    xp = backend.xp_of(logp.data)
    keep = target != ignore_index
    valid = keep if bad is None else keep & ~bad
    safe = xp.where(valid, target, 0)
    picked = logp[xp.arange(logp.shape[0]), safe]
    w = keep.astype(logp.data.dtype)
    if weight is not None:
        w = w * weight[safe]
    terms = -picked * w
    if bad is not None:  # a constant NaN where the target is out of range: no host read
        terms = terms + Tensor._from_array(xp.where(bad, xp.nan, 0).astype(logp.data.dtype))
    return terms, w, keep


def _reduce(loss: Tensor, reduction: str, denom: Any = None) -> Tensor:
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    if denom is None:
        return total / loss.data.size
    # every target ignored: the mean is 0/0 = NaN (as in PyTorch), yet the gradient must
    # be zero, not NaN, or one all-padding batch would poison the weights. Decided on the
    # device, so the loss never waits for a host read.
    empty = denom == 0
    mean = total / Tensor._from_array(backend.xp_of(denom).where(empty, 1, denom))
    return ops.where(empty, float("nan"), mean)


def nll_loss(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` at class indices ``target``.

    ``input`` ``(N, C)``, ``(N, C, d1, ...)`` or ``(C,)``; ``target`` ``(N,)``,
    ``(N, d1, ...)`` or ``()``. Targets equal to ``ignore_index`` add nothing; ``mean``
    divides by the summed weights of the kept targets (their count without ``weight``).
    ``reduction="none"`` returns the target's shape.
    """
    op = "nll_loss"
    _check_reduction(op, reduction)
    _check_float(op, "input", input)
    if input.ndim == 0:
        raise ValueError(
            f"{op}: input must have at least 1 dimension (classes), got shape {input.shape}"
        )
    with backend.array_context(input.data):
        raw = _raw(op, "target", target, input)
        flat, bad = _check_targets(op, input, raw, ignore_index)
        w = _class_weight(op, weight, input.shape[0 if input.ndim == 1 else 1], input)
        terms, wsum, _ = _nll_terms(_class_last(input), flat, w, ignore_index, bad)
        if reduction == "none":
            return terms.reshape(*raw.shape)
        return _reduce(terms, reduction, wsum.sum())


@composite
def cross_entropy(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy between logits ``input`` and ``target`` (PyTorch's semantics).

    ``input``: logits ``(N, C)``, ``(N, C, d1, ...)`` or unbatched ``(C,)``. ``target``:
    class indices ``(N,)`` / ``(N, d1, ...)`` / ``()`` (integers in ``[0, C)`` or
    ``ignore_index``), or class probabilities of the input's shape. ``weight``: ``(C,)``
    per-class rescaling. ``label_smoothing`` mixes the target with the uniform
    distribution: ``(1 - eps) * nll + eps / C * sum_c(-log p_c)``. Computed with a stable
    log-softmax; ``reduction="none"`` gives one loss per target element.
    """
    op = "cross_entropy"
    _check_reduction(op, reduction)
    _check_float(op, "input", input)
    if input.ndim == 0:
        raise ValueError(
            f"{op}: input must have at least 1 dimension (classes), got shape {input.shape}"
        )
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            f"{op}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}"
        )
    with backend.array_context(input.data):
        return _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)


def _cross_entropy(input: Tensor, target: Any, weight: Any, ignore_index: int, reduction: str,
                   label_smoothing: float) -> Tensor:
    op = "cross_entropy"
    class_axis = 0 if input.ndim == 1 else 1
    num_classes = input.shape[class_axis]
    w = _class_weight(op, weight, num_classes, input)
    raw = _raw(op, "target", target, input)
    logp = _class_last(log_softmax(input, class_axis))
    if raw.dtype.kind == "f":
        soft = target if isinstance(target, Tensor) else raw
        return _soft_cross_entropy(input, soft, logp, w, reduction, label_smoothing)
    flat, bad = _check_targets(op, input, raw, ignore_index)
    terms, wsum, keep = _nll_terms(logp, flat, w, ignore_index, bad)
    if label_smoothing > 0:
        smooth = -(logp if w is None else logp * w).sum(axis=1) * keep.astype(logp.data.dtype)
        terms = terms * (1 - label_smoothing) + smooth * (label_smoothing / num_classes)
    if reduction == "none":
        return terms.reshape(*raw.shape)
    return _reduce(terms, reduction, wsum.sum())


def _soft_cross_entropy(input: Tensor, target: Any, logp: Tensor, w: Any, reduction: str,
                        label_smoothing: float) -> Tensor:
    """Cross entropy against class probabilities ``target`` (same shape as ``input``)."""
    op = "cross_entropy"
    if tuple(target.shape) != input.shape:
        raise ValueError(
            f"{op}: float targets are class probabilities and must have the input's shape "
            f"{input.shape}, got {tuple(target.shape)}"
        )
    t = _float_tensor(op, "target", target, input)
    t = _class_last(t)
    if label_smoothing > 0:
        t = t * (1 - label_smoothing) + label_smoothing / logp.shape[1]
    prod = logp * t if w is None else logp * t * w
    terms = -prod.sum(axis=1)
    if reduction == "none":
        return terms.reshape(*(() if input.ndim == 1 else (input.shape[0], *input.shape[2:])))
    return _reduce(terms, reduction)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Squared error ``(input - target) ** 2``; both of the same shape."""
    op = "mse_loss"
    _check_reduction(op, reduction)
    target = _same_shape_target(op, input, target)
    return _reduce((input - target) ** 2, reduction)


def _same_shape_target(op: str, input: Tensor, target: Any) -> Tensor:
    _check_float(op, "input", input)
    t = _float_tensor(op, "target", target, input)
    if t.shape != input.shape:
        raise ValueError(f"{op}: target shape {t.shape} must equal input shape {input.shape}")
    return t


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Any = None,
                                     reduction: str = "mean", pos_weight: Any = None) -> Tensor:
    """Sigmoid + binary cross entropy in one stable expression.

    ``loss = (1 - y) * x + (1 + (pos_weight - 1) * y) * log(1 + exp(-x))``, with
    ``log(1 + exp(-x))`` computed as ``m + log(exp(-m) + exp(-x - m))``, ``m = max(-x, 0)``.
    ``input`` and ``target`` share a shape; ``weight`` broadcasts against it and
    ``pos_weight`` against its last (class) dimension.
    """
    op = "binary_cross_entropy_with_logits"
    _check_reduction(op, reduction)
    y = _same_shape_target(op, input, target)
    m = (-input).relu()
    log_sig = ((-m).exp() + (-input - m).exp()).log() + m
    if pos_weight is not None:
        pw = _float_tensor(op, "pos_weight", pos_weight, input)
        log_sig = log_sig * ((pw - 1) * y + 1)
    loss = (1 - y) * input + log_sig
    if weight is not None:
        loss = loss * _float_tensor(op, "weight", weight, input)
    return _reduce(loss, reduction)


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight (num_embeddings, dim)`` at integer indices ``input (*)`` -> ``(*, dim)``.

    The row ``padding_idx`` is looked up as usual but receives no gradient.
    """
    op = "embedding"
    if weight.ndim != 2:
        raise ValueError(
            f"{op}: weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}"
        )
    idx = _raw(op, "input", input, weight, "weight")
    if idx.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: indices must be integers, got dtype {idx.dtype} with shape {tuple(idx.shape)}"
        )
    with backend.array_context(weight.data):
        return _embedding(idx, weight, padding_idx)


def _embedding(idx: Any, weight: Tensor, padding_idx: int | None) -> Tensor:
    num = weight.shape[0]
    bad = (idx < 0) | (idx >= num)
    on_host = isinstance(idx, np.ndarray)
    if on_host and bad.any():
        value = int(idx.reshape(-1)[np.argmax(bad.reshape(-1))])
        raise IndexError(
            f"embedding: index {value} is out of range for an embedding table of {num} rows "
            f"(valid: 0..{num - 1})"
        )
    if not on_host:  # checked on the device (no host read): out-of-range rows are NaN
        xp = backend.xp_of(idx)
        out = weight[xp.where(bad, 0, idx)]
        out = ops.where(bad[..., None], float("nan"), out)
    else:
        out = weight[idx]
    if padding_idx is None:
        return out
    mask = (idx == padding_idx % num)[..., None]
    if on_host and not mask.any():
        return out
    return ops.where(mask, out.detach(), out)


@composite
def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims of ``input (*, *normalized_shape)``:
    ``(x - mean) / sqrt(var + eps) * weight + bias`` with the biased variance."""
    op = "layer_norm"
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    _check_float(op, "input", input)
    k = len(shape)
    if k == 0 or input.shape[input.ndim - k:] != shape or input.ndim < k:
        raise ValueError(
            f"{op}: input of shape {input.shape} does not end with normalized_shape {shape}"
        )
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and p.shape != shape:
            raise ValueError(
                f"{op}: {name} must have shape normalized_shape {shape}, got {p.shape}"
            )
    axes = tuple(range(input.ndim - k, input.ndim))
    centered = input - input.mean(axis=axes, keepdims=True)
    var = (centered * centered).mean(axis=axes, keepdims=True)
    out = centered / (var + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


# ---------------------------------------------------------------- attention
def masked_softmax(scores: Tensor, allowed: Any | None, axis: int = -1) -> Tensor:
    """Softmax over ``axis`` that only weighs entries where ``allowed`` is True.

    ``allowed``: a bool array (or Tensor) broadcastable to ``scores``, or None (plain
    softmax). Masked entries get probability exactly 0 and no gradient; a row with no
    allowed entry gives all zeros (not NaN), as PyTorch's ``scaled_dot_product_attention``.
    """
    operands = softmax_mask(allowed, tuple(scores.shape), scores, axis)
    return masked_softmax_by(scores, *operands, axis=axis)


def softmax_mask(allowed: Any | None, shape: tuple[int, ...], like: Tensor,
                 axis: int = -1) -> tuple[Tensor | None, ...]:
    """``allowed`` (bool, broadcastable to the scores' ``shape``, or None) as the constant
    Tensors (``like``'s dtype and device) that ``masked_softmax_by`` reads: ``keep`` (1
    where allowed, else 0), ``fill`` (0 where allowed, else the lowest finite value) and
    ``has_any`` (1 where the row along ``axis`` has an allowed entry, else 0). Tensors
    rather than a ``where`` condition, so that the softmax can run inside ``mg.compile``.
    ``(None, None, None)`` without a mask; on the host ``has_any`` is None when every row
    has an allowed entry."""
    if allowed is None:
        return None, None, None
    allowed = allowed.data if isinstance(allowed, Tensor) else allowed
    xp = backend.xp_of(like.data)
    dtype = like.dtype
    with backend.array_context(like.data):
        allowed = xp.asarray(allowed)
        has_any = xp.broadcast_to(allowed, shape).any(axis=axis, keepdims=True)
        keep = Tensor._from_array(allowed.astype(dtype))
        # The most negative finite value, not -inf: a fully masked row then stays finite
        # (uniform) instead of NaN, and is zeroed by has_any; exp() of it underflows to
        # exactly 0 in rows that have an allowed entry, as the -inf formulation would.
        fill = Tensor._from_array(xp.where(allowed, dtype.type(0), np.finfo(dtype).min).astype(dtype))
        # On the host, skip the zeroing when every row has a key; on a GPU that test would
        # be a host read per call, so the (cheap) zeroing always runs there.
        if xp is np and has_any.all():
            return keep, fill, None
        return keep, fill, Tensor._from_array(has_any.astype(dtype))


def masked_softmax_by(scores: Tensor, keep: Tensor | None, fill: Tensor | None,
                      has_any: Tensor | None, axis: int = -1) -> Tensor:
    """``softmax(scores * keep + fill) * has_any`` along ``axis``, each factor skipped where
    None; the operands come from ``softmax_mask`` (then it is ``masked_softmax``). Where
    ``keep`` is 1 the scores pass unchanged, where 0 they become ``fill``, so masked
    entries get probability 0 and no gradient. Tensor ops only: ``mg.compile`` traces it."""
    if keep is not None:
        scores = scores * keep + fill
    probs = scores.softmax(axis)
    return probs if has_any is None else probs * has_any


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


def attention_operands(allowed: Any | None, additive: Tensor | None, shape: tuple[int, ...],
                       like: Tensor, dropout_p: float) -> tuple[Tensor | None, ...]:
    """The masks and the dropout draw of an attention call as the Tensors
    ``attention_core`` takes after q, k, v: ``(bias, keep, fill, has_any, drop)``.

    ``allowed`` (bool) and ``additive`` (float Tensor) broadcast to the scores' ``shape``
    ``(..., L, S)``; the Tensors made get ``like``'s dtype and device.
    ``bias`` is ``additive`` with 0 where not allowed (its -inf entries would make NaN
    through ``keep``); ``drop`` is ``dropout_scale`` for the probabilities (None when
    ``dropout_p`` is 0)."""
    if additive is not None and allowed is not None:
        additive = ops.where(allowed, additive, 0.0)
    drop = dropout_scale(shape, dropout_p, like) if dropout_p > 0.0 else None
    return (additive, *softmax_mask(allowed, shape, like), drop)


def attention_core(query: Tensor, key: Tensor, value: Tensor, bias: Tensor | None,
                   keep: Tensor | None, fill: Tensor | None, has_any: Tensor | None,
                   drop: Tensor | None, scale: float) -> tuple[Tensor, Tensor]:
    """``softmax(q k^T * scale + bias, masked) * drop @ v``; returns (out, probs).

    query ``(..., L, E)``, key ``(..., S, E)``, value ``(..., S, Ev)`` -> out
    ``(..., L, Ev)`` and the attention probabilities ``(..., L, S)`` (after dropout); the
    other operands come from ``attention_operands``. A function of Tensors only (masks
    and dropout draw included), so that ``mg.compile`` can trace it.
    """
    scores = (query @ key.swapaxes(-1, -2)) * scale
    if bias is not None:
        scores = scores + bias
    probs = masked_softmax_by(scores, keep, fill, has_any)
    if drop is not None:
        probs = probs * drop
    return probs @ value, probs


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
    batch = np.broadcast_shapes(query.shape[:-2], key.shape[:-2])
    shape = (*batch, query.shape[-2], key.shape[-2])
    operands = attention_operands(allowed, additive, shape, query, dropout_p)
    return attention_core(query, key, value, *operands, scale)
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

__all__ = [
    "binary_cross_entropy_with_logits", "cross_entropy", "dropout", "embedding", "layer_norm",
    "linear", "log_softmax", "mse_loss", "nll_loss", "relu", "scaled_dot_product_attention",
    "sigmoid", "softmax", "tanh",
]

from .._dimargs import dim_aliases  # noqa: E402

softmax = dim_aliases(softmax)  # dim= (PyTorch's) or axis= (NumPy's)
log_softmax = dim_aliases(log_softmax)

from ..ops.activation import (  # noqa: E402
    elu,
    gelu,
    hardswish,
    hardtanh,
    leaky_relu,
    mish,
    relu6,
    silu,
    softplus,
)

__all__ += ["elu", "gelu", "hardswish", "hardtanh", "leaky_relu", "mish", "relu6", "silu",
            "softplus"]


def l1_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Absolute error ``|input - target|``; both of the same shape."""
    op = "l1_loss"
    _check_reduction(op, reduction)
    target = _same_shape_target(op, input, target)
    return _reduce(ops.abs(input - target), reduction)


__all__ += ["l1_loss"]
