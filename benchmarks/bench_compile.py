"""Compiled against eager recurrent step functions, one pinned core, one thread.

    python benchmarks/bench_compile.py
    python benchmarks/bench_compile.py --cells lstm --config 16 200 32 64

Wraps the step functions of ``minigrad/nn/_recurrent_steps.py`` with ``mg.compile`` and
runs one training step (input projection, the loop over time, mean-square loss,
backward) with the eager and the compiled step, interleaved; prints the median times,
the median of per-pair ratios and the first-call (trace) cost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad.nn._recurrent_steps import NUM_GATES, STEPS  # noqa: E402

CONFIGS = [(32, 50, 64, 128), (64, 100, 128, 256), (16, 200, 32, 64), (128, 35, 512, 512)]
MODES = {"rnn": "rnn_tanh", "lstm": "lstm", "gru": "gru"}


def make_step(cell: str, b: int, t: int, i: int, h: int, step: object) -> object:
    """One training step over the sequence with ``step`` as the cell's step function."""
    mode = MODES[cell]
    g = NUM_GATES[mode]
    rng = np.random.default_rng(0)
    s = 1 / np.sqrt(h)
    w_ih = mg.tensor(rng.uniform(-s, s, (g * h, i)).astype(np.float32), requires_grad=True)
    w_hh = mg.tensor(rng.uniform(-s, s, (g * h, h)).astype(np.float32), requires_grad=True)
    bias = mg.tensor(rng.uniform(-s, s, (g * h,)).astype(np.float32), requires_grad=True)
    b_hn = mg.tensor(rng.uniform(-s, s, (h,)).astype(np.float32), requires_grad=True)
    x = mg.tensor(rng.standard_normal((t, b, i)).astype(np.float32))
    target = mg.tensor(rng.standard_normal((t, b, h)).astype(np.float32))
    zeros = mg.zeros(b, h)

    def train_step() -> None:
        for p in (w_ih, w_hh, bias, b_hn):
            p.grad = None
        gi = mg.nn.functional.linear(x.reshape(t * b, i), w_ih, bias)
        gi_steps = mg.split(gi, b, axis=0)  # as the layers do: one split op
        w_hh_t = w_hh.T
        state = (zeros, zeros) if mode == "lstm" else (zeros,)
        outs = []
        for k in range(t):
            state = step(gi_steps[k], state, w_hh_t, b_hn if mode == "gru" else None)
            outs.append(state[0])
        diff = mg.stack(outs) - target
        (diff * diff).mean().backward()

    return train_step


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
            step_fn = STEPS[MODES[cell]]
            compiled = mg.compile(step_fn)
            eager_step = make_step(cell, *config, step_fn)
            comp_step = make_step(cell, *config, compiled)
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
                  f"{compiled.trace_seconds * 1e3:>10.1f}", flush=True)
            del first


if __name__ == "__main__":
    main()
