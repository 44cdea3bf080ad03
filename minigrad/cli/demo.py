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

The model, its data and its training loop live in ``minigrad/cli/char_lstm.py`` (shared
with ``examples/char_lstm.py``); this file is the command line and the pictures.
Ctrl-C stops training cleanly; everything is still written for what was trained.
Run it as ``minigrad demo`` (or ``python -m minigrad.cli.demo``); ``--quick`` takes well
under a minute.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

import minigrad as mg
from minigrad.compile.fuse import numba_available
from minigrad.nn import functional as F

from .char_lstm import (
    CharLSTM,
    LineProgress,
    TrainConfig,
    TrainResult,
    Vocab,
    evaluate_bpc,
    load_text,
    sample,
    train,
    unigram_bpc,
)

__all__ = ["build_parser", "demo_command", "plot_losses", "progress_bar", "render_bptt"]


def progress_bar(total: int) -> Any:
    """A tqdm bar on stderr for ``total`` training steps, or plain lines without tqdm.

    tqdm is the ``cli`` extra (``pip install 'minigrad[cli]'``); the library never needs it.
    """
    try:
        from tqdm.auto import tqdm
    except ImportError:
        print("no progress bar: tqdm is not installed (pip install 'minigrad[cli]')",
              file=sys.stderr)
        return LineProgress(total)
    # Redrawn often on a terminal, every few seconds in a log file.
    return tqdm(total=total, unit="step", dynamic_ncols=True, desc="training",
                file=sys.stderr, mininterval=0.1 if sys.stderr.isatty() else 5.0)


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
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="run the LSTM's loop over time as generated code (layer.compile(); "
                        "default: on where numba, the jit extra, is installed)")
    return p


def demo_command(argv: list[str] | None = None) -> int:
    """Run the demo with command-line arguments ``argv``; returns the exit status."""
    args = build_parser().parse_args(argv)
    cfg = TrainConfig.quick() if args.quick else TrainConfig()
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
    compiled = numba_available() if args.compile is None else args.compile
    model.lstm.compile(compiled)
    n_params = sum(p.data.size for p in model.parameters())
    print(f"text: {len(text):,} characters ({len(vocab)} distinct), "
          f"{len(train_ids):,} for training, {len(val_ids):,} held out")
    print(f"model: {model.__class__.__name__}(embed={cfg.embed}, hidden={cfg.hidden}), "
          f"{n_params:,} parameters, float32 on {device}"
          + (", its LSTM compiled (--no-compile: eager ops)" if compiled else ""))
    print(f"training: up to {cfg.steps} steps of {cfg.batch}x{cfg.seq_len} characters "
          f"(truncated BPTT), Adam lr {cfg.lr}, clip {cfg.clip}, "
          f"at most {cfg.max_seconds:.0f} s; Ctrl-C stops early", flush=True)

    result = train(model, vocab, train_ids, val_ids, cfg, device, progress_bar(cfg.steps))
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
