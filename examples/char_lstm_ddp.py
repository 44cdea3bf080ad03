"""The character-level LSTM of ``char_lstm.py``, trained data-parallel on several processes.

Start it with an MPI launcher; every process is one rank with one model replica:

    mpirun -n 2 python examples/char_lstm_ddp.py --quick
    mpirun -n 4 --hostfile hosts python examples/char_lstm_ddp.py --device cuda

(as root, Open MPI also wants ``--allow-run-as-root``; on a machine with fewer free
cores than ranks, ``--oversubscribe``). A plain ``python examples/char_lstm_ddp.py`` is
a world of one process. What changes against the one-process script:

1. **Sharding.** The text is cut into ``--batch`` streams (the *global* batch), and
   rank ``r`` trains on its ``batch / world_size`` columns of them (``dist.shard``).
   Each rank's loss is the mean over its own columns, so the average of the ranks'
   gradients is the gradient of the mean over the global batch: the same training as
   ``char_lstm.py`` with that batch, computed in pieces.
2. **DistributedDataParallel.** It broadcasts rank 0's initial weights (the ranks are
   seeded differently here to show it) and ``ddp.sync_gradients()`` after
   ``loss.backward()`` averages the gradients over the ranks in a few large all-reduces
   (``ddp.backward(loss)`` does both). Clipping comes after the average.
3. **No time budget.** Every rank must run the same number of steps (a rank that stops
   early would leave the others waiting in an all-reduce), so the run length is a step
   count, not a wall-clock budget that each rank would measure differently.

Rank 0 prints the throughput (characters of the global batch per second) and the
held-out bits per character, computed on all ranks and summed with ``all_reduce``.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

import minigrad as mg
import minigrad.distributed as dist
from minigrad import nn
from minigrad.cli.char_lstm import CharLSTM, load_text, streams
from minigrad.nn import functional as F


def bits_per_char(model: nn.Module, ids: np.ndarray, seq_len: int, device: str) -> float:
    """Held-out bits/char: 8 streams split over the ranks, the sums all-reduced."""
    data = dist.shard(streams(ids, 8), axis=1)
    total, count, state = 0.0, 0, None
    model.eval()
    with mg.no_grad():
        for s in range(0, len(data) - 1, seq_len):
            y = data[s + 1 : s + 1 + seq_len]
            logits, state = model(mg.tensor(data[s : s + len(y)], device=device), state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                   mg.tensor(y.reshape(-1), device=device), reduction="sum")
            total += loss.item()
            count += y.size
    model.train()
    sums = mg.tensor(np.array([total, count], dtype=np.float64))
    dist.all_reduce(sums)
    return float(sums.numpy()[0] / sums.numpy()[1] / math.log(2))


def main(argv: list[str] | None = None) -> float:
    """Parse the command line, train, evaluate; rank 0 prints ``RESULT ...`` last."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--text", help="UTF-8 file to train on (default: CPython's pydoc topics)")
    p.add_argument("--quick", action="store_true", help="a small run (about a minute)")
    p.add_argument("--device", default="cpu", help="cpu, or cuda for one GPU per rank")
    p.add_argument("--batch", type=int, help="global batch (streams), split over the ranks")
    p.add_argument("--steps", type=int, help="optimizer steps")
    p.add_argument("--out", help="folder for rank 0's checkpoint char_lstm_ddp.npz")
    args = p.parse_args(argv)

    dist.init(device=args.device)
    rank, world = dist.get_rank(), dist.get_world_size()
    device = dist.get_device()
    say = print if rank == 0 else (lambda *a, **k: None)

    hidden, seq_len, batch, steps = (96, 48, 32, 150) if args.quick else (256, 64, 64, 1200)
    batch, steps = args.batch or batch, args.steps or steps
    if batch % world:
        raise SystemExit(f"char_lstm_ddp: --batch {batch} must be a multiple of the "
                         f"{world} ranks, so that every rank gets the same share")
    text = load_text(args.text)
    if args.quick:
        text = text[:120_000]
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text])
    split = int(0.95 * len(ids))
    train, val = ids[:split], ids[split:]
    data = dist.shard(streams(train, batch), axis=1)  # (N, batch // world): this rank's streams

    mg.manual_seed(rank)  # replicas start different; DDP broadcasts rank 0's weights
    model = CharLSTM(len(chars), 32, hidden).to(device)
    ddp = dist.DistributedDataParallel(model)
    params = list(model.parameters())
    opt = mg.optim.Adam(params, lr=5e-3 if args.quick else 3e-3)
    say(f"{world} rank(s) on {device}, backend {dist.get_backend()}; global batch {batch} "
        f"({batch // world} per rank); {len(text):,} characters, {len(chars)} distinct; "
        f"{sum(q.data.size for q in params):,} parameters")

    state, pos, sync_s = None, 0, 0.0
    dist.barrier()
    start = time.perf_counter()
    for step in range(1, steps + 1):
        if pos + seq_len + 1 > len(data):
            pos, state = 0, None
        x, y = data[pos : pos + seq_len], data[pos + 1 : pos + seq_len + 1]
        pos += seq_len
        logits, state = ddp(mg.tensor(x, device=device), state)
        state = tuple(s.detach() for s in state)  # truncated BPTT, as in char_lstm.py
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), mg.tensor(y.reshape(-1), device=device))
        opt.zero_grad()
        loss.backward()
        t0 = time.perf_counter()
        ddp.sync_gradients()  # the gradients averaged over the ranks (ddp.backward does both)
        sync_s += time.perf_counter() - t0
        nn.utils.clip_grad_norm_(params, 1.0)  # after the average: the global norm
        opt.step()
        if step % 50 == 0 or step == 1:
            say(f"step {step:5d}  loss (rank 0's share) {loss.item() / math.log(2):.3f} bits/char")
    dist.barrier()
    elapsed = time.perf_counter() - start
    say(f"throughput {steps * seq_len * batch / elapsed:,.0f} chars/s "
        f"({steps} steps of {seq_len} x {batch} characters in {elapsed:.1f} s, {world} rank(s)); "
        f"rank 0 spent {100 * sync_s / elapsed:.0f}% of it in sync_gradients")

    if args.out:
        path = Path(args.out)
        if rank == 0:
            path.mkdir(parents=True, exist_ok=True)
        dist.save_checkpoint(model.state_dict(), path / "char_lstm_ddp.npz")
        say(f"wrote {path / 'char_lstm_ddp.npz'}")
    bpc = bits_per_char(model, val, seq_len, device)
    counts = np.bincount(train, minlength=len(chars)) + 1.0
    unigram = float(-np.log2(counts / counts.sum())[val].mean())
    say(f"validation {bpc:.3f} bits/char; a unigram model needs {unigram:.3f}")
    say(f"RESULT val_bpc={bpc:.4f}")
    return bpc


if __name__ == "__main__":
    main()
