"""Splitting data by rank: ``shard`` for arrays and token streams, ``DistributedSampler``
for index-based datasets. Every rank gets the same number of items, because a rank with
one batch more than the others would wait forever in that batch's all-reduce."""

from __future__ import annotations

from collections.abc import Iterator, Sized
from typing import Any

import numpy as np

from . import comm


def _rank_and_size(caller: str, rank: int | None, world_size: int | None) -> tuple[int, int]:
    if rank is None:
        rank = comm._require_world(caller).rank
    if world_size is None:
        world_size = comm._require_world(caller).size
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"minigrad.distributed.{caller}: rank must be in [0, world_size), got "
                         f"rank={rank}, world_size={world_size}")
    return int(rank), int(world_size)


def shard(data: Any, axis: int = 0, rank: int | None = None, world_size: int | None = None) -> Any:
    """This rank's contiguous piece of ``data`` along ``axis``.

    ``data`` of length ``N`` along ``axis`` (an array, a Tensor, or for ``axis=0`` any
    sliceable sequence such as a list or a string) -> the slice
    ``[rank * n, (rank + 1) * n)`` with ``n = N // world_size``: equal pieces, the last
    ``N % world_size`` items dropped. For a token stream ``ids (N,)`` that is one
    contiguous stretch of text per rank; for a global batch ``x (T, B)`` with
    ``axis=1`` it is this rank's ``B // world_size`` columns, so the ranks' pieces put
    side by side are the global batch. ``rank``/``world_size`` default to the process
    group's.
    """
    rank, world_size = _rank_and_size("shard", rank, world_size)
    ndim = getattr(data, "ndim", None)
    length = data.shape[axis] if ndim is not None else len(data)
    if ndim is None and axis != 0:
        raise ValueError(f"minigrad.distributed.shard: axis={axis} needs an array or Tensor; "
                         f"a {type(data).__name__} is split along axis 0 only")
    n = length // world_size
    if n == 0:
        raise ValueError(f"minigrad.distributed.shard: {length} items along axis {axis} cannot "
                         f"give each of {world_size} ranks at least one")
    piece = slice(rank * n, (rank + 1) * n)
    if ndim is None:
        return data[piece]
    index = [slice(None)] * ndim
    index[axis] = piece
    return data[tuple(index)]


class DistributedSampler:
    """The indices of a dataset that this rank reads (PyTorch's ``DistributedSampler``).

    ``dataset``: a length or anything with ``len()``. Each epoch (optionally shuffled
    with ``seed + epoch``, the same permutation on every rank) is padded by repeating its
    first indices until it divides evenly (or trimmed with ``drop_last``), then rank
    ``r`` takes every ``world_size``-th index starting at ``r``. Call ``set_epoch`` each
    epoch for a new order. The shuffle uses NumPy's generator, so the order differs from
    PyTorch's for the same seed.
    """

    def __init__(self, dataset: Sized | int, num_replicas: int | None = None,
                 rank: int | None = None, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False) -> None:
        self.rank, self.num_replicas = _rank_and_size("DistributedSampler", rank, num_replicas)
        self.size = int(dataset) if isinstance(dataset, int | np.integer) else len(dataset)
        self.shuffle, self.seed, self.drop_last, self.epoch = bool(shuffle), int(seed), drop_last, 0
        if drop_last:
            self.num_samples = self.size // self.num_replicas
        else:
            self.num_samples = -(-self.size // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration use the order of ``epoch``."""
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch, ``(len(self),)`` int64."""
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(self.size)
        else:
            order = np.arange(self.size)
        if self.total_size > self.size:  # pad by wrapping around (several times if needed)
            order = np.resize(order, self.total_size)
        order = order[: self.total_size]
        return order[self.rank : self.total_size : self.num_replicas].astype(np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples
