"""Gradient norms per time step: rerun backward on the retained graph and measure each
step's hidden-state gradient, accumulating nothing."""

from __future__ import annotations

import math
from typing import Any

from ..autograd.engine import run_backward
from ..autograd.function import Function
from ..backend import array_context, to_device, xp_of
from ..tensor import Tensor
from .collapse import Group
from .model import order_key
from .walk import Walk


def step_states(
    walk: Walk, steps: list[tuple[str, str, int] | None], root_idx: int
) -> dict[str, list[tuple[int, int]]]:
    """The hidden-state outputs ``(op position, output index)`` of each step.

    A step's state is what it hands to a sibling step of the same sequence (the
    recurrent edges: ``h`` and ``c`` of an LSTM). A step with no such edge (the last
    one) uses the outputs consumed outside its cluster, or the root when it is inside.
    """
    recurrent: dict[str, set[tuple[int, int]]] = {}
    leaving: dict[str, set[tuple[int, int]]] = {}
    for p, out_idx, c in walk.edges:
        sp = steps[p]
        if sp is None or not isinstance(walk.objs[p], (Function, Group)):
            continue
        sc = steps[c]
        if sc is not None and sc[0] == sp[0]:
            continue
        if sc is not None and sc[1] == sp[1]:
            recurrent.setdefault(sp[0], set()).add((p, out_idx))
        else:
            leaving.setdefault(sp[0], set()).add((p, out_idx))
    if steps[root_idx] is not None:
        leaving.setdefault(steps[root_idx][0], set()).add((root_idx, 0))
    states: dict[str, list[tuple[int, int]]] = {}
    for s in sorted({s[0] for s in steps if s is not None}, key=order_key):
        chosen = recurrent.get(s) or leaving.get(s) or set()
        states[s] = sorted(chosen)
    return states


def grad_norms(
    root: Tensor, walk: Walk, states: dict[str, list[tuple[int, int]]],
    per_op: dict[int, float] | None = None,
) -> dict[str, float]:
    """Rerun backward on the retained graph and measure the gradient of each step's state.

    Nothing is accumulated anywhere: ``inputs=[]`` captures no leaf, and the ``.grad``
    of tensors that called ``retain_grad()`` is restored afterwards. ``per_op``, when
    given, is filled with ``id(Function) -> norm of the gradient of all its outputs``.
    """
    wanted: dict[int, list[tuple[str, int]]] = {}
    for step, outs in states.items():
        for pos, out_idx in outs:
            wanted.setdefault(id(walk.objs[pos]), []).append((step, out_idx))
    sq: dict[str, float] = dict.fromkeys(states, 0.0)
    # squared norms stay on the device until the end: one transfer, not one per op
    seen: list[tuple[int, list[Any]]] = []

    def observer(fn: Function, grads: list) -> None:
        if per_op is not None or id(fn) in wanted:
            seen.append((id(fn), [None if g is None else (g.data.astype("float64") ** 2).sum()
                                  for g in grads]))

    retained: list[tuple[Tensor, Any]] = []
    for obj in walk.objs:
        if isinstance(obj, Function) and obj.retained:
            for ref in obj.retained.values():
                t = ref()
                if t is not None:
                    retained.append((t, t.grad))
    try:
        with array_context(root.data):  # on the root's device, as Tensor.backward runs
            ones = xp_of(root.data).ones_like(root.data)
            run_backward([root], [Tensor._from_array(ones)], retain_graph=True,
                         create_graph=False, inputs=[], observer=observer)
    finally:
        for t, g in retained:
            t.grad = g
    scalars = [v for _, squares in seen for v in squares if v is not None]
    host = iter(to_device(xp_of(scalars[0]).stack(scalars), "cpu").tolist() if scalars else ())
    for key, squares in seen:
        values = [None if v is None else next(host) for v in squares]
        for step, out_idx in wanted.get(key, ()):
            if values[out_idx] is not None:
                sq[step] += values[out_idx]
        if per_op is not None:
            per_op[key] = math.sqrt(sum(v for v in values if v is not None))
    return {s: math.sqrt(v) for s, v in sq.items()}
