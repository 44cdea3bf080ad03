"""Starting a script under ``mpirun -n N`` from a test: bounded in time, never hanging.

The launcher is looked for next to the running Python first (the Open MPI wheel that
``make setup`` installs puts ``mpirun`` in the virtual environment's ``bin``), then on
``PATH``. Open MPI needs ``--allow-run-as-root`` as root and ``--oversubscribe`` to run
more ranks than free cores; its byte transports are limited to shared memory and
self, so the tests never touch the network.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKERS = HERE / "workers"
ROOT = HERE.parents[1]


@functools.cache
def launcher() -> tuple[list[str] | None, str]:
    """``(argv prefix for N ranks without -n, "")`` or ``(None, why MPI is unusable)``."""
    if importlib.util.find_spec("mpi4py") is None:
        return None, ("mpi4py is not installed (pip install 'minigrad[mpi]'; make setup tries "
                      "it and the distributed tests skip where it cannot be installed)")
    found = None
    for name in ("mpirun", "mpiexec"):
        beside = Path(sys.executable).parent / name
        found = str(beside) if beside.exists() else shutil.which(name)
        if found:
            break
    if not found:
        return None, "no MPI launcher (mpirun or mpiexec) next to Python or on PATH"
    try:
        version = subprocess.run([found, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{found} --version failed: {exc}"
    argv = [found]
    if "Open MPI" in version or "OpenRTE" in version:
        # yield_when_idle: a rank waiting in a collective sleeps instead of spinning on a
        # core the other rank (or another job on this shared machine) needs.
        argv += ["--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,sm",
                 "--mca", "mpi_yield_when_idle", "1"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            argv.append("--allow-run-as-root")
    return argv, ""


def env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The children's environment: one BLAS thread each (2 cores, shared), CPU only."""
    out = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        out[var] = "1"
    out.pop("MINIGRAD_DEVICE", None)
    out["MPLBACKEND"] = "Agg"
    out.update(extra or {})
    return out


def mpirun(script: Path, *args: str, n: int = 2, timeout: float = 120.0,
           cwd: Path | None = None, extra_env: dict[str, str] | None = None,
           ) -> subprocess.CompletedProcess[str]:
    """Run ``python script args...`` on ``n`` ranks; kill the whole job after ``timeout``."""
    prefix, why = launcher()
    if prefix is None:
        raise RuntimeError(why)
    cmd = [*prefix, "-n", str(n), sys.executable, str(script), *args]
    proc = subprocess.Popen(cmd, cwd=cwd or ROOT, env=env(extra_env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        os.killpg(proc.pid, signal.SIGKILL)  # mpirun and every rank it started
        out, err = proc.communicate()
        raise AssertionError(f"{' '.join(cmd)} did not finish within {timeout} s (a hang)\n"
                             f"--- stdout ---\n{out[-3000:]}\n--- stderr ---\n{err[-3000:]}") from exc
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def describe(proc: subprocess.CompletedProcess[str]) -> str:
    return (f"{' '.join(map(str, proc.args))} exited {proc.returncode}\n--- stdout ---\n"
            f"{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-3000:]}")
