"""One training step (forward, MSE loss, backward) of RNN, LSTM and GRU, float32, at
(B, T, I, H) = (32, 50, 64, 128), (64, 100, 128, 256), (16, 200, 32, 64), (128, 35, 512, 512);
PyTorch timed in the same run when importable, peak memory per framework in subprocesses.

    python benchmarks/bench_rnn.py --memory          # the full table
    python benchmarks/bench_rnn.py --pin 1 --compiled --memory   # one core, mg.compile too
    python benchmarks/bench_rnn.py --cells lstm --config 64 100 128 256
"""

import os
import sys

if "--pin" in sys.argv:  # one BLAS thread from the start (it reads these when NumPy loads)
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

from minigrad.cli.bench import bench_command  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(bench_command(sys.argv[1:], full=True))
