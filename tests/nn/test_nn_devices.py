"""Layers, losses, clipping, optimizers and checkpoints give the CPU's numbers on every device."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn


class Tagger(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(7, 4, padding_idx=0, dtype=np.float64)
        self.norm = nn.LayerNorm(4, dtype=np.float64)
        self.out = nn.Linear(4, 3, dtype=np.float64)

    def forward(self, idx: mg.Tensor) -> mg.Tensor:
        return self.out(F.relu(self.norm(self.emb(idx))))  # (B, T, 3)


def _run(device: str, tmp_path: Path) -> list[np.ndarray]:
    mg.manual_seed(0)
    model = Tagger().to(device)
    opt = mg.optim.Adam(model.parameters(), lr=0.05, amsgrad=True)
    idx = mg.tensor(np.array([[1, 2, 0], [3, 6, 5]])).to(device)
    target = mg.tensor(np.array([[0, 2, -100], [1, 1, 2]])).to(device)
    for _ in range(3):
        logits = model(idx).permute(0, 2, 1)  # (B, C, T)
        loss = F.cross_entropy(logits, target, label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
    assert all(p.device == mg.tensor(0.0).to(device).device for p in model.parameters())
    mg.save(opt.state_dict(), tmp_path / f"opt_{device}.npz")
    opt.load_state_dict(mg.load(tmp_path / f"opt_{device}.npz"))
    opt.step()
    return [p.numpy() for p in model.parameters()]


def test_training_steps_match_cpu(device: str, tmp_path: Path) -> None:
    expected = _run("cpu", tmp_path)
    for a, b in zip(_run(device, tmp_path), expected):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert not expected[0][0].any()  # the padding row of the embedding never moved
