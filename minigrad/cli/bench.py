"""Training-step benchmark of the recurrent layers (``minigrad bench``).

One step = forward over the sequence, mean-square loss, backward. minigrad and PyTorch
(when importable) are timed in the same process, interleaved, with the same thread
count, and the ratio reported is the median of per-pair ratios, so machine noise hits
both alike. Peak memory is measured for each framework in its own subprocess.
``benchmarks/bench_rnn.py`` runs the full table; ``minigrad bench`` a quick one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

CONFIGS = [(32, 50, 64, 128), (64, 100, 128, 256), (16, 200, 32, 64), (128, 35, 512, 512)]
QUICK_CONFIGS = [(32, 50, 64, 128)]
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def set_threads(n: int) -> None:
    """Pin BLAS (and PyTorch) to ``n`` threads, before numpy does any work."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:
        pass


def step_flops(cell: str, b: int, t: int, i: int, h: int) -> float:
    """Matmul FLOPs of one training step: forward 2*T*B*G*H*(I+H), backward twice that."""
    return 3 * 2 * t * b * GATES[cell] * h * (i + h)


def matmul_rate(repeat: int = 10) -> float:
    """NumPy float32 matmul rate in GFLOP/s on this machine now (best of ``repeat``
    1024^3 products: the ceiling, so noise can only lower it)."""
    a = np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(repeat))
    return 2 * 1024**3 / best / 1e9


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def make_minigrad_step(cell: str, b: int, t: int, i: int, h: int,
                       device: str = "cpu") -> Callable[[], None]:
    """A function running one minigrad training step of ``cell`` at ``(B, T, I, H)``."""
    import minigrad as mg

    mg.manual_seed(0)
    layer = {"rnn": mg.nn.RNN, "lstm": mg.nn.LSTM, "gru": mg.nn.GRU}[cell](i, h).to(device)
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((t, b, i)).astype(np.float32), device=device)
    target = mg.tensor(rng.standard_normal((t, b, h)).astype(np.float32), device=device)

    def step() -> None:
        layer.zero_grad()
        out, _ = layer(x)
        diff = out - target
        (diff * diff).mean().backward()
        if device != "cpu":
            import cupy

            cupy.cuda.Device().synchronize()

    return step


def make_torch_step(cell: str, b: int, t: int, i: int, h: int,
                    device: str = "cpu") -> Callable[[], None]:
    """A function running one PyTorch training step of ``cell`` at ``(B, T, I, H)``."""
    import torch

    torch.manual_seed(0)
    layer = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](i, h).to(device)
    x = torch.randn(t, b, i, device=device)
    target = torch.randn(t, b, h, device=device)

    def step() -> None:
        layer.zero_grad(set_to_none=True)
        out, _ = layer(x)
        ((out - target) ** 2).mean().backward()
        if device != "cpu":
            torch.cuda.synchronize()

    return step


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _step_peak_kib(step: Any) -> int:
    """Peak resident memory a call of ``step`` adds: reset the kernel's high-water mark
    to the current RSS (Linux ``clear_refs``), run it, read the new mark."""
    base = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    step()
    return _status_kib("VmHWM") - base


def _peak_memory_child(framework: str, cell: str, config: list[int], threads: int) -> None:
    """Peak extra memory of the first step (allocator and BLAS start-up included) and
    of the second (steady state, where freed memory is reused)."""
    set_threads(threads)
    make = make_minigrad_step if framework == "minigrad" else make_torch_step
    step = make(cell, *config)
    first = _step_peak_kib(step)
    second = _step_peak_kib(step)
    print(json.dumps({"first_kib": first, "second_kib": second}))


def peak_memory_mib(framework: str, cell: str, config: tuple[int, ...],
                    threads: int) -> tuple[float, float] | None:
    """(first step, second step) peak extra resident memory in MiB, measured in a fresh
    subprocess so that the frameworks do not share allocators."""
    code = (
        "from minigrad.cli.bench import _peak_memory_child as c; "
        f"c({framework!r}, {cell!r}, {list(config)!r}, {threads})"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_package_root(), env.get("PYTHONPATH")]))
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env=env, timeout=600)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
        return None
    values = json.loads(out.stdout.strip().splitlines()[-1])
    return values["first_kib"] / 1024, values["second_kib"] / 1024


