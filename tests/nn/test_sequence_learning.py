"""End-to-end: gated recurrent layers learn a long dependency that a plain tanh RNN of
the same size does not, and a 2,000-step LSTM trains without recursion or memory growth.

The task: the first step shows one of K symbols, the next 49 steps show random
distractor symbols (on other input channels). From step DELAY on, the model must name
the first symbol at every step; accuracy is measured at the last step, 49 steps after
the symbol was seen. Chance is 1/K = 25%.
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

K, DISTRACTORS, T, DELAY, HIDDEN, BATCH = 4, 4, 50, 10, 32, 64
SOLVED = 0.95


def _batch(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """x ``(T, n, K + DISTRACTORS)`` one-hot float32, the symbol to recall ``(n,)``."""
    symbol = rng.integers(0, K, size=n)
    x = np.zeros((T, n, K + DISTRACTORS), np.float32)
    x[0, np.arange(n), symbol] = 1.0
    noise = K + rng.integers(0, DISTRACTORS, size=(T - 1, n))
    x[np.arange(1, T)[:, None], np.arange(n)[None, :], noise] = 1.0
    return x, symbol


class _Recaller(nn.Module):
    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.rnn = layer
        self.head = nn.Linear(HIDDEN, K)

    def forward(self, x: mg.Tensor) -> mg.Tensor:
        out, _ = self.rnn(x)
        return self.head(out)  # (T, n, K)


def _train(layer: nn.Module, budget: int, seed: int = 0) -> tuple[int, float]:
    """Adam until held-out accuracy at the last step reaches SOLVED or the budget ends;
    returns (steps used, that accuracy)."""
    rng = np.random.default_rng(seed)
    model = _Recaller(layer)
    opt = mg.optim.Adam(model.parameters(), lr=0.01)
    x_test, y_test = _batch(np.random.default_rng(1000), 256)
    target_shape = (T - DELAY, BATCH)
    accuracy = 0.0
    for step in range(1, budget + 1):
        x, y = _batch(rng, BATCH)
        logits = model(mg.tensor(x))[DELAY:]
        target = np.broadcast_to(y, target_shape).reshape(-1)
        loss = F.cross_entropy(logits.reshape(-1, K), mg.tensor(target))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 25 == 0:
            with mg.no_grad():
                last = model(mg.tensor(x_test)).numpy()[-1]
            accuracy = float((last.argmax(axis=1) == y_test).mean())
            if accuracy >= SOLVED:
                return step, accuracy
    return budget, accuracy


def test_lstm_recalls_a_symbol_over_49_distractor_steps() -> None:
    mg.manual_seed(0)
    lstm = nn.LSTM(K + DISTRACTORS, HIDDEN)
    # The usual remedy for long memories (Gers et al. 2000, Jozefowicz et al. 2015):
    # start with the forget gate open, f = sigmoid(4) ~ 0.98, instead of ~0.5.
    for bias in (lstm.bias_ih_l0, lstm.bias_hh_l0):
        bias.data[HIDDEN : 2 * HIDDEN] = 2.0
    steps, accuracy = _train(lstm, budget=150)
    assert accuracy >= SOLVED, f"LSTM reached only {accuracy:.2f} in {steps} steps"


def test_gru_recalls_a_symbol_over_49_distractor_steps() -> None:
    mg.manual_seed(0)
    steps, accuracy = _train(nn.GRU(K + DISTRACTORS, HIDDEN), budget=200)
    assert accuracy >= SOLVED, f"GRU reached only {accuracy:.2f} in {steps} steps"


def test_plain_tanh_rnn_of_the_same_size_does_measurably_worse() -> None:
    mg.manual_seed(0)
    steps, accuracy = _train(nn.RNN(K + DISTRACTORS, HIDDEN), budget=200)
    assert steps == 200  # never solved within the budget the GRU needs at most
    assert accuracy <= 0.6, f"plain RNN unexpectedly reached {accuracy:.2f}"


def _lstm_iteration(lstm: nn.LSTM, x: mg.Tensor) -> float:
    lstm.zero_grad()
    out, (h, c) = lstm(x)
    loss = (out * out).mean() + h.sum()
    loss.backward()
    return float(np.abs(lstm.weight_hh_l0.grad.numpy()).sum())


def test_two_thousand_step_lstm_trains_without_recursion_or_memory_growth() -> None:
    mg.manual_seed(0)
    lstm = nn.LSTM(2, 4)
    x = mg.randn(2000, 1, 2)
    _lstm_iteration(lstm, x)  # first iteration: nothing recursed on a 2,000-step graph
    gc.collect()
    objects, retained, peaks = [len(gc.get_objects())], [], []
    tracemalloc.start()  # slows allocation ~5x, so only two traced iterations
    try:
        for _ in range(2):
            tracemalloc.reset_peak()
            grad_size = _lstm_iteration(lstm, x)
            assert np.isfinite(grad_size) and grad_size > 0.0
            gc.collect()
            current, peak = tracemalloc.get_traced_memory()
            retained.append(current)
            peaks.append(peak)
            objects.append(len(gc.get_objects()))
    finally:
        tracemalloc.stop()
    # The graph of an iteration is freed by its backward: no Tensor or op accumulates,
    # no memory is retained, and every iteration needs the same peak.
    assert max(objects) - min(objects) < 100, objects
    assert retained[1] - retained[0] < 64 * 1024, retained
    assert abs(peaks[1] - peaks[0]) < 0.05 * peaks[0], peaks


@pytest.mark.parametrize("cls", [nn.GRU, nn.RNN])
def test_long_sequences_backprop_for_every_layer_kind(cls) -> None:
    mg.manual_seed(0)
    layer = cls(2, 3)
    x = mg.randn(1500, 1, 2, requires_grad=True)
    out, h = layer(x)
    h.sum().backward()
    assert x.grad.shape == x.shape and np.all(np.isfinite(x.grad.numpy()))
