"""Attention with its core compiled (``module.compile()``) gives the eager outputs and
gradients (of every input, float mask and parameter) in every configuration: float64 to
1e-12, float32 to rounding. Also: compile(False) goes back to eager ops, a new sequence
length traces a new plan, and dropout in training draws the eager numbers."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import _compiled
from minigrad.nn.attention import _additive_core, _mha_core

TOL = {np.float64: dict(rtol=1e-12, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-6)}
E, HEADS = 8, 2


def _leaf(rng: np.random.Generator, shape: tuple, dtype: type) -> mg.Tensor:
    return mg.tensor(rng.standard_normal(shape), dtype=dtype, requires_grad=True)


def _results(build: Callable[[], nn.Module], call: Callable, dtype: type, compiled: bool,
             seed: int = 0) -> list[np.ndarray | None]:
    """Outputs, then the gradients of the leaves ``call`` made and of the parameters,
    after backward of a weighted sum of every output."""
    mg.manual_seed(seed)
    module = build().compile(compiled)
    rng = np.random.default_rng(seed)
    leaves: list[mg.Tensor] = []
    outs = call(module, rng, leaves)
    outs = [o for o in (outs if isinstance(outs, tuple) else (outs,)) if o is not None]
    loss = sum(((o * mg.tensor(rng.standard_normal(o.shape), dtype=dtype)).sum() for o in outs),
               mg.tensor(0.0, dtype=dtype))
    loss.backward()
    grads = [t.grad for t in leaves] + [p.grad for _, p in module.named_parameters()]
    return [o.numpy() for o in outs] + [None if g is None else g.numpy() for g in grads]


def _assert_same(build: Callable[[], nn.Module], call: Callable, dtype: type,
                 seed: int = 0) -> None:
    eager = _results(build, call, dtype, False, seed)
    fast = _results(build, call, dtype, True, seed)
    assert len(eager) == len(fast)
    for i, (a, b) in enumerate(zip(eager, fast)):
        if a is None:
            assert b is None, i
        else:
            np.testing.assert_allclose(b, a, **TOL[dtype], err_msg=f"result {i}")


def _replayed(core: Callable) -> bool:
    """The core was compiled and every plan of it replays (none fell back to eager)."""
    fn = _compiled._COMPILED.get(core)
    return fn is not None and bool(fn.plans) and None not in fn.plans.values()


# ---------------------------------------------------------------- MultiheadAttention
MASKS = ["none", "bool", "float", "bool3d", "kpm_bool", "kpm_float", "causal", "bool_and_kpm"]
LAYOUTS = ["seq_first", "batch_first", "unbatched"]
WEIGHTS = [(False, True), (True, True), (True, False)]  # need_weights, average_attn_weights
MHA_CONFIGS = [(*c, i % 2 == 0, ["self", "separate", "kdim_vdim"][i % 3])
               for i, c in enumerate(itertools.product(MASKS, LAYOUTS, WEIGHTS))]


def _mha_masks(kind: str, rng: np.random.Generator, batch: int | None, length: int,
               source: int, dtype: type, leaves: list) -> dict:
    kpm_shape = (source,) if batch is None else (batch, source)
    kpm = np.zeros(kpm_shape, dtype=bool)
    kpm[..., source - 2:] = True
    if batch is not None:
        kpm[-1] = True  # one batch row with every key padded: its queries get zeros
    bool_mask = rng.random((length, source)) < 0.3
    bool_mask[0] = True  # a query that may attend no key
    masks: dict = {}
    if kind in ("bool", "bool_and_kpm"):
        masks["attn_mask"] = mg.tensor(bool_mask)
    if kind in ("kpm_bool", "bool_and_kpm"):
        masks["key_padding_mask"] = mg.tensor(kpm)
    if kind == "float":
        masks["attn_mask"] = _leaf(rng, (length, source), dtype)
        leaves.append(masks["attn_mask"])
    if kind == "kpm_float":
        masks["key_padding_mask"] = _leaf(rng, kpm_shape, dtype)
        leaves.append(masks["key_padding_mask"])
    if kind == "bool3d":
        masks["attn_mask"] = mg.tensor(rng.random(((batch or 1) * HEADS, length, source)) < 0.3)
    if kind == "causal":
        masks["attn_mask"] = nn.Transformer.generate_square_subsequent_mask(length, dtype=dtype)
    return masks


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mask,layout,weights,bias,inputs", MHA_CONFIGS)
def test_compiled_mha_gives_the_eager_outputs_and_gradients(
        mask: str, layout: str, weights: tuple, bias: bool, inputs: str, dtype: type) -> None:
    need_weights, average = weights
    kdim, vdim = (5, 3) if inputs == "kdim_vdim" else (E, E)
    batch = None if layout == "unbatched" else 3
    length = 5
    source = 5 if inputs == "self" or mask == "causal" else 6

    def build() -> nn.Module:
        return nn.MultiheadAttention(E, HEADS, bias=bias, batch_first=layout == "batch_first",
                                     kdim=kdim, vdim=vdim, dtype=dtype)

    def shape(seq: int, width: int) -> tuple:
        if batch is None:
            return (seq, width)
        return (batch, seq, width) if layout == "batch_first" else (seq, batch, width)

    def call(mha: nn.Module, rng: np.random.Generator, leaves: list) -> tuple:
        q = _leaf(rng, shape(length, E), dtype)
        k = q if inputs == "self" else _leaf(rng, shape(source, kdim), dtype)
        v = q if inputs == "self" else _leaf(rng, shape(source, vdim), dtype)
        leaves.extend([q] if inputs == "self" else [q, k, v])
        masks = _mha_masks(mask, rng, batch, length, source, dtype, leaves)
        return mha(q, k, v, need_weights=need_weights, average_attn_weights=average, **masks)

    _compiled._COMPILED.clear()
    _assert_same(build, call, dtype)
    assert _replayed(_mha_core)


# ---------------------------------------------------------------- AdditiveAttention
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("separate_values", [False, True])
def test_compiled_additive_attention_gives_the_eager_outputs_and_gradients(
        masked: bool, separate_values: bool, dtype: type) -> None:
    def build() -> nn.Module:
        return nn.AdditiveAttention(4, 5, 6, dtype=dtype)

    def call(attn: nn.Module, rng: np.random.Generator, leaves: list) -> tuple:
        query, keys = _leaf(rng, (3, 4), dtype), _leaf(rng, (3, 7, 5), dtype)
        values = _leaf(rng, (3, 7, 2), dtype) if separate_values else None
        leaves.extend([t for t in (query, keys, values) if t is not None])
        mask = None
        if masked:
            mask = rng.random((3, 7)) < 0.7
            mask[1] = False  # a row with no key: zero weights
        return attn(query, keys, values, mask=mask)

    _compiled._COMPILED.clear()
    _assert_same(build, call, dtype)
    assert _replayed(_additive_core)


# ---------------------------------------------------------------- Transformer layers
LAYER_CONFIGS = list(itertools.product(["encoder", "decoder"], [False, True], ["relu", "gelu"],
                                       [False, True]))


def _seq(rng: np.random.Generator, seq: int, batch_first: bool, dtype: type) -> mg.Tensor:
    return _leaf(rng, (2, seq, E) if batch_first else (seq, 2, E), dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind,norm_first,activation,batch_first", LAYER_CONFIGS)
def test_compiled_transformer_layers_give_the_eager_outputs_and_gradients(
        kind: str, norm_first: bool, activation: str, batch_first: bool, dtype: type) -> None:
    cls = nn.TransformerEncoderLayer if kind == "encoder" else nn.TransformerDecoderLayer

    def build() -> nn.Module:
        return cls(E, HEADS, dim_feedforward=12, dropout=0.0, activation=activation,
                   batch_first=batch_first, norm_first=norm_first, dtype=dtype)

    def call(layer: nn.Module, rng: np.random.Generator, leaves: list) -> mg.Tensor:
        pad = np.zeros((2, 4), dtype=bool)
        pad[0, 3] = True
        x = _seq(rng, 4, batch_first, dtype)
        leaves.append(x)
        if kind == "encoder":
            return layer(x, src_key_padding_mask=pad, is_causal=True)
        memory = _seq(rng, 6, batch_first, dtype)
        leaves.append(memory)
        mem_pad = np.zeros((2, 6), dtype=bool)
        mem_pad[1, 4:] = True
        return layer(x, memory, tgt_key_padding_mask=pad, memory_key_padding_mask=mem_pad,
                     tgt_is_causal=True)

    _compiled._COMPILED.clear()
    _assert_same(build, call, dtype)
    assert _replayed(_mha_core) and list(_compiled._COMPILED) == [_mha_core]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_first", [False, True])
def test_compiled_transformer_gives_the_eager_outputs_and_gradients(norm_first: bool,
                                                                    dtype: type) -> None:
    def build() -> nn.Module:
        return nn.Transformer(E, HEADS, num_encoder_layers=2, num_decoder_layers=2,
                              dim_feedforward=12, dropout=0.0, activation="gelu",
                              norm_first=norm_first, dtype=dtype)

    def call(model: nn.Module, rng: np.random.Generator, leaves: list) -> mg.Tensor:
        src, tgt = _seq(rng, 5, False, dtype), _seq(rng, 4, False, dtype)
        leaves.extend([src, tgt])
        src_pad = np.zeros((2, 5), dtype=bool)
        src_pad[1, 3:] = True
        return model(src, tgt, src_key_padding_mask=src_pad, memory_key_padding_mask=src_pad,
                     tgt_is_causal=True)

    _compiled._COMPILED.clear()
    _assert_same(build, call, dtype)
    assert _replayed(_mha_core)


# ---------------------------------------------------------------- switching, signatures, dropout
def _self_attention(mha: nn.Module, seq: int, seed: int = 0) -> tuple:
    x = mg.tensor(np.random.default_rng(seed).standard_normal((seq, 2, E)), dtype=np.float64,
                  requires_grad=True)
    out, weights = mha(x, x, x)
    return out, weights, x


def test_compile_false_goes_back_to_eager_ops() -> None:
    model = nn.Transformer(E, HEADS, num_encoder_layers=1, num_decoder_layers=1,
                           dim_feedforward=12, dropout=0.0, dtype=np.float64)
    assert model.compile() is model
    assert all(m.compiled for m in model.modules() if isinstance(m, _compiled.CompilableModule))
    model.compile(False)
    assert not any(getattr(m, "compiled", False) for m in model.modules())
    mha = nn.MultiheadAttention(E, HEADS, dtype=np.float64)
    out, _, _ = _self_attention(mha.compile(), 4)
    assert "Compiled[_mha_core]" in mg.viz.to_dot(out.sum(), expand_compiled=False)
    _compiled._COMPILED.clear()
    out, _, _ = _self_attention(mha.compile(False), 4)
    assert "Compiled" not in mg.viz.to_dot(out.sum()) and not _compiled._COMPILED


def test_another_sequence_length_traces_another_plan() -> None:
    _compiled._COMPILED.clear()
    eager = nn.MultiheadAttention(E, HEADS, dtype=np.float64)
    fast = nn.MultiheadAttention(E, HEADS, dtype=np.float64).compile()
    fast.load_state_dict(eager.state_dict())
    for seq in (4, 7, 4):
        results = []
        for mha in (eager, fast):
            out, weights, x = _self_attention(mha, seq, seed=seq)
            (out.sum() + (weights * weights).sum()).backward()
            results.append([out.numpy(), weights.numpy(), x.grad.numpy()])
        for a, b in zip(*results):
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    assert len(_compiled._COMPILED[_mha_core].plans) == 2  # one per length, the 4 replayed


@pytest.mark.parametrize("module", ["mha", "encoder"])
def test_dropout_in_training_draws_the_eager_numbers_compiled(module: str) -> None:
    """The dropout masks are drawn outside the core and passed to it as Tensors, so the
    compiled module consumes the generator as eager does and gives its numbers."""
    dtype = np.float64

    def build() -> nn.Module:
        if module == "mha":
            return nn.MultiheadAttention(E, HEADS, dropout=0.4, dtype=dtype).train()
        return nn.TransformerEncoderLayer(E, HEADS, dim_feedforward=12, dropout=0.4,
                                          activation="gelu", dtype=dtype).train()

    def call(m: nn.Module, rng: np.random.Generator, leaves: list) -> object:
        x = _leaf(rng, (4, 2, E), dtype)
        leaves.append(x)
        return m(x, x, x) if module == "mha" else m(x, is_causal=True)

    _compiled._COMPILED.clear()
    _assert_same(build, call, dtype, seed=3)
    assert _replayed(_mha_core)
    eager_again = _results(build, call, dtype, False, seed=4)
    assert not np.allclose(eager_again[0], _results(build, call, dtype, False, seed=3)[0])
