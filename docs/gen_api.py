"""Generate ``docs/api.md``: every public name of minigrad, one line each.

The list is read from the package itself (each module's ``__all__``, or its public
functions and classes where it has none; ``Tensor``'s public methods and properties),
with each name's signature and the first line of its docstring. ``tests/test_docs.py``
regenerates it and compares, so the page cannot go stale:

    python docs/gen_api.py          # rewrite docs/api.md
    python docs/gen_api.py --check  # exit 1 if docs/api.md is out of date
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import types
from pathlib import Path
from typing import Any

API_MD = Path(__file__).resolve().parent / "api.md"

# (module, how users spell it, heading)
SECTIONS = [
    ("minigrad", "mg", "Top level: `import minigrad as mg`"),
    ("minigrad.autograd", "mg.autograd", "`mg.autograd`: gradients, checks, scopes"),
    ("minigrad.nn", "mg.nn", "`mg.nn`: modules and layers"),
    ("minigrad.nn.functional", "mg.nn.functional", "`mg.nn.functional`: stateless functions"),
    ("minigrad.nn.init", "mg.nn.init", "`mg.nn.init`: initialisers"),
    ("minigrad.nn.utils", "mg.nn.utils", "`mg.nn.utils`"),
    ("minigrad.optim", "mg.optim", "`mg.optim`: optimizers"),
    ("minigrad.serialization", "mg.serialization", "`mg.serialization`: checkpoints"),
    ("minigrad.cuda", "mg.cuda", "`mg.cuda`: the GPU"),
    ("minigrad.viz", "mg.viz", "`mg.viz`: graph pictures"),
    ("minigrad.distributed", "mg.distributed", "`mg.distributed`: data parallel over MPI / NCCL"),
]

HEADER = """# API reference

Every public name of minigrad, one line each: the signature and the first line of its
docstring. **Generated** from the package by `docs/gen_api.py`; do not edit by hand.
`tests/test_docs.py` fails when this page and the package disagree; run
`python docs/gen_api.py` to refresh it. Names, arguments and semantics follow
PyTorch; the contract is `shared/API.md`, the guides are [the tutorial](tutorial.md),
[autograd](autograd.md), [nn](nn.md) and [sequence models](sequence-models.md).
"""


def summary(obj: Any) -> str:
    """The first sentence of ``obj``'s docstring, on one line (empty when it has none)."""
    doc = inspect.getdoc(obj) or ""
    para = " ".join(doc.strip().split("\n\n")[0].split()) if doc.strip() else ""
    if (len(para) > 160 or para.endswith("::")) and ". " in para:
        para = para[: para.index(". ") + 1]
    return para.replace("|", "\\|")


def signature(obj: Any) -> str:
    """``(a, b=1)``: names and defaults, no annotations; ``(...)`` when not inspectable."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    params = [
        q.replace(annotation=inspect.Parameter.empty)
        for q in sig.parameters.values() if q.name not in ("self", "cls")
    ]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


def public_names(module: types.ModuleType) -> list[str]:
    """``__all__``, or the public functions and classes defined in the module."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n for n, v in vars(module).items()
            if not n.startswith("_")
            and (inspect.isfunction(v) or inspect.isclass(v))
            and getattr(v, "__module__", None) == module.__name__
        ]
    return sorted(set(names), key=lambda n: (n.lower(), n))


def describe(prefix: str, name: str, obj: Any) -> str:
    """One Markdown list line for ``prefix.name``."""
    if isinstance(obj, types.ModuleType):
        return f"- `{prefix}.{name}`: module. {summary(obj)}".rstrip()
    if inspect.isclass(obj):
        text = f"- `{prefix}.{name}{signature(obj)}`: class. {summary(obj)}"
    elif callable(obj):
        text = f"- `{prefix}.{name}{signature(obj)}`: {summary(obj)}"
    else:
        text = f"- `{prefix}.{name}`: `{type(obj).__name__}` = `{obj!r}`"
    return text.rstrip()


def tensor_lines() -> list[str]:
    """``Tensor``'s public methods and properties, then its operators on one line."""
    import minigrad as mg
    from minigrad import Tensor

    lines = []
    for name in sorted(n for n in dir(Tensor) if not n.startswith("_")):
        attr = inspect.getattr_static(Tensor, name)
        if isinstance(attr, property):
            lines.append(f"- `Tensor.{name}`: property. {summary(attr)}".rstrip())
        elif isinstance(attr, staticmethod | classmethod):
            continue
        elif callable(attr):
            text = summary(attr)
            if not text and callable(getattr(mg, name, None)):
                text = f"method form of `mg.{name}`. {summary(getattr(mg, name))}"
            lines.append(f"- `Tensor.{name}{signature(attr)}`: {text}".rstrip())
    ops = sorted(n for n in vars(Tensor) if n.startswith("__") and n.endswith("__")
                 and callable(vars(Tensor)[n])
                 and n not in ("__init__", "__init_subclass__", "__subclasshook__"))
    lines.append("- Operators and protocols: " + ", ".join(f"`{n}`" for n in ops))
    return lines


def generate() -> str:
    """The full text of ``docs/api.md``."""
    out = [HEADER]
    for modname, prefix, heading in SECTIONS:
        module = importlib.import_module(modname)
        out.append(f"\n## {heading}\n")
        for name in public_names(module):
            obj = getattr(module, name)
            out.append(describe(prefix, name, obj))
        if modname == "minigrad":
            out.append("\n## `mg.Tensor`: methods and properties\n")
            out.extend(tensor_lines())
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write ``docs/api.md``, or with ``--check`` report whether it is up to date."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if api.md is out of date")
    args = p.parse_args(argv)
    text = generate()
    if args.check:
        current = API_MD.read_text(encoding="utf-8") if API_MD.exists() else ""
        if current != text:
            print(f"{API_MD} is out of date; run: python docs/gen_api.py", file=sys.stderr)
            return 1
        print(f"{API_MD} is up to date")
        return 0
    API_MD.write_text(text, encoding="utf-8")
    print(f"wrote {API_MD} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
