"""Build the picture's model from a root Tensor's graph, in passes.

:func:`build_graph` walks the root's ``grad_fn`` chain (iteratively, so a graph unrolled
over 10,000 steps is fine) and runs one pass after another over a shared builder state:

1. **walk and labels**: every Function and leaf, labelled with its name and shape;
2. **gradient norms** (``show_grad_norms``), on the full graph, before anything is hidden;
3. **references**: a node outside the step clusters (a parameter, or ``W_hh^T``
   transposed once before the loop) that feeds many steps would send one edge into every
   step cluster, and ``dot``'s layout time explodes with such edges. Each step gets a
   small note-shaped *reference* node instead (``weight_hh (shared)``); the real node is
   drawn once, with a dashed edge to the first reference only. Fan-in hubs (a ``Stack``
   of every step's output) get the same treatment in the other direction;
4. **folding**: above ``max_nodes`` the middle steps of every sequence collapse into one
   summary node, keeping the first and last few steps in full; a graph still too large
   is cut in breadth-first order from the root;
5. **edges**: remapped onto what is drawn, classified (data, recurrent, reference) and
   given invisible ordering edges that lay steps out in time;
6. **colours** of the gradient-norm scale; 7. **clusters**, one per scope level.

Ids are traversal positions, never ``id()``, so the same graph gives the same text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..autograd.function import Function
from ..tensor import Tensor
from .collapse import Group, collapse, composite_unit, group_label, module_unit
from .colours import ZERO_COLOUR, colormap, decade_range, norm_colour, norm_position
from .expand import expanded
from .model import (
    CALL_MARK,
    PARAMS_CLUSTER,
    Cluster,
    Edge,
    GraphModel,
    Node,
    child_key,
    ensure_cluster,
    id_key,
    order_key,
    step_of,
)
from .norms import grad_norms, step_states
from .options import DEFAULT_MAX_NODES, READABLE_NODES, READABLE_STEPS, GraphOptions
from .walk import Walk, dtypes_of, out_shape_text, shape_text

__all__ = [
    "DEFAULT_MAX_NODES", "PARAMS_CLUSTER", "ZERO_COLOUR", "Cluster", "Edge", "GraphModel",
    "GraphOptions", "Node", "build_graph", "colormap", "norm_position", "step_of",
]

# A node outside the steps that touches this many step clusters is drawn once, with a
# reference in each step (a node inside a step: one more, its own next step being normal).
SHARED_MIN_STEPS = 2

Step = tuple[str, str, int]  # (step path, sequence path, index), see step_of


def build_graph(
    root: Tensor, params: Mapping[str, Tensor] | None = None, **options: Any
) -> GraphModel:
    """Build the picture's model from ``root``'s graph; options: :class:`GraphOptions`.

    ``params``: name -> Tensor, matched by identity, labels leaves. ``max_nodes``
    bounds the drawn nodes: longer sequences keep their first and last ``keep_steps``
    steps in full (fewer, down to one, when that is still too many) and fold the rest
    into one summary node per sequence; a graph still too large is cut in BFS order from
    the root. ``show_grad_norms`` reruns backward on the retained graph to colour each
    step; ``grad_norm_range`` ``(low, high)`` fixes the ends of the colour scale
    (rounded out to whole decades; default: the decades the norms span).
    """
    return model_of(root, params, GraphOptions.from_keywords("build_graph", options),
                    "build_graph")


def model_of(
    root: Tensor, params: Mapping[str, Tensor] | None, opts: GraphOptions, caller: str
) -> GraphModel:
    """:func:`build_graph` with the options already gathered (for the writers)."""
    if not isinstance(root, Tensor):
        raise TypeError(f"{caller}: root must be a Tensor, got {type(root).__name__}")
    # compiled nodes drawn (and their gradients measured) as the ops they stand for; the
    # user's graph is put back as it was when the block ends
    with expanded(root, opts.expand_compiled, check_versions=opts.show_grad_norms) as root:
        full = Walk(root)
        norms: tuple[dict[str, float], dict[int, float]] = ({}, {})
        if opts.show_grad_norms:  # on the full graph, before anything is grouped or hidden
            norms = _norms(root, full)
        detail = "ops" if opts.detail == "auto" else opts.detail
        model = _build(root, params, opts, full, norms, detail)
        n_ops = sum(isinstance(o, Function) for o in full.objs)
        if opts.detail == "auto" and opts.readable and len(model.nodes) > READABLE_NODES:
            ops_nodes = len(model.nodes)
            model = _build(root, params, opts, full, norms, "modules")
            model.notes.insert(0, f"module level: the op level would draw {ops_nodes} nodes "
                                  f"(more than {READABLE_NODES}); pass detail='ops' for it")
    model.n_ops = n_ops  # every recorded op, however they are drawn
    return model


def _norms(root: Tensor, full: Walk) -> tuple[dict[str, float], dict[int, float]]:
    """Per-step norms (by step path) and per-op norms (by ``id`` of the Function)."""
    steps = [step_of(o.scope) if isinstance(o, Function) else None for o in full.objs]
    per_op: dict[int, float] = {}
    return grad_norms(root, full, step_states(full, steps, 0), per_op), per_op


def _build(
    root: Tensor, params: Mapping[str, Tensor] | None, opts: GraphOptions, full: Walk,
    norms: tuple[dict[str, float], dict[int, float]], detail: str,
) -> GraphModel:
    unit = module_unit if detail == "modules" else composite_unit(opts.expand)
    b = _Builder(collapse(full, unit), params, opts, dtypes_of(full))
    b.step_norms, b.op_norms = norms
    b.label_pass()
    b.reference_pass()
    b.fold_pass()
    b.cut_pass()
    b.edge_pass()
    b.colour_pass()
    b.cluster_pass()
    return GraphModel(
        nodes=b.nodes, edges=b.edges, clusters=b.clusters, top=b.top,
        top_nodes=b.top_nodes, root="n0", n_ops=sum(b.is_op), step_norms=b.step_norms,
        norm_range=b.norm_range, folded=b.folded, hidden_nodes=b.hidden, detail=detail,
        notes=b.notes,
    )


class _Builder:
    """The state the passes share. Model node ids: ``n<k>`` for traversal position
    ``k``, ``r<k>`` references, ``s<k>`` summaries, ``s_cut`` the cut."""

    def __init__(self, walk: Walk, params: Mapping[str, Tensor] | None,
                 opts: GraphOptions, dtypes: dict[int, str]) -> None:
        self.opts = opts
        self.dtypes = dtypes
        self.names = {id(t): str(n) for n, t in (params or {}).items()
                      if isinstance(t, Tensor)}
        self.walk = walk
        self.objs = self.walk.objs
        self.n = len(self.objs)
        self.is_op = [isinstance(o, (Function, Group)) for o in self.objs]
        self.steps: list[Step | None] = [
            step_of(o.scope) if self.is_op[i] else None for i, o in enumerate(self.objs)]
        self.step_key = [s[0] if s is not None else None for s in self.steps]
        self.producers: list[list[int]] = [[] for _ in range(self.n)]
        self.consumers: list[list[tuple[int, int]]] = [[] for _ in range(self.n)]
        for p, out_idx, c in self.walk.edges:
            self.producers[c].append(p)
            self.consumers[p].append((c, out_idx))
        self.lines: list[list[str]] = []
        self.step_norms: dict[str, float] = {}
        self.op_norms: dict[int, float] = {}
        self.notes: list[str] = []
        self.nodes: dict[str, Node] = {}
        self.raw: list[tuple[str, str]] = []  # edges in data-flow order, before remapping
        self.ref_ids: dict[tuple[int, str, str], str] = {}  # (hub, step, out/in) -> id
        self.ref_step: dict[str, str] = {}
        self.remap: dict[str, str] = {}  # hidden node -> the summary drawn for it
        self.folded: list[tuple[str, int, int]] = []
        self.summary_norms: dict[str, list[float]] = {}
        self.summary_first: dict[str, int] = {}  # "\x00" + summary id -> first folded step
        self.hidden = 0
        self.edges: list[Edge] = []
        self.norm_range: tuple[float, float] | None = None
        self.clusters: dict[str, Cluster] = {}
        self.top: list[str] = []
        self.top_nodes: list[str] = []

    # ------------------------------------------------------------ 1. labels
    def label_pass(self) -> None:
        show_shapes = self.opts.show_shapes
        for i, o in enumerate(self.objs):
            if isinstance(o, Group):
                label = group_label(o, show_shapes, out_shape_text(o))
            elif self.is_op[i]:
                label = [o.name]
                if show_shapes:
                    label.append(out_shape_text(o))
            else:
                name = self.names.get(id(o))
                label = [name] if name is not None else []
                if show_shapes or name is None:
                    label.append(shape_text(o.shape))
            self.lines.append(label)

    def describe(self, i: int) -> str:
        """Short name of a shared node for its references: ``Transpose(weight_hh)``."""
        objs, names = self.objs, self.names
        if not self.is_op[i]:
            return names.get(id(objs[i])) or f"leaf {shape_text(objs[i].shape)}"
        o = objs[i]
        name = o.first.name if isinstance(o, Group) and o.count == 1 else o.name
        producers = self.producers[i]
        if len(producers) == 1 and not self.is_op[producers[0]]:
            leaf = names.get(id(objs[producers[0]]))
            if leaf is not None:
                return f"{name}({leaf})"
        return name

    def tooltip(self, i: int) -> str:
        """What hovering shows: name, shape, dtype, scope, gradient norm."""
        o = self.objs[i]
        lead = o.first if isinstance(o, Group) else o
        if self.is_op[i]:
            what = o.name
            if isinstance(o, Group):
                what += f": {o.count} ops" if o.count != 1 else f": {o.first.name}"
            lines = [what,
                     f"shape {out_shape_text(o)}"]
            dtype = self.dtypes.get(id(lead))
            if dtype:
                lines.append(f"dtype {dtype}")
            lines.append(f"scope {lead.scope or '(top level)'}")
            norm = self.op_norms.get(id(lead))
            if norm is not None:
                lines.append(f"|grad| {norm:.3e}")
        else:
            lines = [self.names.get(id(o), "leaf"), f"shape {shape_text(o.shape)}",
                     f"dtype {o.dtype}"]
            if o.grad is not None:
                lines.append(f"|grad| (accumulated) {_norm_of(o.grad):.3e}")
        return "\n".join(lines)

    # ------------------------------------------------------------ 3. references
    def reference_pass(self) -> None:
        step_key, objs, is_op = self.step_key, self.objs, self.is_op
        fan_out: set[int] = set()
        fan_in: set[int] = set()
        for i in range(self.n):
            own = step_key[i]
            need = SHARED_MIN_STEPS if own is None else SHARED_MIN_STEPS + 1
            if len({step_key[c] for c, _ in self.consumers[i]} - {own, None}) >= need:
                fan_out.add(i)
            if len({step_key[p] for p in self.producers[i]} - {own, None}) >= need:
                fan_in.add(i)

        def crosses(hub: int, other: int) -> bool:
            return step_key[other] is not None and step_key[other] != step_key[hub]

        # reverse BFS discovery puts early steps first
        for p, _, c in reversed(self.walk.edges):
            tail, head = f"n{p}", f"n{c}"
            if p in fan_out and crosses(p, c):
                tail = self._ref_for(p, step_key[c], "out")
            if c in fan_in and crosses(c, p):
                head = self._ref_for(c, step_key[p], "in")
            self.raw.append((tail, head))
        # which outputs of a multi-output hub each reference stands for
        ref_outputs: dict[str, set[int]] = {}
        steps_per_output: dict[tuple[int, int], set[str]] = {}
        for p, out_idx, c in self.walk.edges:
            if p in fan_out and crosses(p, c):
                ref_outputs.setdefault(self.ref_ids[(p, step_key[c], "out")], set()).add(out_idx)
            if p in fan_out and step_key[c] is not None:
                steps_per_output.setdefault((p, out_idx), set()).add(step_key[c])

        for i in range(self.n):
            self.nodes[f"n{i}"] = Node(
                f"n{i}", "op" if is_op[i] else "leaf", self.lines[i],
                objs[i].scope if is_op[i] else PARAMS_CLUSTER, is_root=(i == 0),
                tooltip=self.tooltip(i),
            )
        for (hub, step, direction), rid in self.ref_ids.items():
            desc = self.describe(hub)
            if direction == "out":
                outs = sorted(ref_outputs.get(rid, ()))
                if is_op[hub] and objs[hub].n_out > 1:
                    desc += "[" + ",".join(str(k) for k in outs) + "]"
                shared = any(len(steps_per_output.get((hub, k), ())) > 1 for k in outs)
                home = objs[hub].scope.rsplit("/", 1)[-1] if is_op[hub] else ""
                label = [desc, "(shared)" if shared else f"(from {home or 'top level'})"]
            else:
                label = ["to " + desc]
            self.nodes[rid] = Node(rid, "ref", label, step)

    def _ref_for(self, hub: int, step: str, direction: str) -> str:
        key = (hub, step, direction)
        rid = self.ref_ids.get(key)
        if rid is None:
            rid = f"r{len(self.ref_ids)}"
            self.ref_ids[key] = rid
            self.ref_step[rid] = step
        return rid

    # ------------------------------------------------------------ 4. folding and the cut
    def fold_pass(self) -> None:
        opts, nodes = self.opts, self.nodes
        limit = opts.limit
        seq_steps: dict[str, dict[int, str]] = {}
        for s in sorted({s for s in self.steps if s is not None}):
            seq_steps.setdefault(s[1], {})[s[2]] = s[0]
        budget = READABLE_STEPS if opts.readable else None
        total = sum(len(v) for v in seq_steps.values())
        if len(nodes) <= limit and (budget is None or total <= budget):
            return
        members: dict[str, list[str]] = {}
        for nid, node in nodes.items():
            key = self._step_cluster(nid, node)
            if key is not None:
                members.setdefault(key, []).append(nid)
        seqs = sorted(seq_steps, key=order_key)
        # fewer steps kept in full until the picture fits (at least one at each end)
        for keep in range(opts.keep_steps, 0, -1):
            runs = []  # (summary id, sequence, folded step indices)
            for k_s, seq in enumerate(seqs):
                order = sorted(seq_steps[seq])
                kept = {*order[:keep], *order[-keep:]}
                if opts.focus_step in seq_steps[seq]:
                    kept.add(opts.focus_step)
                if len(order) - len(kept) < 2:
                    continue
                for j, run in enumerate(_runs([t not in kept for t in order])):
                    sid = f"s{k_s}" if j == 0 else f"s{k_s}_{j}"
                    runs.append((sid, seq, [order[k] for k in run]))
            hidden_count = sum(len(members.get(seq_steps[seq][t], ()))
                               for _, seq, middle in runs for t in middle)
            shown = total - sum(len(middle) for _, _, middle in runs)
            if len(nodes) - hidden_count + len(runs) <= limit and (
                    budget is None or shown <= budget):
                break
        for sid, seq, middle in runs:
            count = 0
            for t in middle:
                for nid in members.get(seq_steps[seq][t], ()):
                    self.remap[nid] = sid
                    count += nodes[nid].kind == "op"
            a, b = middle[0], middle[-1]
            label = [f"t{a} ... t{b}", f"{len(middle)} steps folded", f"{count} ops"]
            known = [v for v in (self.step_norms.get(seq_steps[seq][t]) for t in middle)
                     if v is not None]
            if known:
                label.append(f"|grad| {min(known):.2e} .. {max(known):.2e}")
                self.summary_norms[sid] = known
            nodes[sid] = Node(sid, "summary", label, seq)
            self.folded.append((seq, a, b))
            self.summary_first["\x00" + sid] = a
        for nid in self.remap:
            del nodes[nid]
        if runs:
            self.notes.append(f"{total - shown} of {total} time steps folded "
                              f"({shown} drawn in full)")

    def _step_cluster(self, nid: str, node: Node) -> str | None:
        if node.kind == "ref":
            return node.cluster
        if nid.startswith("n"):
            return self.step_key[int(nid[1:])]
        return None

    def cut_pass(self) -> None:
        """Still too large (no steps to fold): keep the first nodes in BFS order."""
        limit, nodes, remap = self.opts.limit, self.nodes, self.remap
        if len(nodes) <= limit:
            return
        keep = set(list(nodes)[: limit - 1])
        cut = "s_cut"
        dropped = [nid for nid in nodes if nid not in keep]
        self.hidden = sum(nodes[nid].kind == "op" for nid in dropped)
        for nid in dropped:
            remap[nid] = cut
            del nodes[nid]
        for nid, target in list(remap.items()):
            if target in remap:
                remap[nid] = remap[target]
        nodes[cut] = Node(cut, "summary", [f"... {len(dropped)} more nodes", "not drawn"], "")

    # ------------------------------------------------------------ 5. edges
    def unit_of(self, nid: str) -> tuple[str | None, str | None]:
        """(step path, sequence path) of a drawn node (summaries: a private step path)."""
        if nid.startswith("n"):
            s = self.steps[int(nid[1:])]
            return (s[0], s[1]) if s is not None else (None, None)
        if nid.startswith("r"):
            s = step_of(self.ref_step[nid])
            return (s[0], s[1]) if s is not None else (None, None)
        if nid.startswith("s") and nid != "s_cut":
            return ("\x00" + nid, self.nodes[nid].cluster)
        return (None, None)

    def edge_pass(self) -> None:
        """Remap, drop self loops, dedupe summary edges, classify; link references."""
        remap, edges = self.remap, self.edges
        seen: set[tuple[str, str]] = set()
        for tail, head in self.raw:
            tail, head = remap.get(tail, tail), remap.get(head, head)
            if tail == head:
                continue
            if tail[0] == "s" or head[0] == "s":
                if (tail, head) in seen:
                    continue
                seen.add((tail, head))
            ts, tq = self.unit_of(tail)
            hs, hq = self.unit_of(head)
            kind = "recurrent" if ts and hs and ts != hs and tq == hq else "data"
            edges.append(Edge(tail, head, kind))
        # the real shared node, linked once to its first (or, for fan-in, last) reference
        first_ref: dict[tuple[int, str], str] = {}
        for (hub, step, direction), rid in self.ref_ids.items():
            if rid not in self.nodes:
                continue
            key = (hub, direction)
            cur = first_ref.get(key)
            better = cur is None or (
                order_key(step) < order_key(self.ref_step[cur])
                if direction == "out"
                else order_key(step) > order_key(self.ref_step[cur])
            )
            if better:
                first_ref[key] = rid
        for (hub, direction), rid in sorted(first_ref.items(), key=lambda kv: int(kv[1][1:])):
            hub_id = remap.get(f"n{hub}", f"n{hub}")
            if hub_id not in self.nodes or hub_id == rid:
                continue
            edges.append(Edge(hub_id, rid, "ref") if direction == "out"
                         else Edge(rid, hub_id, "ref"))
        if self.opts.group_by_scope:
            edges.extend(_order_edges(edges, self.unit_of, self.summary_first))
            if self.opts.readable:
                self._wrap_rows()

    def _wrap_rows(self) -> None:
        """Each layer of a recurrent stack in its own row: the edges from one layer into
        the next (``lstm/l0`` -> ``lstm/l1``) take no part in ranking, so the next
        layer's steps start again at the left instead of after all of this layer's."""
        rows = sorted({seq.rsplit("/", 1)[0] for s in self.steps if s is not None
                       for seq in (s[1],) if "/" in seq}, key=len, reverse=True)
        if len(rows) < 2:
            return

        def row_of(nid: str) -> str | None:
            path = self.nodes[nid].cluster
            for row in rows:
                if path == row or path.startswith(row + "/"):
                    return row
            return None

        for e in self.edges:
            if e.kind in ("data", "ref"):
                a, b = row_of(e.tail), row_of(e.head)
                if a is not None and b is not None and a != b:
                    e.loose = True

    # ------------------------------------------------------------ 6. colours
    def colour_pass(self) -> None:
        norms = list(self.step_norms.values())
        if self.opts.grad_norm_range is not None and self.step_norms:
            norms = list(self.opts.grad_norm_range)
        self.norm_range = decade_range(norms)
        if self.norm_range is None:
            return
        for sid, known in self.summary_norms.items():
            if sid in self.nodes:
                self.nodes[sid].fill = (norm_colour(known[0], self.norm_range) + ":"
                                        + norm_colour(known[-1], self.norm_range))

    # ------------------------------------------------------------ 7. clusters
    def _split_calls(self) -> None:
        """One cluster per call: a scope entered twice (``drop (Dropout)`` before and
        after the LSTM) holds two unconnected groups of nodes; the second and later get
        a cluster of their own instead of one box stretched over the whole picture."""
        by_path: dict[str, list[str]] = {}
        for nid, node in self.nodes.items():
            if node.cluster and node.cluster != PARAMS_CLUSTER:
                by_path.setdefault(node.cluster, []).append(nid)
        parents = {p.rsplit("/", 1)[0] for p in by_path if "/" in p}
        for path, members in by_path.items():
            if path in parents or step_of(path) is not None or len(members) < 2:
                continue
            inside = set(members)
            link = {nid: nid for nid in members}

            for e in self.edges:
                if e.tail in inside and e.head in inside:
                    a, b = _find(link, e.tail), _find(link, e.head)
                    if a != b:
                        link[max(a, b, key=id_key)] = min(a, b, key=id_key)
            heads = sorted({_find(link, m) for m in members}, key=id_key)
            for k, head in enumerate(heads[1:], start=1):
                for m in members:
                    if _find(link, m) == head:
                        self.nodes[m].cluster = f"{path}{CALL_MARK}{k}"

    def cluster_pass(self) -> None:
        nodes, clusters = self.nodes, self.clusters
        if not self.opts.group_by_scope:
            self.top_nodes = list(nodes)
            # without clusters, colour the state-producing ops of each step
            if self.step_norms:
                for step, outs in step_states(self.walk, self.steps, 0).items():
                    fill = norm_colour(self.step_norms[step], self.norm_range)
                    for pos, _ in outs:
                        node = nodes.get(f"n{pos}")
                        if node is not None:
                            node.fill = fill
            for node in nodes.values():
                if node.kind == "ref":
                    node.cluster = ""
            return
        self._split_calls()
        for nid, node in nodes.items():
            path = node.cluster
            if not path:
                self.top_nodes.append(nid)
                continue
            ensure_cluster(clusters, self.top, path)
            clusters[path].nodes.append(nid)
        for path, cl in clusters.items():
            if path in self.step_norms:
                cl.norm = self.step_norms[path]
                cl.fill = norm_colour(cl.norm, self.norm_range)
        for cl in clusters.values():
            cl.children.sort(key=lambda p: child_key(clusters[p], clusters))
        self.top.sort(key=lambda p: child_key(clusters[p], clusters))


def _find(link: dict[str, str], x: str) -> str:
    """The representative of ``x`` in the union-find forest ``link``."""
    while link[x] != x:
        link[x] = link[link[x]]
        x = link[x]
    return x


def _runs(flags: list[bool]) -> list[list[int]]:
    """The maximal runs of consecutive positions where ``flags`` is true."""
    out: list[list[int]] = []
    for k, flag in enumerate(flags):
        if flag:
            if out and out[-1][-1] == k - 1:
                out[-1].append(k)
            else:
                out.append([k])
    return out


def _norm_of(t: Tensor) -> float:
    return float(((t.data.astype("float64")) ** 2).sum()) ** 0.5


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
        sinks = sorted(members[ua] - has_out, key=id_key)
        sources = sorted(members[ub] - has_in, key=id_key)
        out.extend(Edge(a, b, "order") for a in sinks for b in sources)
    return out
