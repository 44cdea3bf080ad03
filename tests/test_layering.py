"""minigrad's imports follow the layers of DESIGN.md, read from the source with ``ast``.

From the bottom: ``backend``; the core (``tensor``, ``autograd``, ``ops`` and the
creation functions); ``serialization``; ``nn`` and ``optim``, and beside them ``viz``,
which reads graphs and imports only the core; ``distributed`` above ``nn``/``optim``;
the package's ``__init__`` (the public API, re-exported); and the programs
(``minigrad.cli``, ``python -m minigrad``) on top, imported by nothing in the library.
Every import counts, also one inside a function (it runs too, only later); imports under
``if TYPE_CHECKING:`` do not (they never run). The only import loop is the core's:
Tensor, the ops its operators call, and the autograd machinery its methods call.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "minigrad"

# The layer of every module, by the longest prefix of its dotted name.
LAYERS = {
    "minigrad.backend": "backend",
    "minigrad.cuda": "backend",
    "minigrad.tensor": "core",
    "minigrad.autograd": "core",
    "minigrad.ops": "core",
    "minigrad.creation": "core",
    "minigrad._dimargs": "core",
    "minigrad.serialization": "serialization",
    "minigrad.compile": "compile",
    "minigrad.nn": "nn",
    "minigrad.optim": "optim",
    "minigrad.viz": "viz",
    "minigrad.distributed": "distributed",
    "minigrad": "api",  # minigrad/__init__.py
    "minigrad.__main__": "programs",
    "minigrad.cli": "programs",
}

# What each layer may import besides itself.
ALLOWED = {
    "backend": set(),
    "core": {"backend"},
    "serialization": {"backend", "core"},
    "compile": {"backend", "core"},
    "nn": {"backend", "core", "serialization", "compile"},
    "optim": {"backend", "core", "serialization"},
    "viz": {"backend", "core"},
    "distributed": {"backend", "core", "serialization", "nn", "optim"},
    "api": {"backend", "core", "serialization", "compile", "nn", "optim", "viz", "distributed"},
    "programs": {"backend", "core", "serialization", "compile", "nn", "optim", "viz", "distributed",
                 "api"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    base = PACKAGE.parent.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _imports(path: Path) -> set[str]:
    """The minigrad modules that ``path`` imports (``from pkg import mod`` names ``mod``)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom) or _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{a.name}" if _is_module(f"{source}.{a.name}") else source
                       for a in node.names]
        found.update(t for t in targets if t == "minigrad" or t.startswith("minigrad."))
    found.discard(name)
    return found


GRAPH = {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> str:
    prefixes = [p for p in LAYERS if module == p or module.startswith(p + ".")]
    assert prefixes, f"{module} is in no layer: add it to LAYERS in {Path(__file__).name}"
    return LAYERS[max(prefixes, key=len)]


def test_the_graph_was_read() -> None:
    # A reader that found nothing would pass every rule below.
    assert "minigrad.tensor" in GRAPH["minigrad.ops.elementwise"]
    assert "minigrad.autograd.function" in GRAPH["minigrad.ops.elementwise"]
    assert "minigrad.nn.functional" in GRAPH["minigrad.nn.attention"]
    assert "minigrad.cli.graph" in GRAPH["minigrad.cli"]
    assert len(GRAPH) > 40


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_each_module_imports_only_its_own_layer_and_those_below(module: str) -> None:
    layer = layer_of(module)
    wrong = sorted(t for t in GRAPH[module]
                   if layer_of(t) != layer and layer_of(t) not in ALLOWED[layer])
    assert not wrong, f"{module} ({layer}) imports {wrong} ({[layer_of(t) for t in wrong]})"


def test_nothing_in_the_library_imports_the_programs() -> None:
    wrong = {m: sorted(t for t in ts if layer_of(t) == "programs")
             for m, ts in GRAPH.items() if layer_of(m) != "programs"}
    assert not {m: ts for m, ts in wrong.items() if ts}


def test_autograd_imports_no_ops() -> None:
    wrong = {m: sorted(t for t in ts if t.startswith("minigrad.ops"))
             for m, ts in GRAPH.items() if m.startswith("minigrad.autograd")}
    assert not {m: ts for m, ts in wrong.items() if ts}


def test_viz_imports_only_tensor_autograd_ops_and_the_backend() -> None:
    allowed = ("minigrad.tensor", "minigrad.autograd", "minigrad.ops", "minigrad.backend",
               "minigrad.viz")
    wrong = {m: sorted(t for t in ts if not t.startswith(allowed))
             for m, ts in GRAPH.items() if m.startswith("minigrad.viz")}
    assert not {m: ts for m, ts in wrong.items() if ts}


def _cycles_without(removed: str) -> list[list[str]]:
    """The strongly connected components (of more than one module) once ``removed`` is gone."""
    graph = {m: {t for t in ts if t in GRAPH and t != removed}
             for m, ts in GRAPH.items() if m != removed}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(graph):  # Tarjan's algorithm, iteratively
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return components


def test_every_import_loop_goes_through_tensor() -> None:
    assert _cycles_without("minigrad.tensor") == []


def test_the_loop_finder_finds_the_tensor_loop() -> None:
    # With nothing removed, Tensor and the ops its operators call form one loop.
    loops = _cycles_without("")
    assert any({"minigrad.tensor", "minigrad.ops"} <= set(c) for c in loops)
