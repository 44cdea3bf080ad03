"""``import minigrad`` needs numpy only: not tqdm, not the programs in ``minigrad.cli``."""

from __future__ import annotations

import subprocess
import sys


def test_import_minigrad_works_without_tqdm_and_loads_no_program() -> None:
    code = (
        "import sys\n"
        "sys.modules['tqdm'] = None  # as if tqdm were not installed: importing it fails\n"
        "import minigrad, minigrad.nn, minigrad.optim, minigrad.viz, minigrad.autograd\n"
        "x = minigrad.randn(3, 2, 4, requires_grad=True)\n"
        "out, _ = minigrad.nn.LSTM(4, 5)(x)\n"
        "out.sum().backward()\n"
        "assert x.grad is not None\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('minigrad.cli'))\n"
        "print('programs loaded:', loaded)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "programs loaded: []" in proc.stdout


def test_the_demo_trains_without_tqdm_printing_plain_progress(tmp_path) -> None:
    code = (
        "import sys\n"
        "sys.modules['tqdm'] = None\n"
        "from minigrad.cli.demo import demo_command\n"
        f"sys.exit(demo_command(['--quick', '--steps', '3', '--out', {str(tmp_path)!r}]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "tqdm is not installed" in proc.stderr
    assert "step     1/3" in proc.stdout
    assert (tmp_path / "char_lstm.npz").exists()
