"""Forecast a real EEG recording one step ahead with RNN, LSTM and GRU.

The data is the 4-channel EEG sample that ships with matplotlib (``eeg.dat``: 800
samples per channel, already scaled to unit variance), so nothing is downloaded. One
model serves all four channels: it reads one channel's past and predicts its next
value (sharing the weights across channels quadruples the data it learns from). The first
70% of the recording trains, the last 30% tests. The yardstick is the naive forecast
"the next value equals the last one", which is hard to beat on signals this jagged; a
model that is worth anything must have a lower error than it.

    python examples/forecast.py --quick --out /tmp/forecast

Prints the test RMSE of each model next to the naive one and writes
``forecast.png`` (predictions over the test period and the error bars).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

CHANNELS = 4


def load_eeg() -> np.ndarray:
    """matplotlib's sample EEG: ``(800, 4)`` float64, one column per channel."""
    from matplotlib import cbook

    with cbook.get_sample_data("eeg.dat") as f:
        return np.fromfile(f, dtype=np.float64).reshape(800, CHANNELS)


class Forecaster(nn.Module):
    """A recurrent layer and a linear read-out: ``x (T, B, 1)`` -> next values ``(T, B, 1)``."""

    def __init__(self, kind: str, hidden: int) -> None:
        super().__init__()
        layer = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[kind]
        self.rnn = layer(1, hidden)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: mg.Tensor) -> mg.Tensor:
        """Predicted next values ``(T, B, 1)``: row t is the forecast for step t + 1."""
        out, _ = self.rnn(x)
        # Predict the change from the last value: the naive forecast is the zero output.
        return x + self.head(out)


def train_model(kind: str, series: np.ndarray, split: int, hidden: int, steps: int,
                window: int, device: str, rng: np.random.Generator) -> Forecaster:
    """Fit on random windows of the training part; the loss skips a short warm-up."""
    model = Forecaster(kind, hidden).to(device)
    opt = mg.optim.Adam(model.parameters(), lr=1e-2)
    warm = 8
    for _ in range(steps):
        starts = rng.integers(0, split - window - 1, size=32)
        chans = rng.integers(0, CHANNELS, size=32)
        x = np.stack([series[s : s + window, c] for s, c in zip(starts, chans)], axis=1)
        y = np.stack([series[s + 1 : s + window + 1, c] for s, c in zip(starts, chans)], axis=1)
        x, y = x[..., None], y[..., None]  # (T, B, 1): time, batch of windows, one feature
        pred = model(mg.tensor(x, device=device))
        loss = F.mse_loss(pred[warm:], mg.tensor(y[warm:], device=device))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return model


def predict(model: Forecaster, series: np.ndarray, device: str) -> np.ndarray:
    """One-step-ahead predictions ``(T - 1, 4)``: row t predicts ``series[t + 1]`` from
    everything up to t; the four channels run as a batch of four."""
    with mg.no_grad():
        pred = model(mg.tensor(series[:-1, :, None], device=device))
    return pred.numpy()[:, :, 0]


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    """Root mean squared error over all entries."""
    return float(np.sqrt(np.mean((a - b) ** 2)))


def main(argv: list[str] | None = None) -> float:
    """Parse the command line, train, evaluate, print ``RESULT ...`` last; returns the metric."""
    p = argparse.ArgumentParser(description="RNN / LSTM / GRU forecasting of matplotlib's EEG")
    p.add_argument("--quick", action="store_true", help="fewer training steps")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--out", default="forecast-out", help="folder for forecast.png")
    args = p.parse_args(argv)
    mg.manual_seed(0)
    rng = np.random.default_rng(0)

    series = load_eeg().astype(np.float32)
    split = int(0.7 * len(series))
    steps, hidden, window = (150, 32, 48) if args.quick else (300, 32, 64)
    target = series[split + 1 :]
    naive = series[split:-1]
    scores = {"naive (last value)": rmse(naive, target)}
    preds = {}
    for kind in ("RNN", "LSTM", "GRU"):
        t0 = time.perf_counter()
        model = train_model(kind, series, split, hidden, steps, window, args.device, rng)
        preds[kind] = predict(model, series, args.device)[split:]
        scores[kind] = rmse(preds[kind], target)
        print(f"{kind:5s} trained in {time.perf_counter() - t0:5.1f} s   "
              f"test RMSE {scores[kind]:.4f}")
    print(f"naive test RMSE {scores['naive (last value)']:.4f}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = plot(series, split, preds, scores, out / "forecast.png")
    print(f"plot: {path}")
    best = min(("RNN", "LSTM", "GRU"), key=scores.get)
    ratio = scores[best] / scores["naive (last value)"]
    print(f"best: {best}, RMSE {ratio:.3f} x the naive forecast's")
    print(f"RESULT best_rmse_over_naive={ratio:.4f}")
    return ratio


def plot(series: np.ndarray, split: int, preds: dict[str, np.ndarray],
         scores: dict[str, float], path: Path) -> Path:
    """Channel 0 over the first 120 test steps with every forecast, and the RMSE bars."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.5), dpi=110)
    ax, bars = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1]})
    n = 120
    t = np.arange(split + 1, split + 1 + n)
    ax.plot(t, series[split + 1 : split + 1 + n, 0], color="black", lw=2, label="EEG (truth)")
    ax.plot(t, series[split : split + n, 0], color="gray", ls="--", label="naive")
    for kind, color in zip(("RNN", "LSTM", "GRU"), ("tab:blue", "tab:orange", "tab:green")):
        ax.plot(t, preds[kind][:n, 0], color=color, lw=1, label=kind)
    ax.set_xlabel("sample")
    ax.set_title("one-step-ahead forecasts, channel 0 (test period)")
    ax.legend(ncol=5, fontsize=8)
    names = list(scores)
    bars.bar(range(len(names)), [scores[k] for k in names],
             color=["gray", "tab:blue", "tab:orange", "tab:green"])
    bars.set_xticks(range(len(names)), ["naive", *names[1:]])
    bars.set_title("test RMSE (all channels)")
    fig.tight_layout()
    fig.savefig(path)
    return path


if __name__ == "__main__":
    main()
