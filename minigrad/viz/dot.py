"""Write a :class:`~minigrad.viz.graph.GraphModel` as Graphviz DOT text (pure Python).

``to_dot(root, ...)`` needs no Graphviz installation; feed its text to ``dot -Tsvg`` or
use :func:`minigrad.viz.draw_graph`. The same graph always gives byte-identical text.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..tensor import Tensor
from .colours import ZERO_COLOUR, colormap
from .graph import model_of
from .model import PARAMS_CLUSTER, GraphModel
from .options import GraphOptions

FONT = "Helvetica"
GRAPH_ATTR = {"fontname": FONT, "fontsize": "11", "nodesep": "0.12", "ranksep": "0.22",
              "newrank": "true"}
NODE_ATTR = {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff",
             "fontname": FONT, "fontsize": "9", "height": "0.3", "margin": "0.06,0.03"}
EDGE_ATTR = {"arrowsize": "0.5", "color": "#666666"}

_NODE_STYLE = {
    "op": "",
    "leaf": 'fillcolor="#c6dbef", color="#3f6fa0"',
    "ref": 'shape=note, style=filled, fillcolor="#e4eef8", color="#6b8fb8", fontsize=8',
    "summary": 'shape=box3d, style=filled, fillcolor="#eeeeee", fontsize=9',
}
_ROOT_STYLE = 'fillcolor="#fdd0a2", color="#a63603", penwidth=2, peripheries=2'
_EDGE_STYLE = {
    "data": "",
    "recurrent": 'class="recurrent", color="#d62728", penwidth=2.2',
    "ref": 'class="ref", style=dashed, color="#6b8fb8", arrowhead=empty',
    "order": 'class="order", style=invis',
}
_CLUSTER_STEP = 'style="rounded,filled"; color="#9a9a9a"; fillcolor="#f7f7f7"'
_CLUSTER_SCOPE = 'style=rounded; color="#7a7a7a"'
_CLUSTER_PARAMS = 'style="rounded,filled"; color="#3f6fa0"; fillcolor="#f2f7fc"'


def quote(text: str) -> str:
    """``text`` as a DOT double-quoted string that Graphviz prints literally.

    Backslashes and quotes are escaped (so ``\\l``, ``\\N`` ... in a name are not
    Graphviz escapes), newlines become centred line breaks, other control
    characters are dropped. ``<>{}|`` need nothing: no record shapes are used.
    """
    out = []
    for ch in str(text):
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch < " " or ch == "\x7f":
            continue
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _label(lines: list[str]) -> str:
    return quote("\n".join(lines))


@dataclass
class DotParts:
    """DOT text in pieces: the three default attribute sets and the body lines."""

    graph_attr: dict[str, str]
    node_attr: dict[str, str]
    edge_attr: dict[str, str]
    body: list[str]


def dot_parts(
    root: Tensor, params: Mapping[str, Tensor] | None, options: Mapping[str, Any], caller: str
) -> DotParts:
    """The one path from a root to DOT statements, shared by every writer.

    ``options`` are :class:`~minigrad.viz.options.GraphOptions` keywords; ``caller``
    (the function the user called) is named in refusals.
    """
    opts = GraphOptions.from_keywords(caller, options)
    return model_to_parts(model_of(root, params, opts, caller), opts)


def model_to_parts(model: GraphModel, opts: GraphOptions | None = None) -> DotParts:
    """The DOT statements that draw ``model`` with ``opts`` (default options)."""
    opts = GraphOptions() if opts is None else opts
    body: list[str] = []
    counter = [0]
    # top to bottom only: left to right, recurrent edges arrive from the left, past no note
    beside = _notes_beside_their_op(model) if opts.rankdir in ("TB", "BT") else {}

    def node_line(nid: str, indent: str) -> str:
        node = model.nodes[nid]
        lines = list(node.lines)
        kind = f"{node.kind} root" if node.is_root else node.kind
        attrs = [f"label={_label(lines)}", f'class="{kind}"']
        if node.tooltip:
            attrs.append(f"tooltip={_label(node.tooltip.splitlines())}")
        style = _ROOT_STYLE if node.is_root else _NODE_STYLE[node.kind]
        if style:
            attrs.append(style)
        if node.fill is not None:
            if ":" in node.fill:
                attrs.append(f'style=filled, gradientangle=0, fillcolor="{node.fill}"')
            else:
                attrs.append(f'fillcolor="{node.fill}"')
        return f"{indent}{nid} [{', '.join(attrs)}];"

    def emit_cluster(path: str, depth: int) -> None:
        cl = model.clusters[path]
        indent = "  " * depth
        inner = indent + "  "
        body.append(f"{indent}subgraph cluster_{counter[0]} {{")
        counter[0] += 1
        label = cl.label
        if path == PARAMS_CLUSTER:
            body.append(f"{inner}{_CLUSTER_PARAMS};")
        elif cl.step is not None:
            if cl.norm is not None:
                label = f"{label}  |grad h| = {cl.norm:.2e}"
                body.append(
                    f'{inner}style="rounded,filled"; color="#555555"; '
                    f'fillcolor="{cl.fill}";'
                )
            else:
                body.append(f"{inner}{_CLUSTER_STEP};")
        else:
            body.append(f"{inner}{_CLUSTER_SCOPE};")
        body.append(f"{inner}label={quote(label)}; labeljust=l; fontsize=10;")
        for child in cl.children:
            emit_cluster(child, depth + 1)
        for nid in cl.nodes:
            body.append(node_line(nid, inner))
            if nid in beside:
                body.append(f"{inner}{{rank=same; {nid}; {beside[nid]};}}")
        body.append(f"{indent}}}")

    for path in model.top:
        emit_cluster(path, 1)
    for nid in model.top_nodes:
        body.append(node_line(nid, "  "))
    for e in model.edges:
        style = _EDGE_STYLE[e.kind]
        if e.loose:
            style = f"{style}, constraint=false" if style else "constraint=false"
        if e.back:
            body.append(f"  {e.head} -> {e.tail} [dir=back, {style}];")
        else:
            body.append(f"  {e.tail} -> {e.head}" + (f" [{style}];" if style else ";"))
    body.append("  " + _legend(model))
    graph_attr = dict(GRAPH_ATTR, rankdir=opts.rankdir)
    return DotParts(graph_attr, dict(NODE_ATTR), dict(EDGE_ATTR), body)


def _notes_beside_their_op(model: GraphModel) -> dict[str, str]:
    """Reference notes to draw on the rank of the one op they feed (in their cluster).

    Top to bottom, a note above an op that a recurrent edge enters from the step before
    sits in that edge's path, so the red edge seemed to feed the note; beside the op it
    cannot.
    """
    heads: dict[str, set[str]] = {}
    recurrent_heads = set()
    for e in model.edges:
        if e.kind == "data" and model.nodes[e.tail].kind == "ref":
            heads.setdefault(e.tail, set()).add(e.head)
        elif e.kind == "recurrent":
            recurrent_heads.add(e.head)
    out = {}
    for rid, targets in heads.items():
        if len(targets) == 1:
            (head,) = targets
            # only where a recurrent edge arrives (elsewhere dot may fail to route)
            if head in recurrent_heads and model.nodes[head].cluster == model.nodes[rid].cluster:
                out[rid] = head
    return out


def _legend(model: GraphModel) -> str:
    """One plaintext node holding an HTML table: node kinds, edge kinds, colour scale."""
    rows = [
        '<TR><TD COLSPAN="2"><B>legend</B></TD></TR>',
        '<TR><TD BGCOLOR="#ffffff" BORDER="1">op</TD><TD ALIGN="LEFT">op (output shape)</TD></TR>',
        '<TR><TD BGCOLOR="#fdd0a2" BORDER="1">root</TD><TD ALIGN="LEFT">the drawn tensor</TD></TR>',
        '<TR><TD BGCOLOR="#c6dbef" BORDER="1">param</TD>'
        '<TD ALIGN="LEFT">parameter / input (drawn once)</TD></TR>',
        '<TR><TD BGCOLOR="#e4eef8" BORDER="1">ref</TD>'
        '<TD ALIGN="LEFT">reference to a node shared by steps</TD></TR>',
        '<TR><TD><FONT COLOR="#d62728"><B>&#8594;</B></FONT></TD>'
        '<TD ALIGN="LEFT">recurrent edge (state into the next step)</TD></TR>',
    ]
    if model.folded:
        rows.append('<TR><TD BGCOLOR="#eeeeee" BORDER="1">...</TD>'
                    '<TD ALIGN="LEFT">folded middle steps</TD></TR>')
    if model.hidden_nodes:
        rows.append(f'<TR><TD COLSPAN="2">{model.hidden_nodes} ops not drawn '
                    "(max_nodes)</TD></TR>")
    for note in model.notes:
        rows.append(f'<TR><TD COLSPAN="2" ALIGN="LEFT">{html.escape(note)}</TD></TR>')
    if model.norm_range is not None:
        lo, hi = int(model.norm_range[0]), int(model.norm_range[1])
        n = hi - lo
        rows.append(f'<TR><TD COLSPAN="2">|gradient| reaching each step\'s state '
                    f"({html.escape('log scale')})</TD></TR>")
        cells = []
        for k in range(n + 1):
            x = k / n
            cells.append(
                f'<TD BGCOLOR="{colormap(x)}"><FONT POINT-SIZE="8">'
                f"1e{lo + k}</FONT></TD>"
            )
        cells.append(f'<TD BGCOLOR="{ZERO_COLOUR}"><FONT POINT-SIZE="8">0</FONT></TD>')
        rows.append('<TR><TD COLSPAN="2"><TABLE BORDER="0" CELLSPACING="0" CELLPADDING="2">'
                    "<TR>" + "".join(cells) + "</TR></TABLE></TD></TR>")
    table = ('<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="3">'
             + "".join(rows) + "</TABLE>")
    return f"legend [shape=plaintext, style=solid, fontsize=9, label=<{table}>];"


def _attr_list(attrs: dict[str, str]) -> str:
    return ", ".join(f"{k}={quote(v)}" for k, v in attrs.items())


def parts_to_text(parts: DotParts) -> str:
    """Assemble :class:`DotParts` into a complete ``digraph``."""
    head = [
        "digraph minigrad {",
        f"  graph [{_attr_list(parts.graph_attr)}];",
        f"  node [{_attr_list(parts.node_attr)}];",
        f"  edge [{_attr_list(parts.edge_attr)}];",
    ]
    return "\n".join(head + parts.body + ["}"]) + "\n"


def to_dot(root: Tensor, params: Mapping[str, Tensor] | None = None, **options: Any) -> str:
    """DOT source of the graph that produced ``root``; no Graphviz binary needed.

    ``params``: name -> Tensor (e.g. ``dict(model.named_parameters())``), matched by
    identity, labels the leaves. ``options`` (keywords) are those of
    :class:`~minigrad.viz.options.GraphOptions`: ``group_by_scope``, ``show_shapes``,
    ``show_grad_norms`` (the graph must still be alive: draw before ``backward()`` or
    after ``backward(retain_graph=True)``), ``max_nodes``, ``keep_steps``, ``rankdir``,
    ``grad_norm_range``, ``expand_compiled`` (compiled nodes drawn as their ops; default).
    """
    return parts_to_text(dot_parts(root, params, options, "to_dot"))
