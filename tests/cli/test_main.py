"""The `minigrad` console command."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from minigrad.cli import main
from minigrad.cli.bench import run as bench_run


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("demo", "graph", "bench"):
        assert command in out


def test_unknown_command_fails_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_bench_runs_a_tiny_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--cells", "lstm,gru", "--config", "2", "3", "4", "5", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "GFLOP/s" in out
    assert out.count("(2, 3, 4, 5)") == 2


def test_console_script_entry_point_runs() -> None:
    result = subprocess.run([sys.executable, "-m", "minigrad.cli", "--help"],
                            capture_output=True, text=True, check=True)
    assert "usage: minigrad" in result.stdout


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="pinning needs Linux sched_setaffinity")
def test_bench_pinned_with_compiled_steps(capfd: pytest.CaptureFixture[str]) -> None:
    """(Without one BLAS thread in this process the benchmark runs in a subprocess.)"""
    cores = os.sched_getaffinity(0)
    try:
        assert main(["bench", "--cells", "lstm,gru", "--config", "2", "3", "4", "5", "--repeat", "1",
                     "--pin", str(min(cores)), "--compiled", "--peers", ""]) == 0
    finally:
        os.sched_setaffinity(0, cores)
    out = capfd.readouterr().out
    assert "pinned to core" in out and "mg.compile ms" in out and "first compiled step" in out
    assert out.count("(2, 3, 4, 5)") == 4  # two rows, and the first-call times of both


def test_bench_steps_each_framework_in_a_process_of_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    rows = bench_run(["gru"], [(2, 3, 4, 5)], repeat=2, threads=1, memory=False,
                     compiled=True, peers=(), processes=True)
    out = capsys.readouterr().out
    assert "one process per framework" in out
    (row,) = rows
    assert row["minigrad_ms"] > 0 and row["compiled_ms"] > 0
    assert row["compiled_first_call_s"] > 0  # reported by the worker that ran it
