"""NumPy or CuPy: the only module that knows which.

A device is ``"cpu"`` (NumPy) or ``"cuda"`` / ``"cuda:N"`` (CuPy, imported lazily).
The device of an array is derived from its type; there is no global backend that ops
consult. Random number generators live here too, one per device, so that
``manual_seed`` makes every device reproducible.
"""

from __future__ import annotations

import contextlib
import os
from types import ModuleType
from typing import Any

import numpy as np

_cupy: ModuleType | None = None
_default_device = "cpu"
_default_dtype: np.dtype = np.dtype(np.float32)
_seed: int | None = None
_generators: dict[str, Any] = {}

CUPY_INSTALL_HINT = (
    "install CuPy for your CUDA version: pip install 'minigrad[cuda12]' (CUDA 12.x) "
    "or pip install 'minigrad[cuda13]' (CUDA 13.x)"
)


def _import_cupy(device: str = "cuda") -> ModuleType:
    """Import CuPy once, with an error that says how to install it."""
    global _cupy
    if _cupy is None:
        try:
            import cupy
        except ImportError as exc:  # the message names the fix
            raise RuntimeError(
                f"device {device!r} was requested but CuPy is not installed; {CUPY_INSTALL_HINT}"
            ) from exc
        _cupy = cupy
    return _cupy


def cuda_is_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    try:
        cp = _import_cupy()
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no CuPy, no driver, no device: all mean "not available"
        return False


def cuda_device_count() -> int:
    """Number of GPUs CuPy can see (0 without CuPy)."""
    try:
        return int(_import_cupy().cuda.runtime.getDeviceCount())
    except Exception:
        return 0


def normalize_device(device: Any) -> str:
    """Canonical device string: ``"cpu"``, ``"cuda"`` (GPU 0) or ``"cuda:N"``."""
    if device is None:
        return _default_device
    name = str(device).strip().lower()
    if name == "cpu":
        return "cpu"
    if name in ("cuda", "cuda:0", "gpu"):
        return "cuda"
    if name.startswith("cuda:") and name[5:].isdigit():
        return name
    raise ValueError(f"unknown device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")


def _cuda_index(device: str) -> int:
    return 0 if device == "cuda" else int(device[5:])


def _require_gpu(device: str) -> ModuleType:
    cp = _import_cupy(device)
    try:
        count = cp.cuda.runtime.getDeviceCount()
    except Exception as exc:
        raise RuntimeError(
            f"device {device!r} was requested and CuPy is installed, but no usable GPU was "
            f"found ({exc}); check the NVIDIA driver, or use device='cpu'"
        ) from exc
    index = _cuda_index(device)
    if index >= count:
        raise RuntimeError(
            f"device {device!r} was requested but only {count} GPU(s) are visible"
        )
    return cp


def get_xp(device: str) -> ModuleType:
    """The array module (numpy or cupy) for a canonical device string."""
    if device == "cpu":
        return np
    return _require_gpu(device)


def xp_of(array: Any) -> ModuleType:
    """The array module an array belongs to."""
    if isinstance(array, np.ndarray | np.generic):
        return np
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return np


def device_of(array: Any) -> str:
    """Device string of an array."""
    if isinstance(array, np.ndarray):
        return "cpu"
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        index = array.device.id
        return "cuda" if index == 0 else f"cuda:{index}"
    return "cpu"


_NO_CONTEXT = contextlib.nullcontext()


def device_context(device: str) -> Any:
    """A context in which CuPy allocates, draws random numbers and runs kernels on
    ``device`` (CuPy works on its *current* device); a no-op for ``"cpu"``."""
    if device == "cpu":
        return _NO_CONTEXT
    return _require_gpu(device).cuda.Device(_cuda_index(device))


def array_context(array: Any) -> Any:
    """``device_context`` of the device ``array`` lives on."""
    if isinstance(array, np.ndarray | np.generic):
        return _NO_CONTEXT
    return array.device


def to_device(array: Any, device: str) -> Any:
    """Copy an array to ``device`` (a no-op when it is already there)."""
    if device == "cpu":
        if isinstance(array, np.ndarray):
            return array
        if _cupy is not None and isinstance(array, _cupy.ndarray):
            return _cupy.asnumpy(array)
        return np.asarray(array)
    cp = _require_gpu(device)
    if isinstance(array, cp.ndarray) and device_of(array) == device:
        return array
    with cp.cuda.Device(_cuda_index(device)):
        return cp.asarray(array)


def is_array(obj: Any) -> bool:
    """True for numpy and cupy arrays."""
    return isinstance(obj, np.ndarray) or (_cupy is not None and isinstance(obj, _cupy.ndarray))


# ---------------------------------------------------------------- defaults
def set_default_device(device: str) -> None:
    """Device used by creation functions when none is given (also ``MINIGRAD_DEVICE``)."""
    global _default_device
    canonical = normalize_device(device)
    if canonical != "cpu":
        _require_gpu(canonical)
    _default_device = canonical


def get_default_device() -> str:
    """The device creation functions use when none is given."""
    return _default_device


def set_default_dtype(dtype: Any) -> None:
    """Float dtype for float input and new parameters: float32 (default) or float64."""
    global _default_dtype
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dt}")
    _default_dtype = dt


def get_default_dtype() -> np.dtype:
    """The float dtype for float input and new parameters."""
    return _default_dtype


# ---------------------------------------------------------------- randomness
def manual_seed(seed: int) -> None:
    """Seed the generators of every device (parameter init, dropout, randn)."""
    global _seed
    _seed = int(seed)
    _generators.clear()


def generator(device: str) -> Any:
    """The random generator of ``device`` (numpy or cupy ``Generator``)."""
    gen = _generators.get(device)
    if gen is None:
        xp = get_xp(device)
        seed = _seed if _seed is None else _seed + (0 if device == "cpu" else 1 + _cuda_index(device))
        if xp is np:
            gen = np.random.default_rng(seed)
        else:
            with xp.cuda.Device(_cuda_index(device)):
                gen = xp.random.default_rng(seed)
        _generators[device] = gen
    return gen


def _init_from_env() -> None:
    env = os.environ.get("MINIGRAD_DEVICE")
    if env:
        global _default_device
        _default_device = normalize_device(env)


_init_from_env()
