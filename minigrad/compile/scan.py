"""``scan``: a loop over time as one node of the eager graph, its body compiled.

A recurrent layer runs ``carry = step(x_t, carry, *consts)`` T times. Eagerly that is
T copies of the step's ops in the graph, each paying Python per op forward and
backward. ``Scan(step)`` traces the step once per signature (forward, and backward from
the primitives' own gradient formulas, as ``mg.compile`` does), generates the loop over
all T steps as numba code (loopgen.py) and records the whole loop as one ``ScanCall``
node. Where that cannot be done (no numba, a GPU array, a primitive the generator does
not know, ``detect_anomaly``) ``Scan`` says so by returning None and the caller loops
as before; ``create_graph=True`` differentiates the eager loop instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autograd.context import enable_grad, scope_path, state
from ..autograd.function import Function, _wrap
from ..tensor import Tensor
from .loopgen import Layout, LoopKernels, Rows, Unsupported
from .trace import Plan, Uncompilable, trace

__all__ = ["Scan", "ScanCall"]

# ``eager(*inputs) -> (ys, *finals)``: the same loop in eager ops (fallback and pictures)
EagerLoop = Callable[..., tuple[Tensor, ...]]


class ScanCall(Function):
    """The whole loop: inputs ``xs..., init..., consts...`` (each x holds the T steps'
    blocks stacked on axis 0), outputs ``(ys, *finals)``; ``ys`` stacks the first
    carry after every step on a new axis 0.

    Attributes given by ``apply``: ``kernels`` (LoopKernels), ``layout``, ``steps`` (T),
    ``mask`` (None or a ``(T, rows)`` bool array: rows it is False for keep their carry
    that step) and ``eager`` (the same loop in eager ops)."""

    save_inputs = True

    def forward(self, *arrays: Any) -> tuple:
        lay: Layout = self.layout
        nx, nc = lay.n_x, lay.n_carry
        xs = [np.ascontiguousarray(x).reshape(self.steps, -1, *x.shape[1:]) for x in arrays[:nx]]
        init = [np.ascontiguousarray(c) for c in arrays[nx:nx + nc]]
        consts = [np.ascontiguousarray(c) for c in arrays[nx + nc:]]
        flipped = self.kernels.transposes(arrays[nx + nc:])
        ys, finals, stored = self.kernels.forward(xs, init, consts, self.mask, flipped)
        self.stored, self.xs, self.consts, self.flipped = stored, xs, consts, flipped
        self.out_shapes = [ys.shape] + [f.shape for f in finals]
        return (ys, *finals)

    @property
    def name(self) -> str:
        """``Scan[step]``: what the graph picture calls the node."""
        return f"Scan[{getattr(self.eager, '__name__', 'step')}]"

    def backward(self, gy: Any, *gfinals: Any) -> tuple:
        if state.grad_enabled:  # create_graph: differentiate the eager loop
            return self._eager_backward((gy, *gfinals))
        shapes = self.out_shapes
        dt = self.kernels.dtype
        gy_a = np.zeros(shapes[0], dt) if gy is None else np.ascontiguousarray(gy.data)
        gf = [np.zeros(shapes[1 + j], dt) if g is None else np.ascontiguousarray(g.data)
              for j, g in enumerate(gfinals)]
        gx, gc, gw = self.kernels.backward(self.xs, self.consts, self.stored, gy_a, gf, self.mask,
                                           self.flipped)
        grads = [g.reshape(-1, *g.shape[2:]) for g in gx] + gc + gw
        return tuple(_wrap(g, None, 0) if need else None
                     for g, need in zip(grads, self.needs_input_grad))

    def eager_outputs(self) -> tuple[Tensor, ...]:
        """The same loop in eager ops on this node's inputs, in the scope the node was
        recorded in: ``(ys, *finals)``, aligned with the node's outputs."""
        with scope_path(self.scope), enable_grad():
            return tuple(self.eager(*self.inputs))

    def _eager_backward(self, grads: tuple) -> tuple:
        from ..autograd.grad import grad as autograd_grad

        fresh = [t if need else Tensor._from_array(t.data)
                 for t, need in zip(self.inputs, self.needs_input_grad)]
        outs = self.eager(*fresh)
        pairs = [(o, g) for o, g in zip(outs, grads) if g is not None and o.requires_grad]
        wanted = [t for t, need in zip(fresh, self.needs_input_grad) if need]
        if not pairs:
            return (None,) * len(fresh)
        got = iter(autograd_grad([o for o, _ in pairs], wanted, [g for _, g in pairs],
                                 create_graph=True, allow_unused=True))
        return tuple(next(got) if need else None for need in self.needs_input_grad)

    def release(self) -> None:
        """Drop the stored per-step values along with what every op drops."""
        super().release()
        for key in ("stored", "xs", "consts", "flipped"):
            self.__dict__.pop(key, None)


