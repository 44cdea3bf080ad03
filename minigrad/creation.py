"""Creation functions: ``tensor``, ``zeros``, ``ones``, ``full``, ``arange``, ``randn`` ..."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import backend
from .tensor import Tensor, _to_array


def _finish(array: Any, requires_grad: bool) -> Tensor:
    t = Tensor._from_array(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _shape(size: Sequence[Any]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], tuple | list):
        size = size[0]
    return tuple(int(n) for n in size)


def _float_dtype(dtype: Any) -> np.dtype:
    return backend.get_default_dtype() if dtype is None else np.dtype(dtype)


def _device(device: str | None) -> str:
    return backend.normalize_device(device)


def tensor(data: Any, dtype: Any = None, device: str | None = None,
           requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (scalar, nested list, numpy/cupy array or
    Tensor). Float input gets the default dtype (float32), int and bool input keep theirs."""
    source = data.data if isinstance(data, Tensor) else data
    # a Tensor or a device array keeps its device (PyTorch's rule); host data goes to the default
    keep = backend.is_array(source) and not isinstance(source, np.ndarray)
    array = _to_array(source, dtype, device, keep_device=keep)
    if array is source or (isinstance(array, np.ndarray) and isinstance(source, np.ndarray)
                           and np.shares_memory(array, source)):
        with backend.array_context(array):
            array = array.copy()
    return _finish(array, requires_grad)


def zeros(*size: Any, dtype: Any = None, device: str | None = None,
          requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of shape ``size``."""
    dev = _device(device)
    with backend.device_context(dev):
        array = backend.get_xp(dev).zeros(_shape(size), dtype=_float_dtype(dtype))
    return _finish(array, requires_grad)


def ones(*size: Any, dtype: Any = None, device: str | None = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ones of shape ``size``."""
    dev = _device(device)
    with backend.device_context(dev):
        array = backend.get_xp(dev).ones(_shape(size), dtype=_float_dtype(dtype))
    return _finish(array, requires_grad)


def full(size: Sequence[int], fill_value: Any, dtype: Any = None, device: str | None = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value``."""
    if dtype is None:
        dtype = np.asarray(fill_value).dtype
        if dtype.kind == "f":
            dtype = backend.get_default_dtype()
    dev = _device(device)
    with backend.device_context(dev):
        array = backend.get_xp(dev).full(_shape((size,)), fill_value, dtype=dtype)
    return _finish(array, requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           device: str | None = None, requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in ``[start, end)`` (int64 for int arguments)."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, int | np.integer) for v in (start, end, step))
        dtype = np.int64 if is_int else backend.get_default_dtype()
    dev = _device(device)
    with backend.device_context(dev):
        array = backend.get_xp(dev).arange(start, end, step, dtype=dtype)
    return _finish(array, requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, device: str | None = None,
               requires_grad: bool = False) -> Tensor:
    """Zeros with ``t``'s shape (and its dtype and device unless given)."""
    return zeros(t.shape, dtype=dtype or t.dtype, device=device or t.device,
                 requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, device: str | None = None,
              requires_grad: bool = False) -> Tensor:
    """Ones with ``t``'s shape (and its dtype and device unless given)."""
    return ones(t.shape, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)


def randn(*size: Any, dtype: Any = None, device: str | None = None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the device's generator (see ``manual_seed``)."""
    dev = _device(device)
    with backend.device_context(dev):
        array = backend.generator(dev).standard_normal(_shape(size), dtype=_float_dtype(dtype))
    return _finish(array, requires_grad)


def rand(*size: Any, dtype: Any = None, device: str | None = None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from the device's generator."""
    dev = _device(device)
    with backend.device_context(dev):
        array = backend.generator(dev).random(_shape(size), dtype=_float_dtype(dtype))
    return _finish(array, requires_grad)


def randint(low: int, high: int, size: Sequence[int], device: str | None = None) -> Tensor:
    """Random int64 values in ``[low, high)``."""
    dev = _device(device)
    with backend.device_context(dev):
        array = backend.generator(dev).integers(low, high, size=_shape((size,)), dtype=np.int64)
    return _finish(array, False)
