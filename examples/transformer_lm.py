"""A character-level Transformer language model beside the LSTM one, on the same text.

The port of PyTorch's ``word_language_model`` idea at character scale: the same data,
the same optimizer and the same step budget for two models, then both validation losses
(bits per character) side by side.

- **LSTM**: ``char_lstm.py``'s model (Embedding -> LSTM -> Linear), trained with
  truncated BPTT; its state is carried across windows, in training and evaluation.
- **Transformer**: Embedding (scaled by ``sqrt(d)``) + sinusoidal positional encodings
  (``mg.sin``/``mg.cos``), ``nn.TransformerEncoder`` with a causal mask
  (``nn.Transformer.generate_square_subsequent_mask``), and a Linear head whose weight
  is tied to the embedding (``head.weight = embed.weight``; ``state_dict`` lists it
  under both names, as PyTorch's does). It sees only the current window: no state.

    python examples/transformer_lm.py --quick
    python examples/transformer_lm.py --text my_book.txt --device cuda
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.cli.char_lstm import CharLSTM, evaluate_bpc, load_text, streams
from minigrad.nn import functional as F


def bits_per_char(model: CharLSTM, ids: np.ndarray, seq_len: int, device: str) -> float:
    """Held-out bits per character of the LSTM over 8 streams, state carried along."""
    return evaluate_bpc(model, ids, seq_len, 8, device)


class PositionalEncoding(nn.Module):
    """Adds ``pe[t, 2i] = sin(t / 10000^(2i/d))``, ``pe[t, 2i+1] = cos(...)`` to
    ``x (T, B, d)``; ``pe`` is a buffer ``(max_len, 1, d)``, as in PyTorch's example."""

    def __init__(self, d_model: int, max_len: int = 512) -> None:
        super().__init__()
        position = mg.arange(max_len, dtype=mg.float32).unsqueeze(1)
        div_term = (mg.arange(0, d_model, 2, dtype=mg.float32) * (-math.log(10000.0) / d_model)).exp()
        angles = position * div_term  # (max_len, d/2)
        pe = mg.stack([mg.sin(angles), mg.cos(angles)], dim=-1).reshape(max_len, 1, d_model)
        self.register_buffer("pe", pe)

    def forward(self, x: mg.Tensor) -> mg.Tensor:
        return x + self.pe[: x.shape[0]]


class CharTransformer(nn.Module):
    """``idx (T, B)`` ints -> logits ``(T, B, V)``; position t sees positions <= t only."""

    def __init__(self, vocab_size: int, d_model: int, nhead: int, d_ff: int, layers: int,
                 dropout: float) -> None:
        super().__init__()
        self.d_model = d_model
        self.embed = nn.Embedding(vocab_size, d_model)
        self.pos = PositionalEncoding(d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, d_ff, dropout, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model))
        self.head = nn.Linear(d_model, vocab_size)
        self.head.weight = self.embed.weight  # tied input and output embeddings
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)

    def forward(self, idx: mg.Tensor) -> mg.Tensor:
        steps = idx.shape[0]
        mask = nn.Transformer.generate_square_subsequent_mask(steps, device=idx.device)
        x = self.pos(self.embed(idx) * math.sqrt(self.d_model))
        return self.head(self.encoder(x, mask=mask))


def transformer_bits_per_char(model: CharTransformer, ids: np.ndarray, seq_len: int,
                              device: str) -> float:
    """Held-out loss in bits per character over windows of ``seq_len`` (no state)."""
    data = streams(ids, 8)
    total, count = 0.0, 0
    model.eval()
    with mg.no_grad():
        for s in range(0, len(data) - 1, seq_len):
            y = data[s + 1 : s + 1 + seq_len]
            x = data[s : s + len(y)]
            logits = model(mg.tensor(x, device=device))
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                   mg.tensor(y.reshape(-1), device=device), reduction="sum")
            total += loss.item()
            count += y.size
    model.train()
    return total / count / math.log(2)


def train(name: str, model: nn.Module, data: np.ndarray, vocab: int, seq_len: int, steps: int,
          budget: float, lr: float, device: str) -> None:
    """Adam with gradient clipping over consecutive windows of the training streams."""
    params = list(model.parameters())
    opt = mg.optim.Adam(params, lr=lr)
    print(f"{name}: {sum(q.data.size for q in params):,} parameters")
    recurrent = isinstance(model, CharLSTM)
    state, pos, start = None, 0, time.perf_counter()
    for step in range(1, steps + 1):
        if pos + seq_len + 1 > len(data):
            pos, state = 0, None
        x = mg.tensor(data[pos : pos + seq_len], device=device)
        y = mg.tensor(data[pos + 1 : pos + seq_len + 1].reshape(-1), device=device)
        pos += seq_len
        if recurrent:
            logits, state = model(x, state)
            state = tuple(s.detach() for s in state)
        else:
            logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, vocab), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        elapsed = time.perf_counter() - start
        if step % 50 == 0 or step == 1:
            print(f"  {name} step {step:4d}  loss {loss.item() / math.log(2):.3f} bits/char")
        if elapsed > budget:
            print(f"  {name}: time budget reached after {step} steps")
            break


def main(argv: list[str] | None = None) -> tuple[float, float]:
    """Train both models, print ``RESULT ...`` last; returns (transformer, lstm) val bpc."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--text", help="UTF-8 file to train on (default: CPython's pydoc topics)")
    p.add_argument("--quick", action="store_true", help="a small run (well under a minute)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    args = p.parse_args(argv)

    # (d_model, layers, seq_len, batch, steps, seconds per model)
    d_model, layers, seq_len, batch, steps, budget = (
        (64, 2, 32, 32, 300, 12.0) if args.quick else (128, 4, 64, 64, 2000, 300.0))
    mg.manual_seed(0)
    text = load_text(args.text)
    if args.quick:
        text = text[:120_000]
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text])
    split = int(0.95 * len(ids))
    train_ids, val_ids = ids[:split], ids[split:]
    data = streams(train_ids, batch)
    print(f"{len(text):,} characters, {len(chars)} distinct")

    lstm = CharLSTM(len(chars), 32, 2 * d_model).to(args.device)
    train("lstm", lstm, data, len(chars), seq_len, steps, budget, 5e-3, args.device)
    transformer = CharTransformer(len(chars), d_model, 4, 4 * d_model, layers,
                                  dropout=0.0 if args.quick else 0.1).to(args.device)
    train("transformer", transformer, data, len(chars), seq_len, steps, budget, 2e-3, args.device)

    lstm_bpc = bits_per_char(lstm, val_ids, seq_len, args.device)
    tf_bpc = transformer_bits_per_char(transformer, val_ids, seq_len, args.device)
    counts = np.bincount(train_ids, minlength=len(chars)) + 1.0
    unigram = float(-np.log2(counts / counts.sum())[val_ids].mean())
    print(f"validation bits/char: transformer {tf_bpc:.3f}, lstm {lstm_bpc:.3f}, "
          f"unigram {unigram:.3f}")
    print(f"RESULT transformer_val_bpc={tf_bpc:.4f} lstm_val_bpc={lstm_bpc:.4f}")
    return tf_bpc, lstm_bpc


if __name__ == "__main__":
    main()
