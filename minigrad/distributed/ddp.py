"""``DistributedDataParallel``: one model replica per rank, gradients averaged over ranks.

Each rank runs forward and backward on its own shard of the global batch. After
backward, ``sync_gradients`` packs the gradients into a few large flat buffers
("buckets", about ``bucket_cap_mb`` each, one per dtype and device), all-reduces each
bucket with one collective and divides by the world size, so every rank holds the
gradient of the mean loss over the whole global batch (when each rank's loss is the mean
over an equally sized shard). The optimizer step that follows is then the same on every
rank and the replicas stay identical. Clip gradients *after* the all-reduce: the norm
of the averaged gradient is the one a single process would see.

The backward engine has no per-parameter "gradient is ready" hook, so the all-reduce
starts after backward has finished rather than overlapping it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend
from ..nn.module import Module
from ..tensor import Tensor
from .comm import ReduceOp, _allreduce_array, _broadcast_array, _require_world, _World


@dataclass
class _Bucket:
    """Tensors of one dtype on one device that travel as one flat buffer."""

    tensors: list[Tensor]
    indices: list[int]  # position of each tensor in the full list (the "has grad" mask)
    dtype: np.dtype
    device: str
    numel: int


def _buckets(tensors: list[Tensor], cap_bytes: int) -> list[_Bucket]:
    """Group ``tensors`` in order into buckets of one (dtype, device), each closed once it
    reaches ``cap_bytes`` (a single larger tensor gets a bucket of its own)."""
    open_: dict[tuple[str, str], _Bucket] = {}
    done: list[_Bucket] = []
    for i, t in enumerate(tensors):
        key = (t.data.dtype.str, t.device)
        b = open_.get(key)
        if b is None:
            b = open_[key] = _Bucket([], [], t.data.dtype, t.device, 0)
        b.tensors.append(t)
        b.indices.append(i)
        b.numel += t.data.size
        if b.numel * b.dtype.itemsize >= cap_bytes:
            done.append(open_.pop(key))
    return done + list(open_.values())


def _flat(bucket: _Bucket, arrays: list[Any]) -> Any:
    """The bucket's arrays as one contiguous 1-d buffer (``None`` entries as zeros)."""
    xp = backend.get_xp(bucket.device)
    with _on(bucket.device):
        flat = xp.empty(bucket.numel, dtype=bucket.dtype)
        offset = 0
        for t, a in zip(bucket.tensors, arrays):
            n = t.data.size
            if a is None:
                flat[offset:offset + n] = 0
            else:
                flat[offset:offset + n] = a.reshape(-1)
            offset += n
    return flat


def _pieces(bucket: _Bucket, flat: Any) -> Iterator[tuple[Tensor, Any]]:
    """``(tensor, its own copy of its slice of flat)``: no two results share memory."""
    offset = 0
    for t in bucket.tensors:
        n = t.data.size
        yield t, flat[offset:offset + n].reshape(t.shape).copy()
        offset += n


@contextmanager
def _on(device: str) -> Iterator[None]:
    if device == "cpu":
        yield
        return
    cupy = backend.get_xp(device)
    with cupy.cuda.Device(backend._cuda_index(device)):
        yield


