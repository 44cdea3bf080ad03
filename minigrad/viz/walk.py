"""The raw graph under a root: every Function and leaf, in breadth-first order."""

from __future__ import annotations

from collections import deque
from typing import Any

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
