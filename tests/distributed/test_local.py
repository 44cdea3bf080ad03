"""``mg.distributed`` pieces that need no MPI: imports, refusals, backend selection,
sharding and bucketing. (The collectives themselves are tested under mpirun in
test_mpi.py.)"""

from __future__ import annotations

import subprocess
import sys

import cupy_standin
import numpy as np
import pytest

import minigrad as mg
import minigrad.distributed as dist


def test_import_minigrad_never_imports_mpi4py():
    code = ("import sys, minigrad, minigrad.distributed as d; "
            "d.DistributedDataParallel; d.shard; print('mpi4py' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_mg_distributed_is_the_package():
    assert mg.distributed is dist
    assert dist.init_process_group is dist.init


@pytest.mark.parametrize("call", [dist.get_rank, dist.get_world_size, dist.barrier,
                                  lambda: dist.all_reduce(mg.ones(2)),
                                  lambda: dist.DistributedDataParallel(mg.nn.Linear(2, 2))])
def test_collectives_before_init_say_to_call_init(call):
    assert not dist.is_initialized()
    expected = r"minigrad\.distributed\.\w+.*call minigrad\.distributed\.init\(\)"
    with pytest.raises(RuntimeError, match=expected):
        call()


def _hide_cupy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without CuPy: hide the CuPy stand-in (a real GPU skips these tests)."""
    if cupy_standin.real_cupy_gpu():
        pytest.skip("a real GPU is present; this checks the no-GPU answer")
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setattr(mg.backend, "_cupy", None)


def test_init_on_cuda_without_a_gpu_refuses_before_touching_mpi(monkeypatch):
    _hide_cupy(monkeypatch)
    with pytest.raises(RuntimeError, match="CuPy"):
        dist.init(device="cuda")
    assert not dist.is_initialized()


@pytest.mark.parametrize(("requested", "device", "nccl_ok", "expected"), [
    (None, "cpu", False, "mpi"),
    (None, "cpu", True, "mpi"),
    (None, "cuda", True, "nccl"),
    (None, "cuda:1", True, "nccl"),
    (None, "cuda", False, "mpi"),  # GPU without NCCL: MPI on host buffers
    ("mpi", "cuda", True, "mpi"),
    ("NCCL", "cuda", True, "nccl"),
])
def test_backend_selection(requested, device, nccl_ok, expected):
    assert dist.select_backend(requested, device, nccl_ok) == expected


@pytest.mark.parametrize(("requested", "device", "nccl_ok", "error", "match"), [
    ("nccl", "cpu", True, RuntimeError, "needs device='cuda'"),
    ("nccl", "cuda", False, RuntimeError, "cupy.cuda.nccl"),
    ("gloo", "cpu", False, ValueError, "expected 'mpi', 'nccl' or None"),
])
def test_backend_selection_refusals_name_init(requested, device, nccl_ok, error, match):
    with pytest.raises(error, match=match) as info:
        dist.select_backend(requested, device, nccl_ok)
    assert "minigrad.distributed.init" in str(info.value)


@pytest.mark.parametrize(("array_device", "backend", "expected"), [
    ("cpu", "mpi", "mpi"), ("cpu", "nccl", "mpi"),
    ("cuda", "nccl", "nccl"), ("cuda:1", "nccl", "nccl"), ("cuda", "mpi", "mpi-staged"),
])
def test_transport_per_array(array_device, backend, expected):
    assert dist.transport_for(array_device, backend) == expected


def test_nccl_is_unavailable_without_a_gpu(monkeypatch):
    _hide_cupy(monkeypatch)
    assert dist.nccl_available() is False


# ---------------------------------------------------------------- sharding
def test_shard_gives_equal_contiguous_pieces_that_tile_the_data():
    ids = np.arange(23)
    pieces = [dist.shard(ids, rank=r, world_size=4) for r in range(4)]
    assert [len(p) for p in pieces] == [5, 5, 5, 5]
    np.testing.assert_array_equal(np.concatenate(pieces), ids[:20])  # remainder dropped
    assert dist.shard("abcdefg", rank=1, world_size=3) == "cd"
    assert dist.shard(list(range(6)), rank=2, world_size=3) == [4, 5]


def test_shard_along_the_batch_axis_splits_a_global_batch_into_rank_batches():
    x = np.arange(40).reshape(5, 8)  # (T, B)
    parts = [dist.shard(x, axis=1, rank=r, world_size=2) for r in range(2)]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), x)
    np.testing.assert_array_equal(parts[1], x[:, 4:])
    t = dist.shard(mg.tensor(x), axis=1, rank=0, world_size=2)
    assert isinstance(t, mg.Tensor) and t.shape == (5, 4)


def test_shard_refusals():
    with pytest.raises(ValueError, match=r"shard: 3 items .* each of 4 ranks"):
        dist.shard(np.arange(3), rank=0, world_size=4)
    with pytest.raises(ValueError, match=r"shard: rank must be in \[0, world_size\)"):
        dist.shard(np.arange(3), rank=2, world_size=2)
    with pytest.raises(ValueError, match="axis=1 needs an array"):
        dist.shard([1, 2, 3, 4], axis=1, rank=0, world_size=2)


def test_sampler_matches_pytorchs_padding_and_striding():
    # torch.utils.data.DistributedSampler(range(5), 2, r, shuffle=False): [0,2,4] and [1,3,0]
    assert list(dist.DistributedSampler(5, 2, 0, shuffle=False)) == [0, 2, 4]
    assert list(dist.DistributedSampler(5, 2, 1, shuffle=False)) == [1, 3, 0]
    assert list(dist.DistributedSampler(5, 2, 1, shuffle=False, drop_last=True)) == [1, 3]
    assert list(dist.DistributedSampler(range(2), 4, 3, shuffle=False)) == [1]


def test_sampler_shuffles_the_same_way_on_every_rank_and_per_epoch():
    samplers = [dist.DistributedSampler(10, 3, r, seed=5) for r in range(3)]
    seen = np.concatenate([s.indices() for s in samplers])
    assert len(seen) == 12 and set(seen.tolist()) == set(range(10))
    assert all(len(s) == 4 for s in samplers)
    first = samplers[0].indices()
    samplers[0].set_epoch(1)
    assert not np.array_equal(first, samplers[0].indices())


# ---------------------------------------------------------------- buckets
def test_buckets_respect_the_cap_and_never_mix_dtypes():
    from minigrad.distributed.ddp import _buckets

    ts = [mg.zeros(100, dtype=np.float32), mg.zeros(100, dtype=np.float32),
          mg.zeros(10, dtype=np.float64), mg.zeros(300, dtype=np.float32),
          mg.zeros(5, dtype=np.float32)]
    buckets = _buckets(ts, cap_bytes=800)  # 200 float32 values
    assert [b.indices for b in buckets] == [[0, 1], [3], [2], [4]]
    assert all(len({t.dtype for t in b.tensors}) == 1 for b in buckets)
    assert sorted(i for b in buckets for i in b.indices) == list(range(len(ts)))
    assert [b.numel for b in buckets] == [200, 300, 10, 5]


def test_init_without_mpi4py_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # makes `from mpi4py import MPI` fail
    with pytest.raises(RuntimeError, match=r"init: mpi4py is not installed; pip install 'minigrad\[mpi\]'"):
        dist.init()
    assert not dist.is_initialized()
