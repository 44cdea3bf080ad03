"""Compiled nodes drawn as the ops they stand for.

A compiled node (``CompiledCall`` of ``mg.compile``, or any Function with an
``eager_outputs()`` method) replays a traced plan as one node of the graph. For the
picture, and for the backward rerun that measures gradient norms, :func:`expanded`
swaps each one for the eager graph ``eager_outputs()`` records: the ops the node stands
for, in the scopes they would have had uncompiled (so each step's cluster holds its gate
ops again, as without compilation).

The engine and :class:`~minigrad.viz.walk.Walk` find a node's parents through the
consumer's ``next`` edges, so the swap re-points those edges, ``(compiled, k)`` ->
``(grad_fn of eager output k, its index)``, and puts every one back on exit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..autograd.function import Function
from ..tensor import Tensor

Edge = tuple[Any, int] | None


def is_compiled(node: Any) -> bool:
    """Whether ``node`` is a compiled node: a Function with an ``eager_outputs`` method."""
    return isinstance(node, Function) and callable(getattr(node, "eager_outputs", None))


@contextmanager
def expanded(root: Tensor, enabled: bool = True, check_versions: bool = False) -> Iterator[Tensor]:
    """Inside the block, the graph under ``root`` has its compiled nodes replaced by
    their eager graphs (recursively: an expansion may hold compiled nodes too).

    Yields the root to walk: ``root`` itself, or the eager twin of it when a compiled node
    made it. ``enabled=False`` changes nothing. ``check_versions``: first raise, as
    backward would, if a compiled node's saved inputs were modified in place (the eager
    rerun would read the new values). The user's graph is exactly as before on exit,
    even on error; the eager graphs are dropped.
    """
    changed: list[tuple[Function, tuple]] = []
    try:
        yield _expand(root, changed, check_versions) if enabled else root
    finally:
        for fn, edges in reversed(changed):
            fn.next = edges


def _expand(root: Tensor, changed: list[tuple[Function, tuple]], check: bool) -> Tensor:
    """Re-point every edge into a compiled node under ``root``; record the old edges in
    ``changed``. Explicit stack, no recursion: a loop of 10,000 compiled steps is fine."""
    twins: dict[Function, tuple[Tensor, ...]] = {}

    def eager_of(node: Function, index: int) -> Tensor | None:
        """The eager Tensor standing for output ``index`` of compiled ``node`` (an eager
        output made by a compiled node in its turn is followed to its own twin)."""
        out = None
        while is_compiled(node) and node.next is not None:  # a freed node stays: Walk says so
            outs = twins.get(node)
            if outs is None:
                if check:
                    node.check_versions()
                outs = twins[node] = tuple(node.eager_outputs())
            out = outs[index]
            node, index = out.grad_fn, out._out_idx
        return out

    fn = root.grad_fn
    if is_compiled(fn):
        twin = eager_of(fn, root._out_idx)
        root = twin if twin is not None else root
    stack = [root.grad_fn] if root.grad_fn is not None else []
    seen = set(stack)
    while stack:
        fn = stack.pop()
        edges = fn.next
        if edges is None:  # freed by a backward: Walk raises its own message
            continue
        new: list[Edge] = list(edges)
        touched = False
        for i, edge in enumerate(edges):
            if edge is None:
                continue
            node = edge[0]
            if is_compiled(node):
                twin = eager_of(node, edge[1])
                if twin is not None:
                    new[i] = _edge_to(twin)
                    touched = True
                    node = None if new[i] is None else new[i][0]
            if isinstance(node, Function) and node not in seen:
                seen.add(node)
                stack.append(node)
        if touched:
            changed.append((fn, edges))
            fn.next = tuple(new)
    return root


def _edge_to(t: Tensor) -> Edge:
    """The edge a consumer of ``t`` records (as ``Function._record`` does)."""
    if not t.requires_grad:
        return None
    return (t, 0) if t.grad_fn is None else (t.grad_fn, t._out_idx)
