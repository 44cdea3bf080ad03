"""Padding is never read and masks mean what PyTorch says they mean."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg


@pytest.mark.parametrize("cls", [mg.nn.RNN, mg.nn.LSTM, mg.nn.GRU])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("poison", [np.nan, np.inf])
def test_nan_or_inf_past_lengths_reaches_no_output_or_gradient(cls, bidirectional, poison) -> None:
    mg.manual_seed(0)
    layer = cls(3, 4, num_layers=2, bidirectional=bidirectional)
    rng = np.random.default_rng(0)
    clean = rng.standard_normal((5, 2, 3)).astype(np.float32)
    dirty = clean.copy()
    dirty[3:, 1] = poison  # row 1 has length 3: steps 3 and 4 are padding
    results = []
    for data in (clean, dirty):
        layer.zero_grad()
        x = mg.tensor(data, requires_grad=True)
        out, _ = layer(x, lengths=[5, 3])
        (out * out).sum().backward()
        results.append((out.numpy(), x.grad.numpy(),
                        {n: p.grad.numpy().copy() for n, p in layer.named_parameters()}))
    (out_c, gx_c, gp_c), (out_d, gx_d, gp_d) = results
    np.testing.assert_array_equal(out_d, out_c)  # same numbers, not just finite ones
    np.testing.assert_array_equal(gx_d, gx_c)
    np.testing.assert_array_equal(gx_d[3:, 1], 0)
    for name in gp_c:
        np.testing.assert_array_equal(gp_d[name], gp_c[name], err_msg=name)


def test_padded_outputs_are_zero() -> None:
    layer = mg.nn.LSTM(2, 3)
    out, _ = layer(mg.randn(4, 2, 2), lengths=[4, 1])
    np.testing.assert_array_equal(out.numpy()[1:, 1], 0)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_multihead_attention_refuses_integer_key_padding_mask(dtype) -> None:
    mha = mg.nn.MultiheadAttention(4, 2)
    q = mg.randn(3, 2, 4)
    mask = np.array([[0, 0, 1], [0, 1, 1]], dtype=dtype)
    with pytest.raises(TypeError, match=r"MultiheadAttention: key_padding_mask must be bool.*float"):
        mha(q, q, q, key_padding_mask=mask)
    with pytest.raises(TypeError, match="MultiheadAttention: attn_mask must be bool"):
        mha(q, q, q, attn_mask=np.zeros((3, 3), dtype=dtype))


def test_multihead_attention_bool_and_float_masks_agree() -> None:
    mg.manual_seed(0)
    mha = mg.nn.MultiheadAttention(4, 2)
    q = mg.randn(3, 2, 4)
    pad = np.array([[False, False, True], [False, True, True]])
    out_bool, w_bool = mha(q, q, q, key_padding_mask=pad)
    out_float, w_float = mha(q, q, q, key_padding_mask=np.where(pad, -np.inf, 0.0).astype(np.float32))
    np.testing.assert_allclose(out_bool.numpy(), out_float.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(w_bool.numpy()[pad[:, None, :].repeat(3, 1)], 0)


def test_additive_attention_refuses_non_bool_mask() -> None:
    att = mg.nn.AdditiveAttention(4, 4, 5)
    with pytest.raises(TypeError, match="AdditiveAttention: mask must be bool"):
        att(mg.randn(2, 4), mg.randn(2, 3, 4), mg.randn(2, 3, 4), mask=np.ones((2, 3), dtype=np.int64))
