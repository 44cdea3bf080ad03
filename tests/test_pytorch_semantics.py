"""Edge cases where minigrad must behave as PyTorch does (found in an API review)."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.cli import main


def test_transpose_with_two_ints_swaps_even_in_2d() -> None:
    assert mg.zeros(2, 3).transpose(0, 1).shape == (3, 2)
    assert mg.zeros(2, 3, 4).transpose(0, 2).shape == (4, 3, 2)
    assert mg.zeros(2, 3, 4).transpose(2, 0, 1).shape == (4, 2, 3)


def test_cross_entropy_with_every_target_ignored_has_zero_gradient() -> None:
    x = mg.randn(2, 3, requires_grad=True)
    loss = nn.functional.cross_entropy(x, mg.tensor([-100, -100]))
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))


def test_numpy_float64_exponent_keeps_float32() -> None:
    x = mg.randn(3, requires_grad=True)
    y = x ** np.float64(2)
    assert y.dtype == np.float32
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy(), rtol=1e-6)


def test_zero_dim_float64_tensor_does_not_widen_float32() -> None:
    x = mg.randn(3)
    assert (x * mg.tensor(2.0, dtype=np.float64)).dtype == np.float32
    assert (x * mg.randn(3, dtype=np.float64)).dtype == np.float64  # same as PyTorch


def test_float_functions_of_int_tensors_use_the_default_dtype() -> None:
    ints = mg.tensor([1, 2])
    for fn in (mg.exp, mg.log, mg.sqrt, mg.tanh, mg.sigmoid, mg.softmax, mg.log_softmax):
        assert fn(ints).dtype == np.float32, fn.__name__
    clipped = mg.tensor([1, 2, 3]).clip(0.5, 2.5)
    np.testing.assert_array_equal(clipped.numpy(), [1.0, 2.0, 2.5])


def test_numpy_dtype_errors_are_reported_with_the_op() -> None:
    with pytest.raises(TypeError, match=r"Add: invalid input"):
        mg.zeros(2) + mg.Tensor._from_array(np.array(["a", "b"]))


def test_in_place_zero_on_a_leaf_that_requires_grad_refuses() -> None:
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        w.zero_()
    with mg.no_grad():
        w.zero_()
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0])


def test_sgd_positional_arguments_follow_pytorch() -> None:
    w = nn.Parameter(np.ones(2, dtype=np.float32))
    opt = mg.optim.SGD([w], 0.1, 0.9, 0.0, 1e-4)
    group = opt.param_groups[0]
    assert group["weight_decay"] == 1e-4 and group["nesterov"] is False


def test_load_state_dict_errors_are_runtime_errors_too() -> None:
    layer = nn.Linear(2, 3)
    with pytest.raises(RuntimeError, match="missing keys: bias"):
        layer.load_state_dict({"weight": np.zeros((3, 2))})
    with pytest.raises(RuntimeError, match=r"'weight'.*\(3, 3\).*\(3, 2\)"):
        layer.load_state_dict({"weight": np.zeros((3, 3)), "bias": np.zeros(3)})


def test_max_and_min_of_two_tensors_are_elementwise() -> None:
    a, b = mg.tensor([1.0, 5.0]), mg.tensor([3.0, 2.0])
    np.testing.assert_array_equal(mg.max(a, b).numpy(), [3.0, 5.0])
    np.testing.assert_array_equal(mg.minimum(a, b).numpy(), [1.0, 2.0])


def test_item_of_many_elements_names_the_shape() -> None:
    with pytest.raises(ValueError, match=r"item: .*\(2,\)"):
        mg.zeros(2).item()


def test_arange_of_numpy_ints_is_int64() -> None:
    assert mg.arange(np.int64(5)).dtype == np.int64


def test_matmul_refuses_mixed_float_dtypes() -> None:
    with pytest.raises(ValueError, match="matmul: both operands need the same float dtype"):
        mg.zeros(2, 3) @ mg.zeros(3, 2, dtype=np.float64)


def test_device_error_names_the_device_asked_for() -> None:
    with pytest.raises(RuntimeError, match="'cuda:97'"):
        mg.tensor([1.0]).to("cuda:97")


def test_bare_command_prints_usage_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: minigrad" in capsys.readouterr().err
