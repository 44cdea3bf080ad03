"""Fusion: runs of elementwise primitives in a tape become one generated kernel.

A group is a run of consecutive elementwise steps (``Add Sub Mul Div Neg Exp Log Tanh
Sigmoid``) whose outputs all have the group's shape; their inputs may broadcast to it.
Values used only inside the group never reach memory; the others are written to fresh
arrays (never to buffers reused across calls: the engine and the user may hold them).

The kernel is the same expression written once as text and compiled by a backend:
``cpu`` with numba (``minigrad[jit]``; kernels are cached on disk, so a second process
starts fast), ``cuda`` with a CuPy ``ElementwiseKernel``. Without the backend the tape
runs op by op, with the same numbers up to float rounding.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .trace import Step

# How each elementwise primitive reads as an expression of its operands, per backend.
_CPU = {
    "Add": "({0} + {1})", "Sub": "({0} - {1})", "Mul": "({0} * {1})", "Div": "({0} / {1})",
    "Neg": "(-{0})", "Exp": "math.exp({0})", "Log": "math.log({0})", "Tanh": "math.tanh({0})",
    "Sigmoid": "_sigmoid({0})",
}
_CUDA = {
    "Add": "({0} + {1})", "Sub": "({0} - {1})", "Mul": "({0} * {1})", "Div": "({0} / {1})",
    "Neg": "(-{0})", "Exp": "exp({0})", "Log": "log({0})", "Tanh": "tanh({0})",
    "Sigmoid": "(1 / (1 + exp(-max({0}, {lo}))))",
}
_EXP_SAFE = {"e": -11.0, "f": -88.0, "d": -709.0}

compile_seconds = 0.0  # time spent compiling kernels in this process (numba / CuPy)


@dataclass
class Group:
    """One fused kernel: reads ``ins`` slots, writes ``outs`` slots of shape ``shape``."""
    steps: list[Step]
    ins: tuple[int, ...]
    outs: tuple[int, ...]
    shape: tuple[int, ...]
    dtype: Any
    kernel: Any = None

    @property
    def ops(self) -> list[str]:
        """The fused primitives' names, in order."""
        return [type(s.fn).__name__ for s in self.steps]


# NumPy evaluates these with SIMD code (AVX-512 here) several times faster than the
# scalar libm calls numba makes without SVML, so on the CPU they stay NumPy calls.
_CPU_UNFUSED = {"Exp", "Log", "Tanh", "Sigmoid"}


def is_elementwise(step: Step, device: str = "cpu") -> bool:
    """Whether a step can join a fused group on ``device``."""
    name = type(step.fn).__name__
    return name in _CPU and not step.multi and not (device == "cpu" and name in _CPU_UNFUSED)


def group_tape(tape: list[Step], shapes: dict[int, tuple], dtypes: dict[int, Any],
               needed_outside: set[int], device: str = "cpu") -> list[Step | Group]:
    """Replace each run of at least two elementwise steps of one shape and dtype by a Group.

    ``shapes``/``dtypes``: each slot's, from the trace; ``needed_outside``: slots that must
    be materialized whatever the tape does (outputs, values the backward keeps)."""
    runs: list[list[Step]] = []
    for step in tape:
        out = step.outs[0]
        if is_elementwise(step, device) and runs and is_elementwise(runs[-1][0], device) \
                and shapes[runs[-1][0].outs[0]] == shapes[out] \
                and dtypes[runs[-1][0].outs[0]] == dtypes[out]:
            runs[-1].append(step)
        else:
            runs.append([step])
    readers: dict[int, set[int]] = {}
    for k, run in enumerate(runs):
        for step in run:
            for i in step.ins:
                readers.setdefault(i, set()).add(k)
    result: list[Step | Group] = []
    for k, run in enumerate(runs):
        if len(run) < 2 or not is_elementwise(run[0], device):
            result.extend(run)
            continue
        made = {s.outs[0] for s in run}
        ins: list[int] = []
        for s in run:
            for i in s.ins:
                if i not in made and i not in ins:
                    ins.append(i)
        outs = tuple(o for o in (s.outs[0] for s in run)
                     if o in needed_outside or readers.get(o, set()) - {k})
        if not outs:  # nothing reads what the run computes
            continue
        shape = shapes[run[0].outs[0]]
        result.append(Group(run, tuple(ins), outs, shape, dtypes[run[0].outs[0]]))
    return result


def _index(in_shape: tuple, shape: tuple) -> str:
    """The subscript reading an operand of ``in_shape`` broadcast to ``shape``."""
    if not in_shape:
        return "[0]"
    lead = len(shape) - len(in_shape)
    parts = [f"i{lead + d}" if n != 1 else "0" for d, n in enumerate(in_shape)]
    return "[" + ", ".join(parts) + "]"


def _expressions(group: Group, table: dict, names: dict[int, str], lo: float) -> list[str]:
    lines = []
    for s in group.steps:
        args = [names[i] for i in s.ins]
        expr = table[type(s.fn).__name__].format(*args, lo=lo)
        name = f"t{s.outs[0]}"
        names[s.outs[0]] = name
        lines.append(f"{name} = {expr}")
    return lines


