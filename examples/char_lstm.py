"""A character-level LSTM language model, the model behind ``minigrad demo``, as one script.

It reads the Python reference text that ships with CPython (``pydoc_data.topics``) or
any UTF-8 file, learns to predict the next character, samples text at a chosen
temperature and reports the held-out loss in bits per character.

The three ideas worth reading slowly:

1. **Streams.** The text is cut into ``batch`` long contiguous streams; each training
   step takes the next ``seq_len`` characters of every stream.
2. **Truncated BPTT with detached state.** The LSTM's final ``(h, c)`` of one window is
   the initial state of the next, so the model sees context far longer than one
   window, but ``.detach()`` cuts the graph there: gradients flow back at most
   ``seq_len`` steps, and memory stays constant.
3. **Temperature sampling.** Dividing the logits by ``T`` before the softmax makes the
   distribution sharper (``T < 1``) or flatter (``T > 1``).

    python examples/char_lstm.py --quick
    python examples/char_lstm.py --text my_book.txt --device cuda
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F


def load_text(path: str | None) -> str:
    """``path`` as UTF-8 text, or the Python reference text bundled with CPython."""
    if path:
        return Path(path).read_text(encoding="utf-8")
    from pydoc_data.topics import topics

    return "\n".join(topics[k] for k in sorted(topics))


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> Linear. ``idx (T, B)`` ints -> logits ``(T, B, V)``, state."""

    def __init__(self, vocab_size: int, embed: int, hidden: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, idx: mg.Tensor, state: tuple[mg.Tensor, mg.Tensor] | None = None
                ) -> tuple[mg.Tensor, tuple[mg.Tensor, mg.Tensor]]:
        """Logits ``(T, B, V)`` and the LSTM's final ``(h, c)``, each ``(1, B, H)``."""
        out, state = self.lstm(self.embed(idx), state)
        return self.head(out), state


def streams(ids: np.ndarray, batch: int) -> np.ndarray:
    """``ids (N,)`` -> ``(N // batch, batch)``: column b is the b-th contiguous stream."""
    n = len(ids) // batch
    return ids[: n * batch].reshape(batch, n).T.copy()


def bits_per_char(model: CharLSTM, ids: np.ndarray, seq_len: int, device: str) -> float:
    """Held-out loss in bits per character, state carried across windows."""
    data = streams(ids, 8)
    total, count, state = 0.0, 0, None
    model.eval()
    with mg.no_grad():
        for s in range(0, len(data) - 1, seq_len):
            y = data[s + 1 : s + 1 + seq_len]
            x = data[s : s + len(y)]
            logits, state = model(mg.tensor(x, device=device), state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                   mg.tensor(y.reshape(-1), device=device), reduction="sum")
            total += loss.item()
            count += y.size
    model.train()
    return total / count / math.log(2)


def generate(model: CharLSTM, chars: list[str], prime: str, n: int, temperature: float,
             device: str, rng: np.random.Generator) -> str:
    """Feed ``prime``, then sample ``n`` characters one at a time."""
    index = {c: i for i, c in enumerate(chars)}
    model.eval()
    out = []
    with mg.no_grad():
        x = np.array([[index.get(c, 0)] for c in prime])
        logits, state = model(mg.tensor(x, device=device))
        for _ in range(n):
            z = logits.numpy()[-1, 0].astype(np.float64) / temperature
            p = np.exp(z - z.max())
            nxt = rng.choice(len(p), p=p / p.sum())
            out.append(chars[nxt])
            logits, state = model(mg.tensor(np.array([[nxt]]), device=device), state)
    model.train()
    return prime + "".join(out)


def main(argv: list[str] | None = None) -> float:
    """Parse the command line, train, evaluate, print ``RESULT ...`` last; returns the metric."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--text", help="UTF-8 file to train on (default: CPython's pydoc topics)")
    p.add_argument("--quick", action="store_true", help="a small run (well under a minute)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--temperature", type=float, default=0.7)
    args = p.parse_args(argv)

    hidden, seq_len, batch, steps, budget = (
        (96, 48, 32, 150, 25.0) if args.quick else (256, 64, 64, 1200, 240.0))
    mg.manual_seed(0)
    rng = np.random.default_rng(0)

    text = load_text(args.text)
    if args.quick:
        text = text[:120_000]
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text])
    split = int(0.95 * len(ids))
    train, val = ids[:split], ids[split:]
    data = streams(train, batch)

    model = CharLSTM(len(chars), 32, hidden).to(args.device)
    params = list(model.parameters())
    opt = mg.optim.Adam(params, lr=5e-3 if args.quick else 3e-3)
    print(f"{len(text):,} characters, {len(chars)} distinct; "
          f"{sum(q.data.size for q in params):,} parameters")

    state, pos, start = None, 0, time.perf_counter()
    for step in range(1, steps + 1):
        if pos + seq_len + 1 > len(data):
            pos, state = 0, None
        x = data[pos : pos + seq_len]          # (T, B) inputs
        y = data[pos + 1 : pos + seq_len + 1]  # (T, B) the next characters
        pos += seq_len

        logits, state = model(mg.tensor(x, device=args.device), state)
        state = tuple(s.detach() for s in state)  # truncate BPTT here
        loss = F.cross_entropy(logits.reshape(-1, len(chars)),
                               mg.tensor(y.reshape(-1), device=args.device))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

        elapsed = time.perf_counter() - start
        if step % 50 == 0 or step == 1:
            print(f"step {step:5d}  loss {loss.item() / math.log(2):.3f} bits/char  "
                  f"{step * x.size / elapsed:,.0f} chars/s")
        if elapsed > budget:
            print(f"time budget reached after {step} steps")
            break

    print("\n" + generate(model, chars, "The ", 200, args.temperature, args.device, rng) + "\n")
    bpc = bits_per_char(model, val, seq_len, args.device)
    counts = np.bincount(train, minlength=len(chars)) + 1.0
    unigram = float(-np.log2(counts / counts.sum())[val].mean())
    print(f"validation {bpc:.3f} bits/char; a unigram model needs {unigram:.3f}")
    print(f"RESULT val_bpc={bpc:.4f}")
    return bpc


if __name__ == "__main__":
    main()
