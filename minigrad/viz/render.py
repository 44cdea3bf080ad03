"""Render graphs with Graphviz: :func:`draw_graph` (a ``graphviz.Digraph``) and
:func:`render_to_file` (``.svg``/``.png``/``.pdf``, or ``.dot`` text).

The ``graphviz`` Python package is imported only here and only when asked for; the
``dot`` program is looked up on ``PATH``. Without ``dot`` you still get the DOT source,
with a warning that says how to install Graphviz.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..tensor import Tensor
from .dot import dot_parts, parts_to_text

FORMATS = ("svg", "png", "pdf", "dot")
INSTALL_HINT = (
    "Graphviz's `dot` program was not found on PATH, so the graph can only be written "
    "as DOT text. Install Graphviz to render images: `apt install graphviz` (Debian/"
    "Ubuntu), `brew install graphviz` (macOS), `conda install graphviz`, or "
    "https://graphviz.org/download/ ; or paste the .dot file into an online viewer."
)


class GraphvizMissingWarning(UserWarning):
    """The ``dot`` program is not installed: only DOT text can be produced."""


def dot_binary() -> str | None:
    """Path of Graphviz's ``dot`` program, or None when it is not installed."""
    return shutil.which("dot")


def draw_graph(root: Tensor, params: Mapping[str, Tensor] | None = None, **options: Any) -> Any:
    """The graph of ``root`` as a ``graphviz.Digraph``; options as in :func:`to_dot`.

    Call ``.render(path, format="svg")`` on the result, or show it in a notebook.
    Needs the ``graphviz`` Python package (``pip install graphviz``); without the
    ``dot`` program the Digraph (its ``.source`` is the DOT text) is still returned and
    a :class:`GraphvizMissingWarning` says how to install Graphviz.
    """
    try:
        import graphviz
    except ImportError as exc:
        raise ImportError(
            "draw_graph needs the graphviz Python package: pip install graphviz "
            "(or pip install 'minigrad[viz]'); mg.viz.to_dot works without it"
        ) from exc
    parts = dot_parts(root, params, options, "draw_graph")
    g = graphviz.Digraph(
        name="minigrad",
        graph_attr=parts.graph_attr,
        node_attr=parts.node_attr,
        edge_attr=parts.edge_attr,
    )
    g.body.extend(line + "\n" for line in parts.body)
    if dot_binary() is None:
        warnings.warn(INSTALL_HINT, GraphvizMissingWarning, stacklevel=2)
    return g


def render_to_file(
    root: Tensor, path: str | Path, params: Mapping[str, Tensor] | None = None, **options: Any
) -> Path:
    """Write the graph of ``root`` to ``path``, the format chosen by its extension.

    ``.dot`` writes the DOT text; ``.svg``, ``.png`` and ``.pdf`` run Graphviz's
    ``dot``. Without ``dot`` the DOT text is written next to ``path`` with a ``.dot``
    extension instead, with a :class:`GraphvizMissingWarning`. Returns the path written.
    Raises ``RuntimeError`` with Graphviz's message if ``dot`` fails.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(
            f"render_to_file: cannot tell the format of {str(path)!r}; use one of "
            + ", ".join("." + f for f in FORMATS)
        )
    text = parts_to_text(dot_parts(root, params, options, "render_to_file"))
    return write_dot_text(text, path)


def write_dot_text(text: str, path: str | Path) -> Path:
    """Write DOT ``text`` to ``path`` (format from its extension); see :func:`render_to_file`."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the format of {str(path)!r}; use .svg, .png, .pdf or .dot")
    if path.parent != Path(""):
        path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "dot":
        path.write_text(text, encoding="utf-8")
        return path
    exe = dot_binary()
    if exe is None:
        fallback = path.with_suffix(".dot")
        warnings.warn(f"{INSTALL_HINT} Wrote {fallback} instead of {path}.",
                      GraphvizMissingWarning, stacklevel=3)
        fallback.write_text(text, encoding="utf-8")
        return fallback
    result = subprocess.run(
        [exe, f"-T{fmt}", "-o", str(path)], input=text.encode("utf-8"),
        capture_output=True, check=False,
    )
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"Graphviz dot failed (exit {result.returncode}) writing {path}: "
                           f"{message}")
    return path
