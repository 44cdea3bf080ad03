"""``mpirun -n 2 python examples/char_lstm_ddp.py --quick`` runs, learns, and saves."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from mpi_launch import ROOT, describe, launcher, mpirun

_prefix, _why = launcher()
pytestmark = pytest.mark.skipif(_prefix is None, reason=f"MPI unavailable: {_why}")


def test_char_lstm_ddp_quick_on_two_ranks(tmp_path: Path):
    out = tmp_path / "out"
    proc = mpirun(ROOT / "examples" / "char_lstm_ddp.py", "--quick", "--out", str(out),
                  timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, describe(proc)
    lines = proc.stdout.strip().splitlines()
    match = re.fullmatch(r"RESULT val_bpc=(\S+)", lines[-1].strip())
    assert match, describe(proc)
    bpc = float(match.group(1))
    assert bpc < 4.1, f"held-out {bpc} bits/char should be clearly below the unigram ~4.6"
    assert sum(line.startswith("RESULT") for line in lines) == 1, "only rank 0 reports"
    assert "2 rank(s)" in proc.stdout and re.search(r"throughput [\d,]+ chars/s", proc.stdout)

    import minigrad as mg

    saved = mg.load(out / "char_lstm_ddp.npz")
    assert {"embed.weight", "lstm.weight_ih_l0", "head.weight"} <= set(saved)
    assert all(np.isfinite(a).all() for a in saved.values())
