"""Time the BPTT graph picture: ``to_dot`` and Graphviz ``dot -Tsvg`` for LSTM graphs.

Run ``python benchmarks/bench_viz.py [--steps 10 50 200 1000] [--hidden 8]``. Prints one
row per length: ops in the graph, nodes drawn, seconds in ``to_dot`` (with and without
gradient-norm colouring) and in ``dot -Tsvg``. Goal: every row under 5 s.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import minigrad as mg


def lstm_graph(steps: int, hidden: int) -> tuple[mg.Tensor, dict[str, mg.Tensor]]:
    """The loss of a one-layer LSTM over ``steps`` (batch 4, input 8)."""
    mg.manual_seed(0)
    lstm = mg.nn.LSTM(8, hidden)
    out, _ = lstm(mg.randn(steps, 4, 8))
    return out.sum(), dict(lstm.named_parameters())


def best_of(repeat: int, *args: object, **kwargs: object) -> tuple[float, str]:
    """Fastest of ``repeat`` calls of ``mg.viz.to_dot(*args, **kwargs)`` and its text."""
    best, result = float("inf"), ""
    for _ in range(repeat):
        start = time.perf_counter()
        result = mg.viz.to_dot(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 50, 200, 1000])
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    dot = shutil.which("dot")
    print(f"{'T':>6} {'ops':>7} {'drawn':>6} {'to_dot s':>9} {'+norms s':>9} {'dot -Tsvg s':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for steps in args.steps:
            loss, params = lstm_graph(steps, args.hidden)
            t_dot, text = best_of(args.repeat, loss, params)
            t_norm, _ = best_of(args.repeat, loss, params, show_grad_norms=True)
            model = mg.viz.build_graph(loss, params)
            drawn = len(model.nodes)
            if dot is None:
                t_svg = float("nan")
            else:
                src = Path(tmp) / f"lstm{steps}.dot"
                src.write_text(text)
                start = time.perf_counter()
                subprocess.run([dot, "-Tsvg", "-o", str(src.with_suffix(".svg")), str(src)],
                               check=True)
                t_svg = time.perf_counter() - start
            print(f"{steps:>6} {model.n_ops:>7} {drawn:>6} {t_dot:>9.3f} {t_norm:>9.3f} "
                  f"{t_svg:>12.3f}")
    if dot is None:
        print("(Graphviz's dot is not installed: no rendering times)")


if __name__ == "__main__":
    main()