class Scan:
    """``step(xs_t, carry, *consts) -> new carry`` (tuples of Tensors), looped by
    generated code. Call ``scan(xs, init, consts, steps, reverse, mask, eager)``; it
    returns ``(ys, *finals)`` as one ``ScanCall`` node, or None where the loop cannot be
    compiled (the caller runs ``eager`` instead). ``kernels`` maps signatures to their
    LoopKernels (None: not compilable, the reason in ``reasons``)."""

    def __init__(self, step: Callable[..., tuple[Tensor, ...]]) -> None:
        self.step = step
        self.kernels: dict[Any, LoopKernels | None] = {}
        self.reasons: dict[Any, str] = {}

    def __call__(self, xs: Sequence[Tensor], init: Sequence[Tensor], consts: Sequence[Tensor],
                 steps: int, reverse: bool, mask: np.ndarray | None, eager: EagerLoop
                 ) -> tuple[Tensor, ...] | None:
        """The loop as one node, or None (then run ``eager``)."""
        tensors = [*xs, *init, *consts]
        if state.anomaly or steps < 1 or not all(type(t.data) is np.ndarray for t in tensors):
            return None
        if any(t.data.shape[0] % steps for t in xs):
            return None
        x_shapes = [(t.data.shape[0] // steps, *t.data.shape[1:]) for t in xs]
        masked = mask is not None
        kernels: Any = None
        rows = init[0].data.shape[0] if init and init[0].data.ndim else 0
        if rows and all(s[0] == rows for s in x_shapes) and all(
                t.data.ndim and t.data.shape[0] == rows for t in init):
            # one kernel for every batch size, where the step allows it
            shapes = [s[1:] for s in x_shapes] + [t.data.shape[1:] for t in init]
            key = ("rows", tuple(shapes), tuple(t.data.shape for t in consts),
                   tuple(t.data.dtype.str for t in tensors), len(xs), len(init), reverse, masked)
            kernels = self.kernels.get(key, False)
            if kernels is False:
                kernels = self._build(key, xs, init, consts, x_shapes, reverse, masked, rows)
        if kernels is None or kernels is False or kernels == "fixed":
            key = (tuple(x_shapes), tuple((t.data.shape, t.data.dtype.str) for t in tensors),
                   len(xs), len(init), reverse, masked)
            kernels = self.kernels.get(key, False)
            if kernels is False:
                kernels = self._build(key, xs, init, consts, x_shapes, reverse, masked)
        if kernels is None:
            return None
        layout = kernels.layout
        return ScanCall.apply(*tensors, kernels=kernels, layout=layout, steps=steps,
                              mask=mask, eager=eager)

    def _build(self, key: Any, xs: Sequence[Tensor], init: Sequence[Tensor],
               consts: Sequence[Tensor], x_shapes: list, reverse: bool, masked: bool,
               rows: int = 0) -> LoopKernels | str | None:
        """Trace the step and generate its loops. With ``rows``, trace it at two batch
        sizes and keep the batch size symbolic (``Rows``) when the two plans differ in
        nothing else; returns "fixed" where they do (the caller keys on exact shapes)."""
        nx, nc = len(xs), len(init)
        kernels: LoopKernels | str | None = None
        try:
            if rows:
                first = max(rows, 2)  # a row count of 1 would read as broadcasting
                try:
                    plan = _rows_plan(self._trace(xs, init, consts, x_shapes, first),
                                      self._trace(xs, init, consts, x_shapes, first + 1), first)
                except Exception:  # noqa: BLE001  (e.g. a constant with a batch axis)
                    plan = None  # the step does not run at other row counts as it is
            else:
                plan = self._trace(xs, init, consts, x_shapes)
            if plan is None:
                kernels = "fixed"
            else:
                if plan.n_outputs != nc:
                    raise Unsupported(f"the step returns {plan.n_outputs} values for {nc} carries")
                layout = Layout(nx, nc, len(consts), reverse, masked, rows=bool(rows))
                kernels = LoopKernels(plan, layout)
        except (Uncompilable, Unsupported) as exc:
            self.reasons[key] = str(exc)
        self.kernels[key] = kernels
        return kernels

    def _trace(self, xs: Sequence[Tensor], init: Sequence[Tensor], consts: Sequence[Tensor],
               x_shapes: list, rows: int = 0) -> Plan:
        """The step's plan, on copies of the first step's values (``rows`` of them: the
        rows repeated or cut to that many, when given)."""
        nx, nc = len(xs), len(init)

        def resized(a: np.ndarray) -> np.ndarray:
            return np.array(a) if not rows else np.resize(a, (rows, *a.shape[1:]))

        holders = [Tensor._from_array(resized(t.data[:shape[0]])) for shape, t in zip(x_shapes, xs)]
        holders += [Tensor._from_array(resized(t.data)) for t in init]
        holders += [Tensor._from_array(np.array(t.data)) for t in consts]
        for h in holders:
            h.requires_grad = True
        step = self.step

        def flat_step(*flat: Tensor) -> tuple[Tensor, ...]:
            return tuple(step(tuple(flat[:nx]), tuple(flat[nx:nx + nc]), *flat[nx + nc:]))

        return trace(flat_step, holders, list, True)[0]


def _rows_plan(a: Plan, b: Plan, rows: int) -> Plan | None:
    """``a`` (traced at ``rows`` batch rows) with every dimension that is ``rows`` there
    and ``rows + 1`` in ``b`` made ``Rows``; None where the plans differ otherwise."""
    tape_a, tape_b = a.forward + a.backward, b.forward + b.backward
    if (len(a.forward), len(a.backward)) != (len(b.forward), len(b.backward)):
        return None
    for sa, sb in zip(tape_a, tape_b):
        if (type(sa.fn) is not type(sb.fn) or sa.ins != sb.ins or sa.outs != sb.outs
                or sa.multi != sb.multi):
            return None
        if any(getattr(sa.fn, k, None) != getattr(sb.fn, k, None) for k in ("axis", "axes", "sizes")):
            return None
    if (a.out_slots, a.grad_slots, a.keep, a.n_inputs, a.n_outputs) != (
            b.out_slots, b.grad_slots, b.keep, b.n_inputs, b.n_outputs):
        return None
    if a.constants.keys() != b.constants.keys() or not all(
            np.array_equal(a.constants[k], b.constants[k]) for k in a.constants):
        return None
    shapes = {}
    for slot, sa in a.shapes.items():
        sb = b.shapes.get(slot)
        if sb is None or len(sa) != len(sb):
            return None
        dims = []
        for da, db in zip(sa, sb):
            if da == db:
                dims.append(da)
            elif (da, db) == (rows, rows + 1):
                dims.append(Rows(rows))
            else:
                return None
        shapes[slot] = tuple(dims)
    return dataclasses.replace(a, shapes=shapes)
