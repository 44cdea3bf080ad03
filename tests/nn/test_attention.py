"""Scaled dot-product attention, MultiheadAttention and AdditiveAttention: PyTorch's
values and gradients, mask conventions, gradchecks and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nn_reference import assert_close
from recurrent_reference import (
    fixture_names,
    leaf,
    load,
    state_dict,
    weighted_loss,
    with_params,
)

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

F64 = np.float64
MHA_CASES = fixture_names("attention_mha_")
SDPA_CASES = fixture_names("attention_sdpa_")


def _mask(ref: dict[str, np.ndarray], key: str) -> object:
    if key not in ref:
        return None
    value = ref[key]
    return mg.tensor(value) if value.dtype == np.bool_ else mg.tensor(value, dtype=F64)


def test_fixtures_cover_every_case() -> None:
    assert len(MHA_CASES) == 7 and len(SDPA_CASES) == 5


@pytest.mark.parametrize("case", SDPA_CASES)
def test_sdpa_matches_pytorch(case: str) -> None:
    ref = load(case)
    inputs = {k: leaf(ref[k]) for k in ("q", "k", "v")}
    mask = None
    if "grad.attn_mask" in ref:  # a float mask is an input with a gradient
        inputs["attn_mask"] = mask = leaf(ref["attn_mask"])
    elif "attn_mask" in ref:
        mask = mg.tensor(ref["attn_mask"])
    scale = float(ref["cfg.scale"])
    out = F.scaled_dot_product_attention(
        inputs["q"],
        inputs["k"],
        inputs["v"],
        attn_mask=mask,
        is_causal=bool(ref["cfg.is_causal"]),
        scale=None if math.isnan(scale) else scale,
    )
    assert_close(out, ref["out.output"], f"{case} output")
    weighted_loss(ref, {"output": out}).backward()
    for name, t in inputs.items():
        assert_close(t.grad, ref[f"grad.{name}"], f"{case} d/d{name}")


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("case", MHA_CASES)
def test_multihead_attention_matches_pytorch(case: str, compiled: bool) -> None:
    ref = load(case)
    mha = nn.MultiheadAttention(
        int(ref["cfg.embed_dim"]),
        int(ref["cfg.num_heads"]),
        bias=bool(ref["cfg.bias"]),
        batch_first=bool(ref["cfg.batch_first"]),
    ).compile(compiled)
    mha.double().load_state_dict(state_dict(ref))
    inputs = {k: leaf(ref[k]) for k in ("q", "k", "v")}
    need_weights = bool(ref["cfg.need_weights"])
    out, weights = mha(
        inputs["q"],
        inputs["k"],
        inputs["v"],
        key_padding_mask=_mask(ref, "key_padding_mask"),
        need_weights=need_weights,
        attn_mask=_mask(ref, "attn_mask"),
        average_attn_weights=bool(ref["cfg.average_attn_weights"]),
    )
    outputs = {"output": out}
    if need_weights:
        outputs["weights"] = weights
    else:
        assert weights is None
    for name, t in outputs.items():
        assert_close(t, ref[f"out.{name}"], f"{case} {name}")
    weighted_loss(ref, outputs).backward()
    for name, t in inputs.items():
        assert_close(t.grad, ref[f"grad.{name}"], f"{case} d/d{name}")
    for name, p in mha.named_parameters():
        assert_close(p.grad, ref[f"grad.p.{name}"], f"{case} d/d{name}")


# ---------------------------------------------------------------- sdpa semantics
def test_sdpa_fully_masked_row_is_zero_with_zero_gradient() -> None:
    rng = np.random.default_rng(0)
    q, k, v = (leaf(rng.normal(size=s)) for s in ((3, 2), (4, 2), (4, 5)))
    allowed = np.ones((3, 4), dtype=bool)
    allowed[1] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mg.tensor(allowed))
    assert np.all(np.isfinite(out.numpy()))
    np.testing.assert_array_equal(out.numpy()[1], 0.0)
    out.sum().backward()
    np.testing.assert_array_equal(q.grad.numpy()[1], 0.0)
    assert np.any(q.grad.numpy()[0] != 0.0)


def test_sdpa_float_mask_of_minus_inf_masks_like_bool() -> None:
    rng = np.random.default_rng(1)
    q, k, v = (mg.tensor(rng.normal(size=s), dtype=F64) for s in ((3, 2), (4, 2), (4, 5)))
    allowed = rng.random((3, 4)) > 0.5
    allowed[2] = False
    additive = np.where(allowed, 0.0, -np.inf)
    a = F.scaled_dot_product_attention(q, k, v, attn_mask=mg.tensor(allowed))
    b = F.scaled_dot_product_attention(q, k, v, attn_mask=mg.tensor(additive, dtype=F64))
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-15)
    assert np.all(np.isfinite(b.numpy()))


def test_sdpa_causal_equals_lower_triangular_bool_mask() -> None:
    rng = np.random.default_rng(2)
    q, k, v = (mg.tensor(rng.normal(size=s), dtype=F64) for s in ((2, 4, 3), (2, 4, 3), (2, 4, 2)))
    causal = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    masked = F.scaled_dot_product_attention(
        q, k, v, attn_mask=mg.tensor(np.tril(np.ones((4, 4), dtype=bool)))
    )
    np.testing.assert_allclose(causal.numpy(), masked.numpy(), rtol=1e-12)
    # The first query sees only the first key.
    np.testing.assert_allclose(causal.numpy()[:, 0], v.numpy()[:, 0], rtol=1e-12)


def test_sdpa_dropout_zeroes_probabilities_and_is_seeded() -> None:
    q = mg.randn(2, 8, 4)
    k, v = mg.randn(2, 8, 4), mg.ones(2, 8, 6)
    plain = F.scaled_dot_product_attention(q, k, v).numpy()
    np.testing.assert_allclose(plain, 1.0, rtol=1e-6)  # rows of weights sum to one
    mg.manual_seed(7)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    mg.manual_seed(7)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, plain)


def test_sdpa_gradcheck_with_float_mask_and_scale() -> None:
    rng = np.random.default_rng(3)
    q, k, v, m = (leaf(rng.normal(size=s)) for s in ((2, 3, 2), (2, 4, 2), (2, 4, 3), (3, 4)))
    assert mg.autograd.gradcheck(
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=0.7),
        (q, k, v, m),
    )


def test_sdpa_errors_name_function_and_shapes() -> None:
    q, k, v = mg.randn(3, 2), mg.randn(4, 2), mg.randn(4, 5)
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: attn_mask of shape"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=mg.tensor(np.ones((3, 5), bool)))
    with pytest.raises(ValueError, match=r"key \(shape \(4, 2\)\) and value \(shape \(3, 5\)\)"):
        F.scaled_dot_product_attention(q, k, mg.randn(3, 5))


# ---------------------------------------------------------------- MultiheadAttention
def test_mha_parameters_names_and_init_are_pytorchs() -> None:
    mg.manual_seed(0)
    mha = nn.MultiheadAttention(16, 4)
    shapes = [(n, p.shape) for n, p in mha.named_parameters()]
    assert shapes == [
        ("in_proj_weight", (48, 16)),
        ("in_proj_bias", (48,)),
        ("out_proj.weight", (16, 16)),
        ("out_proj.bias", (16,)),
    ]
    w = mha.in_proj_weight.numpy()
    bound = math.sqrt(6.0 / (48 + 16))  # xavier_uniform_ of a (3E, E) matrix
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.all(mha.in_proj_bias.numpy() == 0) and np.all(mha.out_proj.bias.numpy() == 0)
    assert np.abs(mha.out_proj.weight.numpy()).max() <= 1 / math.sqrt(16)
    assert [n for n, _ in nn.MultiheadAttention(8, 2, bias=False).named_parameters()] == [
        "in_proj_weight",
        "out_proj.weight",
    ]


def test_mha_self_attention_same_tensor_equals_separate_copies() -> None:
    mg.manual_seed(1)
    mha = nn.MultiheadAttention(6, 3, batch_first=True).double()
    x = np.random.default_rng(0).normal(size=(2, 4, 6))
    t = mg.tensor(x, dtype=F64)
    fused, w1 = mha(t, t, t)
    separate, w2 = mha(*(mg.tensor(x, dtype=F64) for _ in range(3)))
    np.testing.assert_allclose(fused.numpy(), separate.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w1.numpy(), w2.numpy(), rtol=1e-12)


def test_mha_fully_padded_query_gives_zeros_not_nan() -> None:
    mha = nn.MultiheadAttention(4, 2, batch_first=True)
    x = mg.randn(2, 3, 4)
    padded = mg.tensor(np.array([[False, False, False], [True, True, True]]))
    out, weights = mha(x, x, x, key_padding_mask=padded)
    assert np.all(np.isfinite(out.numpy()))
    np.testing.assert_array_equal(weights.numpy()[1], 0.0)
    np.testing.assert_allclose(weights.numpy()[0].sum(-1), 1.0, rtol=1e-6)


def test_mha_dropout_only_in_training() -> None:
    mg.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, dropout=0.5)
    x = mg.randn(5, 2, 8)
    _, w_train = mha(x, x, x, average_attn_weights=False)
    assert np.any(w_train.numpy() == 0.0)
    mha.eval()
    out_a, w_eval = mha(x, x, x, average_attn_weights=False)
    out_b, _ = mha(x, x, x)
    assert np.all(w_eval.numpy() > 0.0)
    np.testing.assert_array_equal(out_a.numpy(), out_b.numpy())


def test_mha_gradcheck() -> None:
    mg.manual_seed(2)
    mha = nn.MultiheadAttention(4, 2).double()
    names = [n for n, _ in mha.named_parameters()]
    params = [leaf(p.numpy()) for _, p in mha.named_parameters()]
    rng = np.random.default_rng(4)
    q, k, v = (leaf(rng.normal(size=s)) for s in ((3, 2, 4), (2, 2, 4), (2, 2, 4)))
    kpm = mg.tensor(np.array([[False, True], [False, False]]))
    fn = with_params(mha, names, lambda q, k, v: mha(q, k, v, key_padding_mask=kpm))
    assert mg.autograd.gradcheck(fn, (q, k, v, *params))


def test_mha_errors_name_module_given_and_expected() -> None:
    mha = nn.MultiheadAttention(4, 2)
    x = mg.randn(3, 2, 4)
    with pytest.raises(
        ValueError,
        match=r"MultiheadAttention: expected key_padding_mask of "
        r"shape \(2, 3\), got \(3, 2\)",
    ):
        mha(x, x, x, key_padding_mask=mg.tensor(np.zeros((3, 2), bool)))
    with pytest.raises(
        ValueError,
        match=r"MultiheadAttention: expected attn_mask of shape "
        r"\(3, 3\), got \(3, 4\)",
    ):
        mha(x, x, x, attn_mask=mg.tensor(np.zeros((3, 4), bool)))
    with pytest.raises(ValueError, match=r"MultiheadAttention: expected query .* got \(3, 2, 5\)"):
        mha(mg.randn(3, 2, 5), x, x)
    with pytest.raises(ValueError, match=r"embed_dim \(6\) must be divisible by num_heads \(4\)"):
        nn.MultiheadAttention(6, 4)


# ---------------------------------------------------------------- AdditiveAttention
def _additive_inputs(seed: int = 0) -> tuple[mg.Tensor, ...]:
    rng = np.random.default_rng(seed)
    return tuple(leaf(rng.normal(size=s)) for s in ((3, 4), (3, 5, 2), (3, 5, 6)))


def test_additive_attention_weights_sum_to_one_and_are_zero_where_masked() -> None:
    mg.manual_seed(0)
    attn = nn.AdditiveAttention(4, 2, 8).double()
    query, keys, values = _additive_inputs()
    mask = np.ones((3, 5), dtype=bool)
    mask[0, 3:] = False
    mask[2, 0] = False
    context, weights = attn(query, keys, values, mask=mg.tensor(mask))
    w = weights.numpy()
    assert context.shape == (3, 6) and w.shape == (3, 5)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(w[~mask] == 0.0) and np.all(w[mask] > 0.0)
    expected = np.einsum("bs,bsd->bd", w, values.numpy())
    np.testing.assert_allclose(context.numpy(), expected, rtol=1e-12)


def test_additive_attention_scores_are_bahdanaus() -> None:
    mg.manual_seed(0)
    attn = nn.AdditiveAttention(4, 2, 8).double()
    query, keys, _ = _additive_inputs(1)
    context, weights = attn(query, keys)
    wq, wk = attn.query_proj.weight.numpy(), attn.key_proj.weight.numpy()
    hidden = np.tanh((query.numpy() @ wq.T)[:, None] + keys.numpy() @ wk.T + attn.key_proj.bias.numpy())
    scores = hidden @ attn.v.numpy()
    expected = np.exp(scores - scores.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(weights.numpy(), expected, rtol=1e-12)
    assert context.shape == (3, 2)  # values default to the keys


def test_additive_attention_gradcheck() -> None:
    mg.manual_seed(1)
    attn = nn.AdditiveAttention(4, 2, 3).double()
    names = [n for n, _ in attn.named_parameters()]
    params = [leaf(p.numpy()) for _, p in attn.named_parameters()]
    mask = mg.tensor(np.array([[True] * 5, [True, False, True, False, True], [False] * 4 + [True]]))
    fn = with_params(attn, names, lambda q, k, v: attn(q, k, v, mask=mask))
    assert mg.autograd.gradcheck(fn, (*_additive_inputs(2), *params))


def test_additive_attention_errors_name_module_given_and_expected() -> None:
    attn = nn.AdditiveAttention(4, 2, 8)
    query, keys, values = (mg.tensor(t.numpy()) for t in _additive_inputs())
    with pytest.raises(
        ValueError,
        match=r"AdditiveAttention: expected mask of shape \(3, 5\), "
        r"got \(3, 4\)",
    ):
        attn(query, keys, values, mask=mg.tensor(np.ones((3, 4), bool)))
    with pytest.raises(ValueError, match=r"AdditiveAttention: expected keys of shape \(3, seq, 2\)"):
        attn(query, mg.randn(3, 5, 3))
    with pytest.raises(ValueError, match=r"AdditiveAttention: expected query of shape \(batch, 4\)"):
        attn(mg.randn(3, 5), keys)


def test_attention_modules_on_every_device_equal_cpu(device: str) -> None:
    mg.manual_seed(0)
    mha = nn.MultiheadAttention(4, 2, batch_first=True).double()
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    pad = np.array([[False, False, True], [False, False, False]])
    ref, _ = mha(
        mg.tensor(x, dtype=F64),
        mg.tensor(x, dtype=F64),
        mg.tensor(x, dtype=F64),
        key_padding_mask=pad,
    )
    mha.to(device)
    t = mg.tensor(x, dtype=F64, device=device, requires_grad=True)
    out, w = mha(t, t, t, key_padding_mask=mg.tensor(pad, device=device))
    assert out.device == w.device == device
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    assert t.grad.device == device
    causal = F.scaled_dot_product_attention(t, t, t, is_causal=True)
    assert causal.device == device


def test_mha_masks_as_numpy_arrays_equal_masks_as_tensors() -> None:
    mg.manual_seed(3)
    mha = nn.MultiheadAttention(4, 2).double()
    rng = np.random.default_rng(5)
    q, kv = (
        mg.tensor(rng.normal(size=(3, 4)), dtype=F64),
        mg.tensor(rng.normal(size=(5, 4)), dtype=F64),
    )
    pad = np.array([False, True, False, False, True])
    causal = np.triu(np.ones((3, 5), dtype=bool), k=1)
    a, wa = mha(q, kv, kv, key_padding_mask=pad, attn_mask=causal)
    b, wb = mha(q, kv, kv, key_padding_mask=mg.tensor(pad), attn_mask=mg.tensor(causal))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(wa.numpy(), wb.numpy())
    assert wa.shape == (3, 5) and np.all(wa.numpy()[:, [1, 4]] == 0.0)
