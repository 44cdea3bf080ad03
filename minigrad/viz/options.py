"""The options every picture takes, in one place: :class:`GraphOptions`.

``to_dot``, ``draw_graph``, ``render_to_file`` and :func:`~minigrad.viz.graph.build_graph`
all accept these as keyword arguments and hand them on as one object, so a new option is
added here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

DEFAULT_MAX_NODES = 2000
# The readable defaults (no max_nodes given): at most this many time steps drawn in full,
# summed over all sequences (layers and directions lie side by side in time), ...
READABLE_STEPS = 12
# ... and at most this many nodes at the op level; above it the module level is drawn.
READABLE_NODES = 150
RANKDIRS = ("LR", "RL", "TB", "BT")
DETAILS = ("auto", "ops", "modules")


@dataclass(frozen=True)
class GraphOptions:
    """How to draw a graph.

    ``group_by_scope``: one cluster per ``name_scope`` level (one per time step, in time
    order). ``show_shapes``: each op's output shape. ``show_grad_norms``: rerun backward
    on the retained graph and colour each step by the norm of the gradient reaching its
    hidden state. ``max_nodes`` (default :data:`DEFAULT_MAX_NODES`): the middle steps of
    longer sequences are folded, keeping the first and last ``keep_steps``; a graph still
    too large is cut. ``rankdir``: Graphviz direction. ``grad_norm_range``: ``(low,
    high)`` ends of the colour scale, to compare pictures.

    Without ``max_nodes`` the picture is made readable: at most :data:`READABLE_STEPS`
    steps are drawn in full (the first and last of each sequence, and ``focus_step``),
    and ``detail="auto"`` draws the op level up to :data:`READABLE_NODES` nodes, the
    module level (one node per module call and per time step) above. ``detail="ops"`` or
    ``"modules"`` picks one. Composite functions (``cross_entropy``, ``layer_norm`` ...)
    are one node each; ``expand=True`` (or a list of their names) draws their ops.

    ``expand_compiled`` (default True): a compiled node (``mg.compile``, a recurrent
    layer after ``.compile()``) is drawn as the eager ops it stands for, re-recorded in
    the scopes they would have had uncompiled, so each step's cluster shows its ops and
    gradient norms as without compilation; False draws one ``Compiled[...]`` node each.
    """

    group_by_scope: bool = True
    show_shapes: bool = True
    show_grad_norms: bool = False
    max_nodes: int | None = None
    keep_steps: int = 3
    grad_norm_range: tuple[float, float] | None = None
    rankdir: str = "LR"
    detail: str = "auto"
    expand: bool | tuple[str, ...] = False
    focus_step: int | None = None
    expand_compiled: bool = True

    @property
    def limit(self) -> int:
        """The node budget: ``max_nodes`` or :data:`DEFAULT_MAX_NODES`."""
        return DEFAULT_MAX_NODES if self.max_nodes is None else int(self.max_nodes)

    def check(self, caller: str) -> GraphOptions:
        """Refuse values that cannot be drawn, naming ``caller``; returns ``self``."""
        if self.limit < 1:
            raise ValueError(f"{caller}: max_nodes must be positive, got {self.max_nodes}")
        if self.keep_steps < 1:
            raise ValueError(f"{caller}: keep_steps must be at least 1, got {self.keep_steps}")
        rng = self.grad_norm_range
        if rng is not None and not 0 < rng[0] < rng[1]:
            raise ValueError(f"{caller}: grad_norm_range must be (low, high) with "
                             f"0 < low < high, got {rng}")
        if self.rankdir not in RANKDIRS:
            raise ValueError(f"{caller}: rankdir must be one of {', '.join(RANKDIRS)}, "
                             f"got {self.rankdir!r}")
        if self.detail not in DETAILS:
            raise ValueError(f"{caller}: detail must be one of {', '.join(DETAILS)}, "
                             f"got {self.detail!r}")
        if not isinstance(self.expand, (bool, tuple)):
            raise TypeError(f"{caller}: expand must be True, False or a list of function "
                            f"names, got {self.expand!r}")
        return self

    @property
    def readable(self) -> bool:
        """True when the layout is chosen from the graph (no ``max_nodes`` given)."""
        return self.max_nodes is None

    @classmethod
    def from_keywords(cls, caller: str, keywords: Mapping[str, Any]) -> GraphOptions:
        """The options named in ``keywords`` (the rest default), refusing unknown names."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(keywords) - known)
        if unknown:
            raise TypeError(f"{caller}: unknown option {unknown[0]!r}; the options are "
                            + ", ".join(sorted(known)))
        keywords = dict(keywords)
        expand = keywords.get("expand")
        if isinstance(expand, (list, set, frozenset)) or isinstance(expand, str):
            keywords["expand"] = (expand,) if isinstance(expand, str) else tuple(sorted(expand))
        return cls(**keywords).check(caller)
