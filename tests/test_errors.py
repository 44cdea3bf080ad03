"""Bad input gets an error naming the op, the shapes and what was expected."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg


def test_matmul_shape_mismatch_names_op_and_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        mg.randn(2, 3) @ mg.randn(4, 5)


def test_broadcast_mismatch_names_op_and_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"Add.*\(2, 3\).*\(4, 5\)"):
        mg.randn(2, 3) + mg.randn(4, 5)
    with pytest.raises(RuntimeError, match=r"Mul.*\(3,\).*\(2,\)"):  # catchable as RuntimeError too
        mg.randn(3) * mg.randn(2)


def test_cat_mismatch_names_tensor_and_shapes() -> None:
    with pytest.raises(ValueError, match=r"cat: tensor 1 has shape \(2, 4\).*\(2, 3\)"):
        mg.cat([mg.zeros(2, 3), mg.zeros(2, 4)], axis=0)


def test_reshape_size_mismatch() -> None:
    with pytest.raises(ValueError, match=r"Reshape.*\(2, 3\)"):
        mg.zeros(2, 3).reshape(4, 2)


def test_bad_axis() -> None:
    with pytest.raises(IndexError, match="sum: axis 2 is out of range"):
        mg.zeros(2, 3).sum(2)


def test_index_out_of_range_stays_index_error() -> None:
    with pytest.raises(IndexError, match="GetItem"):
        mg.zeros(2, 3)[5]


def test_split_sections_must_add_up() -> None:
    with pytest.raises(ValueError, match=r"split: sections \[1, 1\] .* add up to 3"):
        mg.split(mg.zeros(3), [1, 1])


def test_errors_leave_inputs_untouched() -> None:
    a = mg.tensor(np.arange(6.0).reshape(2, 3))
    before = a.numpy().copy()
    with pytest.raises(ValueError):
        a @ mg.zeros(2, 2)
    np.testing.assert_array_equal(a.numpy(), before)


def test_where_needs_bool_condition() -> None:
    with pytest.raises(TypeError, match="where: cond must be a bool"):
        mg.where(mg.zeros(2), mg.zeros(2), mg.ones(2))
