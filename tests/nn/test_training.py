"""End to end: a small MLP learns a synthetic classification task."""

from __future__ import annotations

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(2, 32)
        self.norm = nn.LayerNorm(32)
        self.drop = nn.Dropout(0.1)
        self.fc2 = nn.Linear(32, 3)

    def forward(self, x: mg.Tensor) -> mg.Tensor:
        return self.fc2(self.drop(F.relu(self.norm(self.fc1(x)))))


def _blobs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    centers = np.array([[0.0, 2.0], [-2.0, -1.0], [2.0, -1.0]])
    y = rng.integers(0, 3, n)
    return (centers[y] + 0.6 * rng.normal(size=(n, 2))).astype(np.float32), y


def test_mlp_learns_three_blobs() -> None:
    mg.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = _blobs(rng, 192)
    model = MLP()
    opt = mg.optim.AdamW(model.parameters(), lr=0.02)
    first = None
    for _ in range(60):
        loss = F.cross_entropy(model(mg.tensor(x)), y, label_smoothing=0.05)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        first = loss.item() if first is None else first
    model.eval()
    x_test, y_test = _blobs(rng, 200)
    logits = model(mg.tensor(x_test))
    accuracy = (logits.numpy().argmax(1) == y_test).mean()
    assert first > 0.9  # about log(3) at the start
    assert F.cross_entropy(model(mg.tensor(x)), y).item() < 0.15
    assert accuracy > 0.95
    assert all(p.dtype == np.float32 for p in model.parameters())
