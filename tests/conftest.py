"""Shared test helpers: the device parameter and float64 tolerances.

Without real CuPy and a GPU, the strict CuPy stand-in (tests/cupy_standin) is installed
before any test runs, so every ``device``-parametrized test also runs on ``cuda``.
"""

from __future__ import annotations

import cupy_standin
import pytest

import minigrad as mg

REAL_GPU = cupy_standin.real_cupy_gpu()
if not REAL_GPU:
    cupy_standin.install()

CUDA_REASON = "needs CuPy and a CUDA GPU (pip install 'minigrad[cuda12]'); none found here"
DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not mg.cuda.is_available(), reason=CUDA_REASON)),
]


def pytest_report_header(config: pytest.Config) -> str:
    return "cuda: real CuPy GPU" if REAL_GPU else "cuda: strict CuPy stand-in (tests/cupy_standin)"


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
