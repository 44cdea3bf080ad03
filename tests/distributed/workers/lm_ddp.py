"""An LSTM language model trained for 20 Adam steps with gradient clipping, in float64.

Imported by the test for the one-process reference (global batch ``2b``), and run under
``mpirun -n 2 python lm_ddp.py OUT`` for the data-parallel run (per-rank batch ``b``).
Each rank writes ``OUT/rank{r}.npz``: its final parameters, the global loss and the
gradient norm of every step, and the parameters of a control run that skips the
gradient all-reduce. Rank 0 also writes ``OUT/checkpoint.npz`` with
``save_checkpoint``, and every rank checks that ``load_checkpoint`` returns it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

VOCAB, EMBED, HIDDEN, SEQ, GLOBAL_BATCH, STEPS, MAX_NORM, LR = 13, 6, 10, 6, 4, 20, 0.14, 0.02


class LM(nn.Module):
    """``idx (T, B)`` -> logits ``(T, B, V)`` and the LSTM state."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, EMBED)
        self.lstm = nn.LSTM(EMBED, HIDDEN)
        self.head = nn.Linear(HIDDEN, VOCAB)

    def forward(self, idx, state=None):
        out, state = self.lstm(self.embed(idx), state)
        return self.head(out), state


def global_streams() -> np.ndarray:
    """``(N, GLOBAL_BATCH)`` token streams with some structure to learn."""
    rng = np.random.default_rng(7)
    n = SEQ * STEPS + 1
    base = (np.arange(n)[:, None] * 3 + np.arange(GLOBAL_BATCH)[None, :] * 5) % VOCAB
    noise = rng.integers(0, VOCAB, size=base.shape)
    return np.where(rng.random(base.shape) < 0.2, noise, base)


def build(seed: int) -> LM:
    mg.set_default_dtype(np.float64)
    mg.manual_seed(seed)
    model = LM()
    assert all(p.dtype == np.float64 for p in model.parameters())
    return model


def train(model: nn.Module, data: np.ndarray, after_backward=None, reduce_loss=None):
    """20 steps of truncated BPTT on ``data (N, b)``; returns (losses, grad norms)."""
    params = list(model.parameters())
    opt = mg.optim.Adam(params, lr=LR)
    state, losses, norms = None, [], []
    for step in range(STEPS):
        x = data[step * SEQ : (step + 1) * SEQ]
        y = data[step * SEQ + 1 : (step + 1) * SEQ + 1]
        logits, state = model(mg.tensor(x), state)
        state = tuple(s.detach() for s in state)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), mg.tensor(y.reshape(-1)))
        opt.zero_grad()
        loss.backward()
        if after_backward is not None:
            after_backward()  # the all-reduce: before clipping, so the norm is the global one
        norms.append(float(nn.utils.clip_grad_norm_(params, MAX_NORM).item()))
        opt.step()
        losses.append(reduce_loss(loss) if reduce_loss else loss.item())
    return np.array(losses), np.array(norms)


def flat_params(model: nn.Module) -> dict[str, np.ndarray]:
    return {name: p.numpy().copy() for name, p in model.named_parameters()}


def main(out: Path) -> None:
    import minigrad.distributed as dist

    dist.init()
    rank, world = dist.get_rank(), dist.get_world_size()
    data = dist.shard(global_streams(), axis=1)  # this rank's GLOBAL_BATCH // world columns
    assert data.shape[1] == GLOBAL_BATCH // world

    def global_loss(loss: mg.Tensor) -> float:
        t = loss.detach()
        dist.all_reduce(t, dist.ReduceOp.AVG)
        return t.item()

    model = build(seed=rank)  # different on each rank: DDP's broadcast must make them equal
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=0.001)  # several buckets
    assert len(ddp._grad_buckets) > 1
    losses, norms = train(ddp, data, ddp.sync_gradients, global_loss)
    result = {f"param/{k}": v for k, v in flat_params(model).items()}

    dist.save_checkpoint(model.state_dict(), out / "checkpoint.npz")
    loaded = dist.load_checkpoint(out / "checkpoint.npz")
    assert loaded.keys() == model.state_dict().keys()
    for k, p in model.state_dict().items():
        np.testing.assert_array_equal(loaded[k], p.numpy())

    control = build(seed=0)  # the same start as the reference, but no gradient averaging
    train(control, data)
    result.update({f"control/{k}": v for k, v in flat_params(control).items()})
    np.savez(out / f"rank{rank}.npz", losses=losses, norms=norms, world=world, **result)
    dist.barrier()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
