"""Compiled against eager attention, one pinned core, one thread.

    taskset -c 1 python benchmarks/bench_attention_compile.py
    python benchmarks/bench_attention_compile.py --modules mha --config 32 64 256 8

One training step (forward, mean-square loss, backward) of ``MultiheadAttention``
(self-attention with a causal float mask and a key padding mask) and of a
``TransformerEncoderLayer`` (gelu, eval mode: no dropout), eager and after ``compile()``
(which compiles the attention core), float32, interleaved; prints the median times, the median of per-pair
ratios (compiled / eager: below 1 is faster) and the trace cost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad.nn import _compiled  # noqa: E402

CONFIGS = [(16, 32, 64, 4), (32, 128, 256, 8)]  # (B, S, E, heads)


def make_step(kind: str, config: tuple[int, ...], compiled: bool) -> Callable[[], None]:
    """A training step of a fresh module (``kind`` "mha" or "encoder") on fixed data,
    eager or compiled."""
    batch, seq, embed, heads = config
    mg.manual_seed(0)
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((seq, batch, embed)), dtype=np.float32, requires_grad=True)
    mask = mg.nn.Transformer.generate_square_subsequent_mask(seq, dtype=np.float32)
    pad = np.zeros((batch, seq), dtype=bool)
    pad[: batch // 2, seq - seq // 4:] = True
    if kind == "mha":
        module = mg.nn.MultiheadAttention(embed, heads, dtype=np.float32)

        def run() -> mg.Tensor:
            return module(x, x, x, key_padding_mask=pad, attn_mask=mask, need_weights=False)[0]
    else:
        module = mg.nn.TransformerEncoderLayer(embed, heads, 4 * embed, activation="gelu",
                                               dtype=np.float32).eval()

        def run() -> mg.Tensor:
            return module(x, src_mask=mask, src_key_padding_mask=pad)
    module.compile(compiled)

    def step() -> None:
        out = run()
        loss = (out * out).mean()
        loss.backward()
        x.grad = None
        module.zero_grad()

    return step


def main() -> None:
    """Print the eager / compiled table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", default="mha,encoder")
    parser.add_argument("--config", type=int, nargs=4, metavar=("B", "S", "E", "HEADS"))
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    configs = [tuple(args.config)] if args.config else CONFIGS
    print(f"one thread; ms per training step, median of {args.repeat} interleaved pairs")
    print(f"{'module':<9}{'(B, S, E, heads)':<20}{'eager':>9}{'compiled':>10}{'ratio':>8}"
          f"{'trace ms':>10}")
    for kind in args.modules.split(","):
        for config in configs:
            _compiled._COMPILED.clear()
            eager_step = make_step(kind, config, False)
            comp_step = make_step(kind, config, True)
            for _ in range(2):  # warm up; the compiled side traces on its first call
                eager_step()
                comp_step()
            te, tc, ratios = [], [], []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                eager_step()
                t1 = time.perf_counter()
                comp_step()
                t2 = time.perf_counter()
                te.append(t1 - t0)
                tc.append(t2 - t1)
                ratios.append((t2 - t1) / (t1 - t0))
            traced = sum(c.trace_seconds for c in _compiled._COMPILED.values()) * 1e3
            print(f"{kind:<9}{str(config):<20}{statistics.median(te) * 1e3:>9.2f}"
                  f"{statistics.median(tc) * 1e3:>10.2f}{statistics.median(ratios):>8.2f}"
                  f"{traced:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
