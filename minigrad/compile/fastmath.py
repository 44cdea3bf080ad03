"""Scalar float32 ``exp``, ``sigmoid`` and ``tanh`` that LLVM vectorizes (for numba kernels).

numba calls libm one element at a time for ``math.exp``/``math.tanh`` (pip's llvmlite
has no SVML), several times slower than NumPy's SIMD loops. These are Cephes' float32
polynomials written as plain arithmetic, so a loop over them becomes AVX code: within
1 ulp of the correctly rounded ``exp`` and ``tanh`` over the whole float32 range
(NumPy's own are within 1-2), ``sigmoid`` within 2. Imported only where numba is.
float64 kernels use ``math`` (libm): float64 is for checking, not speed.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["exp32", "sigmoid32", "sigmoid64", "tanh32"]

_F = np.float32


@intrinsic
def _float_from_bits(typingctx: object, bits: types.Integer) -> tuple:
    """The float32 whose bit pattern is the int32 ``bits`` (an LLVM bitcast)."""
    sig = types.float32(types.int32)

    def codegen(context: object, builder: ir.IRBuilder, signature: object, args: list) -> ir.Value:
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


@numba.njit(inline="always", error_model="numpy", cache=True)
def exp32(x: float) -> float:
    """``e**x`` in float32 (Cephes ``expf``), its argument clamped to ``[-87.33, 88.37]``:
    below, the smallest normal float32 (NumPy gives subnormals); above, 2.5e38 (NumPy
    gives up to 3.4e38, then inf). Sigmoid and tanh never reach either end."""
    x = min(max(x, _F(-87.33)), _F(88.37))
    whole = math.floor(x * _F(1.44269504088896341) + _F(0.5))
    n = np.int32(whole)
    fx = _F(whole)
    r = x - fx * _F(0.693359375) - fx * _F(-2.12194440e-4)
    y = ((((_F(1.9875691500e-4) * r + _F(1.3981999507e-3)) * r + _F(8.3334519073e-3)) * r
          + _F(4.1665795894e-2)) * r + _F(1.6666665459e-1)) * r + _F(5.0000001201e-1)
    y = y * (r * r) + r + _F(1.0)
    return y * _float_from_bits((n + np.int32(127)) << np.int32(23))


@numba.njit(inline="always", error_model="numpy", cache=True)
def sigmoid32(x: float) -> float:
    """``1 / (1 + e**-x)`` in float32."""
    return _F(1.0) / (_F(1.0) + exp32(-x))


@numba.njit(inline="always", error_model="numpy", cache=True)
def tanh32(x: float) -> float:
    """``tanh(x)`` in float32 (Cephes ``tanhf``: an odd polynomial below 0.625,
    ``1 - 2 / (e**2|x| + 1)`` above)."""
    a = abs(x)
    z = x * x
    small = ((((_F(-5.70498872745e-3) * z + _F(2.06390887954e-2)) * z - _F(5.37397155531e-2)) * z
              + _F(1.33314422036e-1)) * z - _F(3.33332819422e-1)) * z * x + x
    big = _F(1.0) - _F(2.0) / (exp32(_F(2.0) * a) + _F(1.0))
    big = big if x >= 0 else -big
    return small if a < _F(0.625) else big


@numba.njit(inline="always", error_model="numpy", cache=True)
def sigmoid64(x: float) -> float:
    """``1 / (1 + e**-x)`` in float64, clamped as the eager op clamps."""
    return 1.0 / (1.0 + math.exp(-max(x, -709.0)))
