"""Layers, losses and containers, every one composed from Tensor ops (``mg.nn``)."""

from . import functional
from .module import Module, ModuleList, Parameter, Sequential

__all__ = [
    "Module", "ModuleList", "Parameter", "Sequential", "functional",
]
