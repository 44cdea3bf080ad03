"""Training-step benchmark of the recurrent layers (``minigrad bench``).

One step = forward over the sequence, mean-square loss, backward. minigrad (eager, and
with ``--compiled`` its step functions wrapped in ``mg.compile``), PyTorch and JAX
(``jit`` + ``lax.scan``), each when importable (optional peers, never dependencies), are
timed in the same process, interleaved, with the same thread count; ratios are medians
of per-round ratios, so machine noise hits all alike. ``--pin CORE`` runs everything on
one core with one thread (the fair measure on a shared machine). Peak memory is measured
for each framework in its own subprocess. ``benchmarks/bench_rnn.py`` runs the full
table; ``minigrad bench`` a quick one.
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
    if n == 1:  # XLA's CPU client: no intra-op thread pool
        os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                           "intra_op_parallelism_threads=1")
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
                       device: str = "cpu", compiled: bool = False) -> Callable[[], None]:
    """A function running one minigrad training step of ``cell`` at ``(B, T, I, H)``
    (with the cell's step compiled when ``compiled``)."""
    import minigrad as mg

    mg.manual_seed(0)
    layer = {"rnn": mg.nn.RNN, "lstm": mg.nn.LSTM, "gru": mg.nn.GRU}[cell](i, h).to(device)
    layer.compile(compiled)
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


def pin_to_core(core: int) -> int:
    """Run this process (and the threads it starts later) on one CPU core; returns it."""
    if not hasattr(os, "sched_setaffinity"):
        raise RuntimeError("--pin needs os.sched_setaffinity (Linux)")
    core = core % os.cpu_count()
    os.sched_setaffinity(0, {core})
    return core


def make_compiled_step(cell: str, b: int, t: int, i: int, h: int,
                       device: str = "cpu") -> Callable[[], None]:
    """``make_minigrad_step`` with the layer's cell step compiled (``layer.compile()``)."""
    return make_minigrad_step(cell, b, t, i, h, device, compiled=True)


def jax_available() -> bool:
    """Whether JAX imports (an optional peer: ``pip install jax``)."""
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def make_jax_step(cell: str, b: int, t: int, i: int, h: int,
                  device: str = "cpu") -> Callable[[], None]:
    """One JAX training step (``jit`` of ``value_and_grad`` over a ``lax.scan``), PyTorch's
    cell equations and gate order, float32."""
    import jax
    import jax.numpy as jnp

    g = GATES[cell]
    rng = np.random.default_rng(0)
    s = 1 / np.sqrt(h)
    params = {k: jnp.asarray(rng.uniform(-s, s, shape).astype(np.float32)) for k, shape in
              (("w_ih", (g * h, i)), ("w_hh", (g * h, h)), ("b_ih", (g * h,)), ("b_hh", (g * h,)))}
    x = jnp.asarray(rng.standard_normal((t, b, i)).astype(np.float32))
    target = jnp.asarray(rng.standard_normal((t, b, h)).astype(np.float32))

    def loss(p: dict, x: Any, target: Any) -> Any:
        gi = x @ p["w_ih"].T + p["b_ih"]
        h0 = jnp.zeros((b, h), jnp.float32)

        def step(carry: Any, gi_t: Any) -> Any:
            if cell == "lstm":
                hh, c = carry
                ig, fg, gg, og = jnp.split(gi_t + hh @ p["w_hh"].T + p["b_hh"], 4, axis=-1)
                c = jax.nn.sigmoid(fg) * c + jax.nn.sigmoid(ig) * jnp.tanh(gg)
                hh = jax.nn.sigmoid(og) * jnp.tanh(c)
                return (hh, c), hh
            if cell == "gru":
                gh = carry @ p["w_hh"].T + p["b_hh"]
                r, z = jnp.split(jax.nn.sigmoid(gi_t[:, :2 * h] + gh[:, :2 * h]), 2, axis=-1)
                n = jnp.tanh(gi_t[:, 2 * h:] + r * gh[:, 2 * h:])
                hh = n + z * (carry - n)
                return hh, hh
            hh = jnp.tanh(gi_t + carry @ p["w_hh"].T + p["b_hh"])
            return hh, hh

        carry = (h0, h0) if cell == "lstm" else h0
        _, out = jax.lax.scan(step, carry, gi)
        return jnp.mean((out - target) ** 2)

    grad_fn = jax.jit(jax.value_and_grad(loss))

    def run_step() -> None:
        value, grads = grad_fn(params, x, target)
        jax.block_until_ready(grads)

    return run_step


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


MAKERS = {"minigrad": make_minigrad_step, "compiled": make_compiled_step,
          "torch": make_torch_step, "jax": make_jax_step}
LABELS = {"minigrad": "minigrad", "compiled": "mg.compile", "torch": "PyTorch", "jax": "JAX"}


def _peak_memory_child(framework: str, cell: str, config: list[int], threads: int,
                       core: int | None = None) -> None:
    """Peak extra memory of the first step (allocator and BLAS start-up included) and
    of the second (steady state, where freed memory is reused)."""
    set_threads(threads)
    if core is not None:
        pin_to_core(core)
    make = MAKERS[framework]
    step = make(cell, *config)
    first = _step_peak_kib(step)
    second = _step_peak_kib(step)
    print(json.dumps({"first_kib": first, "second_kib": second}))


def peak_memory_mib(framework: str, cell: str, config: tuple[int, ...],
                    threads: int, core: int | None = None) -> tuple[float, float] | None:
    """(first step, second step) peak extra resident memory in MiB, measured in a fresh
    subprocess so that the frameworks do not share allocators."""
    code = (
        "from minigrad.cli.bench import _peak_memory_child as c; "
        f"c({framework!r}, {cell!r}, {list(config)!r}, {threads}, {core!r})"
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


class _Worker:
    """One framework's training step in a process of its own (``--processes``), pinned
    and threaded like this one; ``step()`` runs one step there and returns its seconds.

    Sharing a process, the frameworks share an allocator and caches: each step starts
    in the memory state the other frameworks' steps left, which at the large sizes
    slowed minigrad's steps by a fifth. Separate processes, still run in turn (one
    step each per round), keep the comparison interleaved without that coupling."""

    def __init__(self, framework: str, cell: str, config: tuple[int, ...], threads: int,
                 core: int | None, device: str) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_package_root(), env.get("PYTHONPATH")]))
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from minigrad.cli.bench import _worker_main; _worker_main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self._send({"framework": framework, "cell": cell, "config": list(config),
                    "threads": threads, "core": core, "device": device})
        self.first_s = float(self._read())  # the first step: traces, compiles, jit

    def _send(self, message: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def _read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"bench worker exited with status {self.proc.wait()}")
        return line

    def step(self) -> float:
        self._send("step")
        return float(self._read())

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def _worker_main() -> None:
    """The worker side of ``_Worker``: build the step, run the first, then one per line."""
    spec = json.loads(sys.stdin.readline())
    set_threads(spec["threads"])
    if spec["core"] is not None:
        pin_to_core(spec["core"])
    step = MAKERS[spec["framework"]](spec["cell"], *spec["config"], device=spec["device"])
    print(_timed(step), flush=True)
    for _line in sys.stdin:
        print(_timed(step), flush=True)


