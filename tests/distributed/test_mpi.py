"""``mg.distributed`` under a real ``mpirun -n 2`` (shared memory on this machine).

Skipped, with the reason, where MPI (mpi4py and a launcher) is not installed. Every job
runs with a timeout and is killed whole if it overruns, so a hang fails, never blocks.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from mpi_launch import WORKERS, describe, launcher, mpirun

_prefix, _why = launcher()
pytestmark = pytest.mark.skipif(_prefix is None, reason=f"MPI unavailable: {_why}")


def _load_worker(name: str):
    spec = importlib.util.spec_from_file_location(f"worker_{name}", WORKERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lm_ddp")
    proc = mpirun(WORKERS / "lm_ddp.py", str(out))
    assert proc.returncode == 0, describe(proc)
    return out


@pytest.fixture(scope="module")
def reference() -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """One process, the global batch of 2b, the same 20 clipped Adam steps."""
    import minigrad as mg

    lm = _load_worker("lm_ddp")
    dtype = mg.get_default_dtype()
    try:
        model = lm.build(seed=0)
        losses, norms = lm.train(model, lm.global_streams())
    finally:
        mg.set_default_dtype(dtype)
    return lm.flat_params(model), losses, norms


def test_two_ranks_with_batch_b_end_where_one_process_with_batch_2b_ends(lm_run, reference):
    params, losses, norms = reference
    lm = _load_worker("lm_ddp")
    assert (norms > lm.MAX_NORM).sum() >= 5, "clipping should be active in this run"
    for rank in (0, 1):
        run = np.load(lm_run / f"rank{rank}.npz")
        assert int(run["world"]) == 2
        np.testing.assert_allclose(run["losses"], losses, rtol=1e-12, atol=0)
        np.testing.assert_allclose(run["norms"], norms, rtol=1e-12, atol=0)
        for name, expected in params.items():
            np.testing.assert_allclose(run[f"param/{name}"], expected, rtol=1e-10, atol=1e-13,
                                       err_msg=f"rank {rank}, {name}")


def test_the_replicas_are_identical_after_training(lm_run):
    r0, r1 = np.load(lm_run / "rank0.npz"), np.load(lm_run / "rank1.npz")
    names = [k for k in r0.files if k.startswith("param/")]
    assert len(names) == 7
    for name in names:
        np.testing.assert_array_equal(r0[name], r1[name], err_msg=name)


def test_without_the_all_reduce_the_ranks_do_not_match_the_reference(lm_run, reference):
    """The control: the same training minus gradient averaging ends far from both the
    reference and the other rank, so the equivalence above is not a coincidence."""
    params, _, _ = reference
    r0, r1 = np.load(lm_run / "rank0.npz"), np.load(lm_run / "rank1.npz")
    for name, expected in params.items():
        assert np.abs(r0[f"control/{name}"] - expected).max() > 1e-3, name
        assert np.abs(r0[f"control/{name}"] - r1[f"control/{name}"]).max() > 1e-3, name


def test_rank0_checkpoint_holds_the_trained_parameters(lm_run):
    import minigrad as mg

    saved = mg.load(lm_run / "checkpoint.npz")
    r0 = np.load(lm_run / "rank0.npz")
    assert sorted(saved) == sorted(k[len("param/"):] for k in r0.files if k.startswith("param/"))
    for name, array in saved.items():
        np.testing.assert_array_equal(array, r0[f"param/{name}"])
    assert not [p for p in lm_run.iterdir() if p.name.endswith(".tmp")]


def test_collectives_on_tensors(tmp_path: Path):
    proc = mpirun(WORKERS / "collectives.py", str(tmp_path))
    assert proc.returncode == 0, describe(proc)
    v = [np.arange(6.0).reshape(2, 3) * (r + 1) + r for r in range(2)]
    expected = {
        "sum": v[0] + v[1], "avg": (v[0] + v[1]) / 2, "max": np.maximum(v[0], v[1]),
        "min": np.minimum(v[0], v[1]), "product": v[0] * v[1],
        "int_sum": (v[0] + v[1]).astype(np.int64), "transposed_sum": (v[0] + v[1]).T,
        "broadcast_from_last": v[1].astype(np.float32),
    }
    for rank in (0, 1):
        got = np.load(tmp_path / f"rank{rank}.npz")
        for key, want in expected.items():
            np.testing.assert_array_equal(got[key], want, err_msg=f"rank {rank}: {key}")
            assert got[key].dtype == want.dtype, (rank, key)
        base = np.zeros((4, 3))
        base[1:3] = v[0] + v[1]
        np.testing.assert_array_equal(got["base_after_view_reduce"], base)
        assert "all_reduce" in str(got["avg_int_error"]) and "int64" in str(got["avg_int_error"])


def test_an_exception_on_one_rank_aborts_the_job_and_shows_that_ranks_error():
    proc = mpirun(WORKERS / "faults.py", "raise", timeout=60)
    assert proc.returncode != 0, describe(proc)
    assert "rank 1 of 2 raised ValueError: boom on rank 1" in proc.stderr, describe(proc)
    assert "Traceback" in proc.stderr and "faults.py" in proc.stderr
    assert "finished (it should not have)" not in proc.stdout


def test_ranks_wrapping_different_models_are_refused_on_every_rank():
    proc = mpirun(WORKERS / "faults.py", "mismatch", timeout=60)
    assert proc.returncode != 0, describe(proc)
    assert "every rank must wrap the same model" in proc.stderr, describe(proc)
    assert "weight" in proc.stderr and "finished (it should not have)" not in proc.stdout


def test_a_stalled_rank_is_ended_by_the_launchers_job_time_limit():
    """What docs/distributed.md prescribes against hangs: MPIEXEC_TIMEOUT (read by both
    Open MPI's and MPICH's launchers) bounds the job, since collectives never time out."""
    proc = mpirun(WORKERS / "faults.py", "hang", timeout=60, extra_env={"MPIEXEC_TIMEOUT": "4"})
    assert proc.returncode != 0, describe(proc)
    assert "finished (it should not have)" not in proc.stdout
    assert "time limit" in (proc.stdout + proc.stderr).lower() or "timeout" in proc.stderr.lower()
