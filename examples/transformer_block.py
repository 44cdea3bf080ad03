"""A small Transformer classifier from ``MultiheadAttention``, ``LayerNorm`` and ``Linear``.

Task: *does marker A come before marker B?* Each sequence holds ``L`` filler tokens
with one ``A`` and one ``B`` dropped at random positions. Neither the bag of tokens nor
any fixed position answers it: the model has to find both markers (content-based
attention: a query that matches the keys of A, another that matches B) and compare
where they are (the positional embeddings carried in the values). A ``[CLS]`` token
at position 0 collects the answer; the classifier reads its output.

The block is the pre-norm Transformer encoder layer::

    x = x + MultiheadAttention(LayerNorm(x))
    x = x + Linear(relu(Linear(LayerNorm(x))))

    python examples/transformer_block.py --quick
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

FILLER, LENGTH = 10, 12           # filler tokens 0..9, sequences of 12 (+ CLS)
MARK_A, MARK_B, CLS = 10, 11, 12
VOCAB = 13


def make_batch(rng: np.random.Generator, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Tokens ``(B, 1 + L)`` starting with CLS, and labels ``(B,)`` (1 = A before B)."""
    x = rng.integers(0, FILLER, size=(batch, LENGTH))
    pos = np.stack([rng.choice(LENGTH, size=2, replace=False) for _ in range(batch)])
    rows = np.arange(batch)
    x[rows, pos[:, 0]] = MARK_A
    x[rows, pos[:, 1]] = MARK_B
    y = (pos[:, 0] < pos[:, 1]).astype(np.int64)
    return np.concatenate([np.full((batch, 1), CLS), x], axis=1), y


class Block(nn.Module):
    """Pre-norm self-attention + MLP, each with a residual connection. ``(B, S, D)`` in and out."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x: mg.Tensor) -> tuple[mg.Tensor, mg.Tensor]:
        """Return the new ``x`` and the attention weights ``(B, S, S)`` (head-averaged)."""
        h = self.norm1(x)
        a, weights = self.attn(h, h, h)
        x = x + a
        return x + self.fc2(self.fc1(self.norm2(x)).relu()), weights


class Classifier(nn.Module):
    """Token + position embeddings, ``depth`` blocks, a linear head on the CLS position."""

    def __init__(self, dim: int = 32, heads: int = 4, depth: int = 1) -> None:
        super().__init__()
        self.tokens = nn.Embedding(VOCAB, dim)
        self.positions = nn.Parameter(mg.randn(LENGTH + 1, dim).numpy() * 0.1)
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 2)

    def forward(self, tokens: mg.Tensor) -> mg.Tensor:
        """``tokens (B, S)`` -> logits ``(B, 2)``."""
        x = self.tokens(tokens) + self.positions
        for block in self.blocks:
            x, _ = block(x)
        return self.head(self.norm(x[:, 0]))


def main(argv: list[str] | None = None) -> float:
    """Parse the command line, train, evaluate, print ``RESULT ...`` last; returns the metric."""
    p = argparse.ArgumentParser(description="self-attention classifier: is A before B?")
    p.add_argument("--quick", action="store_true", help="a short run")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    args = p.parse_args(argv)
    steps, budget, depth = (600, 20.0, 1) if args.quick else (2000, 180.0, 2)
    mg.manual_seed(0)
    rng = np.random.default_rng(0)

    model = Classifier(depth=depth).to(args.device)
    opt = mg.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    print(f"{sum(q.data.size for q in model.parameters()):,} parameters, depth {depth}")
    start = time.perf_counter()
    for step in range(1, steps + 1):
        x, y = make_batch(rng, 64)
        loss = F.cross_entropy(model(mg.tensor(x, device=args.device)),
                               mg.tensor(y, device=args.device))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        elapsed = time.perf_counter() - start
        if step % 100 == 0 or step == 1:
            print(f"step {step:5d}  loss {loss.item():.4f}  {elapsed:5.1f} s")
        if elapsed > budget:
            print(f"time budget reached after {step} steps")
            break

    model.eval()
    x, y = make_batch(np.random.default_rng(99), 2000)
    with mg.no_grad():
        pred = model(mg.tensor(x, device=args.device)).numpy().argmax(axis=1)
    acc = float((pred == y).mean())
    print(f"test accuracy on 2000 fresh sequences: {acc:.1%} (chance: 50%)")
    print(f"RESULT accuracy={acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
