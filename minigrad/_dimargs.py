"""``dim=``/``axis=`` and ``keepdim=``/``keepdims=``: PyTorch's and NumPy's spellings of
the same arguments, both accepted by every function and method that takes an axis."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

# each pair: (PyTorch's word, NumPy's word)
_PAIRS = (("dim", "axis"), ("keepdim", "keepdims"), ("dim0", "axis0"), ("dim1", "axis1"))


def dim_aliases(fn: Callable) -> Callable:
    """Wrap ``fn`` so it takes either spelling of its axis keywords (see the module
    docstring); giving both spellings of one argument is a TypeError naming ``fn``."""
    params = set(inspect.signature(fn).parameters)
    renames = {}
    for torch_word, numpy_word in _PAIRS:
        if numpy_word in params:
            renames[torch_word] = numpy_word
        elif torch_word in params:
            renames[numpy_word] = torch_word
    if not renames:
        return fn
    name = fn.__qualname__

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            for alias, real in renames.items():
                if alias in kwargs:
                    if real in kwargs:
                        raise TypeError(
                            f"{name}: got both {alias}= and {real}= (two spellings of one "
                            "argument); pass one"
                        )
                    kwargs[real] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    return wrapper
