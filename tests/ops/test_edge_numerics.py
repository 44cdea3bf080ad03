"""Values and gradients where formulas meet 0 * inf, NaN, infinities, ties and empty
axes: minigrad gives what PyTorch gives (values below were read off PyTorch 2.13)."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg

inf, nan = np.inf, np.nan


def f64(values) -> mg.Tensor:
    return mg.tensor(np.asarray(values, dtype=np.float64), dtype=np.float64, requires_grad=True)


def grads_of(fn, *values) -> tuple[np.ndarray, list[np.ndarray]]:
    xs = [f64(v) for v in values]
    out = fn(*xs)
    with np.errstate(all="ignore"):
        out.sum().backward()
    return out.numpy(), [x.grad.numpy() for x in xs]


def test_zero_power_has_zero_gradient_at_zero() -> None:
    out, (g,) = grads_of(lambda x: x**0, [0.0, 1.0])
    np.testing.assert_array_equal(out, [1, 1])
    np.testing.assert_array_equal(g, [0, 0])


def test_tensor_power_at_zero_base() -> None:
    # 0 ** y: d/dy is 0 for y >= 0 (not 0 * log 0); 0 ** 0 gives 0 and 0
    with np.errstate(all="ignore"):
        out, (ga, gb) = grads_of(lambda a, b: a**b, [0.0, 0.0, 2.0, 0.0], [0.0, 2.0, 3.0, -1.0])
    np.testing.assert_array_equal(out, [1, 0, 8, inf])
    np.testing.assert_array_equal(ga, [0, 0, 12, -inf])
    np.testing.assert_allclose(gb, [0, 0, 8 * np.log(2), -inf])


def test_power_gradient_checks_away_from_the_edges() -> None:
    a = f64([0.5, 1.5, 2.0])
    b = f64([0.0, -1.0, 2.5])
    assert mg.autograd.gradcheck(lambda a, b: a**b, [a, b])


def test_logsumexp_of_infinite_rows() -> None:
    out, (g,) = grads_of(lambda x: mg.logsumexp(x, -1), [[-inf, -inf], [1.0, inf]])
    np.testing.assert_array_equal(out, [-inf, inf])
    # PyTorch: exp(x - result): NaN where x and the result are the same infinity
    np.testing.assert_array_equal(g, [[nan, nan], [0.0, nan]])


def test_logsumexp_of_finite_rows_is_unchanged_by_the_shift_rule() -> None:
    x = f64([[1000.0, 1000.0], [-1000.0, -999.0]])
    out = mg.logsumexp(x, -1)
    np.testing.assert_allclose(out.numpy(), [1000 + np.log(2), -999 + np.log1p(np.exp(-1))])


@pytest.mark.parametrize("fn", [mg.softmax, mg.log_softmax], ids=["softmax", "log_softmax"])
def test_softmax_of_empty_axis_is_empty(fn) -> None:
    out, (g,) = grads_of(lambda x: fn(x, -1), np.zeros((2, 0)))
    assert out.shape == (2, 0) and g.shape == (2, 0)


def test_logsumexp_of_empty_axis_is_minus_infinity() -> None:
    out, (g,) = grads_of(lambda x: mg.logsumexp(x, -1), np.zeros((2, 0)))
    np.testing.assert_array_equal(out, [-inf, -inf])
    assert g.shape == (2, 0)


def test_softmax_of_all_minus_inf_row_is_nan_like_pytorch() -> None:
    out = mg.softmax(f64([[-inf, -inf], [0.0, 1.0]]), -1).numpy()
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()


@pytest.mark.parametrize("fn,np_fn", [(mg.maximum, np.maximum), (mg.minimum, np.minimum)],
                         ids=["maximum", "minimum"])
def test_maximum_minimum_propagate_nan_and_split_ties(fn, np_fn) -> None:
    a, b = [nan, 1.0, 2.0, 3.0], [1.0, 1.0, nan, 0.0]
    out, (ga, gb) = grads_of(fn, a, b)
    np.testing.assert_array_equal(out, np_fn(a, b))
    assert np.isnan(out[0]) and np.isnan(out[2])
    # NaN: both inputs get the full gradient; tie: half each; else the selected one
    sel_a = 1.0 if fn is mg.maximum else 0.0
    np.testing.assert_array_equal(ga, [1, 0.5, 1, sel_a])
    np.testing.assert_array_equal(gb, [1, 0.5, 1, 1 - sel_a])


def test_maximum_with_broadcast_ties() -> None:
    _, (ga, gb) = grads_of(mg.maximum, [[1.0, 2.0], [0.0, 5.0]], [1.0, 2.0])
    np.testing.assert_array_equal(ga, [[0.5, 0.5], [0, 1]])
    np.testing.assert_array_equal(gb, [1.5, 0.5])


def test_relu_passes_the_gradient_at_nan() -> None:
    out, (g,) = grads_of(lambda x: x.relu(), [nan, -1.0, 0.0, 3.0])
    assert np.isnan(out[0])
    np.testing.assert_array_equal(g, [1, 0, 0, 1])


@pytest.mark.parametrize("axis", [0, (0, 1)])
def test_float32_sum_over_leading_axes_keeps_pairwise_accuracy(axis) -> None:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4000, 25, 3)) + 1).astype(np.float32)
    exact = x.astype(np.float64).sum(axis)
    got = mg.tensor(x).sum(axis).numpy()
    assert got.dtype == np.float32
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    assert np.abs(got - exact).max() <= 4 * ulp.max()  # row by row: ~16 ulp here
    np.testing.assert_array_equal(mg.tensor(x).sum(axis, keepdims=True).numpy().squeeze(),
                                  got)


def test_abs_and_sign_at_nan_follow_pytorch() -> None:
    # PyTorch: sign(NaN) = 0, so |x|'s gradient at NaN is 0 too (NumPy's sign gives NaN)
    _, (g,) = grads_of(lambda x: x.abs(), [nan, -2.0, 0.0, 3.0])
    np.testing.assert_array_equal(g, [0, -1, 0, 1])
    np.testing.assert_array_equal(mg.sign(f64([nan, -2.0, 0.0, 3.0])).numpy(), [0, -1, 0, 1])
