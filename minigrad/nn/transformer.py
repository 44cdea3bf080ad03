"""PyTorch's Transformer layers: ``TransformerEncoderLayer``, ``TransformerEncoder``,
``TransformerDecoderLayer``, ``TransformerDecoder`` and ``Transformer``.

Composed from ``MultiheadAttention``, ``Linear``, ``LayerNorm`` and ``Dropout``; nothing
here writes a backward. Parameter names, shapes, initialisation, argument orders and
mask conventions are PyTorch's, so a PyTorch ``state_dict`` loads and gives the same
outputs. Sequences are ``(S, B, E)`` (``(B, S, E)`` with ``batch_first``; ``(S, E)``
unbatched). Masks as in ``MultiheadAttention``: ``*_mask (L, S)`` or ``(B*nhead, L, S)``
and ``*_key_padding_mask (B, S)``, bool True = may NOT attend, or float (added; ``-inf``
blocks). Each layer draws as one cluster per sublayer (``self_attn``, ``cross_attn``,
``feed_forward``, norms) inside one per layer (``layers.0`` ...). ``compile()`` on any of
these modules runs its attention cores through ``mg.compile`` (the feed-forward block
stays eager: compiled, it measured no faster; see benchmarks/bench_attention_compile.py).

Differences from PyTorch: ``is_causal=True`` without a mask builds the causal mask
(PyTorch requires the mask); no nested-tensor fast path (the results are the same); a
query row whose keys are all masked gets zeros where PyTorch gives NaN.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import backend
from ..autograd import name_scope
from ..tensor import Tensor
from . import functional as F
from . import init
from ._checks import check_int, check_probability
from ._compiled import CompilableModule
from .attention import MultiheadAttention
from .layers import Dropout, LayerNorm, Linear
from .module import Module, ModuleList

__all__ = ["Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
           "TransformerEncoderLayer"]


def _activation(name: str, activation: Any) -> Callable[[Tensor], Tensor]:
    if callable(activation):
        return activation
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise ValueError(f"{name}: activation should be 'relu', 'gelu' or a callable, got {activation!r}")


def _check_layer_args(name: str, d_model: int, nhead: int, dim_feedforward: int,
                      dropout: float) -> None:
    for label, value in (("d_model", d_model), ("nhead", nhead), ("dim_feedforward", dim_feedforward)):
        check_int(name, label, value, 1)
    if d_model % nhead:
        raise ValueError(f"{name}: d_model ({d_model}) must be divisible by nhead ({nhead})")
    check_probability(name, "dropout", dropout)


def _causal_if_asked(mask: Any, is_causal: bool | None, x: Tensor, batch_first: bool) -> Any:
    """The mask to use: the given one, or a causal one when ``is_causal`` and none given."""
    if mask is not None or not is_causal:
        return mask
    length = x.shape[1 if (batch_first and x.ndim == 3) else 0]
    return Transformer.generate_square_subsequent_mask(length, device=x.device, dtype=x.dtype)


class _LayerBlocks(CompilableModule):
    """The sublayers both Transformer layers share: self-attention (then ``dropout1``) and
    the feed-forward block (then the dropout named by ``ff_dropout``)."""

    ff_dropout = "dropout2"

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any) -> Tensor:
        out = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                             need_weights=False)[0]
        return self.dropout1(out)

    def _ff_block(self, x: Tensor) -> Tensor:
        with name_scope("feed_forward"):
            hidden = self.dropout(self.activation(self.linear1(x)))
            return getattr(self, self.ff_dropout)(self.linear2(hidden))


class TransformerEncoderLayer(_LayerBlocks):
    """Self-attention and a feed-forward block, each with a residual connection and a
    LayerNorm (after it, or before it with ``norm_first``).

    Parameters: ``self_attn.*`` (MultiheadAttention), ``linear1 (dim_feedforward,
    d_model)``, ``linear2 (d_model, dim_feedforward)``, ``norm1``, ``norm2``. Call
    ``layer(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``; ``src``
    ``(S, B, E)`` (``(B, S, E)`` with ``batch_first``, or ``(S, E)``) -> the same shape.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: Any = "relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        _check_layer_args("TransformerEncoderLayer", d_model, nhead, dim_feedforward, dropout)
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.batch_first = batch_first
        self.activation = _activation("TransformerEncoderLayer", activation)

    def forward(self, src: Tensor, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Tensor:
        """Return the encoded ``src`` (same shape)."""
        src_mask = _causal_if_asked(src_mask, is_causal, src, self.batch_first)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask))
            x = self.norm2(x + self._ff_block(x))
        return x



