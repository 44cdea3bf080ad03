"""The character-level LSTM language model behind ``minigrad demo`` and
``examples/char_lstm.py``: text, vocabulary, model, truncated-BPTT training, sampling.

The three ideas worth reading slowly:

1. **Streams** (:func:`streams`). The text is cut into ``batch`` long contiguous
   streams; each training step takes the next ``seq_len`` characters of every stream.
2. **Truncated BPTT with detached state** (:func:`train`). The LSTM's final ``(h, c)``
   of one window is the initial state of the next, so the model sees context far
   longer than one window, but ``.detach()`` cuts the graph there: gradients flow back
   at most ``seq_len`` steps, and memory stays constant.
3. **Temperature sampling** (:func:`sample`). Dividing the logits by ``T`` before the
   softmax makes the distribution sharper (``T < 1``) or flatter (``T > 1``).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.tensor import Tensor

__all__ = [
    "CharLSTM", "LineProgress", "TrainConfig", "TrainResult", "Vocab", "evaluate_bpc",
    "load_text", "sample", "streams", "train", "unigram_bpc",
]

LOG2E = 1.0 / math.log(2.0)


@dataclass
class TrainConfig:
    """Sizes and schedule of one training run (``quick()`` is the small one)."""

    hidden: int = 256
    embed: int = 48
    seq_len: int = 64
    batch: int = 64
    steps: int = 1500
    max_seconds: float = 230.0
    lr: float = 3e-3
    clip: float = 1.0
    sample_every: int = 250
    sample_seconds: float = 50.0
    sample_chars: int = 240
    max_text_chars: int | None = None

    @classmethod
    def quick(cls) -> TrainConfig:
        """A run that finishes in well under a minute on a laptop CPU."""
        return cls(hidden=96, embed=32, seq_len=48, batch=32, steps=220, max_seconds=30.0,
                   lr=6e-3, sample_every=110, sample_seconds=15.0, sample_chars=160,
                   max_text_chars=150_000)


def load_text(path: str | Path | None = None) -> str:
    """The training text: ``path`` read as UTF-8, or CPython's ``pydoc_data.topics``.

    The topics are joined in sorted key order so that every run sees the same text.
    """
    if path is not None:
        return Path(path).read_text(encoding="utf-8")
    from pydoc_data.topics import topics

    return "\n".join(topics[key] for key in sorted(topics))


@dataclass
class Vocab:
    """The characters of a text, each mapped to an index (sorted, so runs agree)."""

    chars: list[str]
    index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> Vocab:
        """Every distinct character of ``text``."""
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """``text`` -> int64 indices ``(len(text),)``; unknown characters map to index 0."""
        return np.fromiter((self.index.get(c, 0) for c in text), dtype=np.int64, count=len(text))

    def decode(self, indices: Sequence[int]) -> str:
        """Indices -> text."""
        return "".join(self.chars[int(i)] for i in indices)


class CharLSTM(nn.Module):
    """Embedding -> one-layer LSTM -> Linear: next-character logits.

    Call ``model(idx, state=None)`` with integer indices ``idx (T, B)`` (a Tensor or
    array); returns ``(logits (T, B, V), (h, c))`` with ``h, c`` of shape ``(1, B, H)``.
    """

    def __init__(self, vocab_size: int, embed: int, hidden: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.embed = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(
        self, idx: Any, state: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Return ``(logits (T, B, V), (h_n, c_n))``."""
        out, state = self.lstm(self.embed(idx), state)
        return self.head(out), state


def unigram_bpc(train_ids: np.ndarray, val_ids: np.ndarray, vocab_size: int) -> float:
    """Bits per character of ``val_ids`` under the (add-one smoothed) character
    frequencies of ``train_ids``: the score of a model that ignores all context."""
    counts = np.bincount(train_ids, minlength=vocab_size).astype(np.float64) + 1.0
    logp = np.log2(counts / counts.sum())
    return float(-logp[val_ids].mean())


def streams(ids: np.ndarray, batch: int) -> np.ndarray:
    """Cut ``ids`` into ``batch`` contiguous streams, ``(L, batch)`` (time-major).

    Truncated BPTT walks down the streams window by window and carries each stream's
    state across windows, so the model sees context longer than one window.
    """
    length = len(ids) // batch
    return np.ascontiguousarray(ids[: length * batch].reshape(batch, length).T)


