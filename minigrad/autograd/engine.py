"""The backward engine: iterative topological order, accumulation, freeing.

Nothing here recurses, so a graph unrolled over 10,000 steps backpropagates like a
short one. The order is Kahn's algorithm: a node runs once every consumer of its
outputs has delivered its gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .context import state
from .function import Function, _check_finite, _wrap

if TYPE_CHECKING:
    from ..tensor import Tensor

Observer = Callable[[Function, list], None]

_FREED = (
    "Trying to backward through the graph a second time (or to read it after it was "
    "freed): {op} (scope {scope!r}) already released what backward needs. Pass "
    "retain_graph=True to the first backward() or autograd.grad() call if you need "
    "to backpropagate through the same graph again."
)


def _count_dependencies(roots: list[Function]) -> dict[Function, int]:
    """How many edges of the graph point at each Function (explicit-stack DFS)."""
    deps: dict[Function, int] = {}
    stack = list(roots)
    seen = set(roots)
    while stack:
        fn = stack.pop()
        edges = fn.next
        if edges is None:
            raise RuntimeError(_FREED.format(op=fn.name, scope=fn.scope))
        for edge in edges:
            if edge is None:
                continue
            node = edge[0]
            if isinstance(node, Function):
                deps[node] = deps.get(node, 0) + 1
                if node not in seen:
                    seen.add(node)
                    stack.append(node)
    return deps


def run_backward(
    roots: Sequence[Tensor],
    root_grads: Sequence[Tensor],
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Tensor] | None = None,
    observer: Observer | None = None,
) -> list[Tensor | None] | None:
    """Backpropagate ``root_grads`` from ``roots``.

    Without ``inputs`` the gradients are accumulated into the ``.grad`` of leaf
    tensors (``Tensor.backward``). With ``inputs`` nothing is accumulated and the
    gradients reaching those tensors are returned (``autograd.grad``). ``observer``
    sees every node with the gradients of its outputs (used by the graph renderer).
    """
    capture = inputs is not None
    results: list[Tensor | None] = [None] * len(inputs) if capture else []
    leaf_slots: dict[int, int] = {}
    node_slots: dict[tuple[Function, int], int] = {}
    if capture:
        for pos, t in enumerate(inputs):
            if t.grad_fn is None:
                leaf_slots[id(t)] = pos
            else:
                node_slots[(t.grad_fn, t._out_idx)] = pos

    # Tensors that may be visible elsewhere: never adopted as a leaf's .grad uncopied.
    seen: dict[int, Tensor] = {id(g): g for g in root_grads}
    # Leaves whose .grad tensor this pass created, so it may be added into in place.
    fresh_leaves: set[int] = set()

    def to_leaf(leaf: Tensor, g: Tensor) -> None:
        if capture:
            pos = leaf_slots.get(id(leaf))
            if pos is not None:
                results[pos] = g if results[pos] is None else results[pos] + g
            return
        if g.data.dtype != leaf.data.dtype:
            g = g.to_dtype(leaf.data.dtype)
        if create_graph:
            leaf.grad = g if leaf.grad is None else leaf.grad + g
            return
        key = id(leaf)
        if leaf.grad is None:
            data = g.data
            if data.base is not None or id(g) in seen:
                data = data.copy()
            seen[id(g)] = g
            leaf.grad = _detached(data)
            fresh_leaves.add(key)
        elif key in fresh_leaves:
            leaf.grad.data += g.data
        else:
            leaf.grad = _detached(leaf.grad.data + g.data)
            fresh_leaves.add(key)

    buffers: dict[tuple[Function, int], list[Any]] = {}  # [grad Tensor, owned by engine]
    root_fns: list[Function] = []
    previous_mode = state.grad_enabled  # no context manager: this runs once per backward
    state.grad_enabled = create_graph
    try:
        for root, g in zip(roots, root_grads, strict=True):
            fn = root.grad_fn
            if fn is None:
                if not root.requires_grad:
                    raise RuntimeError(
                        "backward: a tensor passed as output does not require grad and has "
                        "no grad_fn; did you compute it under no_grad() or from tensors "
                        "without requires_grad=True?"
                    )
                to_leaf(root, g)
                continue
            _accumulate(buffers, (fn, root._out_idx), g, create_graph)
            if fn not in root_fns:
                root_fns.append(fn)
        deps = _count_dependencies(root_fns)
        ready = [fn for fn in root_fns if fn not in deps]
        anomaly = state.anomaly

        pop_ready, push_ready, pop_buffer = ready.pop, ready.append, buffers.pop
        slow = capture or observer is not None or anomaly
        while ready:
            fn = pop_ready()
            n_out = fn.n_out
            if n_out == 1:
                entry = pop_buffer((fn, 0), None)
                grads = [None if entry is None else entry[0]]
                live = entry is not None
            else:
                grads = [None] * n_out
                for i in range(n_out):
                    entry = pop_buffer((fn, i), None)
                    if entry is not None:
                        grads[i] = entry[0]
                live = any(g is not None for g in grads)
            if fn.retained:
                _retain(fn, grads, create_graph, seen)
            if slow:
                if capture and node_slots:
                    for i in range(n_out):
                        pos = node_slots.get((fn, i))
                        if pos is not None:
                            results[pos] = grads[i]
                if observer is not None:
                    observer(fn, grads)
            edges = fn.next
            if live:
                if fn.save_inputs:
                    fn.check_versions()
                if anomaly:  # check fn's gradients as a whole, not the ops inside its backward
                    state.anomaly = False
                    try:
                        out = fn.backward(*grads)
                    finally:
                        state.anomaly = True
                    _check_finite(fn, out, "backward")
                else:
                    out = fn.backward(*grads)
                if type(out) is not tuple:
                    out = (out,)
            else:
                out = (None,) * len(edges)
            if not retain_graph:
                fn.release()
            for edge, g in zip(edges, out):
                if edge is None:
                    continue
                node = edge[0]
                if isinstance(node, Function):
                    if g is not None:
                        key = (node, edge[1])
                        entry = buffers.get(key)
                        if entry is None:
                            buffers[key] = [g, False]
                        else:
                            _add_into(entry, g, create_graph)
                    left = deps[node] - 1
                    deps[node] = left
                    if left == 0:
                        push_ready(node)
                elif g is not None:
                    to_leaf(node, g)
    finally:
        state.grad_enabled = previous_mode
    return results if capture else None


def _retain(fn: Function, grads: list, create_graph: bool, seen: dict) -> None:
    """Give tensors that called retain_grad() their (now complete) gradient."""
    for i, ref in fn.retained.items():
        t = ref()
        if t is not None and grads[i] is not None:
            g = grads[i] if create_graph else _detached(grads[i].data)
            seen[id(grads[i])] = grads[i]
            t.grad = g if t.grad is None else t.grad + g


def _accumulate(buffers: dict, key: tuple, g: Tensor, create_graph: bool) -> None:
    entry = buffers.get(key)
    if entry is None:
        buffers[key] = [g, False]
    else:
        _add_into(entry, g, create_graph)


def _add_into(entry: list, g: Tensor, create_graph: bool) -> None:
    """Add ``g`` to a buffer entry ``[grad, owned]``: in place only into arrays the
    engine itself allocated, never into one a user or another node can see."""
    if create_graph:
        entry[0] = entry[0] + g
    elif entry[1]:
        entry[0].data += g.data
    else:
        entry[0] = _detached(entry[0].data + g.data)
        entry[1] = True


def _detached(array: Any) -> Tensor:
    return _wrap(array, None, 0)
