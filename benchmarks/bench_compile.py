"""Compiled against eager recurrent step functions, one pinned core, one thread.

    python benchmarks/bench_compile.py
    python benchmarks/bench_compile.py --cells lstm --config 16 200 32 64

Runs one training step of a layer (input projection, the loop over time, mean-square
loss, backward) eager and with ``layer.compile()`` (the cell's step through ``mg.compile``),
interleaved; prints the median times, the median of per-pair ratios and the trace cost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"


from minigrad.cli.bench import make_minigrad_step  # noqa: E402
from minigrad.nn import recurrent  # noqa: E402

CONFIGS = [(32, 50, 64, 128), (64, 100, 128, 256), (16, 200, 32, 64), (128, 35, 512, 512)]


def main() -> None:
    """Print the eager / compiled table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default="rnn,lstm,gru")
    parser.add_argument("--config", type=int, nargs=4, metavar=("B", "T", "I", "H"))
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--core", type=int, default=1)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core % os.cpu_count()})
    configs = [tuple(args.config)] if args.config else CONFIGS
    print(f"one thread, core {args.core}; ms per training step, median of {args.repeat} pairs")
    print(f"{'cell':<6}{'(B, T, I, H)':<22}{'eager':>9}{'compiled':>10}{'ratio':>8}{'trace ms':>10}")
    for cell in args.cells.split(","):
        for config in configs:
            recurrent._COMPILED.clear()
            eager_step = make_minigrad_step(cell, *config)
            comp_step = make_minigrad_step(cell, *config, compiled=True)
            eager_step()
            t0 = time.perf_counter()
            comp_step()
            first = (time.perf_counter() - t0) * 1e3
            te, tc, ratios = [], [], []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                eager_step()
                t1 = time.perf_counter()
                comp_step()
                t2 = time.perf_counter()
                te.append(t1 - t0)
                tc.append(t2 - t1)
                ratios.append((t2 - t1) / (t1 - t0))
            print(f"{cell:<6}{str(config):<22}{statistics.median(te) * 1e3:>9.1f}"
                  f"{statistics.median(tc) * 1e3:>10.1f}{statistics.median(ratios):>8.2f}"
                  f"{sum(c.trace_seconds for c in recurrent._COMPILED.values()) * 1e3:>10.1f}",
                  flush=True)
            del first


if __name__ == "__main__":
    main()
