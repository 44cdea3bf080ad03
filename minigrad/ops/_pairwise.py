"""Sums over leading axes that keep pairwise-summation accuracy in low precision.

NumPy sums pairwise only along the axis that is contiguous in memory; over a leading
axis (a bias gradient: ``(T*B, H) -> (H,)``) it adds row after row, and the float32 error
grows like ``N * eps``. Adding the two halves of the rows, then the halves of the
result, ... costs the same number of additions and grows like ``log2(N) * eps``
(here after summing blocks of 8 rows directly, which keeps one pass over the data).
"""

from __future__ import annotations

from typing import Any

# below this many rows the naive sum is as accurate as it needs to be
_MIN_ROWS = 16
_BLOCK = 8


def sum_leading(a: Any, count: int) -> Any:
    """Sum the array ``a`` over its first ``count`` axes, pairwise when it is a float
    array of less than 64 bits with many rows; other arrays use the array's own sum."""
    if count == 0:
        return a
    rows = 1
    for n in a.shape[:count]:
        rows *= n
    if a.dtype.kind != "f" or a.dtype.itemsize >= 8 or rows < _MIN_ROWS:
        return a.sum(axis=tuple(range(count)))
    x = a.reshape((rows,) + a.shape[count:])
    # blocks of _BLOCK rows summed row after row (error ~ _BLOCK * eps, one pass over the
    # data, no large buffer), then the block sums halved pairwise (~ log2 blocks * eps)
    blocks = rows // _BLOCK
    work = x[:blocks * _BLOCK].reshape((blocks, _BLOCK) + x.shape[1:]).sum(axis=1)
    if rows % _BLOCK:
        work[0] += x[blocks * _BLOCK:].sum(axis=0)
    n = blocks
    while n > 1:
        half = n // 2
        work[:half] += work[half:2 * half]
        if n % 2:
            work[0] += work[n - 1]
        n = half
    return work[0].copy()  # an array of its own, not a view into the work buffer
