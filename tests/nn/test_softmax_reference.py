"""softmax / log_softmax against PyTorch, including entries that overflow a naive exp."""

from __future__ import annotations

import numpy as np
import pytest
from nn_reference import assert_close, load_cases

import minigrad as mg
import minigrad.nn.functional as F

CASES = load_cases("nn_softmax")


@pytest.mark.parametrize("case", sorted(CASES))
def test_softmax_family_matches_pytorch(case: str) -> None:
    c = CASES[case]
    fn = F.log_softmax if case.startswith("log_") else F.softmax
    x = mg.tensor(c["x"], dtype=np.float64, requires_grad=True)
    out = fn(x, int(c["dim"]))
    assert_close(out.numpy(), c["out"])
    (out * mg.tensor(c["g"], dtype=np.float64)).sum().backward()
    assert_close(x.grad.numpy(), c["grad_x"])
