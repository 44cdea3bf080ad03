"""Every public name in minigrad has a docstring and every public function a return type.

Public: a module-level function or class whose name has no leading underscore, in a
module whose path has none, and the public methods of such a class. The ``forward`` and
``backward`` of a primitive (a ``Function`` subclass) follow the contract documented on
``Function`` and are not counted; the class itself is.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "minigrad"

# The engine's bookkeeping classes are internal to engine.py (being reworked for issue 13's
# "engine in one sitting"); they are listed here until they get a leading underscore.
EXEMPT = {"autograd/engine.py:Pending", "autograd/engine.py:Accumulate",
          "autograd/engine.py:Capture"}


def _is_primitive(node: ast.ClassDef) -> bool:
    return any(getattr(b, "id", getattr(b, "attr", "")) == "Function" for b in node.bases)


def _public_defs() -> list[tuple[str, ast.AST]]:
    found: list[tuple[str, ast.AST]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if any(part.startswith("_") and not part.startswith("__") for part in rel.split("/")):
            continue

        def visit(body: list[ast.stmt], prefix: str, rel: str = rel) -> None:
            for node in body:
                if not isinstance(node, ast.FunctionDef | ast.ClassDef) or node.name.startswith("_"):
                    continue
                name = f"{rel}:{prefix}{node.name}"
                if any(name == e or name.startswith(e + ".") for e in EXEMPT):
                    continue
                found.append((name, node))
                if isinstance(node, ast.ClassDef) and not _is_primitive(node):
                    visit(node.body, f"{prefix}{node.name}.")

        visit(ast.parse(path.read_text(encoding="utf-8")).body, "")
    return found


def test_the_public_names_were_found() -> None:
    names = {name for name, _ in _public_defs()}
    assert {"tensor.py:Tensor.backward", "nn/recurrent.py:LSTM", "ops/shape.py:cat"} <= names
    assert len(names) > 300


def test_every_public_name_has_a_docstring() -> None:
    missing = [name for name, node in _public_defs() if ast.get_docstring(node) is None]
    assert not missing, f"{len(missing)} public names without a docstring: {missing}"


def test_every_public_function_has_a_return_type() -> None:
    missing = [name for name, node in _public_defs()
               if isinstance(node, ast.FunctionDef) and node.returns is None]
    assert not missing, f"{len(missing)} public functions without a return type: {missing}"
