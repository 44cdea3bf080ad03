"""The graph model behind every picture: nodes, edges and nested scope clusters.

:func:`build_graph` walks a root Tensor's ``grad_fn`` chain (iteratively, so a graph
unrolled over 10,000 steps is fine) and returns a :class:`GraphModel` that
:mod:`minigrad.viz.dot` writes out. Keeping the model separate from the DOT text is
what lets the layout decisions below be tested without Graphviz.

Three decisions keep Graphviz fast on unrolled graphs:

* **Shared nodes become references.** A node drawn outside the time-step clusters
  (a parameter, or ``W_hh^T`` transposed once before the loop) that feeds many steps
  would send one edge into every step cluster, and ``dot``'s layout time explodes with
  such edges. Each step instead gets a small note-shaped *reference* node
  (``weight_hh (shared)``); the real node is drawn once with a dashed edge to the first
  reference only. Fan-in hubs (a ``Stack`` of every step's output) get the same
  treatment in the other direction.
* **Long sequences are folded.** Above ``max_nodes`` the middle steps of every sequence
  collapse into one summary node, keeping the first and last few steps in full.
* **Ids are traversal positions**, never ``id()``, so the same graph gives the same text.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..autograd.engine import run_backward
from ..autograd.function import Function
from ..backend import array_context, xp_of
from ..tensor import Tensor

DEFAULT_MAX_NODES = 2000
# A node outside the steps that touches this many step clusters is drawn once, with a
# reference in each step (a node inside a step: one more, its own next step being normal).
SHARED_MIN_STEPS = 2
PARAMS_CLUSTER = "\x00parameters"  # cannot collide with a name_scope path (those have no NUL)

# A scope component naming a time step: "t3", "step3", "step_3".
_STEP = re.compile(r"^(?:t|step_?)(\d+)$")

_FREED = (
    "cannot draw the graph: {op} (scope {scope!r}) was freed by a backward() call. "
    "Call backward(retain_graph=True) (or draw the graph before calling backward) to "
    "keep it."
)


@dataclass
class Node:
    """One box of the picture.

    ``kind``: ``"op"`` (a recorded Function), ``"leaf"`` (a tensor that requires grad),
    ``"ref"`` (a per-step reference to a shared node), ``"summary"`` (folded steps or
    truncated nodes). ``cluster`` is the scope path of the innermost cluster holding it
    (``""`` at top level, :data:`PARAMS_CLUSTER` for leaves).
    """

    id: str
    kind: str
    lines: list[str]
    cluster: str
    is_root: bool = False
    fill: str | None = None  # grad-norm colour of a node (flat mode, summaries)


@dataclass
class Edge:
    """A data-flow edge from producer ``tail`` to consumer ``head``.

    ``kind``: ``"data"``, ``"recurrent"`` (between two steps of one sequence),
    ``"ref"`` (from a shared node to its first reference) or ``"order"`` (invisible,
    keeps consecutive steps side by side).
    """

    tail: str
    head: str
    kind: str = "data"
    back: bool = False  # drawn head -> tail with the arrow reversed (reverse-time sequences)


@dataclass
class Cluster:
    """One scope level. ``step`` is the time index for a step cluster (``t3`` -> 3)."""

    path: str
    label: str
    step: int | None = None
    norm: float | None = None
    fill: str | None = None
    children: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)


@dataclass
class GraphModel:
    """What :func:`build_graph` found; :func:`minigrad.viz.dot.to_dot` writes it out.

    ``clusters`` maps a scope path to its cluster (empty when not grouping by scope);
    ``top`` lists the top-level cluster paths in drawing order and ``top_nodes`` the
    nodes outside every cluster. ``norm_range`` is ``(lo, hi)`` in log10 units when
    gradient norms were computed; ``folded`` holds ``(sequence, first, last)`` step
    indices of every folded run; ``hidden_nodes`` counts ops left out of the picture.
    """

    nodes: dict[str, Node]
    edges: list[Edge]
    clusters: dict[str, Cluster]
    top: list[str]
    top_nodes: list[str]
    root: str
    n_ops: int
    step_norms: dict[str, float]
    norm_range: tuple[float, float] | None
    folded: list[tuple[str, int, int]]
    hidden_nodes: int


def step_of(scope: str) -> tuple[str, str, int] | None:
    """``(step path, sequence path, index)`` of the innermost time-step scope, or None.

    ``"lstm/l0/fwd/t3"`` -> ``("lstm/l0/fwd/t3", "lstm/l0/fwd", 3)``.
    """
    if not scope:
        return None
    parts = scope.split("/")
    for i in range(len(parts) - 1, -1, -1):
        m = _STEP.match(parts[i])
        if m:
            return "/".join(parts[: i + 1]), "/".join(parts[:i]), int(m.group(1))
    return None


def _shape_text(shape: Any) -> str:
    return "(" + ", ".join(str(int(d)) for d in shape) + ")" if len(shape) != 1 else (
        f"({int(shape[0])},)"
    )


def _out_shape_text(fn: Function) -> str:
    if fn.n_out == 1:
        return _shape_text(fn.out_shape)
    shapes = [_shape_text(s) for s in fn.out_shape]
    if all(s == shapes[0] for s in shapes):
        return f"{len(shapes)} x {shapes[0]}"
    return ", ".join(shapes)


class _Walk:
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


# ---------------------------------------------------------------- colours

# viridis at ten evenly spaced points: dark purple (vanishing) to yellow (exploding)
_VIRIDIS = (
    (0x44, 0x01, 0x54), (0x48, 0x28, 0x78), (0x3E, 0x49, 0x89), (0x31, 0x68, 0x8E),
    (0x26, 0x82, 0x8E), (0x1F, 0x9E, 0x89), (0x35, 0xB7, 0x79), (0x6E, 0xCE, 0x58),
    (0xB5, 0xDE, 0x2B), (0xFD, 0xE7, 0x25),
)
ZERO_COLOUR = "#c8c8c8"


_TINT = 0.45  # share of white mixed in, so black edges and labels stay readable on top


def colormap(x: float) -> str:
    """The (lightened) viridis colour at ``x`` in [0, 1] as ``#rrggbb``."""
    x = min(1.0, max(0.0, x)) * (len(_VIRIDIS) - 1)
    i = min(int(x), len(_VIRIDIS) - 2)
    f = x - i
    a, b = _VIRIDIS[i], _VIRIDIS[i + 1]
    rgb = (a[k] + (b[k] - a[k]) * f for k in range(3))
    return "#" + "".join(f"{round(c + (255 - c) * _TINT):02x}" for c in rgb)


