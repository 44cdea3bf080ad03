"""Every example runs with ``--quick`` and reaches its stated quality; so does the demo.

Each program runs in a subprocess, exactly as a user would start it, and must exit 0
with a last line ``RESULT <metric>=<value>`` whose value clears the bound written
below. BLAS is limited to one thread in the children: the matrices here are small, and
on a shared 2-core machine a multi-threaded BLAS competing with other processes is
many times slower, not faster.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import cupy_standin
import pytest
from conftest import DEVICES

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TIMEOUT_S = 150  # a quick run takes well under a minute; this only catches a hang

# (script, takes --out, metric, comparison, bound, why)
CASES = [
    ("char_lstm.py", False, "val_bpc", "<", 4.1,
     "held-out bits/char, clearly below the unigram baseline of about 4.6"),
    ("forecast.py", True, "best_rmse_over_naive", "<", 0.95,
     "the best recurrent model beats the last-value forecast by more than 5%"),
    ("seq2seq_attention.py", True, "accuracy", ">", 0.80,
     "exact-match accuracy on held-out dates after a quick run"),
    ("vanishing_gradients.py", True, "lstm_over_rnn_log10_grad_at_t0", ">", 1.0,
     "at least 10x more gradient reaches step 0 through the LSTM than the tanh RNN"),
    ("transformer_block.py", False, "accuracy", ">", 0.90,
     "the attention classifier solves 'is A before B' (chance is 0.5)"),
    ("higher_order.py", False, "max_rel_error", "<", 1e-6,
     "double backward matches finite differences in float64"),
    ("transformer_lm.py", False, "transformer_val_bpc", "<", 3.6,
     "the Transformer LM's held-out bits/char, well below the unigram's 4.6"),
]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    env["MPLBACKEND"] = "Agg"
    env.pop("MINIGRAD_DEVICE", None)  # the examples run on the device each test names
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "tests"), env.get("PYTHONPATH")]))
    return env


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, (
        f"{' '.join(args)} exited with {proc.returncode}\n--- stdout ---\n{proc.stdout[-3000:]}"
        f"\n--- stderr ---\n{proc.stderr[-3000:]}"
    )
    return proc


def _result(stdout: str, metric: str) -> float:
    last = stdout.strip().splitlines()[-1]
    # the first metric is the one checked; more ``name=value`` pairs may follow it
    match = re.fullmatch(rf"RESULT {re.escape(metric)}=(\S+)(?: \w+=\S+)*", last.strip())
    assert match, f"last line should be 'RESULT {metric}=<value>', got {last!r}"
    return float(match.group(1))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("script", "takes_out", "metric", "op", "bound", "why"), CASES,
                         ids=[c[0] for c in CASES])
def test_example_quick_run_reaches_its_bound(tmp_path: Path, script: str, takes_out: bool,
                                             metric: str, op: str, bound: float,
                                             why: str, device: str) -> None:
    args = [str(EXAMPLES / script), "--quick", "--device", device]
    if device != "cpu" and cupy_standin.installed():  # the subprocess needs the stand-in too
        args = ["-m", "cupy_standin.run", *args]
    if takes_out:
        args += ["--out", str(tmp_path / "out")]
    proc = _run(args, tmp_path)
    value = _result(proc.stdout, metric)
    ok = value < bound if op == "<" else value > bound
    assert ok, f"{script}: {metric}={value} should be {op} {bound} ({why})"
    if takes_out:
        written = list((tmp_path / "out").iterdir())
        assert any(p.suffix == ".png" and p.stat().st_size > 1000 for p in written), written


# Examples that need a launcher, run by their own tests.
ELSEWHERE = {"char_lstm_ddp.py": "tests/distributed/test_example_ddp.py (under mpirun -n 2)"}


def test_every_example_is_covered() -> None:
    scripts = {p.name for p in EXAMPLES.glob("*.py")}
    assert scripts == {c[0] for c in CASES} | set(ELSEWHERE)


def test_demo_quick_writes_outputs_and_beats_the_unigram_baseline(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = _run(["-m", "minigrad.cli.demo", "--quick", "--out", str(out)], ROOT)
    match = re.search(r"validation: ([\d.]+) bits/char, unigram baseline: ([\d.]+) bits/char",
                      proc.stdout)
    assert match, proc.stdout[-2000:]
    val, unigram = float(match.group(1)), float(match.group(2))
    assert val < unigram - 0.5, f"validation {val} bits/char vs unigram {unigram}"
    assert (out / "loss.png").stat().st_size > 1000
    assert (out / "char_lstm.npz").stat().st_size > 1000
    graphs = [p for p in out.iterdir() if p.name in ("bptt.svg", "bptt.dot")]
    assert graphs and graphs[0].stat().st_size > 100
    for path in (out / "loss.png", out / "char_lstm.npz", graphs[0]):
        assert str(path) in proc.stdout, f"the demo should print where it wrote {path.name}"


def test_demo_checkpoint_loads_into_a_fresh_model(tmp_path: Path) -> None:
    import json

    import minigrad as mg
    from minigrad.cli.char_lstm import CharLSTM, TrainConfig
    from minigrad.cli.demo import demo_command

    out = tmp_path / "demo"
    text = tmp_path / "tiny.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 400, encoding="utf-8")
    assert demo_command(["--quick", "--text", str(text), "--out", str(out), "--steps", "5"]) == 0
    chars = json.loads((out / "vocab.json").read_text(encoding="utf-8"))
    cfg = TrainConfig.quick()
    model = CharLSTM(len(chars), cfg.embed, cfg.hidden)
    model.load_state_dict(mg.load(out / "char_lstm.npz"))


def test_demo_rejects_a_missing_text_file(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from minigrad.cli.demo import demo_command

    assert demo_command(["--quick", "--text", str(tmp_path / "nope.txt"),
                         "--out", str(tmp_path)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_demo_ctrl_c_stops_training_and_still_writes_the_outputs(tmp_path: Path) -> None:
    import signal
    import threading
    import time

    out = tmp_path / "demo"
    env = _env()
    env["PYTHONUNBUFFERED"] = "1"  # each line reaches the reader as it is printed

    def default_sigint() -> None:
        # a shell without job control starts background jobs with SIGINT ignored, and
        # Python then installs no KeyboardInterrupt handler: give the demo the default
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    proc = subprocess.Popen(
        [sys.executable, "-m", "minigrad.cli.demo", "--quick", "--steps", "100000",
         "--max-seconds", "120", "--out", str(out)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=default_sigint)
    lines: list[str] = []
    started = threading.Event()

    def read_stdout() -> None:  # the demo prints "training: ..." just before its loop
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("training:"):
                started.set()

    errors: list[str] = []
    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    err_reader = threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True)
    err_reader.start()  # drained too, so a full pipe can never block the demo
    try:
        assert started.wait(timeout=120), "the demo never started training"
        time.sleep(3.0)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=TIMEOUT_S)
        reader.join(timeout=10)
        err_reader.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    stdout, stderr = "".join(lines), "".join(errors)
    assert proc.returncode == 0, stderr[-3000:]
    assert "interrupted" in stderr + stdout
    assert "[interrupted]" in stdout
    assert (out / "loss.png").exists() and (out / "char_lstm.npz").exists()
    assert re.search(r"validation: [\d.]+ bits/char", stdout)
