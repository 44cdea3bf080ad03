"""Trace, replay composed ops: ``compile(fn)`` turns a function of Tensors into one node
of the eager graph whose forward and backward replay a recorded plan of the same
primitives (see ``trace`` for how the backward is derived, ``replay`` for the node)."""

from .api import Compiled, compile
from .replay import CompiledCall
from .trace import Plan, Uncompilable

__all__ = ["Compiled", "CompiledCall", "Plan", "Uncompilable", "compile"]
