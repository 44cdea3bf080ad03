"""Per-op overhead: forward + backward of tiny tensors, minigrad vs raw NumPy vs PyTorch.

    python benchmarks/bench_ops.py            # PyTorch is timed too when importable

Prints microseconds per (forward + backward) and the ratio minigrad / PyTorch measured
in the same run. Tiny tensors make the framework's own Python cost the whole cost.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

import minigrad as mg

try:
    import torch
except ImportError:  # the comparison is optional
    torch = None


def _time(fn: Callable[[], object], repeat: int, number: int) -> float:
    """Median seconds per call over ``repeat`` batches of ``number`` calls."""
    fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
    return statistics.median(samples)


def cases():  # noqa: ANN201
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((4, 4)).astype(np.float32)
    b_np = rng.standard_normal((4, 4)).astype(np.float32)
    a = mg.tensor(a_np, requires_grad=True)
    b = mg.tensor(b_np, requires_grad=True)
    yield "add", lambda: (a + b).sum().backward(), lambda: np.add(a_np, b_np).sum(), \
        (lambda ta, tb: (ta + tb).sum().backward())
    yield "mul", lambda: (a * b).sum().backward(), lambda: np.multiply(a_np, b_np).sum(), \
        (lambda ta, tb: (ta * tb).sum().backward())
    yield "matmul", lambda: (a @ b).sum().backward(), lambda: (a_np @ b_np).sum(), \
        (lambda ta, tb: (ta @ tb).sum().backward())
    yield "tanh", lambda: a.tanh().sum().backward(), lambda: np.tanh(a_np).sum(), \
        (lambda ta, tb: ta.tanh().sum().backward())
    yield "sigmoid", lambda: a.sigmoid().sum().backward(), \
        lambda: (1 / (1 + np.exp(-a_np))).sum(), (lambda ta, tb: ta.sigmoid().sum().backward())
    yield "getitem", lambda: a[1:3].sum().backward(), lambda: a_np[1:3].sum(), \
        (lambda ta, tb: ta[1:3].sum().backward())
    yield "softmax", lambda: a.softmax(-1).sum().backward(), \
        lambda: np.exp(a_np).sum(), (lambda ta, tb: ta.softmax(-1).sum().backward())
    yield "scalar_mul", lambda: (a * 2.0).sum().backward(), lambda: (a_np * 2.0).sum(), \
        (lambda ta, tb: (ta * 2.0).sum().backward())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if torch is not None:
        torch.set_num_threads(args.threads)
        ta = torch.randn(4, 4, requires_grad=True)
        tb = torch.randn(4, 4, requires_grad=True)
    print(f"per-op cost, forward+backward of a 4x4 op and its sum (us); cpu={os.cpu_count()}")
    header = f"{'op':<12}{'minigrad':>10}{'numpy fwd':>11}{'pytorch':>10}{'mg/torch':>10}"
    print(header)
    print("-" * len(header))
    ratios = []
    for name, mg_fn, np_fn, torch_fn in cases():
        t_mg = _time(mg_fn, args.repeat, args.number)
        t_np = _time(np_fn, args.repeat, args.number)
        line = f"{name:<12}{t_mg * 1e6:>10.1f}{t_np * 1e6:>11.1f}"
        if torch is not None:
            t_t = _time(functools.partial(torch_fn, ta, tb), args.repeat, args.number)
            ratios.append(t_mg / t_t)
            line += f"{t_t * 1e6:>10.1f}{t_mg / t_t:>10.2f}"
        print(line)
    if ratios:
        print(f"geometric mean minigrad/PyTorch: {statistics.geometric_mean(ratios):.2f}")


if __name__ == "__main__":
    main()
