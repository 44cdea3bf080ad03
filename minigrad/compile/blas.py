"""NumPy's own BLAS ``gemm``, callable from generated numba code by symbol name.

numba's ``np.dot`` goes through SciPy's BLAS, checks and allocates on every call, and
takes seconds to compile; a recurrent step multiplies small matrices thousands of times.
The generated loops call ``cblas_?gemm`` of the OpenBLAS that NumPy itself ships (so a
product gives the bits ``numpy.matmul`` gives) through an external symbol, which keeps
numba's disk cache valid across processes (the address is bound at load, not baked in).
"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

__all__ = ["ROW_MAJOR", "NO_TRANS", "TRANS", "gemm_symbols"]

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112  # CBLAS enum values
_NAMES = {"f": "minigrad_cblas_sgemm64", "d": "minigrad_cblas_dgemm64"}
_bound: dict[str, str] | None = None


def _numpy_openblas() -> ctypes.CDLL | None:
    libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs, "libscipy_openblas64_*.so*"))):
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


def gemm_symbols() -> dict[str, str]:
    """``{"f": name, "d": name}`` of the registered ILP64 ``cblas_sgemm``/``cblas_dgemm``
    symbols; empty where NumPy's BLAS does not export them (then loops are not generated)."""
    global _bound
    if _bound is None:
        _bound = {}
        lib = _numpy_openblas()
        if lib is not None:
            import llvmlite.binding as llvm

            for char, name in _NAMES.items():
                fn = getattr(lib, f"scipy_cblas_{'s' if char == 'f' else 'd'}gemm64_", None)
                if fn is not None:
                    llvm.add_symbol(name, ctypes.cast(fn, ctypes.c_void_p).value)
                    _bound[char] = name
    return _bound
