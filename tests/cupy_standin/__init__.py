"""A strict CPU stand-in for CuPy, so the ``cuda`` path of minigrad runs in CI.

It is test infrastructure, not a backend users select: ``install()`` puts modules named
``cupy`` and ``cupyx`` into ``sys.modules`` (tests/conftest.py does so only when real
CuPy with a GPU is absent), after which ``device="cuda"`` and ``"cuda:1"`` run on two
simulated GPUs. See ``_core`` for what it models and how it is stricter than CuPy.

Subprocesses (the examples) get it with ``python -m tests.cupy_standin.run SCRIPT ARGS``.
"""

from __future__ import annotations

import math
import sys
import types
from typing import Any

import numpy as np

from . import _core
from ._core import COUNTERS, DEVICE_COUNT, Counters

__all__ = ["COUNTERS", "DEVICE_COUNT", "Counters", "install", "installed", "real_cupy_gpu",
           "uninstall"]

_saved: dict[str, Any] = {}


class _Namespace(types.ModuleType):
    """A module whose missing names are numpy's, turned into device kernels."""

    def __init__(self, name: str, numpy_ns: Any) -> None:
        super().__init__(name)
        self._numpy_ns = numpy_ns

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in _core.NOT_IN_CUPY:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        obj = getattr(self._numpy_ns, name)
        if isinstance(obj, types.ModuleType):
            obj = _Namespace(f"{self.__name__}.{name}", obj)
        elif callable(obj) and not isinstance(obj, type):
            obj = _core.kernel(obj, f"{self.__name__}.{name}")
        setattr(self, name, obj)
        return obj


def _build() -> tuple[types.ModuleType, types.ModuleType]:
    cupy = _Namespace("cupy", np)
    cupy.__version__ = "13.0.0+minigrad-standin"
    cupy.__file__ = _core.__file__
    cupy.STANDIN = True
    for name in ("ndarray", "asarray", "array", "asnumpy", "get_array_module", "ElementwiseKernel"):
        setattr(cupy, name, getattr(_core, name))
    cupy.is_available = lambda: True

    cuda = types.ModuleType("cupy.cuda")
    cuda.Device = _core.Device
    cuda.runtime = _core.runtime
    cuda.is_available = lambda: True
    cupy.cuda = cuda

    random = types.ModuleType("cupy.random")
    random.default_rng = _core.default_rng
    random.Generator = _core.Generator
    cupy.random = random

    cupyx = types.ModuleType("cupyx")
    cupyx.__path__ = []  # a package, so that ``from cupyx.scipy.special import erf`` works
    cupyx.scatter_add = _core.scatter_add
    cupyx.STANDIN = True
    cupyx.scipy = types.ModuleType("cupyx.scipy")
    cupyx.scipy.__path__ = []
    cupyx.scipy.special = types.ModuleType("cupyx.scipy.special")
    cupyx.scipy.special.erf = _core.kernel(_erf, "cupyx.scipy.special.erf")
    return cupy, cupyx


def _erf(x: np.ndarray) -> np.ndarray:
    """``cupyx.scipy.special.erf`` on the host (NumPy has no erf): same dtype out."""
    return np.vectorize(math.erf, otypes=[x.dtype])(x)


def real_cupy_gpu() -> bool:
    """True when a real CuPy imports and sees a GPU (then the stand-in is not used)."""
    if installed():
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no CuPy, no driver, no device
        return False


def installed() -> bool:
    return getattr(sys.modules.get("cupy"), "STANDIN", False)


def install() -> None:
    """Make ``import cupy`` / ``import cupyx`` give the stand-in (and tell minigrad)."""
    if installed():
        return
    cupy, cupyx = _build()
    modules = {"cupy": cupy, "cupyx": cupyx, "cupy.cuda": cupy.cuda, "cupy.random": cupy.random,
               "cupyx.scipy": cupyx.scipy, "cupyx.scipy.special": cupyx.scipy.special}
    for name in modules:
        _saved[name] = sys.modules.get(name)
    sys.modules.update(modules)
    _reset_minigrad()


def uninstall() -> None:
    """Put back whatever ``cupy`` was before ``install()``."""
    for name, module in _saved.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module
    _saved.clear()
    _reset_minigrad()


def _reset_minigrad() -> None:
    backend = sys.modules.get("minigrad.backend")
    if backend is not None:
        backend._cupy = None
        backend._generators.clear()