def cpu_source(group: Group, shapes: dict[int, tuple]) -> str:
    """Python source of a numba kernel ``k(inputs..., outputs...)`` for ``group``."""
    shape = group.shape or (1,)
    rank = len(shape)
    names = {i: f"a{n}" for n, i in enumerate(group.ins)}
    lo = _EXP_SAFE.get(np.dtype(group.dtype).char, -80.0)
    params = [f"x{n}" for n in range(len(group.ins))] + [f"y{n}" for n in range(len(group.outs))]
    body = [f"def k({', '.join(params)}):"]
    indent = "    "
    for d in range(rank):
        body.append(f"{indent}for i{d} in range(y0.shape[{d}]):")
        indent += "    "
    for n, i in enumerate(group.ins):
        body.append(f"{indent}a{n} = x{n}{_index(shapes[i] if group.shape else (), shape)}")
    body += [indent + line for line in _expressions(group, _CPU, names, lo)]
    for n, o in enumerate(group.outs):
        body.append(f"{indent}y{n}[{', '.join(f'i{d}' for d in range(rank))}] = {names[o]}")
    head = (
        "import math\n\nimport numba\n\n\n"
        "@numba.njit(cache=True)\n"
        "def _sigmoid(a):\n"
        f"    return 1 / (1 + math.exp(-max(a, {lo})))\n\n\n"
        "@numba.njit(cache=True)\n"
    )
    return head + "\n".join(body) + "\n"


def kernel_dir() -> Path:
    """Where generated kernels and numba's cache live (``MINIGRAD_CACHE`` or ~/.cache)."""
    root = os.environ.get("MINIGRAD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "minigrad")
    path = Path(root) / "kernels"
    path.mkdir(parents=True, exist_ok=True)
    return path


def numba_available() -> bool:
    """Whether numba can be imported (the ``minigrad[jit]`` extra)."""
    return importlib.util.find_spec("numba") is not None


def build_cpu(source: str) -> Any:
    """Load (compiling on first use, then from numba's disk cache) the kernel in ``source``."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:16]
    name = f"minigrad_kernel_{digest}"
    module = sys.modules.get(name)
    if module is None:
        path = kernel_dir() / f"{name}.py"
        if not path.exists():
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(source)
            os.replace(tmp, path)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return module.k


def cuda_source(group: Group, shapes: dict[int, tuple]) -> tuple[str, str, str]:
    """(in_params, out_params, operation) of a CuPy ElementwiseKernel for ``group``
    (CuPy broadcasts the operands itself)."""
    names = {i: f"x{n}" for n, i in enumerate(group.ins)}
    lo = _EXP_SAFE.get(np.dtype(group.dtype).char, -80.0)
    lines = _expressions(group, _CUDA, names, lo)
    ctype = {"f": "float", "d": "double", "e": "float16"}[np.dtype(group.dtype).char]
    body = "".join(f"{ctype} {line};\n" for line in lines)
    body += "".join(f"y{n} = {names[o]};\n" for n, o in enumerate(group.outs))
    in_params = ", ".join(f"T{n} x{n}" for n in range(len(group.ins)))
    out_params = ", ".join(f"{ctype} y{n}" for n in range(len(group.outs)))
    return in_params, out_params, body


class FusedKernel:
    """A Group compiled for one device kind; called as ``kernel(*inputs) -> outputs``."""

    def __init__(self, group: Group, shapes: dict[int, tuple], device: str) -> None:
        global compile_seconds
        self.group = group
        self.device = device
        self.n_out = len(group.outs)
        t0 = time.perf_counter()
        if device == "cpu":
            self.source = cpu_source(group, shapes)
            self.fn = build_cpu(self.source)
        else:
            import cupy

            in_params, out_params, body = cuda_source(group, shapes)
            self.source = body
            self.fn = cupy.ElementwiseKernel(in_params, out_params, body, "minigrad_fused")
        self.compile_pending = device == "cpu"  # numba compiles (or loads) at first call
        compile_seconds += time.perf_counter() - t0

    def __call__(self, *inputs: Any) -> tuple:
        """Fresh output arrays computed from ``inputs``."""
        group = self.group
        if self.device != "cpu":
            outs = self.fn(*inputs)
            return outs if type(outs) is tuple else (outs,)
        shape = group.shape or (1,)
        outs = tuple(np.empty(shape, group.dtype) for _ in range(self.n_out))
        args = [a if a.ndim else a.reshape(1) for a in inputs]
        if self.compile_pending:
            global compile_seconds
            t0 = time.perf_counter()
            self.fn(*args, *outs)
            compile_seconds += time.perf_counter() - t0
            self.compile_pending = False
        else:
            self.fn(*args, *outs)
        return outs if group.shape else tuple(o.reshape(()) for o in outs)


def kernel_for(group: Group, shapes: dict[int, tuple], device: str) -> FusedKernel | None:
    """The group's kernel for ``device`` (``cpu`` or ``cuda``), built once; None where the
    backend is missing (no numba; a CuPy without ElementwiseKernel), so the steps run."""
    kernels = group.kernel if group.kernel is not None else {}
    group.kernel = kernels
    if device not in kernels:
        if device == "cpu":
            ok = numba_available()
        else:
            import cupy

            ok = hasattr(cupy, "ElementwiseKernel")
        kernels[device] = FusedKernel(group, shapes, device) if ok else None
    return kernels[device]


def fuse_plan(plan: Any, device: str = "cpu") -> None:
    """Group the plan's forward and backward tapes (``plan.forward_run``/``backward_run``)
    for ``device`` (``cpu`` or ``cuda``)."""
    keep = set(plan.keep) | set(plan.out_slots)
    keep |= {i for s in plan.backward for i in s.ins}
    plan.forward_run = group_tape(plan.forward, plan.shapes, plan.dtypes, keep, device)
    grads = {g for g in plan.grad_slots if g is not None}
    plan.backward_run = group_tape(plan.backward, plan.shapes, plan.dtypes, grads, device)
