"""Tracing: run a function of Tensors once, eagerly, and record every primitive it calls.

The forward is recorded as it runs; the backward is recorded by running the engine with
``create_graph=True`` on the traced outputs, which evaluates every primitive's own
gradient formula in Tensor ops, so the backward is a graph of the same primitives. The
result is a ``Plan``: two tapes of ``(Function, input slots, output slots)`` over one
numbered set of values (the inputs, the output-gradient seeds, constants, results).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..autograd.context import enable_grad
from ..autograd.function import Function
from ..autograd.grad import grad as autograd_grad
from ..backend import array_context
from ..tensor import Tensor

_LOCK = threading.Lock()  # tracing patches Function.apply: one trace at a time


class Uncompilable(Exception):
    """The traced function does something replay cannot reproduce (the caller runs it
    eagerly instead): a data-dependent constant, a closure tensor that needs grad, an op
    whose attributes hold arrays, or an output that is not a Tensor."""


@dataclass
class Step:
    """One recorded primitive: ``fn.forward`` on ``ins`` slots writes ``outs`` slots."""
    fn: Function
    ins: tuple[int, ...]
    outs: tuple[int, ...]
    multi: bool  # forward returns a tuple


@dataclass
class Plan:
    """What replay runs. Slots ``0 .. n_inputs-1`` are the inputs, the next ``n_outputs``
    the output-gradient seeds; ``constants`` fills a few more once."""
    n_inputs: int
    n_outputs: int
    n_slots: int
    constants: dict[int, Any]
    forward: list[Step]
    out_slots: tuple[int, ...]
    backward: list[Step] = field(default_factory=list)
    grad_slots: tuple[int | None, ...] = ()  # one per input (None: no gradient)
    keep: tuple[int, ...] = ()  # forward slots the backward reads
    as_tuple: bool = True  # the function returned a tuple (even of one Tensor)
    shapes: dict[int, tuple] = field(default_factory=dict)  # every slot's, from the trace
    dtypes: dict[int, Any] = field(default_factory=dict)
    forward_run: list = field(default_factory=list)  # the tapes with fused groups (fuse.py)
    backward_run: list = field(default_factory=list)

    @property
    def n_ops(self) -> int:
        """How many primitives the forward and backward tapes hold together."""
        return len(self.forward) + len(self.backward)


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Function | None, tuple[Tensor, ...], Any, type]] = []

    def __enter__(self) -> _Recorder:
        _LOCK.acquire()
        self.original = Function.__dict__["apply"]
        original = self.original.__func__
        calls = self.calls
        me = threading.get_ident()

        def recording_apply(cls: type, *inputs: Tensor, **attrs: Any) -> Any:
            out = original(cls, *inputs, **attrs)
            if threading.get_ident() == me:  # other threads' ops are not this trace's
                first = out[0] if type(out) is tuple else out
                calls.append((first.grad_fn, inputs, out, cls, attrs))
            return out

        Function.apply = classmethod(recording_apply)
        return self

    def __exit__(self, *exc: Any) -> None:
        Function.apply = self.original
        _LOCK.release()


def _key(t: Tensor) -> tuple:
    # A saved output read back in backward (Function.output()) is a new Tensor object
    # with the same (grad_fn, index): key recorded results by that, everything else by id.
    fn = t.grad_fn
    return ("f", id(fn), t._out_idx) if fn is not None else ("t", id(t))


def _is_array(value: Any) -> bool:
    return hasattr(value, "__array_interface__") or hasattr(value, "__cuda_array_interface__")


class _Slots:
    def __init__(self) -> None:
        self.of: dict[tuple, int] = {}
        self.constants: dict[int, Any] = {}
        self.n = 0
        self.keepalive: list[Any] = []
        self.shapes: dict[int, tuple] = {}
        self.dtypes: dict[int, Any] = {}

    def new(self, t: Tensor) -> int:
        self.keepalive.append(t)
        self.shapes[self.n] = tuple(t.data.shape)
        self.dtypes[self.n] = t.data.dtype
        self.of[_key(t)] = self.n
        self.n += 1
        return self.n - 1

    def lookup(self, t: Tensor) -> int:
        slot = self.of.get(_key(t))
        if slot is not None:
            return slot
        # Not an input and not made by a recorded op: a constant. Only scalars made from
        # Python numbers are safe to freeze (a larger array might be a dropout mask or a
        # closure's weight, different next call).
        if t.requires_grad:
            raise Uncompilable(
                f"a tensor of shape {t.shape} that requires grad is used but was not passed "
                "as an argument (pass every tensor that needs a gradient as an argument)")
        if t.data.size > 1:
            raise Uncompilable(f"a constant array of shape {t.shape} made outside the ops")
        slot = self.new(t)
        self.constants[slot] = t.data
        return slot


def _steps(calls: list, slots: _Slots) -> list[Step]:
    steps = []
    for fn, inputs, out, cls, attrs in calls:
        for name, value in attrs.items():
            if _is_array(value):
                raise Uncompilable(f"{cls.__name__} holds an array in its attribute {name!r}")
        if fn is None:  # not recorded (no input needs grad): a fresh instance replays it
            fn = cls.__new__(cls)
            fn.__dict__ = dict(attrs)
        ins = tuple(slots.lookup(t) for t in inputs)
        outs_t = out if type(out) is tuple else (out,)
        slots.keepalive.append(fn)
        outs = tuple(slots.new(t) for t in outs_t)
        steps.append(Step(fn, ins, outs, type(out) is tuple))
    return steps


def trace(fn: Any, tensors: Sequence[Tensor], rebuild: Any, with_backward: bool) -> tuple[Plan, Any]:
    """Run ``fn(*rebuild(placeholders))`` once and record it as a Plan.

    ``tensors``: the flat Tensor arguments; ``rebuild`` puts a flat list back into the
    call's argument structure. Returns the plan and the eager outputs of this run (a flat
    tuple of Tensors), so the first call costs one eager evaluation."""
    slots = _Slots()
    holders = []
    for t in tensors:
        with array_context(t.data):  # a copy: the trace may not change the caller's
            h = Tensor._from_array(t.data.copy())
        if with_backward and t.requires_grad:
            h.requires_grad = True
        holders.append(h)
        slots.new(h)
    with enable_grad(), _Recorder() as rec:
        result = fn(*rebuild(holders))
    if any(h._version is not None and h._version[0] for h in holders):
        # replay computes the new values but would not write them into the caller's tensor
        raise Uncompilable("the function modifies an argument in place")
    outs = result if isinstance(result, tuple) else (result,)
    if not outs or not all(isinstance(o, Tensor) for o in outs):
        raise Uncompilable("the function must return a Tensor or a tuple of Tensors")
    seeds = [Tensor._from_array(o.data) for o in outs]
    for s in seeds:
        slots.new(s)
    forward = _steps(rec.calls, slots)
    plan = Plan(len(tensors), len(outs), 0, {}, forward, tuple(slots.lookup(o) for o in outs))
    wanted = [h for h in holders if h.requires_grad]
    live = [(o, s) for o, s in zip(outs, seeds) if o.requires_grad]
    if with_backward and wanted and live:
        with _Recorder() as rec:
            grads = autograd_grad([o for o, _ in live], wanted, grad_outputs=[s for _, s in live],
                                  create_graph=True, allow_unused=True)
        plan.backward = _steps(rec.calls, slots)
        by_holder = dict(zip(map(id, wanted), grads))
        plan.grad_slots = tuple(
            None if by_holder.get(id(h)) is None else slots.lookup(by_holder[id(h)])
            for h in holders)
        first_bwd = min((s.outs[0] for s in plan.backward), default=slots.n)
        read = {i for s in plan.backward for i in s.ins} | {g for g in plan.grad_slots if g is not None}
        seeds = range(len(tensors), len(tensors) + len(outs))
        plan.keep = tuple(sorted(i for i in read if i < first_bwd and i not in slots.constants
                                 and i not in seeds))
    plan.as_tuple = isinstance(result, tuple)
    plan.n_slots = slots.n
    plan.shapes, plan.dtypes = slots.shapes, slots.dtypes
    plan.forward_run, plan.backward_run = list(plan.forward), list(plan.backward)
    plan.constants = slots.constants
    return plan, outs
