"""clip_grad_norm_ against PyTorch (2-norm, 1-norm, inf-norm; clipping and not)."""

from __future__ import annotations

import numpy as np
import pytest
from nn_reference import assert_close, load_cases

import minigrad as mg
from minigrad.nn.utils import clip_grad_norm_

CASES = load_cases("nn_clip_grad_norm")


@pytest.mark.parametrize("case", sorted(CASES))
def test_clip_grad_norm_matches_pytorch(case: str) -> None:
    c = CASES[case]
    params = []
    for i in range(3):
        p = mg.tensor(np.zeros_like(c[f"grad{i}"]), dtype=np.float64, requires_grad=True)
        p.grad = mg.tensor(c[f"grad{i}"], dtype=np.float64)
        params.append(p)
    unused = mg.tensor(np.zeros(2), requires_grad=True)  # no grad: skipped
    total = clip_grad_norm_(
        [*params, unused], float(c["max_norm"]), norm_type=float(c["norm_type"])
    )
    assert isinstance(total, mg.Tensor) and total.dtype == np.float64
    assert_close(total.numpy(), c["total"])
    for i, p in enumerate(params):
        assert_close(p.grad.numpy(), c[f"clipped{i}"], f"grad {i}")
    assert unused.grad is None


def test_clip_grad_norm_keeps_float32_and_bounds_the_norm() -> None:
    p = mg.tensor(np.zeros(4, np.float32), requires_grad=True)
    p.grad = mg.tensor(np.array([3.0, 4.0, 0.0, 0.0], np.float32))
    total = clip_grad_norm_(p, 1.0)
    assert total.item() == pytest.approx(5.0)
    assert p.grad.dtype == np.float32
    assert np.linalg.norm(p.grad.numpy()) == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_nonfinite_and_bad_norm_type() -> None:
    p = mg.tensor(np.zeros(2), requires_grad=True)
    p.grad = mg.tensor(np.array([np.inf, 1.0]))
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_([p], 1.0, norm_type=-1)