def evaluate_bpc(model: CharLSTM, ids: np.ndarray, seq_len: int, batch: int, device: str) -> float:
    """Mean bits per character the model needs for ``ids`` (state carried along)."""
    batch = max(1, min(batch, len(ids) // (seq_len + 1)))
    data = streams(ids, batch)
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    with mg.no_grad():
        for start in range(0, data.shape[0] - 1, seq_len):
            x = data[start : start + seq_len]
            y = data[start + 1 : start + seq_len + 1]
            x = x[: len(y)]
            logits, state = model(mg.tensor(x, device=device), state)
            loss = F.cross_entropy(logits.reshape(-1, model.vocab_size),
                                   mg.tensor(y.reshape(-1), device=device), reduction="sum")
            total += float(loss.item())
            count += y.size
    model.train(was_training)
    return total / max(count, 1) * LOG2E


def sample(model: CharLSTM, vocab: Vocab, prime: str, length: int, temperature: float = 0.8,
           rng: np.random.Generator | None = None, device: str = "cpu") -> str:
    """Generate ``length`` characters after ``prime`` by temperature sampling.

    ``temperature`` < 1 sharpens the distribution (safer, more repetitive text), > 1
    flattens it (more surprising, more mistakes).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    was_training = model.training
    model.eval()
    out: list[int] = []
    with mg.no_grad():
        ids = vocab.encode(prime or "\n")
        logits, state = model(mg.tensor(ids[:, None], device=device))
        for _ in range(length):
            z = logits.numpy()[-1, 0].astype(np.float64) / max(temperature, 1e-6)
            p = np.exp(z - z.max())
            nxt = int(rng.choice(len(p), p=p / p.sum()))
            out.append(nxt)
            logits, state = model(mg.tensor(np.array([[nxt]]), device=device), state)
    model.train(was_training)
    return prime + vocab.decode(out)


@dataclass
class TrainResult:
    """What a training run produced, for the plots and the report."""

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # bits per character
    val_points: list[tuple[int, float]] = field(default_factory=list)
    samples: list[tuple[int, str]] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0
    chars: int = 0


class LineProgress:
    """Progress as plain lines, one every ``every`` steps (tqdm's calls, without a bar).

    What :func:`train` reports to when no progress bar is given: a log file or a
    program without tqdm gets a readable record of the loss and the speed.
    """

    def __init__(self, total: int, every: int = 50, file: TextIO | None = None) -> None:
        self.total, self.every, self.file = total, every, file
        self.n = 0

    def update(self, n: int = 1) -> None:
        """Count ``n`` more steps done."""
        self.n += n

    def set_postfix(self, **values: str) -> None:
        """Print the step and ``values`` on the first step and every ``every`` steps."""
        if self.n == 1 or self.n % self.every == 0:
            shown = "  ".join(f"{k} {v}" for k, v in values.items())
            print(f"step {self.n:5d}/{self.total}  {shown}", file=self.file or sys.stdout)

    def write(self, text: str) -> None:
        """Print ``text`` (a sample, a note) on its own lines."""
        print(text, file=self.file or sys.stdout)

    def close(self) -> None:
        """Nothing to tidy up: every line is already written."""


def train(model: CharLSTM, vocab: Vocab, train_ids: np.ndarray, val_ids: np.ndarray,
          cfg: TrainConfig, device: str = "cpu", progress: Any = None) -> TrainResult:
    """Truncated BPTT with detached state, Adam, gradient clipping, cosine learning rate.

    Stops after ``cfg.steps`` steps or ``cfg.max_seconds`` seconds, whichever comes
    first, or at Ctrl-C (``result.interrupted``); the model keeps what it learned.
    ``progress`` reports each step: anything with tqdm's ``update``, ``set_postfix``,
    ``write`` and ``close`` (``minigrad demo`` passes a tqdm bar); by default a
    :class:`LineProgress` prints a line every 50 steps.
    """
    params = list(model.parameters())
    opt = mg.optim.Adam(params, lr=cfg.lr)
    data = streams(train_ids, cfg.batch)
    rng = np.random.default_rng(1)
    result = TrainResult()
    state: tuple[Tensor, Tensor] | None = None
    pos = 0
    t0 = last_sample = time.perf_counter()
    bar = LineProgress(cfg.steps) if progress is None else progress
    try:
        for step in range(1, cfg.steps + 1):
            if pos + cfg.seq_len + 1 > data.shape[0]:
                pos, state = 0, None  # wrapped around: the streams start over
            x = data[pos : pos + cfg.seq_len]
            y = data[pos + 1 : pos + cfg.seq_len + 1]
            pos += cfg.seq_len
            elapsed = time.perf_counter() - t0
            progress = min(1.0, max(step / cfg.steps, elapsed / cfg.max_seconds))
            for group in opt.param_groups:
                group["lr"] = cfg.lr * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress)))

            logits, state = model(mg.tensor(x, device=device), state)
            # Truncation: the next window starts from this state's value, not its history.
            state = (state[0].detach(), state[1].detach())
            loss = F.cross_entropy(logits.reshape(-1, model.vocab_size),
                                   mg.tensor(y.reshape(-1), device=device))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, cfg.clip)
            opt.step()

            bpc = float(loss.item()) * LOG2E
            result.steps.append(step)
            result.losses.append(bpc)
            result.chars += x.size
            elapsed = time.perf_counter() - t0
            bar.update(1)
            bar.set_postfix(bpc=f"{bpc:.3f}", chars_s=f"{result.chars / elapsed:,.0f}")
            # A sample every `sample_every` steps, or every `sample_seconds` on a slow machine.
            now = time.perf_counter()
            if step % cfg.sample_every == 0 or now - last_sample > cfg.sample_seconds:
                val = evaluate_bpc(model, val_ids, cfg.seq_len, 16, device)
                result.val_points.append((step, val))
                text = sample(model, vocab, "The ", cfg.sample_chars, 0.8, rng, device)
                result.samples.append((step, text))
                bar.write(f"\n--- step {step}, val {val:.3f} bits/char, sample (T=0.8) ---\n"
                          f"{text}\n---")
                last_sample = time.perf_counter()
            if elapsed > cfg.max_seconds:
                bar.write(f"time budget of {cfg.max_seconds:.0f} s reached at step {step}")
                break
    except KeyboardInterrupt:
        result.interrupted = True
        bar.write("interrupted: stopping training and writing the outputs")
    finally:
        bar.close()
        result.seconds = time.perf_counter() - t0
    return result
