"""``Linear`` on a 3-D input ``(T, B, H)``: the word_language_model decoder (200 -> 18,328).

    python benchmarks/bench_linear_fold.py            # pinned to one core, one thread

Times forward + backward of ``Linear(200, 18328)`` on ``(35, 20, 200)`` and on the same
input reshaped to ``(700, 200)`` (interleaved, median), and their peak traced memory
(``tracemalloc``, which sees NumPy's allocations). Since the matmul folds the leading
axes of an N-D input times a 2-D weight, forward and backward, the two should agree.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import minigrad as mg  # noqa: E402


def main() -> None:
    """Print time and peak memory of the 3-D and the reshaped 2-D call."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=4, default=(35, 20, 200, 18328),
                        metavar=("T", "B", "IN", "OUT"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--core", type=int, default=1)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core % os.cpu_count()})
    t, b, n_in, n_out = args.shape
    mg.manual_seed(0)
    lin = mg.nn.Linear(n_in, n_out)
    x3 = mg.randn(t, b, n_in)
    x2 = x3.reshape(t * b, n_in)

    def step(x: mg.Tensor) -> None:
        lin.zero_grad()
        lin(x).sum().backward()

    times: dict[str, list[float]] = {"3-D (T, B, H)": [], "2-D (T*B, H)": []}
    peaks = {}
    for name, x in (("3-D (T, B, H)", x3), ("2-D (T*B, H)", x2)):
        step(x)
        tracemalloc.start()
        step(x)
        peaks[name] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    for _ in range(args.repeat):
        for name, x in (("3-D (T, B, H)", x3), ("2-D (T*B, H)", x2)):
            t0 = time.perf_counter()
            step(x)
            times[name].append(time.perf_counter() - t0)
    print(f"Linear({n_in}, {n_out}) on ({t}, {b}, {n_in}); one thread, core {args.core}")
    print(f"{'input':<16}{'ms':>10}{'peak MiB':>10}")
    for name, ts in times.items():
        print(f"{name:<16}{statistics.median(ts) * 1e3:>10.1f}{peaks[name]:>10.0f}")


if __name__ == "__main__":
    main()
