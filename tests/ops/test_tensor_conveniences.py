"""PyTorch's Tensor conveniences, dtype names, aliases, and erf's accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg


def test_dtype_names_are_numpy_dtypes_with_pytorchs_spellings() -> None:
    assert mg.float32 is np.float32 and mg.float is np.float32
    assert mg.float64 is np.float64 and mg.double is np.float64
    assert mg.int64 is np.int64 and mg.long is np.int64 and mg.bool is np.bool_
    assert mg.tensor([1.0], dtype=mg.double).dtype == np.float64
    assert mg.zeros(2, dtype=mg.long).dtype == np.int64


def test_new_constructors_keep_dtype_and_device() -> None:
    x = mg.tensor(np.ones((2, 2)), dtype=mg.float64)
    for t, value in ((x.new_zeros(3, 4), 0), (x.new_ones((3, 4)), 1), (x.new_full((3, 4), 7.5), 7.5)):
        assert t.shape == (3, 4) and t.dtype == np.float64 and t.device == x.device
        assert t.is_leaf and not t.requires_grad
        np.testing.assert_array_equal(t.numpy(), np.full((3, 4), value))
    n = x.new_tensor([[1, 2]])
    assert n.dtype == np.float64 and n.tolist() == [[1.0, 2.0]]
    assert x.new_zeros(2, dtype=mg.long).dtype == np.int64
    assert x.new_ones(2, requires_grad=True).requires_grad


def test_dim_t_contiguous_narrow_type_sum_to_size() -> None:
    a = np.arange(24.0).reshape(2, 3, 4)
    x = mg.tensor(a, dtype=mg.float64, requires_grad=True)
    assert x.dim() == 3
    assert x.contiguous() is x
    m = mg.tensor(a[0])
    np.testing.assert_array_equal(m.t().numpy(), a[0].T)
    with pytest.raises(ValueError, match=r"t: .*\(2, 3, 4\)"):
        x.t()
    np.testing.assert_array_equal(x.narrow(2, 1, 2).numpy(), a[:, :, 1:3])
    np.testing.assert_array_equal(x.narrow(-1, -2, 2).numpy(), a[:, :, 2:4])
    with pytest.raises(IndexError, match="narrow"):
        x.narrow(1, 2, 2)
    assert x.type() == "minigrad.DoubleTensor" and mg.tensor([1]).type() == "minigrad.LongTensor"
    assert x.type(mg.float32).dtype == np.float32
    s = x.sum_to_size(3, 1)
    np.testing.assert_array_equal(s.numpy(), a.sum(axis=(0, 2))[:, None])
    s.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones_like(a))
    with pytest.raises(ValueError, match="sum_to_size"):
        x.sum_to_size(5)


def test_numpy_spellings_are_aliases() -> None:
    assert mg.arcsin is mg.asin and mg.arctan2 is mg.atan2 and mg.clamp is mg.clip
    x = mg.tensor([0.3])
    assert x.arccos().item() == x.acos().item()


def test_bool_masks_combine() -> None:
    a = mg.tensor([True, False, True])
    b = mg.tensor([True, True, False])
    assert (a & b).tolist() == [True, False, False]
    assert (a | b).tolist() == [True, True, True]
    assert (a ^ b).tolist() == [False, True, True]
    assert (~a).tolist() == [False, True, False]


def test_erf_matches_math_erf_to_float64_rounding_over_the_whole_line() -> None:
    x = np.concatenate([np.linspace(-7, 7, 2001), [0.0, 1e-300, -1e-12, 5.999, 6.0, 40.0, -np.inf]])
    got = mg.erf(mg.tensor(x, dtype=mg.float64)).numpy()
    want = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-300)
    x32 = x[:-1].astype(np.float32)
    f32 = mg.erf(mg.tensor(x32)).numpy()
    assert f32.dtype == np.float32  # computed in float64, rounded once
    np.testing.assert_array_equal(f32, np.array([math.erf(v) for v in x32.tolist()], np.float32))


def test_int_inputs_give_float_like_pytorch() -> None:
    assert mg.sin(mg.tensor([1, 2])).dtype == np.float32
    assert mg.sign(mg.tensor([-3, 0, 2])).tolist() == [-1, 0, 1]
    assert (mg.tensor([7, -7]) % 3).tolist() == [1, 2]
