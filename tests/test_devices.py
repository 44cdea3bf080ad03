"""The NumPy/CuPy switch. Every test runs on "cpu" and, where a GPU is present, "cuda"."""

from __future__ import annotations

import subprocess
import sys

import cupy_standin
import numpy as np
import pytest

import minigrad as mg
from minigrad import backend


def test_creation_lands_on_the_device(device: str) -> None:
    for t in (mg.zeros(2, 3, device=device), mg.ones((2,), device=device),
              mg.randn(4, device=device), mg.rand(2, 2, device=device),
              mg.arange(5, device=device), mg.full((2,), 1.5, device=device),
              mg.tensor([1.0, 2.0], device=device)):
        assert t.device == device
    assert mg.zeros(1, device=device).dtype == np.float32


def test_ops_and_backward_stay_on_device(device: str) -> None:
    x = mg.randn(3, 4, device=device, requires_grad=True)
    w = mg.randn(4, 2, device=device, requires_grad=True)
    y = (x @ w).tanh().softmax(-1)[mg.tensor([0, 0, 2], device=device)].sum()
    y.backward()
    assert x.grad.device == device and w.grad.device == device
    assert isinstance(y.numpy(), np.ndarray)


def test_to_round_trip_is_differentiable(device: str) -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(device)
    assert y.device == device
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    assert x.to("cpu") is x


def test_manual_seed_reproduces_randn(device: str) -> None:
    mg.manual_seed(7)
    a = mg.randn(5, device=device).numpy()
    mg.manual_seed(7)
    b = mg.randn(5, device=device).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, mg.randn(5, device=device).numpy())


@pytest.mark.skipif(not mg.cuda.is_available(), reason="needs CuPy and a CUDA GPU to mix devices")
def test_mixing_devices_names_both() -> None:
    a = mg.ones(2)
    b = mg.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match=r"cpu.*cuda"):
        a + b


def test_mixing_devices_error_without_gpu() -> None:
    """The same check, exercised on any machine with a stand-in array type."""

    class FakeGpuArray(np.ndarray):
        pass

    a = mg.ones(2)
    b = mg.Tensor._from_array(np.ones(2).view(FakeGpuArray))
    with pytest.raises(RuntimeError, match="same device"):
        a * b


@pytest.mark.skipif(cupy_standin.real_cupy_gpu(), reason="a GPU is present, so 'cuda' succeeds here")
def test_cuda_without_gpu_or_cupy_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)  # hide the stand-in: "no CuPy"
    monkeypatch.setattr(backend, "_cupy", None)
    with pytest.raises(RuntimeError, match=r"(CuPy is not installed.*cuda12|no usable GPU)"):
        mg.zeros(2, device="cuda")
    with pytest.raises(RuntimeError):
        mg.tensor([1.0]).cuda()
    assert mg.cuda.is_available() is False


def test_unknown_device_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        mg.zeros(1, device="tpu")


def test_default_device_from_environment() -> None:
    code = "import minigrad as mg; print(mg.get_default_device())"
    env = {"MINIGRAD_DEVICE": "cpu", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "cpu"


def test_set_default_device_and_dtype() -> None:
    mg.set_default_device("cpu")
    mg.set_default_dtype(np.float64)
    assert mg.zeros(1).dtype == np.float64
    assert mg.tensor([1.5]).dtype == np.float64
    with pytest.raises(TypeError, match="floating"):
        mg.set_default_dtype(np.int32)


def test_backend_xp_of() -> None:
    assert backend.xp_of(np.zeros(1)) is np
    assert backend.device_of(np.zeros(1)) == "cpu"
