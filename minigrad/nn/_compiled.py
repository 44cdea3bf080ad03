"""``module.compile()``: a layer runs its core (a plain function of Tensors) through
``mg.compile``, one compiled function per core shared by every layer (plans are cached
per input signature), or eagerly. Used by the attention and Transformer modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..compile import Compiled
from ..compile import compile as compile_fn
from .module import Module

_COMPILED: dict[Callable[..., Any], Compiled] = {}


def compiled(core: Callable[..., Any]) -> Compiled:
    """The one ``mg.compile`` of ``core`` (made on first use)."""
    fn = _COMPILED.get(core)
    if fn is None:
        fn = _COMPILED[core] = compile_fn(core)
    return fn


class CompilableModule(Module):
    """A Module whose ``compile()`` switches its core, and its submodules' cores, to
    ``mg.compile``. A subclass calls ``self._core(fn, *args)`` where it would call
    ``fn(*args)``: every Tensor ``fn`` reads (parameters, masks) must be an argument, and
    other arguments must be hashable (they key the plans)."""

    compiled = False

    def compile(self, mode: bool = True) -> CompilableModule:
        """Run the core through ``mg.compile`` (traced once per input signature, replayed
        as one graph node; elementwise chains fused where numba or CuPy is present), here
        and in every submodule that has a core; ``compile(False)`` goes back to eager ops.
        Outputs and gradients are the eager ones (float64 to 1e-12). Returns self."""
        for m in self.modules():
            if isinstance(m, CompilableModule):
                object.__setattr__(m, "compiled", bool(mode))
        return self

    def _core(self, core: Callable[..., Any], *args: Any) -> Any:
        return compiled(core)(*args) if self.compiled else core(*args)
