"""Input checks for the recurrent layers: each error names the layer, what it was
given and what it expected, so a shape mistake is found where it is made."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from minigrad.tensor import Tensor


def _shape(t: object) -> tuple[int, ...] | str:
    return tuple(t.shape) if hasattr(t, "shape") else type(t).__name__


def check_cell_input(name: str, x: Tensor, input_size: int) -> bool:
    """Check a cell input ``(B, I)`` or ``(I,)``; return True when batched."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (1, 2):
        raise ValueError(
            f"{name}: expected input of shape (batch, {input_size}) or ({input_size},), "
            f"got {x.ndim}-D input of shape {tuple(x.shape)}"
        )
    if x.shape[-1] != input_size:
        raise ValueError(
            f"{name}: input has feature size {x.shape[-1]} (shape {tuple(x.shape)}), "
            f"expected input_size={input_size}"
        )
    return x.ndim == 2


def check_cell_state(name: str, hx: Sequence[Tensor], batch: int | None, hidden_size: int) -> None:
    """Check each state tensor is ``(batch, H)`` (``(H,)`` when ``batch`` is None)."""
    expected = (hidden_size,) if batch is None else (batch, hidden_size)
    labels = ("h", "c") if len(hx) == 2 else ("h",)
    for label, s in zip(labels, hx):
        if not isinstance(s, Tensor) or tuple(s.shape) != expected:
            raise ValueError(f"{name}: expected {label} of shape {expected}, got {_shape(s)}")


def check_sequence_input(name: str, x: Tensor, input_size: int) -> bool:
    """Check a sequence input ``(T, B, I)``/``(B, T, I)`` or ``(T, I)``; True when batched."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (2, 3):
        raise ValueError(
            f"{name}: expected a 3-D input (seq, batch, {input_size}) or 2-D unbatched "
            f"(seq, {input_size}), got shape {tuple(x.shape)}"
        )
    if x.shape[-1] != input_size:
        raise ValueError(
            f"{name}: input has feature size {x.shape[-1]} (shape {tuple(x.shape)}), "
            f"expected input_size={input_size}"
        )
    if x.shape[0] == 0 or (x.ndim == 3 and x.shape[1] == 0):
        raise ValueError(f"{name}: input has an empty sequence or batch, shape {tuple(x.shape)}")
    return x.ndim == 3


def check_sequence_state(
    name: str, hx: object, layers_dirs: int, batch: int | None, hidden_size: int
) -> None:
    """Check ``hx``: a tuple of 1 (RNN/GRU) or 2 (LSTM) tensors ``(L*D, B, H)``."""
    expected = (layers_dirs, hidden_size) if batch is None else (layers_dirs, batch, hidden_size)
    labels = ("h_0", "c_0") if len(hx) == 2 else ("h_0",)  # type: ignore[arg-type]
    for label, s in zip(labels, hx):  # type: ignore[call-overload]
        if not isinstance(s, Tensor) or tuple(s.shape) != expected:
            raise ValueError(
                f"{name}: expected {label} of shape {expected} "
                f"(num_layers * num_directions, batch, hidden_size), got {_shape(s)}"
            )


def lengths_to_array(name: str, lengths: object, batch: int, steps: int) -> np.ndarray:
    """Turn ``lengths`` (ints, numpy array or int Tensor) into an int64 array ``(B,)``."""
    data = lengths.numpy() if isinstance(lengths, Tensor) else np.asarray(lengths)
    if data.ndim != 1 or data.shape[0] != batch:
        raise ValueError(
            f"{name}: lengths must hold one length per batch row ({batch}), got shape {data.shape}"
        )
    if data.dtype.kind not in "iu":
        raise TypeError(f"{name}: lengths must be integers, got dtype {data.dtype}")
    if data.min() < 1 or data.max() > steps:
        raise ValueError(
            f"{name}: every length must be in [1, {steps}] (the sequence length), got {data.tolist()}"
        )
    return data.astype(np.int64)


def check_pair(name: str, hx: object, expected: str) -> None:
    """An LSTM state must be a pair of Tensors, not one Tensor."""
    if hx is not None and not (isinstance(hx, tuple | list) and len(hx) == 2):
        got = f"a Tensor of shape {hx.shape}" if isinstance(hx, Tensor) else type(hx).__name__
        raise TypeError(f"{name}: expected hx as a pair {expected} of Tensors, got {got}")


def check_projected_state(name: str, hx: Sequence[Tensor], layers_dirs: int, batch: int | None,
                          proj_size: int, hidden_size: int) -> None:
    """With ``proj_size``, h_0 is ``(L*D, B, proj_size)`` and c_0 ``(L*D, B, H)``."""
    lead = (layers_dirs,) if batch is None else (layers_dirs, batch)
    for label, s, size in (("h_0", hx[0], proj_size), ("c_0", hx[1], hidden_size)):
        if not isinstance(s, Tensor) or tuple(s.shape) != lead + (size,):
            got = tuple(s.shape) if isinstance(s, Tensor) else type(s).__name__
            raise ValueError(f"{name}: expected {label} of shape {lead + (size,)} "
                             f"(with proj_size={proj_size}, hidden_size={hidden_size}), got {got}")
