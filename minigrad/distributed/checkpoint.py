"""Checkpoints in a data-parallel job: rank 0 writes, every rank can read what rank 0 read.

The replicas are identical after every step, so one copy is enough. ``save_checkpoint``
writes it from one rank only (no two processes racing on one file) and then waits at a
barrier, so no rank goes on (and possibly reads it, or exits) before the file is
complete. ``load_checkpoint`` reads on one rank and broadcasts the arrays, so the file
need not be visible to other hosts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import serialization
from .comm import _require_world


def save_checkpoint(obj: Mapping[str, Any], path: str | os.PathLike[str], src: int = 0) -> None:
    """``mg.save(obj, path)`` on rank ``src`` only, then a barrier on every rank.

    ``obj``: a state dict (or a mapping of them, e.g. ``{"model": ..., "optim": ...}``),
    written atomically as ``.npz`` (see ``mg.save``). Every rank must call it.
    """
    world = _require_world("save_checkpoint")
    if world.rank == src:
        serialization.save(obj, path)
    world.comm.Barrier()


def load_checkpoint(path: str | os.PathLike[str], src: int = 0) -> dict[str, np.ndarray]:
    """What ``mg.load(path)`` returns on rank ``src``, on every rank (host numpy arrays).

    Rank ``src`` reads the file and broadcasts it; if it cannot read it, every rank
    raises the same error. Every rank must call it.
    """
    world = _require_world("load_checkpoint")
    arrays: dict[str, np.ndarray] = {}
    header: Any = None
    if world.rank == src:
        try:
            arrays = serialization.load(path)
            header = ("ok", [(k, a.shape, a.dtype.str) for k, a in arrays.items()])
        except Exception as exc:  # told to every rank below, then raised everywhere
            header = ("error", f"{type(exc).__name__}: {exc}")
    status, detail = world.comm.bcast(header, root=src)
    if status == "error":
        raise RuntimeError(f"minigrad.distributed.load_checkpoint: rank {src} could not read "
                           f"{str(path)!r}: {detail}")
    out: dict[str, np.ndarray] = {}
    for key, shape, dtype in detail:
        buf = np.ascontiguousarray(arrays[key]) if world.rank == src else np.empty(shape, dtype)
        if buf.size:
            world.comm.Bcast(buf.reshape(-1).view(np.uint8), root=src)
        out[key] = buf
    return out