def _check_same_model(world: _World, module: Module) -> None:
    """Every rank must wrap a model with the same parameters, in the same order; a
    mismatch would make the bucketed collectives add unrelated numbers (or hang)."""
    mine = [(name, tuple(p.shape), p.data.dtype.str, bool(p.requires_grad))
            for name, p in module.named_parameters()]
    mine += [(name, tuple(b.shape), b.data.dtype.str, False) for name, b in module.named_buffers()]
    everyone = world.comm.allgather(mine)
    for rank, theirs in enumerate(everyone):
        if theirs != everyone[0]:
            diff = next((f"{a} on rank 0 vs {b} on rank {rank}"
                         for a, b in zip(everyone[0], theirs) if a != b),
                        f"{len(everyone[0])} tensors on rank 0 vs {len(theirs)} on rank {rank}")
            raise RuntimeError(
                "minigrad.distributed.DistributedDataParallel: every rank must wrap the same "
                f"model (same parameter names, shapes, dtypes, in order); they differ: {diff}"
            )


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training (PyTorch's ``DistributedDataParallel``).

    On construction every rank checks that all ranks wrap the same architecture and
    overwrites its parameters and buffers with rank 0's (so the replicas start equal
    whatever each rank's seed). Calling the wrapper calls ``module``. After
    ``loss.backward()`` call ``sync_gradients()`` (or use ``ddp.backward(loss)``, which
    does both) before clipping and ``optimizer.step()``. ``state_dict`` keys carry the
    ``"module."`` prefix, as in PyTorch; save ``ddp.module.state_dict()`` for a checkpoint
    that loads into the bare model.

    ``bucket_cap_mb``: size of the flat buffers one collective moves (fewer, larger
    messages amortise MPI's per-message latency).
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 25.0,
                 broadcast_buffers: bool = True) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError("minigrad.distributed.DistributedDataParallel: expected an "
                            f"nn.Module to wrap, got {type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError("minigrad.distributed.DistributedDataParallel: bucket_cap_mb must "
                             f"be positive, got {bucket_cap_mb}")
        world = _require_world("DistributedDataParallel")
        self.module = module
        self.bucket_cap_mb = float(bucket_cap_mb)
        self.broadcast_buffers = bool(broadcast_buffers)
        self._sync_enabled = True
        _check_same_model(world, module)
        # Reverse order, as PyTorch: backward produces the last layers' gradients first.
        self._grad_order = [p for p in module.parameters() if p.requires_grad][::-1]
        cap = int(self.bucket_cap_mb * 2**20)
        self._grad_buckets = _buckets(self._grad_order, cap)
        self._sync_state(world, cap)

    def _sync_state(self, world: _World, cap: int) -> None:
        """Broadcast rank 0's parameters (and buffers) to every rank, bucket by bucket."""
        tensors: list[Tensor] = list(self.module.parameters())
        if self.broadcast_buffers:
            tensors += [b for _, b in self.module.named_buffers()]
        for bucket in _buckets(tensors, cap):
            flat = _flat(bucket, [t.data for t in bucket.tensors])
            _broadcast_array(world, flat, 0)
            if world.rank != 0:
                for t, array in _pieces(bucket, flat):
                    t.data = array
                    t._bump_version()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Call the wrapped module."""
        return self.module(*args, **kwargs)

    def sync_gradients(self) -> None:
        """Average every parameter's ``.grad`` over the ranks (bucketed all-reduce).

        A parameter that has no gradient on some ranks counts as zero there; it gets a
        gradient when any rank has one and stays ``None`` when none has. Every rank must
        call this the same number of times (it is a collective).
        """
        world = _require_world("DistributedDataParallel.sync_gradients")
        params = self._grad_order
        has = np.fromiter((p.grad is not None for p in params), dtype=np.uint8, count=len(params))
        world.comm.Allreduce(world.MPI.IN_PLACE, has, op=world.MPI.MAX)  # who has a gradient
        for bucket in self._grad_buckets:
            if not any(has[i] for i in bucket.indices):
                continue
            flat = _flat(bucket, [None if t.grad is None else t.grad.data for t in bucket.tensors])
            with _on(bucket.device):
                _allreduce_array(world, flat, ReduceOp.AVG)
            for (t, array), i in zip(_pieces(bucket, flat), bucket.indices):
                if has[i]:
                    t.grad = Tensor._from_array(array)

    def backward(self, loss: Tensor, grad: Any = None, retain_graph: bool | None = None) -> None:
        """``loss.backward(...)`` then, unless inside ``no_sync()``, ``sync_gradients()``."""
        loss.backward(grad, retain_graph=retain_graph)
        if self._sync_enabled:
            self.sync_gradients()

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, ``ddp.backward`` only accumulates local gradients (gradient accumulation
        over several micro-batches); the first ``backward`` after it averages them all."""
        previous = self._sync_enabled
        self._sync_enabled = False
        try:
            yield
        finally:
            self._sync_enabled = previous

    def extra_repr(self) -> str:
        """The number of gradient buckets and their size cap, for ``repr``."""
        return f"buckets={len(self._grad_buckets)}, bucket_cap_mb={self.bucket_cap_mb}"
