"""``minigrad demo``: watch a character-level LSTM learn to write Python documentation.

Trains on the Python reference text bundled with CPython (``pydoc_data.topics``, about
465 KB, no download) or on any UTF-8 file (``--text FILE``), with truncated
backpropagation through time, Adam and gradient clipping, in float32. Shows a progress
bar with the loss and the speed, prints a generated sample every so often, and at the
end reports the held-out validation loss in bits per character next to a unigram
baseline. Writes into ``./minigrad-demo/`` (``--out DIR``):

- ``loss.png``          the training and validation loss curves,
- ``bptt.svg``          the unrolled graph of the first steps of the trained model
                        (``bptt.dot`` when Graphviz is not installed),
- ``char_lstm.npz``     the checkpoint (``mg.save(model.state_dict(), ...)``),
- ``vocab.json``        the characters the model's indices stand for,
- ``samples.txt``       the generated samples.

Ctrl-C stops training cleanly; everything is still written for what was trained.
Run it as ``minigrad demo`` (or ``python -m minigrad.cli.demo``); ``--quick`` takes well
under a minute.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.tensor import Tensor

__all__ = [
    "CharLSTM", "DemoConfig", "TrainResult", "Vocab", "build_parser", "demo_command",
    "evaluate_bpc", "load_text", "plot_losses", "render_bptt", "sample", "train", "unigram_bpc",
]

LOG2E = 1.0 / math.log(2.0)


@dataclass
class DemoConfig:
    """Sizes and schedule of one demo run (``--quick`` picks the small one)."""

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
    def quick(cls) -> DemoConfig:
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


def _streams(ids: np.ndarray, batch: int) -> np.ndarray:
    """Cut ``ids`` into ``batch`` contiguous streams, ``(L, batch)`` (time-major).

    Truncated BPTT walks down the streams window by window and carries each stream's
    state across windows, so the model sees context longer than one window.
    """
    length = len(ids) // batch
    return np.ascontiguousarray(ids[: length * batch].reshape(batch, length).T)


def evaluate_bpc(model: CharLSTM, ids: np.ndarray, seq_len: int, batch: int, device: str) -> float:
    """Mean bits per character the model needs for ``ids`` (state carried along)."""
    batch = max(1, min(batch, len(ids) // (seq_len + 1)))
    data = _streams(ids, batch)
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


def train(model: CharLSTM, vocab: Vocab, train_ids: np.ndarray, val_ids: np.ndarray,
          cfg: DemoConfig, device: str = "cpu", log: Any = print) -> TrainResult:
    """Truncated BPTT with detached state, Adam, gradient clipping, cosine learning rate.

    Stops after ``cfg.steps`` steps or ``cfg.max_seconds`` seconds, whichever comes
    first, or at Ctrl-C (``result.interrupted``); the model keeps what it learned.
    """
    from tqdm.auto import tqdm

    params = list(model.parameters())
    opt = mg.optim.Adam(params, lr=cfg.lr)
    data = _streams(train_ids, cfg.batch)
    rng = np.random.default_rng(1)
    result = TrainResult()
    state: tuple[Tensor, Tensor] | None = None
    pos = 0
    t0 = last_sample = time.perf_counter()
    # Redrawn often on a terminal, every few seconds in a log file.
    bar = tqdm(total=cfg.steps, unit="step", dynamic_ncols=True, desc="training",
               file=sys.stderr, mininterval=0.1 if sys.stderr.isatty() else 5.0)
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


def plot_losses(result: TrainResult, unigram: float, val_bpc: float, path: Path) -> Path:
    """Training loss (raw and smoothed), validation points and the baseline, as PNG."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5), dpi=110)
    ax = fig.subplots()
    steps = np.asarray(result.steps)
    losses = np.asarray(result.losses)
    if len(losses):
        ax.plot(steps, losses, color="tab:blue", alpha=0.25, lw=0.8, label="train (per step)")
        k = max(1, min(25, len(losses) // 10))
        smooth = np.convolve(losses, np.ones(k) / k, mode="valid")
        ax.plot(steps[k - 1 :], smooth, color="tab:blue", lw=2, label=f"train ({k}-step mean)")
    if result.val_points:
        vs, vl = zip(*result.val_points)
        ax.plot(vs, vl, "o-", color="tab:orange", label="validation (during training)")
    if len(steps):
        ax.plot([steps[-1]], [val_bpc], "*", ms=14, color="tab:red",
                label=f"final validation: {val_bpc:.3f}")
    ax.axhline(unigram, color="gray", ls="--", label=f"unigram baseline: {unigram:.3f}")
    ax.set_xlabel("training step")
    ax.set_ylabel("bits per character")
    ax.set_title("minigrad char-LSTM: loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    return path


def render_bptt(model: CharLSTM, ids: np.ndarray, steps: int, path: Path, device: str) -> Path:
    """Unroll the trained model over ``steps`` characters and draw the loss's graph.

    Each time step is one cluster, coloured by the gradient norm reaching its hidden
    state. Returns the file written (SVG, or DOT when Graphviz is missing).
    """
    x = ids[:steps, None]
    y = ids[1 : steps + 1, None]
    logits, _ = model(mg.tensor(x, device=device))
    loss = F.cross_entropy(logits.reshape(-1, model.vocab_size),
                           mg.tensor(y.reshape(-1), device=device))
    from minigrad import viz

    # show_grad_norms runs backward on the (still recorded) graph itself, accumulating
    # nothing into the parameters.
    return Path(viz.render_to_file(loss, path, params=dict(model.named_parameters()),
                                   show_grad_norms=True))


def build_parser() -> argparse.ArgumentParser:
    """The ``minigrad demo`` command line."""
    p = argparse.ArgumentParser(
        prog="minigrad demo",
        description="Train a character-level LSTM language model and write its pictures.",
    )
    p.add_argument("--text", metavar="FILE", help="UTF-8 text to train on "
                   "(default: the Python reference text bundled with CPython)")
    p.add_argument("--out", metavar="DIR", default="minigrad-demo",
                   help="folder for the outputs (default: ./minigrad-demo)")
    p.add_argument("--device", default="cpu", help="cpu (NumPy) or cuda (CuPy)")
    p.add_argument("--quick", action="store_true", help="a small run, under a minute")
    p.add_argument("--steps", type=int, help="training steps (default 1500, quick 220)")
    p.add_argument("--max-seconds", type=float, help="stop training after this long")
    p.add_argument("--hidden", type=int, help="LSTM hidden size")
    p.add_argument("--temperature", type=float, default=0.8, help="sampling temperature")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    return p


def demo_command(argv: list[str] | None = None) -> int:
    """Run the demo with command-line arguments ``argv``; returns the exit status."""
    args = build_parser().parse_args(argv)
    cfg = DemoConfig.quick() if args.quick else DemoConfig()
    if args.steps is not None:
        cfg.steps = args.steps
    if args.max_seconds is not None:
        cfg.max_seconds = args.max_seconds
    if args.hidden is not None:
        cfg.hidden = args.hidden
    try:
        device = mg.zeros(1, device=args.device).device  # fails early, with the reason
    except RuntimeError as exc:
        print(f"minigrad demo: {exc}", file=sys.stderr)
        return 2

    try:
        text = load_text(args.text)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"minigrad demo: cannot read --text {args.text!r}: {exc}", file=sys.stderr)
        return 2
    if cfg.max_text_chars is not None:
        text = text[: cfg.max_text_chars]
    if len(text) < 20 * cfg.seq_len:
        print(f"minigrad demo: the text has {len(text)} characters; need at least "
              f"{20 * cfg.seq_len}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    mg.manual_seed(args.seed)
    vocab = Vocab.from_text(text)
    ids = vocab.encode(text)
    split = int(len(ids) * 0.95)
    train_ids, val_ids = ids[:split], ids[split:]
    model = CharLSTM(len(vocab), cfg.embed, cfg.hidden).to(device)
    n_params = sum(p.data.size for p in model.parameters())
    print(f"text: {len(text):,} characters ({len(vocab)} distinct), "
          f"{len(train_ids):,} for training, {len(val_ids):,} held out")
    print(f"model: {model.__class__.__name__}(embed={cfg.embed}, hidden={cfg.hidden}), "
          f"{n_params:,} parameters, float32 on {device}")
    print(f"training: up to {cfg.steps} steps of {cfg.batch}x{cfg.seq_len} characters "
          f"(truncated BPTT), Adam lr {cfg.lr}, clip {cfg.clip}, "
          f"at most {cfg.max_seconds:.0f} s; Ctrl-C stops early")

    result = train(model, vocab, train_ids, val_ids, cfg, device)
    rate = result.chars / max(result.seconds, 1e-9)
    print(f"trained {len(result.steps)} steps, {result.chars:,} characters in "
          f"{result.seconds:.1f} s ({rate:,.0f} chars/s)"
          + (" [interrupted]" if result.interrupted else ""))

    try:
        val_bpc = evaluate_bpc(model, val_ids, cfg.seq_len, 16, device)
    except KeyboardInterrupt:
        val_bpc = evaluate_bpc(model, val_ids[:2000], cfg.seq_len, 4, device)
    uni = unigram_bpc(train_ids, val_ids, len(vocab))
    final = sample(model, vocab, "The ", cfg.sample_chars * 2, args.temperature,
                   np.random.default_rng(args.seed), device)
    result.samples.append((len(result.steps), final))
    print(f"\nfinal sample (temperature {args.temperature}):\n{final}\n")

    paths: dict[str, Path] = {}
    # The checkpoint first: nothing that follows can lose what was trained.
    mg.save(model.state_dict(), out / "char_lstm.npz")
    paths["checkpoint"] = out / "char_lstm.npz"
    (out / "vocab.json").write_text(json.dumps(vocab.chars), encoding="utf-8")
    paths["vocabulary"] = out / "vocab.json"
    try:
        paths["loss curve"] = plot_losses(result, uni, val_bpc, out / "loss.png")
    except ImportError:
        print("no loss curve: matplotlib is not installed (pip install 'minigrad[plot]')",
              file=sys.stderr)
    try:
        paths["BPTT graph"] = render_bptt(model, val_ids, 4, out / "bptt.svg", device)
    except RuntimeError as exc:  # Graphviz present but failing: keep everything else
        print(f"could not render the BPTT graph: {exc}", file=sys.stderr)
    (out / "samples.txt").write_text(
        "\n\n".join(f"--- step {s} ---\n{t}" for s, t in result.samples), encoding="utf-8")
    paths["samples"] = out / "samples.txt"
    for name, path in paths.items():
        print(f"{name + ':':12s}{path}")
    verdict = "beats" if val_bpc < uni else "does NOT beat"
    print(f"validation: {val_bpc:.3f} bits/char, unigram baseline: {uni:.3f} bits/char "
          f"(the LSTM {verdict} it by {uni - val_bpc:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(demo_command(None))