def _package_root() -> str:
    """The folder that holds the ``minigrad`` package (so a subprocess imports this copy)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(cells: list[str], configs: list[tuple[int, ...]], repeat: int, threads: int,
        memory: bool, device: str = "cpu", compiled: bool = False, core: int | None = None,
        peers: tuple[str, ...] = ("torch", "jax"), processes: bool = False) -> list[dict[str, Any]]:
    """Time every (cell, config); print one table row each and return the rows.

    Columns: ms per step of each framework (medians), then ``x/best``: the median over
    rounds of minigrad's time (compiled when ``compiled``) over the fastest peer's.
    ``processes``: each framework steps in a process of its own (``_Worker``)."""
    torch = None
    if "torch" in peers:
        try:
            import torch

            torch.set_num_threads(threads)
            torch.set_num_interop_threads(threads)
        except (ImportError, RuntimeError):
            pass
    have_jax = "jax" in peers and device == "cpu" and jax_available()
    frameworks = ["minigrad"] + (["compiled"] if compiled else [])
    others = (["torch"] if torch is not None else []) + (["jax"] if have_jax else [])
    rate = matmul_rate()
    where = f"pinned to core {core}" if core is not None else "not pinned"
    where += ", one process per framework" if processes else ", all in this process"
    print(f"threads={threads} ({where})  numpy float32 matmul rate: {rate:.1f} GFLOP/s  "
          f"torch: {torch.__version__ if torch else 'not installed'}  "
          f"jax: {_jax_version() if have_jax else 'not installed'}  device: {device}")
    cols = f"{'cell':<5}{'(B, T, I, H)':<22}"
    cols += "".join(f"{LABELS[f] + ' ms':>15}" for f in frameworks + others)
    cols += f"{'GFLOP/s':>9}{'of mm':>7}"
    if others:
        cols += f"{'x/best':>8}"
    if memory:
        cols += "".join(f"{LABELS[f] + ' MiB':>16}" for f in frameworks + others)
    print(cols)
    print("-" * len(cols))
    rows = []
    for cell in cells:
        for config in configs:
            workers: list[_Worker] = []
            if processes:
                workers = [_Worker(f, cell, config, threads, core, device)
                           for f in frameworks + others]
                steps = {f: w.step for f, w in zip(frameworks + others, workers)}
                first_compiled_s = workers[frameworks.index("compiled")].first_s if compiled else 0.0
            else:
                steps = {f: MAKERS[f](cell, *config, device=device) for f in frameworks + others}
                t0 = time.perf_counter()
                for f in frameworks + others:
                    if f == "compiled":
                        t0 = time.perf_counter()
                    steps[f]()  # warm up (traces, kernel compiles, jit)
                    if f == "compiled":
                        first_compiled_s = time.perf_counter() - t0
            times: dict[str, list[float]] = {f: [] for f in steps}
            ratios = []
            for _ in range(repeat):
                for f, step in steps.items():
                    times[f].append(step() if processes else _timed(step))
                if others:
                    mine = times[frameworks[-1]][-1]
                    ratios.append(mine / min(times[o][-1] for o in others))
            for w in workers:
                w.close()
            ms = {f: statistics.median(v) * 1e3 for f, v in times.items()}
            best_mg = ms[frameworks[-1]]
            gflops = step_flops(cell, *config) / (best_mg / 1e3) / 1e9
            row: dict[str, Any] = {"cell": cell, "config": config, "gflops": gflops,
                                   "fraction_of_matmul": gflops / rate}
            row.update({f"{f}_ms": v for f, v in ms.items()})
            line = f"{cell:<5}{str(config):<22}" + "".join(f"{ms[f]:>15.1f}" for f in steps)
            line += f"{gflops:>9.1f}{gflops / rate:>7.0%}"
            if others:
                row["ratio"] = statistics.median(ratios)
                line += f"{row['ratio']:>8.2f}"
            if compiled:
                from minigrad.nn.recurrent import _COMPILED

                fns = _COMPILED.values()
                row["compiled_first_call_s"] = first_compiled_s
                row["trace_s"] = sum(fn.trace_seconds for fn in fns)
            if memory:
                for f in steps:
                    row[f"{f}_mib"] = peak_memory_mib(f, cell, config, threads, core)
                    line += f"{_fmt(row[f'{f}_mib']):>16}"
            print(line, flush=True)
            rows.append(row)
    if compiled:
        from minigrad.compile import fuse

        print("mg.compile: first compiled step (trace + kernel compile or disk-cache load) "
              + ", ".join(f"{r['cell']} {r['config']}: {r['compiled_first_call_s'] * 1e3:.0f} ms"
                          for r in rows)
              + f"; kernel compile/load in this process: {fuse.compile_seconds * 1e3:.0f} ms")
    late = matmul_rate()
    if late > rate * 1.05:
        print(f"note: the matmul rate measured after the table was {late:.1f} GFLOP/s; the "
              f"'of mm' column used {rate:.1f} (divide it by {late / rate:.2f} for the higher one)")
    return rows


def _jax_version() -> str:
    import jax

    return jax.__version__


def _fmt(v: tuple[float, float] | None) -> str:
    return "n/a" if v is None else f"{v[0]:.0f}/{v[1]:.0f}"


def _blas_threads_settable(threads: int) -> bool:
    """Whether this process's BLAS can run ``threads`` threads: it read the environment
    when NumPy loaded, so only threadpoolctl can change it afterwards."""
    if os.environ.get("OPENBLAS_NUM_THREADS") == str(threads):
        return True
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        return False
    return True


def _respawn(argv: list[str], threads: int) -> int:
    """Run the benchmark in a fresh process whose BLAS starts with ``threads`` threads.

    Pinned to one core, a BLAS with two threads spins against itself and small matmuls
    get 20-50x slower, so a pinned run in this process would measure that, not minigrad."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_package_root(), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "minigrad.cli.bench", *argv], env=env).returncode


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
    parser.add_argument("--pin", type=int, metavar="CORE", default=None,
                        help="run on this one core with one thread (taskset-style; Linux)")
    parser.add_argument("--compiled", action="store_true",
                        help="also time minigrad with its step functions in mg.compile")
    parser.add_argument("--peers", default="torch,jax",
                        help="comma-separated peers to time when importable: torch,jax")
    parser.add_argument("--processes", action="store_true",
                        help="each framework steps in a process of its own, in turn "
                             "(no shared allocator or caches); default: all in this one")
    args = parser.parse_args(argv)
    if args.pin is not None:
        args.threads = 1
        if not _blas_threads_settable(args.threads):
            return _respawn(list(sys.argv[1:] if argv is None else argv), args.threads)
    set_threads(args.threads)
    core = pin_to_core(args.pin) if args.pin is not None else None
    configs = [tuple(args.config)] if args.config else (CONFIGS if args.full else QUICK_CONFIGS)
    run(args.cells.split(","), configs, args.repeat, args.threads, args.memory, args.device,
        compiled=args.compiled, core=core, peers=tuple(p for p in args.peers.split(",") if p),
        processes=args.processes)
    return 0


if __name__ == "__main__":
    raise SystemExit(bench_command())
