"""The backward engine: a topological loop, and what happens when a gradient arrives.

``run_backward`` is the loop (Kahn's algorithm, no recursion: a node runs once every
consumer of its outputs has delivered its gradient, so a graph unrolled over 10,000
steps backpropagates like a short one). What happens to the gradients is in small
named pieces around it:

- ``Pending``      gradients waiting at a node's outputs, summed as they arrive;
- ``Accumulate``   gradients reaching leaves go into ``.grad`` (``Tensor.backward``);
- ``Capture``      gradients reaching chosen tensors are returned (``autograd.grad``);
- ``_retain``      tensors that called ``retain_grad()`` get theirs;
- ``_call_backward`` runs one node's backward with the version and anomaly checks;
- an optional observer sees every node with its gradients (the graph renderer).

**The ownership rule.** The engine adds in place only into an array it allocated
itself and that nothing else can see: a sum it made in ``Pending`` (until the sum is
handed to a node's backward), or the array it made for one leaf's ``.grad`` during this
pass. Every gradient it hands out (a leaf's ``.grad``, a ``retain_grad`` tensor's
``.grad``) is an array made for that tensor alone, because one gradient Tensor often
reaches several places at once: ``a + b`` sends the same Tensor to both ``a`` and
``b``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backend import array_context
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


def run_backward(
    roots: Sequence[Tensor],
    root_grads: Sequence[Tensor],
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Tensor] | None = None,
    observer: Observer | None = None,
) -> list[Tensor | None] | None:
    """Backpropagate ``root_grads`` from ``roots``.

    Without ``inputs`` the gradients are accumulated into the ``.grad`` of leaf tensors
    (``Tensor.backward``) and None is returned. With ``inputs`` nothing is accumulated
    and the gradients reaching those tensors are returned (``autograd.grad``).
    ``observer`` sees every node with the gradients of its outputs.
    """
    pending = Pending(create_graph)
    sink = Capture(inputs) if inputs is not None else Accumulate(create_graph)
    previous_mode = state.grad_enabled  # no context manager: this runs once per backward
    state.grad_enabled = create_graph
    try:
        ready = _seed(roots, root_grads, pending, sink)
        deps = _count_dependencies(ready)
        ready = [fn for fn in ready if fn not in deps]
        anomaly = state.anomaly
        watch_nodes = sink.watches_nodes
        buffers, merge, to_leaf = pending.buffers, pending.merge, sink.leaf
        while ready:
            fn = ready.pop()
            if fn.n_out == 1:  # Pending.take, inlined for the common single-output node
                entry = buffers.pop((fn, 0), None)
                grads = [None if entry is None else entry[0]]
            else:
                grads = pending.take(fn)
            if fn.retained:
                _retain(fn, grads, create_graph)
            if watch_nodes:
                sink.node(fn, grads)
            if observer is not None:
                observer(fn, grads)
            edges = fn.next
            input_grads = _call_backward(fn, grads, anomaly)
            if not retain_graph:
                fn.release()
            for edge, g in zip(edges, input_grads):
                if edge is None:
                    continue
                node = edge[0]
                if isinstance(node, Function):  # one more of its consumers is done
                    if g is not None:  # Pending.add, its first-arrival case inlined
                        key = (node, edge[1])
                        entry = buffers.get(key)
                        if entry is None:
                            buffers[key] = [g, False]
                        else:
                            merge(entry, g)
                    left = deps[node] - 1
                    deps[node] = left
                    if left == 0:
                        ready.append(node)
                elif g is not None:
                    to_leaf(node, g)
    finally:
        state.grad_enabled = previous_mode
    return sink.result()


def _seed(roots: Sequence[Tensor], root_grads: Sequence[Tensor], pending: Pending,
          sink: Accumulate | Capture) -> list[Function]:
    """Deliver the root gradients; return the distinct root nodes."""
    root_fns: list[Function] = []
    for root, g in zip(roots, root_grads, strict=True):
        fn = root.grad_fn
        if fn is None:
            if not root.requires_grad:
                raise RuntimeError(
                    "backward: a tensor passed as output does not require grad and has "
                    "no grad_fn; did you compute it under no_grad() or from tensors "
                    "without requires_grad=True?"
                )
            sink.leaf(root, g)
            continue
        pending.add(fn, root._out_idx, g)
        if fn not in root_fns:
            root_fns.append(fn)
    return root_fns


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


def _call_backward(fn: Function, grads: list, anomaly: bool) -> tuple:
    """One gradient per input of ``fn`` (None where none flows)."""
    for g in grads:
        if g is not None:
            break
    else:  # no gradient reached any output: nothing flows on, but consumers still count
        return (None,) * len(fn.next)
    if fn.save_inputs or fn.save_output:
        fn.check_versions()
    if anomaly or type(g.data) is not np.ndarray:
        # CuPy runs kernels on the current device: make it the gradients' own
        with array_context(g.data):
            out = _backward_checked(fn, grads) if anomaly else fn.backward(*grads)
    else:
        out = fn.backward(*grads)
    return out if type(out) is tuple else (out,)


def _backward_checked(fn: Function, grads: list) -> Any:
    """``detect_anomaly``: check fn's gradients as a whole, not the ops inside its backward."""
    state.anomaly = False
    try:
        out = fn.backward(*grads)
    finally:
        state.anomaly = True
    _check_finite(fn, out, "backward")
    return out


