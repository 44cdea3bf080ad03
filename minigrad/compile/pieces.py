"""How a step's matrix product is cut so OpenBLAS multiplies it without packing.

OpenBLAS packs both operands of a product into blocks before it multiplies, unless the
product is small (``M*N*K`` at most :func:`blas.small_gemm_limit`, 100**3 on its AVX-512
cores), when it reads them where they lie. A recurrent step multiplies the same
``W_hh`` every step, so packing it again is a quarter to a third of a
``(32, 128) @ (128, 512)``: cut into row-by-column pieces under the limit, the product
runs 10-30% faster (docs/performance.md). Imported only where numba is.
"""

from __future__ import annotations

import numba

__all__ = ["pieces"]


@numba.njit(inline="always", cache=True)
def pieces(m: int, n: int, k: int, limit: int) -> tuple[int, int]:
    """``(rows, columns)`` of the pieces ``C (m, n) = A (m, k) @ B (k, n)`` is cut into,
    each at most ``limit`` multiply-adds (the last row and column pieces may be
    smaller); ``(m, n)``, one piece, where it fits whole, where ``limit`` is 0, or where
    the pieces would be under 512 elements (there packing costs less than they lose).
    Columns halve (to multiples of 16) down to 64; rows are a multiple of 8."""
    if limit == 0 or m * n * k <= limit:
        return max(m, 1), max(n, 1)
    cols = n
    while cols > 64 and 8 * cols * k > limit:
        cols = ((cols + 1) // 2 + 15) // 16 * 16
    rows = limit // (cols * k) // 8 * 8
    if rows * cols < 512:
        return m, n
    return rows, cols
