"""Pictures of the recorded graph (``mg.viz``): the unrolled BPTT graph, one cluster per step.

``to_dot`` writes DOT text in pure Python; ``draw_graph`` wraps it in a
``graphviz.Digraph``; ``render_to_file`` writes ``.svg``/``.png``/``.pdf``/``.dot``.
"""

from .dot import to_dot
from .graph import GraphModel, build_graph
from .options import GraphOptions
from .render import (
    GraphTooLargeWarning,
    GraphvizMissingWarning,
    Picture,
    draw_graph,
    render_to_file,
    show,
)

__all__ = [
    "GraphModel", "GraphOptions", "GraphTooLargeWarning", "GraphvizMissingWarning", "Picture",
    "build_graph", "draw_graph", "render_to_file", "show", "to_dot",
]
