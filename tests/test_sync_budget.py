"""A training step on ``cuda`` makes no host synchronisation and no implicit transfer.

Counted by the strict CuPy stand-in (tests/cupy_standin), so these run without a GPU;
real CuPy cannot count its syncs, so with a real GPU they are skipped.
"""

from __future__ import annotations

import cupy_standin
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn

pytestmark = pytest.mark.skipif(not cupy_standin.installed(),
                                reason="counts syncs on the CuPy stand-in; a real GPU is in use")


class LSTMLanguageModel(nn.Module):
    def __init__(self, vocab: int, dim: int) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, dim, padding_idx=0)
        self.lstm = nn.LSTM(dim, dim, num_layers=2, batch_first=True)
        self.out = nn.Linear(dim, vocab)

    def forward(self, idx: mg.Tensor) -> mg.Tensor:
        h, _ = self.lstm(self.emb(idx))
        return self.out(h)  # (B, T, V)


class AttentionModel(nn.Module):
    def __init__(self, vocab: int, dim: int) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.gru = nn.GRU(dim, dim, batch_first=True)
        self.mha = nn.MultiheadAttention(dim, 2, batch_first=True)
        self.additive = nn.AdditiveAttention(dim, dim, dim)
        self.norm = nn.LayerNorm(dim)
        self.out = nn.Linear(dim, vocab)
        self.attn_dropout = 0.1

    def forward(self, idx: mg.Tensor, pad: mg.Tensor) -> mg.Tensor:
        x, _ = self.gru(self.emb(idx))
        pos = mg.arange(idx.shape[1], device=idx.device)
        future = pos[None, :] > pos[:, None]  # (T, T), True = may not attend
        y, _ = self.mha(x, x, x, key_padding_mask=pad, attn_mask=future)
        ctx, _ = self.additive(y[:, -1], y, mask=pad == 0)  # True where a key may be attended
        z = F.scaled_dot_product_attention(y, y, y, is_causal=True,
                                           dropout_p=self.attn_dropout)
        bias = future.to_dtype(y.dtype) * -2.0  # a float mask (added to the scores)
        z = z + F.scaled_dot_product_attention(y, y, y, attn_mask=bias)
        return self.out(self.norm(z + ctx[:, None]))  # (B, T, V)


def _batch(device: str) -> tuple[mg.Tensor, mg.Tensor, mg.Tensor]:
    rng = np.random.default_rng(0)
    idx = rng.integers(1, 11, size=(3, 6))
    target = np.roll(idx, -1, axis=1)
    target[0, -2:] = -100  # ignored positions
    pad = np.zeros((3, 6), dtype=bool)
    pad[1, 4:] = True
    return (mg.tensor(idx, device=device), mg.tensor(target, device=device),
            mg.tensor(pad, device=device))


def _train_step(model: nn.Module, opt: mg.optim.Optimizer, logits: mg.Tensor,
                target: mg.Tensor) -> mg.Tensor:
    loss = F.cross_entropy(logits.permute(0, 2, 1), target, label_smoothing=0.1)
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 0.5)
    opt.step()
    return loss


def _counted_steps(model: nn.Module, forward, device: str) -> list[str]:  # noqa: ANN001
    model.to(device)
    opt = mg.optim.Adam(model.parameters(), lr=1e-2)
    batch = _batch(device)  # the user's explicit upload, before counting starts
    cupy_standin.COUNTERS.reset()
    for _ in range(2):  # the first step creates the optimizer state; the second reuses it
        _train_step(model, opt, forward(model, *batch[::2]), batch[1])
    return [f"{kind} at {where}" for kind, where in cupy_standin.COUNTERS.events]


@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_lstm_language_model_step_makes_no_host_crossing(device: str) -> None:
    mg.manual_seed(0)
    events = _counted_steps(LSTMLanguageModel(11, 8), lambda m, idx, pad: m(idx), device)
    assert events == [], "host syncs / transfers during a training step:\n" + "\n".join(events)


@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_attention_model_step_makes_no_host_crossing(device: str) -> None:
    mg.manual_seed(0)
    events = _counted_steps(AttentionModel(11, 8), lambda m, idx, pad: m(idx, pad), device)
    assert events == [], "host syncs / transfers during a training step:\n" + "\n".join(events)


def test_the_counter_sees_what_the_user_asks_for() -> None:
    """The budget tests could pass by counting nothing: a loss read is one sync."""
    mg.manual_seed(0)
    model = LSTMLanguageModel(11, 8).to("cuda")
    idx, target, _ = _batch("cuda")
    cupy_standin.COUNTERS.reset()
    loss = F.cross_entropy(model(idx).permute(0, 2, 1), target)
    assert cupy_standin.COUNTERS.syncs == 0
    value = loss.item()
    assert cupy_standin.COUNTERS.syncs == 1 and np.isfinite(value)
    loss.numpy()
    assert cupy_standin.COUNTERS.snapshot() == {"syncs": 2, "h2d": 0, "d2h": 1, "d2d": 0}


def test_step_on_cuda_matches_cpu() -> None:
    """The sync-free paths (on-device checks, always-applied masks) give the CPU's numbers."""
    results = []
    for device in ("cpu", "cuda:1"):
        mg.manual_seed(0)
        model = AttentionModel(11, 8).to(device)
        model.attn_dropout = 0.0  # dropout draws differ between devices
        opt = mg.optim.Adam(model.parameters(), lr=1e-2)
        idx, target, pad = _batch(device)
        losses = [_train_step(model, opt, model(idx, pad), target).item() for _ in range(2)]
        results.append((losses, [p.numpy() for p in model.parameters()]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
