"""Under ``mpirun -n N``: every collective on Tensors; each rank writes ``OUT/rank{r}.npz``.

The expected values are computed by the test from the formulas below, not here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import minigrad as mg
import minigrad.distributed as dist


def value(rank: int) -> np.ndarray:
    """Rank ``rank``'s contribution: ``(2, 3)`` float64."""
    return np.arange(6.0).reshape(2, 3) * (rank + 1) + rank


def main(out: Path) -> None:
    dist.init()
    rank, world = dist.get_rank(), dist.get_world_size()
    res: dict[str, np.ndarray] = {"world": np.array(world)}
    for op in ("sum", "avg", "max", "min", "product"):
        t = mg.tensor(value(rank), dtype=np.float64)
        dist.all_reduce(t, op)
        res[op] = t.numpy()
    t = mg.tensor(value(rank).astype(np.int64))
    dist.all_reduce(t, dist.ReduceOp.SUM)
    res["int_sum"] = t.numpy()
    t = mg.tensor(value(rank), dtype=np.float64).T  # not contiguous: a view of the data
    dist.all_reduce(t)
    res["transposed_sum"] = t.numpy()
    base = mg.tensor(np.zeros((4, 3)), dtype=np.float64)
    view = base[1:3]
    view.data[...] = value(rank)
    dist.all_reduce(view)  # in place: the base tensor sees the result
    res["base_after_view_reduce"] = base.numpy()
    b = mg.tensor(value(rank), dtype=np.float32)
    dist.broadcast(b, src=world - 1)
    res["broadcast_from_last"] = b.numpy()
    try:
        dist.all_reduce(mg.tensor(np.ones(2, dtype=np.int64)), "avg")
    except TypeError as exc:
        res["avg_int_error"] = np.array(str(exc))
    dist.barrier()
    np.savez(out / f"rank{rank}.npz", **res)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
