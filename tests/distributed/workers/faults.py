"""Under ``mpirun -n 2``: one rank fails while the other waits in a collective.

``python faults.py raise``: rank 1 raises while rank 0 waits in ``all_reduce``.
``python faults.py mismatch``: the ranks wrap different models in DDP.
Each must end the whole job with the failing rank's error on stderr, never hang.
``python faults.py hang``: rank 1 stalls (no error) while rank 0 waits in ``all_reduce``;
MPI collectives have no timeout, so the launcher's job time limit must end it.
"""

from __future__ import annotations

import sys
import time

import numpy as np

import minigrad as mg
import minigrad.distributed as dist
from minigrad import nn

dist.init()
rank = dist.get_rank()
if sys.argv[1] == "raise":
    if rank == 1:
        raise ValueError("boom on rank 1")
    t = mg.tensor(np.ones(3))
    dist.all_reduce(t)  # rank 1 never joins: without the abort this waits forever
elif sys.argv[1] == "hang":
    if rank == 1:
        time.sleep(600)
    dist.all_reduce(mg.tensor(np.ones(3)))
elif sys.argv[1] == "mismatch":
    dist.DistributedDataParallel(nn.Linear(3, 4 if rank == 0 else 5))
print(f"rank {rank} finished (it should not have)")
