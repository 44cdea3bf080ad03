"""``compile(fn)``: trace once per input signature, replay as one node of the eager graph."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from ..autograd.context import state
from ..backend import array_context
from ..tensor import Tensor
from .fuse import fuse_plan
from .replay import CompiledCall, run_forward
from .trace import Plan, Uncompilable, trace


def _flatten(args: Any, tensors: list[Tensor], key: list) -> Any:
    """The call's structure with every Tensor replaced by its position in ``tensors``;
    ``key`` gets one hashable entry per node of the structure (the signature)."""
    if isinstance(args, Tensor):
        tensors.append(args)
        data = args.data
        key.append((data.shape, data.dtype, type(data), getattr(data, "device", None),
                    args.requires_grad))
        return _Leaf(len(tensors) - 1)
    if isinstance(args, (tuple, list)):
        key.append((type(args), len(args)))
        return type(args)(_flatten(a, tensors, key) for a in args)
    key.append(("v", args))
    return args


class _Leaf(int):
    """A Tensor's position in the flat argument list (distinct from a plain int)."""

    def __repr__(self) -> str:
        return f"<tensor {int(self)}>"


def _rebuild(structure: Any, flat: list) -> Any:
    if type(structure) is _Leaf:
        return flat[structure]
    if isinstance(structure, (tuple, list)):
        return type(structure)(_rebuild(s, flat) for s in structure)
    return structure


class Compiled:
    """A compiled function: call it like the original (Tensors, tuples of Tensors, None
    and hashable Python values as arguments; a Tensor or a tuple of Tensors as result).

    The first call with a new signature (argument structure, and each Tensor's shape,
    dtype, device and whether it needs grad) runs the function eagerly while recording
    it; later calls replay the record. ``plans`` maps signatures to their Plan (None where
    the function could not be compiled and runs eagerly); ``trace_seconds`` says what
    tracing cost."""

    def __init__(self, fn: Callable[..., Any], fuse: bool = True) -> None:
        self.fn = fn
        self.fuse = fuse and os.environ.get("MINIGRAD_FUSE", "1") != "0"
        self.plans: dict[Any, Plan | None] = {}
        self.reasons: dict[Any, str] = {}
        self.trace_seconds = 0.0
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any) -> Any:
        """``fn(*args)``, compiled; eager under ``detect_anomaly``."""
        if state.anomaly:
            return self.fn(*args)
        tensors: list[Tensor] = []
        parts: list = []
        structure = _flatten(args, tensors, parts)
        if not tensors:
            return self.fn(*args)
        grad_on = state.grad_enabled and any(t.requires_grad for t in tensors)
        key = (grad_on, *parts)
        try:
            plan = self.plans[key]
        except KeyError:
            return self._trace(key, structure, tensors, grad_on)
        except TypeError:  # an unhashable argument: nothing to key a plan on
            return self.fn(*args)
        if plan is None:
            return self.fn(*args)
        if not grad_on:
            arrays = tuple(t.data for t in tensors)
            with array_context(arrays[0]):  # CuPy runs kernels on the current device
                _, outs = run_forward(plan, arrays)
            return _wrap_outputs(outs, plan)
        rebuild = functools.partial(_rebuild, structure)
        out = CompiledCall.apply(*tensors, plan=plan, eager=self.fn, rebuild=rebuild)
        return (out,) if plan.as_tuple and plan.n_outputs == 1 else out

    def _trace(self, key: Any, structure: Any, tensors: list[Tensor], grad_on: bool) -> Any:
        import time

        rebuild = functools.partial(_rebuild, structure)
        t0 = time.perf_counter()
        try:
            plan, _ = trace(self.fn, tensors, rebuild, grad_on)
        except Uncompilable as exc:
            self.plans[key] = None
            self.reasons[key] = str(exc)
            return self.fn(*rebuild(tensors))
        finally:
            self.trace_seconds += time.perf_counter() - t0
        if self.fuse:
            fuse_plan(plan, "cpu" if type(tensors[0].data).__module__.startswith("numpy") else "cuda")
        self.plans[key] = plan
        return self.__call__(*rebuild(tensors))


def _wrap_outputs(outs: tuple, plan: Plan) -> Any:
    wrapped = tuple(Tensor._from_array(o) for o in outs)
    return wrapped if plan.as_tuple else wrapped[0]


def compile(fn: Callable[..., Any] | None = None, *, fuse: bool = True) -> Any:  # noqa: A001
    """Compile ``fn`` (a function of Tensors built from minigrad ops) into a replayed plan.

    Usable as a decorator. Each call with a new input signature traces ``fn`` once (its
    forward and, by the primitives' own gradient formulas, its backward); later calls
    replay that trace as one node in the eager graph, with the same numbers as eager.
    ``detect_anomaly``, ``create_graph=True`` and functions the tracer cannot reproduce
    (random masks, tensors that need grad but are not arguments) run eagerly.
    ``fuse=False`` (or ``MINIGRAD_FUSE=0``) replays op by op, without generated kernels.
    Returns a ``Compiled`` (or, called as ``compile(fuse=...)``, a decorator making one)."""
    if fn is None:
        return functools.partial(Compiled, fuse=fuse)
    return Compiled(fn, fuse=fuse)
