"""The raw graph under a root: every Function and leaf, in breadth-first order."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor

_FREED = (
    "cannot draw the graph: {op} (scope {scope!r}) was freed by a backward() call. "
    "Call backward(retain_graph=True) (or draw the graph before calling backward) to "
    "keep it."
)


def shape_text(shape: Any) -> str:
    """``(2, 3)``, ``(4,)``, ``()``: a shape as Python writes a tuple."""
    return "(" + ", ".join(str(int(d)) for d in shape) + ")" if len(shape) != 1 else (
        f"({int(shape[0])},)"
    )


def out_shape_text(fn: Function) -> str:
    """The output shape(s) of ``fn``: ``(2, 3)``, ``2 x (1, 4)`` or a list."""
    if fn.n_out == 1:
        return shape_text(fn.out_shape)
    shapes = [shape_text(s) for s in fn.out_shape]
    if all(s == shapes[0] for s in shapes):
        return f"{len(shapes)} x {shapes[0]}"
    return ", ".join(shapes)


class Walk:
    """The raw graph: every Function and leaf reachable from the root, BFS order."""

    def __init__(self, root: Tensor) -> None:
        self.objs: list[Any] = []  # Function or leaf Tensor, in BFS order from the root
        self.index: dict[int, int] = {}  # id(obj) -> position (lookup only, never output)
        # (producer, output index, consumer); consumer's edges in input order
        self.edges: list[tuple[int, int, int]] = []
        start = root.grad_fn if root.grad_fn is not None else root
        self._add(start)
        queue = deque([0])
        while queue:
            i = queue.popleft()
            obj = self.objs[i]
            if not isinstance(obj, Function):
                continue
            edges = obj.next
            if edges is None:
                raise RuntimeError(_FREED.format(op=obj.name, scope=obj.scope))
            for edge in edges:
                if edge is None:
                    continue
                node, out_idx = edge
                key = id(node)
                j = self.index.get(key)
                if j is None:
                    j = self._add(node)
                    queue.append(j)
                self.edges.append((j, out_idx, i))

    def _add(self, obj: Any) -> int:
        self.index[id(obj)] = len(self.objs)
        self.objs.append(obj)
        return len(self.objs) - 1


def dtypes_of(walk: Walk) -> dict[int, str]:
    """``id(Function) -> dtype name`` of each op's output, inferred from the leaves
    upward (numpy's promotion of the inputs; an op with a ``dtype`` attribute, a cast,
    gives that). Ops with no leaf below them are left out."""
    objs = walk.objs
    inputs: list[list[int]] = [[] for _ in objs]
    waiting = [0] * len(objs)
    users: list[list[int]] = [[] for _ in objs]
    for p, _, c in walk.edges:
        inputs[c].append(p)
        users[p].append(c)
        waiting[c] += 1
    known: dict[int, Any] = {}
    ready = [i for i in range(len(objs)) if waiting[i] == 0]
    while ready:
        i = ready.pop()
        o = objs[i]
        if not isinstance(o, Function):
            known[i] = o.dtype
        else:
            given = getattr(o, "dtype", None)
            ins = [known[j] for j in inputs[i] if j in known]
            try:
                known[i] = np.dtype(given) if given is not None else (
                    np.result_type(*ins) if ins else None)
            except TypeError:
                known[i] = None
        for c in users[i]:
            waiting[c] -= 1
            if waiting[c] == 0:
                ready.append(c)
    return {id(objs[i]): str(d) for i, d in known.items()
            if d is not None and isinstance(objs[i], Function)}