def norm_position(norm: float, norm_range: tuple[float, float]) -> float:
    """Where ``norm`` sits on the log10 scale ``norm_range``, in [0, 1]."""
    lo, hi = norm_range
    return (math.log10(norm) - lo) / (hi - lo)


# ---------------------------------------------------------------- gradient norms


def _step_states(
    walk: _Walk, steps: list[tuple[str, str, int] | None], root_idx: int
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
        if sp is None or not isinstance(walk.objs[p], Function):
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
    for s in sorted({s[0] for s in steps if s is not None}, key=_order_key):
        chosen = recurrent.get(s) or leaving.get(s) or set()
        states[s] = sorted(chosen)
    return states


def _grad_norms(
    root: Tensor, walk: _Walk, states: dict[str, list[tuple[int, int]]]
) -> dict[str, float]:
    """Rerun backward on the retained graph and measure the gradient of each step's state.

    Nothing is accumulated anywhere: ``inputs=[]`` captures no leaf, and the ``.grad``
    of tensors that called ``retain_grad()`` is restored afterwards.
    """
    wanted: dict[int, list[tuple[str, int]]] = {}
    for step, outs in states.items():
        for pos, out_idx in outs:
            wanted.setdefault(id(walk.objs[pos]), []).append((step, out_idx))
    sq: dict[str, float] = dict.fromkeys(states, 0.0)

    def observer(fn: Function, grads: list) -> None:
        for step, out_idx in wanted.get(id(fn), ()):
            g = grads[out_idx]
            if g is not None:
                sq[step] += float((g.data.astype("float64") ** 2).sum())

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
    return {s: math.sqrt(v) for s, v in sq.items()}


# ---------------------------------------------------------------- the builder


def build_graph(
    root: Tensor,
    params: Mapping[str, Tensor] | None = None,
    group_by_scope: bool = True,
    show_shapes: bool = True,
    show_grad_norms: bool = False,
    max_nodes: int | None = None,
    keep_steps: int = 3,
    grad_norm_range: tuple[float, float] | None = None,
) -> GraphModel:
    """Build the picture's model from ``root``'s graph.

    ``params``: name -> Tensor, matched by identity, labels leaves. ``max_nodes``
    (default :data:`DEFAULT_MAX_NODES`) bounds the drawn nodes: longer sequences keep
    their first and last ``keep_steps`` steps in full (fewer, down to one, when that
    is still too many) and fold the rest into one summary node per sequence; a graph
    still too large is cut in BFS order from the root. ``show_grad_norms`` reruns
    backward on the retained graph to colour each step; ``grad_norm_range``
    ``(low, high)`` fixes the ends of the colour scale (rounded out to whole decades;
    default: the decades the norms span), so that two pictures can be compared.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"to_dot/draw_graph: root must be a Tensor, got {type(root).__name__}")
    limit = DEFAULT_MAX_NODES if max_nodes is None else int(max_nodes)
    if limit < 1:
        raise ValueError(f"max_nodes must be positive, got {max_nodes}")
    if keep_steps < 1:
        raise ValueError(f"keep_steps must be at least 1, got {keep_steps}")
    if grad_norm_range is not None and not 0 < grad_norm_range[0] < grad_norm_range[1]:
        raise ValueError(f"grad_norm_range must be (low, high) with 0 < low < high, "
                         f"got {grad_norm_range}")
    names = {id(t): str(n) for n, t in (params or {}).items() if isinstance(t, Tensor)}
    walk = _Walk(root)
    objs = walk.objs
    n = len(objs)
    is_op = [isinstance(o, Function) for o in objs]
    steps = [step_of(o.scope) if is_op[i] else None for i, o in enumerate(objs)]

    # ---- labels
    lines: list[list[str]] = []
    for i, o in enumerate(objs):
        if is_op[i]:
            label = [o.name]
            if show_shapes:
                label.append(_out_shape_text(o))
        else:
            name = names.get(id(o))
            label = [name] if name is not None else []
            if show_shapes or name is None:
                label.append(_shape_text(o.shape))
        lines.append(label)
    # An op whose only input is a named leaf reads better as "Transpose(weight_hh)".
    producers: list[list[int]] = [[] for _ in range(n)]
    consumers: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for p, out_idx, c in walk.edges:
        producers[c].append(p)
        consumers[p].append((c, out_idx))

    def describe(i: int) -> str:
        """Short name of a shared node for its references."""
        if not is_op[i]:
            return names.get(id(objs[i])) or f"leaf {_shape_text(objs[i].shape)}"
        if len(producers[i]) == 1 and not is_op[producers[i][0]]:
            leaf = names.get(id(objs[producers[i][0]]))
            if leaf is not None:
                return f"{objs[i].name}({leaf})"
        return objs[i].name

    # ---- gradient norms (on the full graph, before anything is folded)
    step_norms: dict[str, float] = {}
    if show_grad_norms and any(s is not None for s in steps):
        states = _step_states(walk, steps, 0)
        step_norms = _grad_norms(root, walk, states)

    # ---- shared nodes: per-step references instead of edges into every step
    step_key = [s[0] if s is not None else None for s in steps]
    fan_out: set[int] = set()
    fan_in: set[int] = set()
    for i in range(n):
        own = step_key[i]
        need = SHARED_MIN_STEPS if own is None else SHARED_MIN_STEPS + 1
        if len({step_key[c] for c, _ in consumers[i]} - {own, None}) >= need:
            fan_out.add(i)
        if len({step_key[p] for p in producers[i]} - {own, None}) >= need:
            fan_in.add(i)

    # Model node ids: "n<k>" for traversal position k, "r<k>" references, "s<k>" summaries.
    nodes: dict[str, Node] = {}
    ref_ids: dict[tuple[int, str, str], str] = {}  # (hub, step, "out"/"in") -> ref id
    ref_step: dict[str, str] = {}

    def ref_for(hub: int, step: str, direction: str) -> str:
        key = (hub, step, direction)
        rid = ref_ids.get(key)
        if rid is None:
            rid = f"r{len(ref_ids)}"
            ref_ids[key] = rid
            ref_step[rid] = step
        return rid

    # Edges in forward (data-flow) order: reverse BFS discovery puts early steps first.
    raw: list[tuple[str, str]] = []
    for p, _, c in reversed(walk.edges):
        tail, head = f"n{p}", f"n{c}"
        if p in fan_out and step_key[c] is not None and step_key[c] != step_key[p]:
            tail = ref_for(p, step_key[c], "out")
        if c in fan_in and step_key[p] is not None and step_key[p] != step_key[c]:
            head = ref_for(c, step_key[p], "in")
        raw.append((tail, head))
    # which outputs of a multi-output hub each reference stands for
    ref_outputs: dict[str, set[int]] = {}
    for p, out_idx, c in walk.edges:
        if p in fan_out and step_key[c] is not None and step_key[c] != step_key[p]:
            ref_outputs.setdefault(ref_ids[(p, step_key[c], "out")], set()).add(out_idx)
    hub_steps_per_output: dict[tuple[int, int], set[str]] = {}
    for p, out_idx, c in walk.edges:
        if p in fan_out and step_key[c] is not None:
            hub_steps_per_output.setdefault((p, out_idx), set()).add(step_key[c])

    for i in range(n):
        nodes[f"n{i}"] = Node(
            f"n{i}", "op" if is_op[i] else "leaf", lines[i],
            objs[i].scope if is_op[i] else PARAMS_CLUSTER, is_root=(i == 0),
        )
    for (hub, step, direction), rid in ref_ids.items():
        desc = describe(hub)
        if direction == "out":
            outs = sorted(ref_outputs.get(rid, ()))
            if is_op[hub] and objs[hub].n_out > 1:
                desc += "[" + ",".join(str(k) for k in outs) + "]"
            shared = any(len(hub_steps_per_output.get((hub, k), ())) > 1 for k in outs)
            home = objs[hub].scope.rsplit("/", 1)[-1] if is_op[hub] else ""
            label = [desc, "(shared)" if shared else f"(from {home or 'top level'})"]
        else:
            label = ["to " + desc]
        nodes[rid] = Node(rid, "ref", label, step)

    # ---- folding long sequences
    folded: list[tuple[str, int, int]] = []
    summary_norms: dict[str, list[float]] = {}
    summary_first: dict[str, int] = {}  # "\x00" + summary id -> its first folded step
    remap: dict[str, str] = {}
    if len(nodes) > limit:
        seq_steps: dict[str, dict[int, str]] = {}
        for s in sorted({s for s in steps if s is not None}):
            seq_steps.setdefault(s[1], {})[s[2]] = s[0]
        members: dict[str, list[str]] = {}
        for nid, node in nodes.items():
            key = _step_cluster(node, step_key, nid)
            if key is not None:
                members.setdefault(key, []).append(nid)
        seqs = sorted(seq_steps, key=_order_key)
        # fewer steps kept in full until the picture fits (at least one at each end)
        for keep in range(keep_steps, 0, -1):
            runs = []  # (summary id, sequence, folded step indices)
            for k_s, seq in enumerate(seqs):
                order = sorted(seq_steps[seq])
                if len(order) > 2 * keep + 1:
                    runs.append((f"s{k_s}", seq, order[keep:-keep]))
            hidden_count = sum(len(members.get(seq_steps[seq][t], ()))
                               for _, seq, middle in runs for t in middle)
            if len(nodes) - hidden_count + len(runs) <= limit:
                break
        for sid, seq, middle in runs:
            count = 0
            for t in middle:
                for nid in members.get(seq_steps[seq][t], ()):
                    remap[nid] = sid
                    count += nodes[nid].kind == "op"
            a, b = middle[0], middle[-1]
            label = [f"t{a} ... t{b}", f"{len(middle)} steps folded", f"{count} ops"]
            known = [v for v in (step_norms.get(seq_steps[seq][t]) for t in middle)
                     if v is not None]
            if known:
                label.append(f"|grad| {min(known):.2e} .. {max(known):.2e}")
                summary_norms[sid] = known
            nodes[sid] = Node(sid, "summary", label, seq)
            folded.append((seq, a, b))
            summary_first["\x00" + sid] = a
        for nid in remap:
            del nodes[nid]

    # ---- hard cut when still too large (no steps to fold): keep BFS order from the root
    hidden = 0
    if len(nodes) > limit:
        keep = set(list(nodes)[: limit - 1])
        cut = "s_cut"
        dropped = [nid for nid in nodes if nid not in keep]
        hidden = sum(nodes[nid].kind == "op" for nid in dropped)
        for nid in dropped:
            remap[nid] = cut
            del nodes[nid]
        for nid, target in list(remap.items()):
            if target in remap:
                remap[nid] = remap[target]
        nodes[cut] = Node(cut, "summary", [f"... {len(dropped)} more nodes", "not drawn"], "")

    # ---- edges: remap, drop self loops, dedupe, classify
    def seq_of_node(nid: str) -> tuple[str | None, str | None]:
        """(step path, sequence path) of a node (summaries: (None, their sequence))."""
        if nid.startswith("n"):
            s = steps[int(nid[1:])]
            return (s[0], s[1]) if s is not None else (None, None)
        if nid.startswith("r"):
            s = step_of(ref_step[nid])
            return (s[0], s[1]) if s is not None else (None, None)
        if nid.startswith("s") and nid != "s_cut":
            return ("\x00" + nid, nodes[nid].cluster)
        return (None, None)

    edges: list[Edge] = []
    seen: set[tuple[str, str]] = set()
    for tail, head in raw:
        tail, head = remap.get(tail, tail), remap.get(head, head)
        if tail == head:
            continue
        if tail[0] == "s" or head[0] == "s":
            if (tail, head) in seen:
                continue
            seen.add((tail, head))
        ts, tq = seq_of_node(tail)
        hs, hq = seq_of_node(head)
        kind = "recurrent" if ts and hs and ts != hs and tq == hq else "data"
        edges.append(Edge(tail, head, kind))
    # the real shared node, linked once to its first (or, for fan-in, last) reference
    first_ref: dict[tuple[int, str], str] = {}
    for (hub, step, direction), rid in ref_ids.items():
        if rid not in nodes:
            continue
        key = (hub, direction)
        cur = first_ref.get(key)
        better = cur is None or (
            _order_key(step) < _order_key(ref_step[cur])
            if direction == "out"
            else _order_key(step) > _order_key(ref_step[cur])
        )
        if better:
            first_ref[key] = rid
    for (hub, direction), rid in sorted(first_ref.items(), key=lambda kv: int(kv[1][1:])):
        hub_id = remap.get(f"n{hub}", f"n{hub}")
        if hub_id not in nodes or hub_id == rid:
            continue
        edges.append(Edge(hub_id, rid, "ref") if direction == "out" else Edge(rid, hub_id, "ref"))

    if group_by_scope:
        edges.extend(_order_edges(edges, seq_of_node, summary_first))

    # ---- colours
    norm_range = None
    positive = [v for v in step_norms.values() if v > 0 and math.isfinite(v)]
    if grad_norm_range is not None and step_norms:
        positive = list(grad_norm_range)
    if positive:
        lo = math.floor(math.log10(min(positive)))
        hi = math.ceil(math.log10(max(positive)))
        norm_range = (float(lo), float(hi if hi > lo else lo + 1))

    def colour(v: float) -> str:
        if v > 0 and math.isfinite(v) and norm_range is not None:
            return colormap(norm_position(v, norm_range))
        return ZERO_COLOUR

    for sid, norms in summary_norms.items():
        if sid in nodes and norm_range is not None:
            node = nodes[sid]
            node.fill = colour(norms[0]) + ":" + colour(norms[-1])

    # ---- clusters
    clusters: dict[str, Cluster] = {}
    top: list[str] = []
    top_nodes: list[str] = []
    if group_by_scope:
        for nid, node in nodes.items():
            path = node.cluster
            if not path:
                top_nodes.append(nid)
                continue
            _ensure_cluster(clusters, top, path)
            clusters[path].nodes.append(nid)
        for path, cl in clusters.items():
            if path in step_norms:
                cl.norm = step_norms[path]
                cl.fill = colour(cl.norm)
        for cl in clusters.values():
            cl.children.sort(key=lambda p: _child_key(clusters[p], clusters))
        top.sort(key=lambda p: _child_key(clusters[p], clusters))
    else:
        top_nodes = list(nodes)
        # without clusters, colour the state-producing ops of each step
        if step_norms:
            states = _step_states(walk, steps, 0)
            for step, outs in states.items():
                fill = colour(step_norms[step])
                for pos, _ in outs:
                    node = nodes.get(f"n{pos}")
                    if node is not None:
                        node.fill = fill
        for node in nodes.values():
            if node.kind == "ref":
                node.cluster = ""

    return GraphModel(
        nodes=nodes,
        edges=edges,
        clusters=clusters,
        top=top,
        top_nodes=top_nodes,
        root="n0",
        n_ops=sum(is_op),
        step_norms=step_norms,
        norm_range=norm_range,
        folded=folded,
        hidden_nodes=hidden,
    )


def _order_edges(
    edges: list[Edge], unit_of: Any, first_step: dict[str, int]
) -> list[Edge]:
    """Invisible edges that rank every node of a step after every node of the step before.

    Without them ``dot`` lets consecutive step clusters share ranks (an LSTM's ``c``
    path is shorter than its ``h`` path), and overlapping clusters are stacked
    diagonally. An edge from each sink of step ``a`` to each source of step ``b``
    puts all of ``b`` after all of ``a``. Steps are ordered by time, so a reverse
    direction (data flowing from ``t + 1`` to ``t``) still reads left to right in
    time: its recurrent edges are marked ``back`` (laid out against the arrow).
    """

    def index(unit: str) -> int:
        found = step_of(unit)
        return found[2] if found is not None else first_step.get(unit, 0)

    pairs: list[tuple[str, str]] = []
    members: dict[str, set[str]] = {}
    has_in: set[str] = set()
    has_out: set[str] = set()
    for e in edges:
        ua, ub = unit_of(e.tail)[0], unit_of(e.head)[0]
        for nid, unit in ((e.tail, ua), (e.head, ub)):
            if unit is not None:
                members.setdefault(unit, set()).add(nid)
        if ua is not None and ua == ub:
            has_out.add(e.tail)
            has_in.add(e.head)
        elif e.kind == "recurrent":
            if index(ua) > index(ub):
                e.back = True
                ua, ub = ub, ua
            if (ua, ub) not in pairs:
                pairs.append((ua, ub))
    out: list[Edge] = []
    for ua, ub in pairs:
        sinks = sorted(members[ua] - has_out, key=_id_key)
        sources = sorted(members[ub] - has_in, key=_id_key)
        out.extend(Edge(a, b, "order") for a in sinks for b in sources)
    return out


def _id_key(nid: str) -> tuple[str, int]:
    """Model ids in a stable order: kind letter, then number."""
    head = nid.rstrip("0123456789")
    tail = nid[len(head):]
    return head, int(tail) if tail else -1


def _order_key(path: str | None) -> tuple:
    """Sort key of a scope path: time-step components sort by their index."""
    if path is None:
        return ()
    out = []
    for part in path.split("/"):
        m = _STEP.match(part)
        out.append((0, int(m.group(1)), "") if m else (1, 0, part))
    return tuple(out)


def _step_cluster(node: Node, step_key: list[str | None], nid: str) -> str | None:
    if node.kind == "ref":
        return node.cluster
    if nid.startswith("n"):
        return step_key[int(nid[1:])]
    return None


def _ensure_cluster(clusters: dict[str, Cluster], top: list[str], path: str) -> None:
    """Create the cluster of ``path`` and of every prefix, parents first."""
    if path in clusters:
        return
    if path == PARAMS_CLUSTER:
        clusters[path] = Cluster(path, "parameters")
        top.append(path)
        return
    parts = path.split("/")
    for k in range(1, len(parts) + 1):
        sub = "/".join(parts[:k])
        if sub in clusters:
            continue
        m = _STEP.match(parts[k - 1])
        clusters[sub] = Cluster(sub, parts[k - 1], int(m.group(1)) if m else None)
        if k == 1:
            top.append(sub)
        else:
            clusters["/".join(parts[: k - 1])].children.append(sub)


def _child_key(cl: Cluster, clusters: dict[str, Cluster]) -> tuple:
    """Parameters first, then time steps in time order, then other scopes by first node."""
    if cl.path == PARAMS_CLUSTER:
        return (0, 0, 0)
    if cl.step is not None:
        return (1, cl.step, 0)
    return (2, 0, -_first_node(cl, clusters))


def _first_node(cl: Cluster, clusters: dict[str, Cluster]) -> int:
    """The largest traversal position inside ``cl`` (earliest in data-flow order)."""
    best = -1
    stack = [cl]
    while stack:
        c = stack.pop()
        for nid in c.nodes:
            if nid.startswith("n"):
                best = max(best, int(nid[1:]))
        stack.extend(clusters[p] for p in c.children)
    return best
