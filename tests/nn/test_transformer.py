"""Transformer layers: PyTorch's outputs and gradients from the committed fixtures
(float64, 1e-7), parameter names, masks, errors, gradcheck and the graph's scopes."""

from __future__ import annotations

import numpy as np
import pytest
from nn_reference import assert_close
from recurrent_reference import fixture_names, leaf, load, state_dict

import minigrad as mg
from minigrad import nn

F64 = np.float64
CASES = fixture_names("transformer_")


def _build(case: str, ref: dict[str, np.ndarray]) -> nn.Module:
    cfg = {k[4:]: ref[k].item() for k in ref if k.startswith("cfg.")}
    kw = {"dim_feedforward": 12, "dropout": 0.0, "activation": cfg["activation"],
          "batch_first": cfg["batch_first"], "norm_first": cfg["norm_first"], "bias": cfg["bias"],
          "layer_norm_eps": cfg["eps"], "dtype": F64}
    if case.startswith("transformer_transformer"):
        return nn.Transformer(8, 2, num_encoder_layers=2, num_decoder_layers=2, **kw)
    if case.startswith("transformer_encoder"):
        layer = nn.TransformerEncoderLayer(8, 2, **kw)
        if cfg["num_layers"]:
            return nn.TransformerEncoder(layer, cfg["num_layers"], norm=nn.LayerNorm(8, dtype=F64))
        return layer
    layer = nn.TransformerDecoderLayer(8, 2, **kw)
    if cfg["num_layers"]:
        return nn.TransformerDecoder(layer, cfg["num_layers"], norm=nn.LayerNorm(8, dtype=F64))
    return layer


def _mask(value: np.ndarray) -> mg.Tensor:
    return mg.tensor(value) if value.dtype == np.bool_ else mg.tensor(value, dtype=F64)


def test_fixtures_cover_every_case() -> None:
    assert len(CASES) == 11


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("case", CASES)
def test_matches_pytorch_outputs_and_gradients(case: str, compiled: bool) -> None:
    ref = load(case)
    module = _build(case, ref).compile(compiled)
    sd = state_dict(ref)
    assert set(sd) == set(module.state_dict())  # PyTorch's names, every one
    module.load_state_dict(sd)
    names = [n for n in ("src", "tgt", "memory") if n in ref]
    inputs = {n: leaf(ref[n]) for n in names}
    masks = {k: _mask(ref[k]) for k in ref if k.endswith("mask") and "." not in k}
    if isinstance(module, nn.TransformerEncoderLayer) and "mask" in masks:
        masks["src_mask"] = masks.pop("mask")
    out = module(*inputs.values(), **masks)
    assert_close(out, ref["out.out"], f"{case}: output")
    (out * mg.tensor(ref["g.out"], dtype=F64)).sum().backward()
    for n, t in inputs.items():
        assert_close(t.grad, ref[f"grad.{n}"], f"{case}: grad of {n}")
    for n, p in module.named_parameters():
        assert_close(p.grad, ref[f"grad.p.{n}"], f"{case}: grad of {n}")


def test_encoder_layer_passes_gradcheck_with_masks() -> None:
    mg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, activation="gelu",
                                       norm_first=True, dtype=F64)
    x = leaf(np.random.default_rng(1).standard_normal((3, 2, 4)))
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=F64)
    kpm = mg.tensor([[False, False, True], [False, False, False]])
    assert mg.autograd.gradcheck(lambda t: layer(t, src_mask=mask, src_key_padding_mask=kpm), [x])


def test_is_causal_without_a_mask_builds_the_causal_mask() -> None:
    mg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, dtype=F64)
    x = mg.tensor(np.random.default_rng(2).standard_normal((5, 1, 4)), dtype=F64)
    mask = nn.Transformer.generate_square_subsequent_mask(5, dtype=F64)
    np.testing.assert_array_equal(layer(x, is_causal=True).numpy(), layer(x, src_mask=mask).numpy())
    # causal: the first position ignores every later one
    y = x.numpy().copy()
    y[1:] += 1.0
    np.testing.assert_allclose(layer(mg.tensor(y, dtype=F64), is_causal=True).numpy()[0],
                               layer(x, is_causal=True).numpy()[0], rtol=1e-12)


def test_square_subsequent_mask() -> None:
    m = nn.Transformer.generate_square_subsequent_mask(3)
    assert m.dtype == np.float32
    np.testing.assert_array_equal(m.numpy(), [[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]])


def test_stack_layers_are_independent_copies_and_transformer_inits_xavier() -> None:
    mg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    enc = nn.TransformerEncoder(layer, 3)
    ids = {id(p) for p in enc.parameters()}
    assert len(ids) == 3 * len(list(layer.parameters()))
    names = [n for n, _ in enc.named_parameters()]
    assert "layers.2.self_attn.in_proj_weight" in names and "layers.0.linear1.weight" in names
    model = nn.Transformer(8, 2, 1, 1, 16)
    w = model.encoder.layers[0].linear1.weight.numpy()
    bound = np.sqrt(6.0 / (8 + 16))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.5 * bound
    assert model.encoder.norm is not None and model.decoder.norm is not None


def test_refusals_name_the_layer_and_the_problem() -> None:
    with pytest.raises(ValueError, match="TransformerEncoderLayer: d_model \\(10\\) must be divisible"):
        nn.TransformerEncoderLayer(10, 3)
    with pytest.raises(ValueError, match="TransformerDecoderLayer: activation"):
        nn.TransformerDecoderLayer(8, 2, activation="swish")
    with pytest.raises(ValueError, match="TransformerEncoder: num_layers"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 0)
    model = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(ValueError, match="Transformer: src .* and tgt .* different batch sizes"):
        model(mg.zeros(5, 2, 8), mg.zeros(4, 3, 8))


def test_graph_has_one_scope_per_layer_and_sublayer() -> None:
    mg.manual_seed(0)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0), 2)
    x = mg.randn(3, 1, 4, requires_grad=True)
    out = enc(x)
    scopes = set()
    stack, seen = [out.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen or isinstance(fn, mg.Tensor):
            continue
        seen.add(id(fn))
        scopes.add(fn.scope)
        stack.extend(e[0] for e in fn.next or () if e is not None)
    subs = ("self_attn (MultiheadAttention)", "feed_forward", "norm1 (LayerNorm)", "norm2 (LayerNorm)")
    for i in (0, 1):
        layer = f"layers.{i} (TransformerEncoderLayer)"
        for sub in subs:
            assert any(f"{layer}/{sub}" in s for s in scopes), (i, sub, sorted(scopes))


def test_renderer_draws_one_cluster_per_layer_and_sublayer() -> None:
    import re

    mg.manual_seed(0)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), 2)
    out = enc(mg.randn(5, 2, 8, requires_grad=True))
    dot = mg.viz.to_dot(out.sum(), params=dict(enc.named_parameters()))
    labels = re.findall(r'\s+label="([^"]*)"; labeljust', dot)
    assert {"layers.0 (TransformerEncoderLayer)", "layers.1 (TransformerEncoderLayer)"} <= set(labels)
    for sub in ("self_attn (MultiheadAttention)", "feed_forward", "norm1 (LayerNorm)",
                "norm2 (LayerNorm)"):
        assert labels.count(sub) == 2, (sub, labels)  # one per layer
