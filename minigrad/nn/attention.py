"""Attention modules: ``MultiheadAttention`` (PyTorch's) and ``AdditiveAttention`` (Bahdanau).

Both are composed from Tensor ops and write no backward. Each runs its core (from the
projected inputs, masks and dropout draw passed as Tensors, to the output and weights)
as a plain function of Tensors, eagerly or, after ``compile()``, through ``mg.compile``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from ..ops import split
from ..tensor import Tensor
from . import init
from ._checks import check_int, check_like_weights, check_probability
from ._compiled import CompilableModule
from .functional import attention_core, attention_operands, masked_softmax_by, softmax_mask
from .layers import Linear
from .module import new_parameter

__all__ = ["AdditiveAttention", "MultiheadAttention"]


def _mask_data(
    name: str, label: str, mask: Any, expected: tuple[int, ...], device: str, float_ok: bool = True
) -> Any:
    """The raw array of a mask on ``device`` after checking its shape against ``expected``.

    A mask Tensor on another device is an error (no silent copies); a numpy array or
    list is a constant and is placed on ``device``.
    """
    if isinstance(mask, Tensor):
        if mask.device != device:
            raise RuntimeError(
                f"{name}: {label} is on {mask.device} but the inputs are on {device}; move it "
                f"with .to({device!r}) first"
            )
        data = mask.data
    else:
        data = backend.to_device(mask if backend.is_array(mask) else np.asarray(mask), device)
    if tuple(data.shape) != expected:
        raise ValueError(f"{name}: expected {label} of shape {expected}, got {tuple(data.shape)}")
    if data.dtype.kind not in ("bf" if float_ok else "b"):
        # PyTorch refuses these too: an int mask read as additive would give padded keys
        # *more* weight, read as bool it would be a guess.
        kinds = "bool (True = masked out) or float (added to the scores)" if float_ok else (
            "bool (True = attend)")
        raise TypeError(f"{name}: {label} must be {kinds}, got dtype {data.dtype}")
    return data


def _mha_core(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None, keep: Tensor | None,
              fill: Tensor | None, has_any: Tensor | None, drop: Tensor | None, heads: int,
              weights: str | None) -> Any:
    """Multi-head attention from the projected ``q (B, L, E)``, ``k``, ``v (B, S, E)``:
    split into heads, attend (masks and dropout as in ``attention_core``), merge heads.
    Returns ``out (B, L, E)``, or ``(out, weights)`` with ``weights`` "mean" (``(B, L, S)``,
    averaged over heads) or "all" (``(B, heads, L, S)``)."""
    batch, length, embed = q.shape
    source, hd = k.shape[1], embed // heads
    q = q.reshape(batch, length, heads, hd).swapaxes(1, 2)
    k = k.reshape(batch, source, heads, hd).swapaxes(1, 2)
    v = v.reshape(batch, source, heads, hd).swapaxes(1, 2)
    out, probs = attention_core(q, k, v, bias, keep, fill, has_any, drop, 1.0 / math.sqrt(hd))
    out = out.swapaxes(1, 2).reshape(batch, length, embed)
    if weights is None:
        return out
    return out, (probs.mean(axis=1) if weights == "mean" else probs)


def _additive_core(qp: Tensor, kp: Tensor, v: Tensor, values: Tensor, keep: Tensor | None,
                   fill: Tensor | None, has_any: Tensor | None) -> tuple[Tensor, Tensor]:
    """Bahdanau attention from the projected query ``qp (B, Hd)`` and keys ``kp (B, S,
    Hd)``, the score vector ``v (Hd,)`` and ``values (B, S, Dv)``; the mask operands from
    ``softmax_mask``. Returns ``(context (B, Dv), weights (B, S))``."""
    hidden = (qp.unsqueeze(1) + kp).tanh()
    scores = (hidden @ v.unsqueeze(-1)).squeeze(-1)
    weights = masked_softmax_by(scores, keep, fill, has_any)
    return (weights.unsqueeze(1) @ values).squeeze(1), weights


class MultiheadAttention(CompilableModule):
    """PyTorch's ``nn.MultiheadAttention``.

    Parameters: ``in_proj_weight (3E, E)`` (xavier-uniform; rows q, k, v), or with
    ``kdim``/``vdim`` other than E ``q_proj_weight (E, E)``, ``k_proj_weight (E, kdim)``,
    ``v_proj_weight (E, vdim)`` instead (PyTorch's layout);
    ``in_proj_bias (3E,)`` (zeros), ``out_proj.weight (E, E)``, ``out_proj.bias (E,)``
    (zeros). Call ``mha(query, key, value, key_padding_mask=None, need_weights=True,
    attn_mask=None, average_attn_weights=True)`` with query ``(L, B, E)``, key/value
    ``(S, B, E)`` (``(B, L, E)``/``(B, S, E)`` with ``batch_first``; ``(L, E)``/``(S, E)``
    unbatched). ``key_padding_mask (B, S)`` and ``attn_mask (L, S)`` or
    ``(B*num_heads, L, S)``: bool True = may NOT attend, or float (added to the scores).
    Returns ``(output, weights)``: output like query; weights ``(B, L, S)`` averaged over
    heads or ``(B, num_heads, L, S)``, or None when ``need_weights`` is False.
    Deviation: a query whose keys are all masked gets zeros, where PyTorch gives NaN.
    ``compile()`` runs the core (heads, scores, masks, softmax, dropout) through
    ``mg.compile``.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
        kdim: int | None = None,
        vdim: int | None = None,
    ) -> None:
        embed_dim = check_int("MultiheadAttention", "embed_dim", embed_dim, 1)
        num_heads = check_int("MultiheadAttention", "num_heads", num_heads, 1)
        dropout = check_probability("MultiheadAttention", "dropout", dropout)
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})"
            )
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = float(dropout)
        self.batch_first = batch_first
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        # PyTorch's layout: one packed in_proj_weight when key and value have embed_dim
        # features, else q_proj_weight (E, E), k_proj_weight (E, kdim), v_proj_weight (E, vdim)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = new_parameter((3 * embed_dim, embed_dim), device, dtype)
            init.xavier_uniform_(self.in_proj_weight)
        else:
            self.in_proj_weight = None
            for label, width in (("q", embed_dim), ("k", self.kdim), ("v", self.vdim)):
                w = new_parameter((embed_dim, width), device, dtype)
                setattr(self, f"{label}_proj_weight", w)
                init.xavier_uniform_(w)
        self.in_proj_bias = new_parameter((3 * embed_dim,), device, dtype) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        if bias:
            init.zeros_(self.out_proj.bias)

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, ...]:
        """Input projections, one matmul when query, key and value are one tensor."""
        e = self.embed_dim
        if not self._qkv_same_embed_dim:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        elif query is key and key is value:
            qkv = query @ self.in_proj_weight.T
            if self.in_proj_bias is not None:
                qkv = qkv + self.in_proj_bias
            return split(qkv, e, axis=-1)
        else:
            weights = split(self.in_proj_weight, e, axis=0)
        biases = (None,) * 3 if self.in_proj_bias is None else split(self.in_proj_bias, e)
        out = []
        for x, w, b in zip((query, key, value), weights, biases):
            y = x @ w.T
            out.append(y if b is None else y + b)
        return tuple(out)

    def _check(self, query: Tensor, key: Tensor, value: Tensor) -> bool:
        name = "MultiheadAttention"
        weight = self.in_proj_weight if self._qkv_same_embed_dim else self.q_proj_weight
        for label, t, e in (("query", query, self.embed_dim), ("key", key, self.kdim),
                            ("value", value, self.vdim)):
            check_like_weights(name, label, t, weight)
            if t.ndim not in (2, 3) or t.shape[-1] != e:
                got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                raise ValueError(
                    f"{name}: expected {label} of shape (seq, batch, {e}), (batch, seq, {e}) "
                    f"with batch_first, or unbatched (seq, {e}); got {got}"
                )
        if not query.ndim == key.ndim == value.ndim:
            raise ValueError(
                f"{name}: query, key and value must all be batched (3-D) or unbatched (2-D), "
                f"got shapes {query.shape}, {key.shape}, {value.shape}"
            )
        batched = query.ndim == 3
        seq_axis = 1 if (self.batch_first and batched) else 0
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(
                f"{name}: key and value must have the same sequence and batch sizes, got "
                f"{key.shape} and {value.shape}"
            )
        if batched and query.shape[1 - seq_axis] != key.shape[1 - seq_axis]:
            raise ValueError(f"{name}: query {query.shape} and key {key.shape} have different batch sizes")
        return batched

    def _masks(
        self,
        key_padding_mask: Any,
        attn_mask: Any,
        batch: int,
        length: int,
        source: int,
        like: Tensor,
    ) -> tuple[Any, Tensor | None]:
        """Merge the masks into ``allowed`` (bool) and ``additive`` (float), both
        broadcastable to the scores ``(B, num_heads, L, S)``; ``like`` gives dtype/device."""
        name, heads = "MultiheadAttention", self.num_heads
        dtype, device = like.dtype, like.device
        allowed, additive = None, None
        if attn_mask is not None:
            if getattr(attn_mask, "ndim", 0) == 3:
                data = _mask_data(name, "attn_mask", attn_mask, (batch * heads, length, source), device)
                data = data.reshape(batch, heads, length, source)
            else:
                data = _mask_data(name, "attn_mask", attn_mask, (length, source), device)
            if data.dtype == np.bool_:
                allowed = ~data
            else:
                mask = attn_mask if isinstance(attn_mask, Tensor) else Tensor(data, dtype=dtype)
                additive = mask.reshape(data.shape)
        if key_padding_mask is not None:
            data = _mask_data(name, "key_padding_mask", key_padding_mask, (batch, source), device)
            data = data.reshape(batch, 1, 1, source)
            if data.dtype == np.bool_:
                allowed = ~data if allowed is None else allowed & ~data
            else:
                mask = key_padding_mask
                if not isinstance(mask, Tensor) or mask.shape != (batch, source):
                    mask = Tensor(data, dtype=dtype)
                mask = mask.reshape(batch, 1, 1, source)
                additive = mask if additive is None else additive + mask
        if additive is not None:
            xp = backend.xp_of(additive.data)
            finite = additive.data != -xp.inf
            # on the host, skip the extra mask when every entry is finite; on a GPU that
            # test would be a host read per call, so the mask is always applied there
            if xp is not np or not finite.all():
                allowed = finite if allowed is None else allowed & finite
        return allowed, additive

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
    ) -> tuple[Tensor, Tensor | None]:
        """Return ``(output, weights)``; shapes in the class docstring."""
        batched = self._check(query, key, value)
        if not batched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                data = _mask_data(
                    "MultiheadAttention",
                    "key_padding_mask",
                    key_padding_mask,
                    (key.shape[1],),
                    query.device,
                )
                # A float Tensor mask stays a Tensor so that it keeps its gradient.
                key_padding_mask = (
                    key_padding_mask.reshape(1, -1)
                    if isinstance(key_padding_mask, Tensor)
                    else data.reshape(1, -1)
                )
        elif not self.batch_first:
            same_kv = key is value
            same_qk = query is key
            query = query.swapaxes(0, 1)
            key = query if same_qk else key.swapaxes(0, 1)
            value = key if same_kv else value.swapaxes(0, 1)
        batch, length, _ = query.shape
        source = key.shape[1]
        allowed, additive = self._masks(key_padding_mask, attn_mask, batch, length, source, query)
        dropout = self.dropout if self.training else 0.0
        operands = attention_operands(allowed, additive, (batch, self.num_heads, length, source),
                                      query, dropout)
        q, k, v = self._project(query, key, value)
        mode = ("mean" if average_attn_weights else "all") if need_weights else None
        out = self._core(_mha_core, q, k, v, *operands, self.num_heads, mode)
        out, weights = out if need_weights else (out, None)
        out = self.out_proj(out)
        if weights is not None and not batched:
            weights = weights.squeeze(0)
        if not batched:
            return out.squeeze(0), weights
        return (out if self.batch_first else out.swapaxes(0, 1)), weights

    def extra_repr(self) -> str:
        """``embed_dim, num_heads`` and the options that differ from the defaults."""
        text = f"{self.embed_dim}, num_heads={self.num_heads}"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.in_proj_bias is None:
            text += ", bias=False"
        if not self._qkv_same_embed_dim:
            text += f", kdim={self.kdim}, vdim={self.vdim}"
        return text + (", batch_first=True" if self.batch_first else "")


