"""NumPy's own BLAS ``gemm``, callable from generated numba code by symbol name.

numba's ``np.dot`` goes through SciPy's BLAS, checks and allocates on every call, and
takes seconds to compile; a recurrent step multiplies small matrices thousands of times.
The generated loops call ``cblas_?gemm`` of the OpenBLAS that NumPy itself ships through
an external symbol, which keeps numba's disk cache valid across processes (the address is
bound at load, not baked in). A step's product may be cut into pieces OpenBLAS runs with
its small-matrix kernels (``small_gemm_limit``, pieces.py): each element is still one dot
product over the whole inner axis, its last bits those of another kernel.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os

import numpy as np

__all__ = ["ROW_MAJOR", "NO_TRANS", "TRANS", "gemm_symbols", "small_gemm_limit"]

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112  # CBLAS enum values
_NAMES = {"f": "minigrad_cblas_sgemm64", "d": "minigrad_cblas_dgemm64"}
_bound: dict[str, str] | None = None
# OpenBLAS's AVX-512 cores multiply without packing while M*N*K <= 100**3 (their
# ``?gemm_small_kernel_permit``); other cores have no such path worth cutting for
_SMALL_KERNEL_CORES = {"skylakex", "cooperlake", "sapphirerapids"}
_SMALL_KERNEL_LIMIT = 100 ** 3


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


@functools.cache
def small_gemm_limit() -> int:
    """The largest ``M*N*K`` that NumPy's OpenBLAS multiplies with its small-matrix
    kernels, which read the operands where they lie instead of packing them first;
    0 where its core has none (or the BLAS is not OpenBLAS).

    A recurrent step multiplies the same ``W_hh`` every step, and packing it costs a
    quarter to a third of a ``(32, 128) @ (128, 512)`` product; cut into pieces under
    this limit, the product runs 10-30% faster (docs/performance.md)."""
    lib = _numpy_openblas()
    fn = getattr(lib, "scipy_openblas_get_corename64_", None) if lib is not None else None
    if fn is None:
        return 0
    fn.restype = ctypes.c_char_p
    core = (fn() or b"").decode(errors="replace").lower()
    return _SMALL_KERNEL_LIMIT if core in _SMALL_KERNEL_CORES else 0
