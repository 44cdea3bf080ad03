"""Levels of detail: many ops drawn as one node.

A composite function (``cross_entropy``, ``layer_norm``; see
:func:`minigrad.autograd.context.composite`) records its ops in a scope ending in
``()``; at the op level each call becomes one node unless it is expanded. At the module
level every module call (a ``"name (Class)"`` scope) becomes one node, and so does every
time step of a recurrent layer. A group is one *connected* run of ops sharing a scope,
so two calls of the same function in the same scope stay two nodes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

from ..autograd.context import COMPOSITE_SUFFIX
from ..autograd.function import Function
from .model import step_of
from .walk import Walk

# A scope opened by Module.__call__: "rnn (LSTM)", "layers.0 (TransformerEncoderLayer)".
MODULE_SCOPE = re.compile(r" \(\w+\)$")


class Group:
    """Ops drawn as one node: quacks like a Function for the builder's passes."""

    def __init__(self, name: str, scope: str, first: Function, count: int) -> None:
        self.name = name
        self.scope = scope
        self.count = count
        self.first = first  # the op closest to the root: its output is the group's
        self.n_out = 1
        self.out_shape = first.out_shape if first.n_out == 1 else first.out_shape[0]


def composite_unit(expand: bool | Collection[str]) -> Callable[[str], tuple[str, str, str] | None]:
    """The op-level grouping: ``scope -> (unit path, drawn scope, name)`` of the
    outermost composite call not in ``expand`` (True expands all), or None."""

    def unit(scope: str) -> tuple[str, str, str] | None:
        if expand is True or not scope:
            return None
        parts = scope.split("/")
        for k, part in enumerate(parts):
            if part.endswith(COMPOSITE_SUFFIX):
                name = part[: -len(COMPOSITE_SUFFIX)]
                if expand and name in expand:
                    continue
                return "/".join(parts[: k + 1]), "/".join(parts[:k]), name
        return None

    return unit


def module_unit(scope: str) -> tuple[str, str, str] | None:
    """The module-level grouping: a time step (drawn in its step cluster); else a module
    call (``"rnn (LSTM)"``, drawn as one node in the scope above); else the ops of one
    other scope, composites included (drawn inside it). Top-level ops stay single."""
    if not scope:
        return None
    step = step_of(scope)
    if step is not None:
        return step[0], step[0], "step"
    parts = scope.split("/")
    name = parts[-1]
    for k, part in enumerate(parts):
        if part.endswith(COMPOSITE_SUFFIX):
            name = part[: -len(COMPOSITE_SUFFIX)]
            if k == 0:
                return parts[0], "", name
            parts = parts[:k]
            break
    path = "/".join(parts)
    if MODULE_SCOPE.search(parts[-1]):
        return path, "/".join(parts[:-1]), parts[-1]
    return path, path, name


def collapse(walk: Walk, unit: Callable[[str], tuple[str, str, str] | None]) -> Walk:
    """A new walk in which each connected group of ops with the same unit is one
    :class:`Group` (named for the function or module, even when it is one op).
    Positions keep BFS order."""
    objs = walk.objs
    units: list[tuple[str, str, str] | None] = [
        unit(o.scope) if isinstance(o, Function) else None for o in objs]
    # a module whose calls hold other module calls is drawn inside its own cluster,
    # beside them (a Transformer layer: its residual adds next to its sublayers)
    drawn = {u[1] for u in units if u is not None}
    units = [u if u is None or u[1] == u[0] or not _holds(u[0], drawn) else (u[0], u[0], u[2])
             for u in units]
    parent = list(range(len(objs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for p, _, c in walk.edges:
        if units[p] is not None and units[p] == units[c]:
            a, b = find(p), find(c)
            if a != b:
                parent[max(a, b)] = min(a, b)  # the earliest (closest to the root) leads
    members: dict[int, int] = {}
    for i in range(len(objs)):
        members[find(i)] = members.get(find(i), 0) + 1
    out = Walk.__new__(Walk)
    out.objs, out.index, out.edges = [], {}, []
    position: dict[int, int] = {}
    for i, obj in enumerate(objs):
        r = find(i)
        if r != i:
            continue
        if units[i] is not None:
            _, drawn, name = units[i]
            obj = Group(name, drawn, objs[i], members[r])
        position[i] = len(out.objs)
        out.index[id(obj)] = position[i]
        out.objs.append(obj)
    seen: set[tuple[int, int, int]] = set()
    for p, out_idx, c in walk.edges:
        a, b = position[find(p)], position[find(c)]
        if a == b:
            continue
        key = (a, 0 if isinstance(out.objs[a], Group) else out_idx, b)
        if key not in seen:
            seen.add(key)
            out.edges.append(key)
    return out


def _holds(path: str, scopes: set[str]) -> bool:
    return any(s == path or s.startswith(path + "/") for s in scopes)


def group_label(group: Any, show_shapes: bool, shape: str) -> list[str]:
    """``cross_entropy`` / ``7 ops`` / shape: the lines of a group's node."""
    lines = [group.name, f"{group.count} ops" if group.count != 1 else group.first.name]
    if show_shapes:
        lines.append(shape)
    return lines