class TransformerDecoderLayer(_LayerBlocks):
    """Masked self-attention, attention over the encoder's ``memory``, and a feed-forward
    block, each with a residual connection and a LayerNorm (``norm_first`` for pre-norm).

    Parameters: ``self_attn.*``, ``multihead_attn.*``, ``linear1``, ``linear2``,
    ``norm1``, ``norm2``, ``norm3``. Call ``layer(tgt, memory, tgt_mask=None,
    memory_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
    tgt_is_causal=False, memory_is_causal=False)``; ``tgt (T, B, E)``, ``memory (S, B, E)``
    (batch first with ``batch_first``) -> ``(T, B, E)``.
    """

    ff_dropout = "dropout3"

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: Any = "relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        _check_layer_args("TransformerDecoderLayer", d_model, nhead, dim_feedforward, dropout)
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **kw)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.batch_first = batch_first
        self.activation = _activation("TransformerDecoderLayer", activation)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        """Return the decoded ``tgt`` (same shape)."""
        tgt_mask = _causal_if_asked(tgt_mask, tgt_is_causal, tgt, self.batch_first)
        if memory_is_causal and memory_mask is None:
            raise ValueError("TransformerDecoderLayer: memory_is_causal=True needs memory_mask "
                             "(the causal shape depends on both lengths)")
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask,
                                    memory_key_padding_mask)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _mha_block(self, x: Tensor, memory: Tensor, attn_mask: Any, key_padding_mask: Any) -> Tensor:
        out = self.multihead_attn(x, memory, memory, attn_mask=attn_mask,
                                  key_padding_mask=key_padding_mask, need_weights=False)[0]
        return self.dropout2(out)


def _clones(name: str, layer: Module, num_layers: int) -> ModuleList:
    check_int(name, "num_layers", num_layers, 1)
    return ModuleList(copy.deepcopy(layer) for _ in range(num_layers))


class TransformerEncoder(CompilableModule):
    """``num_layers`` independent copies of ``encoder_layer`` (``layers.0`` ...), then
    ``norm`` if given. Call ``encoder(src, mask=None, src_key_padding_mask=None,
    is_causal=None)``; shapes as in the layer."""

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int,
                 norm: Module | None = None, enable_nested_tensor: bool = True,
                 mask_check: bool = True) -> None:
        super().__init__()
        self.layers = _clones("TransformerEncoder", encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src: Tensor, mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool | None = None) -> Tensor:
        """Return the encoded ``src`` (same shape)."""
        batch_first = getattr(self.layers[0], "batch_first", False)
        mask = _causal_if_asked(mask, is_causal, src, batch_first)
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            x = self.norm(x)
        return x


class TransformerDecoder(CompilableModule):
    """``num_layers`` independent copies of ``decoder_layer``, then ``norm`` if given.
    Call ``decoder(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False)``."""

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int,
                 norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _clones("TransformerDecoder", decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        """Return the decoded ``tgt`` (same shape)."""
        batch_first = getattr(self.layers[0], "batch_first", False)
        tgt_mask = _causal_if_asked(tgt_mask, tgt_is_causal, tgt, batch_first)
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask,
                      memory_is_causal=memory_is_causal)
        if self.norm is not None:
            x = self.norm(x)
        return x


class Transformer(CompilableModule):
    """The encoder-decoder of "Attention Is All You Need", PyTorch's layout: ``encoder``
    (a TransformerEncoder with a final ``encoder.norm``) and ``decoder`` (with
    ``decoder.norm``); every parameter with more than one dimension starts
    xavier-uniform. Call ``model(src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
    src_key_padding_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
    src_is_causal=None, tgt_is_causal=None, memory_is_causal=False)``; ``src (S, B, E)``,
    ``tgt (T, B, E)`` (batch first with ``batch_first``) -> ``(T, B, E)``.
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Any = "relu", custom_encoder: Module | None = None,
                 custom_decoder: Module | None = None, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                      batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(*layer_args, **kw), num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(*layer_args, **kw), num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Any = None, tgt_mask: Any = None,
                memory_mask: Any = None, src_key_padding_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                src_is_causal: bool | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        """Return the decoder's output, shaped like ``tgt``."""
        batched = src.ndim == 3
        if src.ndim != tgt.ndim:
            raise ValueError(f"Transformer: src and tgt must both be batched or both unbatched, "
                             f"got shapes {src.shape} and {tgt.shape}")
        b_axis = 0 if self.batch_first else 1
        if batched and src.shape[b_axis] != tgt.shape[b_axis]:
            raise ValueError(f"Transformer: src {src.shape} and tgt {tgt.shape} have different "
                             f"batch sizes (batch_first={self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError(f"Transformer: the feature size of src {src.shape} and tgt "
                             f"{tgt.shape} must equal d_model={self.d_model}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """The causal mask ``(sz, sz)``: ``-inf`` above the diagonal (a position may not
        attend to later ones), ``0.0`` elsewhere; float, to be added to the scores."""
        dev = backend.normalize_device(device)
        dt = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
        xp = backend.get_xp(dev)
        idx = xp.arange(sz)
        mask = xp.where(idx[None, :] > idx[:, None], dt.type(-np.inf), dt.type(0.0))
        return Tensor._from_array(mask.astype(dt, copy=False))
