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


BITMAP_DPI = 96  # Graphviz's default for PNG
BITMAP_LIMIT_PX = 32767  # cairo's largest bitmap side


class GraphTooLargeWarning(UserWarning):
    """A bitmap would exceed Graphviz's size limit: it was drawn at a lower resolution."""


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
    args = []
    if fmt == "png":
        args = _fit_bitmap(exe, text, path)
    _run_dot(exe, [f"-T{fmt}", "-o", str(path), *args], text, f"writing {path}")
    return path


def _run_dot(exe: str, args: list[str], text: str, what: str) -> bytes:
    result = subprocess.run([exe, *args], input=text.encode("utf-8"), capture_output=True,
                            check=False)
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"Graphviz dot failed (exit {result.returncode}) {what}: {message}")
    return result.stdout


def _fit_bitmap(exe: str, text: str, path: Path) -> list[str]:
    """``dot`` options that keep a PNG within Graphviz's bitmap limit, with a warning
    saying what was done; none when it fits. (Past the limit Graphviz shrinks the whole
    picture silently, labels and all, to a few pixels.)"""
    plain = _run_dot(exe, ["-Tplain"], text, f"laying out {path}").decode("utf-8", "replace")
    _, _, width, height = plain.split("\n", 1)[0].split()[:4]
    longest = max(float(width), float(height)) * BITMAP_DPI  # inches -> pixels
    if longest <= BITMAP_LIMIT_PX:
        return []
    dpi = int(BITMAP_DPI * BITMAP_LIMIT_PX / longest)
    warnings.warn(
        f"render_to_file: {path} would be {float(width) * BITMAP_DPI:.0f} x "
        f"{float(height) * BITMAP_DPI:.0f} px, beyond Graphviz's {BITMAP_LIMIT_PX} px; "
        f"drawn at {dpi} dpi instead of {BITMAP_DPI} (labels smaller). For a sharper "
        "picture write .svg, or pass detail='modules' or a smaller keep_steps.",
        GraphTooLargeWarning, stacklevel=4)
    return [f"-Gdpi={dpi}"]


class Picture:
    """A graph picture that Jupyter shows inline (``_repr_svg_``,
    ``_repr_mimebundle_``); ``.source`` is its DOT text, ``.svg()`` runs Graphviz."""

    def __init__(self, source: str) -> None:
        self.source = source

    def svg(self) -> str:
        """The picture as SVG text (needs Graphviz's ``dot``)."""
        exe = dot_binary()
        if exe is None:
            raise RuntimeError(f"Picture.svg: {INSTALL_HINT}")
        return _run_dot(exe, ["-Tsvg"], self.source, "drawing SVG").decode("utf-8")

    def _repr_svg_(self) -> str | None:
        return self.svg() if dot_binary() is not None else None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        bundle = {"text/plain": f"<minigrad graph picture: {self.source.count(chr(10))} "
                                "lines of DOT>"}
        if dot_binary() is not None:
            bundle["image/svg+xml"] = self.svg()
        return bundle

    def save(self, path: str | Path) -> Path:
        """Write the picture to ``path`` (format from the extension); see
        :func:`render_to_file`."""
        return write_dot_text(self.source, path)


def show(root: Tensor, params: Mapping[str, Tensor] | None = None, **options: Any) -> Picture:
    """The graph of ``root`` as a :class:`Picture`, shown inline by Jupyter (SVG, with
    tooltips); options as in :func:`~minigrad.viz.to_dot`. Needs no Python package
    beyond minigrad; Graphviz's ``dot`` draws it."""
    return Picture(parts_to_text(dot_parts(root, params, options, "show")))
