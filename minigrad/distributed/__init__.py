"""``mg.distributed``: data-parallel training across processes and hosts, on MPI and NCCL.

PyTorch's names: ``init`` (``init_process_group``), ``get_rank``, ``get_world_size``,
``all_reduce``, ``broadcast``, ``barrier``, ``DistributedDataParallel``,
``DistributedSampler``. Processes are started by an MPI launcher
(``mpirun -n 2 python train.py``); ``mpi4py`` is imported by ``init()`` only, so
``import minigrad`` never needs MPI. Install with ``pip install 'minigrad[mpi]'``.
See docs/distributed.md.
"""

from __future__ import annotations

from .checkpoint import load_checkpoint, save_checkpoint
from .comm import (
    ReduceOp,
    all_reduce,
    barrier,
    broadcast,
    destroy_process_group,
    get_backend,
    get_device,
    get_local_rank,
    get_rank,
    get_world_size,
    init,
    is_available,
    is_initialized,
    nccl_available,
    select_backend,
    transport_for,
)
from .data import DistributedSampler, shard
from .ddp import DistributedDataParallel

init_process_group = init  # PyTorch's name for the same call

__all__ = [
    "DistributedDataParallel",
    "DistributedSampler",
    "ReduceOp",
    "all_reduce",
    "barrier",
    "broadcast",
    "destroy_process_group",
    "get_backend",
    "get_device",
    "get_local_rank",
    "get_rank",
    "get_world_size",
    "init",
    "init_process_group",
    "is_available",
    "is_initialized",
    "load_checkpoint",
    "nccl_available",
    "save_checkpoint",
    "select_backend",
    "shard",
    "transport_for",
]
