"""A step's product whole against cut into pieces OpenBLAS multiplies without packing.

    python benchmarks/bench_pieces.py            # pinned to core 1, one thread

The generated loop over time (``minigrad.compile.loopgen``) calls NumPy's own OpenBLAS
``cblas_sgemm`` once per product, or, through ``_mm``, once per piece of at most
``blas.small_gemm_limit()`` multiply-adds (``pieces.py``). This times both from numba, as
the loop calls them (best of 7 runs of many calls), for the recurrent layers' per-step
products, and prints the pieces and the ratio. Needs numba (the ``jit`` extra).
"""

from __future__ import annotations

import argparse
import os
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numba  # noqa: E402
import numpy as np  # noqa: E402
from numba import types  # noqa: E402

from minigrad.compile.blas import gemm_symbols, small_gemm_limit  # noqa: E402
from minigrad.compile.pieces import pieces  # noqa: E402

_gemm = types.ExternalFunction(gemm_symbols()["f"], types.void(
    types.int32, types.int32, types.int32, types.int64, types.int64, types.int64,
    types.float32, types.intp, types.int64, types.intp, types.int64, types.float32,
    types.intp, types.int64))

# (M, K, N) of the step products of LSTM/GRU at the benchmark's sizes: h @ W_hh, and
# dgates @ W_hh^T in the backward
SHAPES = [(32, 128, 512), (32, 512, 128), (32, 128, 384), (32, 384, 128), (16, 64, 256),
          (64, 256, 1024), (64, 1024, 256), (128, 512, 2048), (128, 2048, 512)]


@numba.njit
def _run(a: np.ndarray, b: np.ndarray, c: np.ndarray, reps: int, limit: int) -> None:
    m, k = a.shape
    n = b.shape[1]
    rows, cols = pieces(m, n, k, limit)
    for _ in range(reps):
        for i in range(0, m, rows):
            for j in range(0, n, cols):
                _gemm(101, 111, 111, min(rows, m - i), min(cols, n - j), k, np.float32(1.0),
                      a.ctypes.data + i * k * 4, k, b.ctypes.data + j * 4, n, np.float32(0.0),
                      c.ctypes.data + (i * n + j) * 4, n)


def main() -> None:
    """Print whole and cut times of each product."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pin", type=int, default=1, metavar="CORE")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.pin % os.cpu_count()})
    limit = small_gemm_limit()
    print(f"OpenBLAS small-matrix limit here: {limit} (0: no small kernels, one call)")
    rng = np.random.default_rng(0)
    print(f"{'(M, K) @ (K, N)':28s} {'whole us':>9s} {'pieces':>10s} {'cut us':>8s} {'ratio':>6s}")
    for m, k, n in SHAPES:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        c = np.empty((m, n), np.float32)
        reps = max(20, int(3e8 / (m * k * n)))

        def best(lim: int, a=a, b=b, c=c, reps=reps) -> float:
            _run(a, b, c, 5, lim)
            times = []
            for _ in range(7):
                t0 = time.perf_counter()
                _run(a, b, c, reps, lim)
                times.append((time.perf_counter() - t0) / reps)
            return min(times) * 1e6

        whole, cut = best(0), best(limit)
        rows, cols = pieces.py_func(m, n, k, limit)
        shown = "whole" if (rows, cols) == (m, n) else f"{rows} x {cols}"
        print(f"({m}, {k}) @ ({k}, {n}){'':{max(0, 28 - len(f'({m}, {k}) @ ({k}, {n})'))}s}"
              f" {whole:9.1f} {shown:>10s} {cut:8.1f} {cut / whole:6.2f}")


if __name__ == "__main__":
    main()