def _package_root() -> str:
    """The folder that holds the ``minigrad`` package (so a subprocess imports this copy)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(cells: list[str], configs: list[tuple[int, ...]], repeat: int, threads: int,
        memory: bool, device: str = "cpu") -> list[dict[str, Any]]:
    """Time every (cell, config); print one table row each and return the rows."""
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        torch = None
    rate = matmul_rate()
    print(f"threads={threads}  numpy float32 matmul rate: {rate:.1f} GFLOP/s  "
          f"torch: {torch.__version__ if torch else 'not installed'}  device: {device}")
    cols = f"{'cell':<5}{'(B, T, I, H)':<22}{'minigrad ms':>12}{'GFLOP/s':>9}{'of mm':>7}"
    if torch is not None:
        cols += f"{'torch ms':>10}{'mg/torch':>10}"
    if memory:
        cols += f"{'mg MiB':>10}" + (f"{'torch MiB':>11}" if torch is not None else "")
    print(cols)
    print("-" * len(cols))
    rows = []
    for cell in cells:
        for config in configs:
            mg_step = make_minigrad_step(cell, *config, device=device)
            t_step = make_torch_step(cell, *config, device=device) if torch is not None else None
            mg_step()
            if t_step:
                t_step()
            mg_times, t_times, ratios = [], [], []
            for _ in range(repeat):
                a = _timed(mg_step)
                mg_times.append(a)
                if t_step:
                    b = _timed(t_step)
                    t_times.append(b)
                    ratios.append(a / b)
            mg_ms = statistics.median(mg_times) * 1e3
            gflops = step_flops(cell, *config) / (mg_ms / 1e3) / 1e9
            row = {"cell": cell, "config": config, "minigrad_ms": mg_ms, "gflops": gflops,
                   "fraction_of_matmul": gflops / rate}
            line = f"{cell:<5}{str(config):<22}{mg_ms:>12.1f}{gflops:>9.1f}{gflops / rate:>7.0%}"
            if t_step:
                row["torch_ms"] = statistics.median(t_times) * 1e3
                row["ratio"] = statistics.median(ratios)
                line += f"{row['torch_ms']:>10.1f}{row['ratio']:>10.2f}"
            if memory:
                row["minigrad_mib"] = peak_memory_mib("minigrad", cell, config, threads)
                line += f"{_fmt(row['minigrad_mib']):>10}"
                if torch is not None:
                    row["torch_mib"] = peak_memory_mib("torch", cell, config, threads)
                    line += f"{_fmt(row['torch_mib']):>11}"
            print(line, flush=True)
            rows.append(row)
    late = matmul_rate()
    if late > rate * 1.05:
        print(f"note: the matmul rate measured after the table was {late:.1f} GFLOP/s; the "
              f"'of mm' column used {rate:.1f} (divide it by {late / rate:.2f} for the higher one)")
    return rows


def _fmt(v: tuple[float, float] | None) -> str:
    return "n/a" if v is None else f"{v[0]:.0f}/{v[1]:.0f}"


def bench_command(argv: list[str] | None = None, full: bool = False) -> int:
    """``minigrad bench``: time training steps; ``--full`` runs every configuration."""
    parser = argparse.ArgumentParser(prog="minigrad bench", description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default="rnn,lstm,gru", help="comma-separated: rnn,lstm,gru")
    parser.add_argument("--full", action="store_true", default=full,
                        help="all four (B, T, I, H) configurations, not just the small one")
    parser.add_argument("--config", type=int, nargs=4, metavar=("B", "T", "I", "H"),
                        help="one custom configuration")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory", action="store_true",
                        help="also measure peak memory (MiB, first step / second step)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    configs = [tuple(args.config)] if args.config else (CONFIGS if args.full else QUICK_CONFIGS)
    run(args.cells.split(","), configs, args.repeat, args.threads, args.memory, args.device)
    return 0


if __name__ == "__main__":
    raise SystemExit(bench_command())