class AdditiveAttention(CompilableModule):
    """Bahdanau attention: ``score_j = v . tanh(W_q q + W_k k_j + b)``.

    Parameters: ``query_proj.weight (Hd, Dq)`` (no bias), ``key_proj.weight (Hd, Dk)``,
    ``key_proj.bias (Hd,)``, ``v (Hd,)``. Call ``attn(query, keys, values=None,
    mask=None)`` with query ``(B, Dq)``, keys ``(B, S, Dk)``, values ``(B, S, Dv)``
    (default: keys) and a bool ``mask (B, S)``, True where a key may be attended.
    Returns ``(context (B, Dv), weights (B, S))``; weights sum to one over allowed keys,
    are zero where masked, and a row with no allowed key gets zero weights.
    ``compile()`` runs the core (after the projections) through ``mg.compile``.
    """

    def __init__(
        self,
        query_dim: int,
        key_dim: int,
        hidden_dim: int,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        for label, size in (("query_dim", query_dim), ("key_dim", key_dim), ("hidden_dim", hidden_dim)):
            check_int("AdditiveAttention", label, size, 1)
        super().__init__()
        self.query_proj = Linear(query_dim, hidden_dim, bias=False, device=device, dtype=dtype)
        self.key_proj = Linear(key_dim, hidden_dim, device=device, dtype=dtype)
        self.v = new_parameter((hidden_dim,), device, dtype)
        bound = 1.0 / math.sqrt(hidden_dim)
        init.uniform_(self.v, -bound, bound)

    def forward(
        self, query: Tensor, keys: Tensor, values: Tensor | None = None, mask: Any = None
    ) -> tuple[Tensor, Tensor]:
        """Return ``(context (B, Dv), weights (B, S))``."""
        name = "AdditiveAttention"
        values = keys if values is None else values
        for label, t in (("query", query), ("keys", keys), ("values", values)):
            check_like_weights(name, label, t, self.v)
        dq, dk = self.query_proj.in_features, self.key_proj.in_features
        if query.ndim != 2 or query.shape[1] != dq:
            raise ValueError(f"{name}: expected query of shape (batch, {dq}), got {query.shape}")
        batch = query.shape[0]
        if keys.ndim != 3 or keys.shape[0] != batch or keys.shape[2] != dk:
            raise ValueError(f"{name}: expected keys of shape ({batch}, seq, {dk}), got {keys.shape}")
        source = keys.shape[1]
        if values.ndim != 3 or values.shape[:2] != (batch, source):
            raise ValueError(f"{name}: expected values of shape ({batch}, {source}, dim), got {values.shape}")
        allowed = None
        if mask is not None:
            allowed = _mask_data(name, "mask", mask, (batch, source), query.device, float_ok=False)
        operands = softmax_mask(allowed, (batch, source), query)
        return self._core(_additive_core, self.query_proj(query), self.key_proj(keys), self.v,
                          values, *operands)
