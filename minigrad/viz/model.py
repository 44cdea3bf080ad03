"""The picture's model: nodes, edges and nested scope clusters, and how scope paths sort.

:func:`minigrad.viz.graph.build_graph` fills it; :mod:`minigrad.viz.dot` writes it out.
Keeping the model apart from the DOT text lets the layout decisions be tested without
Graphviz.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PARAMS_CLUSTER = "\x00parameters"  # cannot collide with a name_scope path (those have no NUL)

# Appended to a cluster path (with a number) for the second and later calls of one scope.
CALL_MARK = "\x01"

# A scope component naming a time step: "t3", "step3", "step_3".
_STEP = re.compile(r"^(?:t|step_?)(\d+)$")


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
    tooltip: str = ""  # shown on hover in SVG: shape, dtype, scope, gradient norm


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
    loose: bool = False  # no say in the layout: the next layer starts a new row


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
    ``detail`` is the level drawn (``"ops"`` or ``"modules"``); ``notes`` say what was
    done to keep the picture readable (folding, level of detail), for a caption.
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
    detail: str = "ops"
    notes: list[str] = field(default_factory=list)


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


def id_key(nid: str) -> tuple[str, int]:
    """Model ids in a stable order: kind letter, then number."""
    head = nid.rstrip("0123456789")
    tail = nid[len(head):]
    return head, int(tail) if tail else -1


def order_key(path: str | None) -> tuple:
    """Sort key of a scope path: time-step components sort by their index."""
    if path is None:
        return ()
    out = []
    for part in path.split("/"):
        m = _STEP.match(part)
        out.append((0, int(m.group(1)), "") if m else (1, 0, part))
    return tuple(out)


def ensure_cluster(clusters: dict[str, Cluster], top: list[str], path: str) -> None:
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
        label = parts[k - 1].split(CALL_MARK)[0]
        clusters[sub] = Cluster(sub, label, int(m.group(1)) if m else None)
        if k == 1:
            top.append(sub)
        else:
            clusters["/".join(parts[: k - 1])].children.append(sub)


def child_key(cl: Cluster, clusters: dict[str, Cluster]) -> tuple:
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
