"""Shared test helpers: the device parameter and float64 tolerances."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg

CUDA_REASON = "needs CuPy and a CUDA GPU (pip install 'minigrad[cuda12]'); none found here"
DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not mg.cuda.is_available(), reason=CUDA_REASON)),
]


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    """Each test using it runs on the CPU and, where a GPU is present, on CUDA."""
    return request.param


@pytest.fixture(autouse=True)
def _restore_defaults():
    """Tests may change the default dtype/device; put them back afterwards."""
    dtype, device = mg.get_default_dtype(), mg.get_default_device()
    yield
    mg.set_default_dtype(dtype)
    mg.backend._default_device = device


def assert_close(actual, expected, rtol: float = 1e-7, atol: float = 0.0) -> None:
    a = actual.numpy() if isinstance(actual, mg.Tensor) else np.asarray(actual)
    np.testing.assert_allclose(a, np.asarray(expected), rtol=rtol, atol=atol)
