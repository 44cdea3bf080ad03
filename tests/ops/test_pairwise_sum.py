"""float32 sums over leading axes (bias gradients) keep pairwise accuracy."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.ops._pairwise import sum_leading


@pytest.mark.parametrize("shape, count", [((5000, 7), 1), ((40, 300, 3), 2), ((9, 3), 1),
                                          ((17, 2, 3), 1), ((0, 4), 1), ((1, 1, 5), 2)])
def test_sum_leading_equals_numpy_sum(shape, count) -> None:
    a = np.random.default_rng(0).standard_normal(shape)
    np.testing.assert_allclose(sum_leading(a.astype(np.float32), count),
                               a.sum(axis=tuple(range(count))), rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(sum_leading(a, count), a.sum(axis=tuple(range(count))))


def test_bias_gradient_in_float32_is_as_accurate_as_pairwise_summation() -> None:
    rng = np.random.default_rng(1)
    g = (rng.standard_normal((100_000, 8)) * 0.01 + 0.1).astype(np.float32)
    exact = g.astype(np.float64).sum(0)
    bias = mg.zeros(8, requires_grad=True)
    x = mg.zeros(100_000, 8)
    (x + bias).backward(mg.tensor(g))
    err = np.abs(bias.grad.numpy() - exact).max() / np.abs(exact).max()
    naive = np.abs(g.sum(0) - exact).max() / np.abs(exact).max()
    eps = np.finfo(np.float32).eps
    assert err < 4 * np.log2(100_000) * eps / 8  # log-growth bound, about 1e-6
    assert naive > 10 * err  # the row-after-row sum is what this replaces