class Pending:
    """Gradients waiting at node outputs: ``{(fn, output index): [grad, owned]}``.

    ``owned`` marks a sum this class allocated; only those are added into in place.
    ``take`` gives the gradients up for good (they go to the node's backward)."""

    __slots__ = ("buffers", "create_graph")

    def __init__(self, create_graph: bool) -> None:
        self.buffers: dict[tuple[Function, int], list[Any]] = {}
        self.create_graph = create_graph

    def add(self, fn: Function, index: int, g: Tensor) -> None:
        key = (fn, index)
        entry = self.buffers.get(key)
        if entry is None:
            self.buffers[key] = [g, False]
        else:
            self.merge(entry, g)

    def merge(self, entry: list, g: Tensor) -> None:
        """Add ``g`` into a waiting ``[grad, owned]`` entry (see the class docstring)."""
        if type(g.data) is not np.ndarray:
            with g.data.device:  # add on the gradient's own GPU
                self._merge(entry, g)
        else:
            self._merge(entry, g)

    def _merge(self, entry: list, g: Tensor) -> None:
        if self.create_graph:
            entry[0] = entry[0] + g
        elif entry[1]:
            entry[0].data += g.data
        else:
            entry[0] = _detached(entry[0].data + g.data)
            entry[1] = True

    def take(self, fn: Function) -> list[Tensor | None]:
        pop = self.buffers.pop
        if fn.n_out == 1:
            entry = pop((fn, 0), None)
            return [None if entry is None else entry[0]]
        grads: list[Tensor | None] = []
        for i in range(fn.n_out):
            entry = pop((fn, i), None)
            grads.append(None if entry is None else entry[0])
        return grads


class Accumulate:
    """``Tensor.backward``: gradients reaching a leaf are summed into its ``.grad``.

    The first gradient of this pass is copied (it may also be on its way to another
    leaf or node); later ones are added in place into that copy. A ``.grad`` left by an
    earlier backward is never written: the user may hold it, so the sum is new."""

    watches_nodes = False

    def __init__(self, create_graph: bool) -> None:
        self.create_graph = create_graph
        self.owned: set[int] = set()  # ids of leaves whose .grad this pass allocated

    def leaf(self, leaf: Tensor, g: Tensor) -> None:
        if type(g.data) is np.ndarray:
            self._accumulate(leaf, g)
        else:
            with g.data.device:  # allocate and add on the leaf's own GPU
                self._accumulate(leaf, g)

    def _accumulate(self, leaf: Tensor, g: Tensor) -> None:
        if g.data.dtype != leaf.data.dtype:
            g = g.to_dtype(leaf.data.dtype)
        if self.create_graph:  # keep the graph of the gradient: copy differentiably
            leaf.grad = _graph_copy(g) if leaf.grad is None else leaf.grad + g
            return
        key = id(leaf)
        if key in self.owned:
            leaf.grad.data += g.data
            return
        if leaf.grad is None:
            leaf.grad = _detached(g.data.copy())
        else:
            leaf.grad = _detached(leaf.grad.data + g.data)
        self.owned.add(key)

    def result(self) -> None:
        return None


class Capture:
    """``autograd.grad``: gradients reaching the chosen ``inputs`` are returned, summed
    per input; a leaf's ``.grad`` is left alone. Inputs that are not leaves are read as
    their node's output gradient when that node runs (it is complete by then)."""

    watches_nodes = True

    def __init__(self, inputs: Sequence[Tensor]) -> None:
        self.results: list[Tensor | None] = [None] * len(inputs)
        self.leaf_slots: dict[int, list[int]] = {}
        self.node_slots: dict[tuple[Function, int], list[int]] = {}
        for pos, t in enumerate(inputs):
            if t.grad_fn is None:
                self.leaf_slots.setdefault(id(t), []).append(pos)
            else:
                self.node_slots.setdefault((t.grad_fn, t._out_idx), []).append(pos)
        self.watches_nodes = bool(self.node_slots)

    def leaf(self, leaf: Tensor, g: Tensor) -> None:
        if id(leaf) in self.leaf_slots and g.data.dtype != leaf.data.dtype:
            g = g.to_dtype(leaf.data.dtype)  # a gradient has its input's dtype, as in .grad
        for pos in self.leaf_slots.get(id(leaf), ()):
            have = self.results[pos]
            self.results[pos] = g if have is None else have + g

    def node(self, fn: Function, grads: list) -> None:
        for i, g in enumerate(grads):
            for pos in self.node_slots.get((fn, i), ()):
                self.results[pos] = g

    def result(self) -> list[Tensor | None]:
        return self.results


def _retain(fn: Function, grads: list, create_graph: bool) -> None:
    """Give tensors that called retain_grad() their (now complete) gradient: a copy,
    since the same array goes on into ``fn``'s backward."""
    for i, ref in fn.retained.items():
        t = ref()
        g = grads[i]
        if t is None or g is None:
            continue
        with array_context(g.data):
            g = _graph_copy(g) if create_graph else _detached(g.data.copy())
            t.grad = g if t.grad is None else t.grad + g


def _detached(array: Any) -> Tensor:
    return _wrap(array, None, 0)


def _graph_copy(g: Tensor) -> Tensor:
    """A copy of ``g`` that keeps ``g``'s graph (for ``create_graph=True``)."""
    return g * 1
