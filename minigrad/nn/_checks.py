"""Argument and input checks shared by the layers: each refusal names the layer the
user built or called, what it was given and what it expected, before anything runs."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..tensor import Tensor


def _type_name(value: object) -> str:
    return type(value).__name__


def check_int(layer: str, name: str, value: Any, minimum: int = 0) -> int:
    """``value`` as an int ``>= minimum``: a TypeError for a non-int (floats and bools
    included, as in PyTorch), a ValueError below ``minimum``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(f"{layer}: {name} must be an int, got {value!r} ({_type_name(value)})")
    if value < minimum:
        need = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        if minimum == 0:
            need = "a non-negative int"
        raise ValueError(f"{layer}: {name} must be {need}, got {value}")
    return int(value)


def check_probability(layer: str, name: str, value: Any) -> float:
    """``value`` as a float in ``[0, 1]`` (a dropout probability)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{layer}: {name} must be a number in [0, 1], got {value!r} ({_type_name(value)})"
        )
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{layer}: {name} must be in [0, 1], got {value}")
    return float(value)


def check_tensor(layer: str, label: str, value: Any) -> Tensor:
    """Refuse anything but a Tensor (a numpy array would be taken as a constant, or
    fail later with a message that names the wrong thing)."""
    if not isinstance(value, Tensor):
        shape = f" of shape {tuple(value.shape)}" if hasattr(value, "shape") else ""
        raise TypeError(
            f"{layer}: {label} must be a Tensor, got {_type_name(value)}{shape}; "
            "wrap it with mg.tensor(...)"
        )
    return value


def check_like_weights(layer: str, label: str, value: Any, weight: Tensor) -> Tensor:
    """``value`` must be a Tensor with the weights' dtype (float, the same width: int
    and bool input is refused as PyTorch does) and on their device."""
    t = check_tensor(layer, label, value)
    if t.dtype != weight.dtype:
        hint = " (cast with .to(...) or the layer with .double()/.float())"
        raise TypeError(
            f"{layer}: {label} dtype {t.dtype} does not match the weights' {weight.dtype}{hint}"
        )
    if t.device != weight.device:
        raise RuntimeError(
            f"{layer}: {label} is on {t.device} but the weights are on {weight.device}"
        )
    return t


def check_states(layer: str, labels: tuple[str, ...], states: Any, weight: Tensor) -> None:
    """Each given state (``h_0``, ``c_0`` ...) must be a Tensor like the weights;
    the shapes are checked by the caller."""
    for label, s in zip(labels, states):
        check_like_weights(layer, label, s, weight)
