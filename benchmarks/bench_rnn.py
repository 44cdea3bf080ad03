"""One training step (forward, MSE loss, backward) of RNN, LSTM and GRU, float32, at
(B, T, I, H) = (32, 50, 64, 128), (64, 100, 128, 256), (16, 200, 32, 64), (128, 35, 512, 512);
PyTorch timed in the same run when importable, peak memory per framework in subprocesses.

    python benchmarks/bench_rnn.py --memory          # the full table
    python benchmarks/bench_rnn.py --cells lstm --config 64 100 128 256
"""

import sys

from minigrad.cli.bench import bench_command

if __name__ == "__main__":
    raise SystemExit(bench_command(sys.argv[1:], full=True))
