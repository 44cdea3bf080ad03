"""Time one LSTM training step (forward, MSE loss, backward) in minigrad and PyTorch.

    python benchmarks/bench_lstm_step.py            # B=64, T=100, I=128, H=256, float32
    python benchmarks/bench_lstm_step.py --batch 8 --steps 20 --repeat 3

PyTorch is timed in the same run when it is importable (``torch.set_num_threads(2)``),
and the ratio minigrad / PyTorch is printed. Each number is the best of ``--repeat``
timed steps after one warm-up step (the least disturbed by other load, as ``timeit``
does); the median is printed beside it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import minigrad as mg
from minigrad.nn import functional as F


def _seconds(step: Callable[[], None], repeat: int) -> tuple[float, float]:
    """(best, median) seconds of ``repeat`` calls after a warm-up call."""
    step()  # warm-up: allocations, BLAS thread start-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def time_minigrad(x: np.ndarray, target: np.ndarray, hidden: int, repeat: int) -> tuple[float, float]:
    """Seconds for one forward + MSE + backward of ``mg.nn.LSTM`` (float32)."""
    mg.manual_seed(0)
    lstm = mg.nn.LSTM(x.shape[2], hidden)
    xt, yt = mg.tensor(x), mg.tensor(target)

    def step() -> None:
        lstm.zero_grad()
        out, _ = lstm(xt)
        F.mse_loss(out, yt).backward()

    return _seconds(step, repeat)


def time_torch(x: np.ndarray, target: np.ndarray, hidden: int, repeat: int) -> tuple[float, float] | None:
    """The same step in PyTorch on 2 CPU threads, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(x.shape[2], hidden)
    xt, yt = torch.from_numpy(x), torch.from_numpy(target)

    def step() -> None:
        lstm.zero_grad()
        out, _ = lstm(xt)
        torch.nn.functional.mse_loss(out, yt).backward()

    return _seconds(step, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100, help="sequence length T")
    parser.add_argument("--input", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.steps, args.batch, args.input)).astype(np.float32)
    target = rng.standard_normal((args.steps, args.batch, args.hidden)).astype(np.float32)
    print(
        f"LSTM training step (forward + MSE + backward), float32, B={args.batch} "
        f"T={args.steps} I={args.input} H={args.hidden}"
    )
    ours = time_minigrad(x, target, args.hidden, args.repeat)
    print(f"minigrad: {ours[0] * 1e3:9.1f} ms  (median {ours[1] * 1e3:.1f} ms)")
    theirs = time_torch(x, target, args.hidden, args.repeat)
    if theirs is None:
        print("pytorch : not installed")
        return
    print(f"pytorch : {theirs[0] * 1e3:9.1f} ms  (median {theirs[1] * 1e3:.1f} ms, 2 threads)")
    print(f"ratio minigrad / pytorch: {ours[0] / theirs[0]:.2f}x")


if __name__ == "__main__":
    main()
