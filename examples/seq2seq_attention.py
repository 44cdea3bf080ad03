"""Rewrite human-written dates as ISO dates with a GRU encoder-decoder and Bahdanau attention.

    "3 March 2021", "Mar 3, 2021", "03/03/21", "wednesday, march 3, 2021"  ->  "2021-03-03"

The data is generated with ``datetime`` and a seeded random generator (years 1950 to
2049, so a two-digit year is unambiguous; slashes are US month/day/year, dots are
European day.month.year). Dates used for testing never appear in training.

- **Encoder:** characters -> ``Embedding`` -> bidirectional ``GRU`` (padded batches,
  ``lengths=`` gives the state at each row's own last character).
- **Decoder:** a ``GRUCell`` that at each of the 10 output steps asks
  ``AdditiveAttention`` which input characters to read (its query is the decoder state,
  its keys the encoder outputs, padding masked out), feeds the attended context and
  the previous output character into the cell and predicts the next character.
- **Training** uses teacher forcing; **testing** decodes greedily from the model's own
  outputs and counts exact matches of the whole 10-character string.

    python examples/seq2seq_attention.py --quick --out /tmp/dates

Writes ``attention.png``: for a few test dates, which input character each output
character looked at. Reading digits across the diagonal-ish bands is the point.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import string
import time
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
FIRST, LAST = dt.date(1950, 1, 1), dt.date(2049, 12, 31)

PAD, START = 0, 1
IN_CHARS = " ,./0123456789" + string.ascii_uppercase + string.ascii_lowercase
IN_INDEX = {c: i + 1 for i, c in enumerate(IN_CHARS)}  # 0 is padding
OUT_CHARS = "0123456789-"
OUT_INDEX = {c: i + 2 for i, c in enumerate(OUT_CHARS)}  # 0 padding (unused), 1 start
OUT_LEN = 10


def ordinal(n: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th", 23 -> "23rd"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def human(d: dt.date, rng: random.Random) -> str:
    """One of many ways people write ``d`` (no locale involved)."""
    month, mon, day = MONTHS[d.month - 1], MONTHS[d.month - 1][:3], d.day
    yy = f"{d.year % 100:02d}"
    forms = [
        f"{day} {month} {d.year}",                      # 3 March 2021
        f"{mon} {day}, {d.year}",                       # Mar 3, 2021
        f"{d.month:02d}/{day:02d}/{yy}",                # 03/03/21 (US)
        f"{d.month}/{day}/{d.year}",                    # 3/3/2021 (US)
        f"{month} {ordinal(day)}, {d.year}",            # March 3rd, 2021
        f"{DAYS[d.weekday()]}, {month} {day}, {d.year}",  # Wednesday, March 3, 2021
        f"{day:02d}.{d.month:02d}.{d.year}",            # 03.03.2021 (European)
        f"{day} {mon} {yy}",                            # 3 Mar 21
        f"{ordinal(day)} of {month} {d.year}",          # 3rd of March 2021
        f"{mon} {day} {d.year}",                        # Mar 3 2021
    ]
    text = rng.choice(forms)
    case = rng.random()
    return text.lower() if case < 0.2 else text.upper() if case < 0.3 else text


def random_date(rng: random.Random) -> dt.date:
    """A uniformly random day between 1950-01-01 and 2049-12-31."""
    return FIRST + dt.timedelta(days=rng.randrange((LAST - FIRST).days + 1))


def encode_batch(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Padded input indices ``(S, B)`` (time-major) and the lengths ``(B,)``."""
    lengths = np.array([len(t) for t in texts])
    x = np.zeros((lengths.max(), len(texts)), dtype=np.int64)
    for b, t in enumerate(texts):
        x[: len(t), b] = [IN_INDEX[c] for c in t]
    return x, lengths


def encode_targets(dates: list[dt.date]) -> np.ndarray:
    """ISO strings as output indices ``(10, B)``."""
    return np.array([[OUT_INDEX[c] for c in d.isoformat()] for d in dates]).T


def decode_outputs(y: np.ndarray) -> list[str]:
    """Output indices ``(10, B)`` -> strings (start/pad shown as '?')."""
    table = "??" + OUT_CHARS
    return ["".join(table[i] for i in col) for col in y.T]


class DateTranslator(nn.Module):
    """Bidirectional GRU encoder, GRUCell decoder with additive attention."""

    def __init__(self, embed: int = 24, hidden: int = 64, attn: int = 48) -> None:
        super().__init__()
        self.hidden = hidden
        self.src_embed = nn.Embedding(len(IN_CHARS) + 1, embed, padding_idx=PAD)
        self.encoder = nn.GRU(embed, hidden, bidirectional=True)
        self.bridge = nn.Linear(2 * hidden, hidden)
        self.tgt_embed = nn.Embedding(len(OUT_CHARS) + 2, embed)
        self.attention = nn.AdditiveAttention(hidden, 2 * hidden, attn)
        self.cell = nn.GRUCell(embed + 2 * hidden, hidden)
        self.out = nn.Linear(hidden + 2 * hidden, len(OUT_CHARS) + 2)

    def encode(self, x: mg.Tensor, lengths: np.ndarray) -> tuple[mg.Tensor, mg.Tensor]:
        """``x (S, B)`` -> keys ``(B, S, 2H)`` and the decoder's first state ``(B, H)``."""
        outputs, h_n = self.encoder(self.src_embed(x), lengths=lengths)
        keys = outputs.swapaxes(0, 1)
        h0 = self.bridge(mg.cat([h_n[0], h_n[1]], axis=1)).tanh()
        return keys, h0

    def step(self, prev: mg.Tensor, h: mg.Tensor, keys: mg.Tensor, mask: mg.Tensor
             ) -> tuple[mg.Tensor, mg.Tensor, mg.Tensor]:
        """One decoder step: previous output ``(B,)`` -> logits ``(B, V)``, new state, weights."""
        context, weights = self.attention(h, keys, mask=mask)
        h = self.cell(mg.cat([self.tgt_embed(prev), context], axis=1), h)
        return self.out(mg.cat([h, context], axis=1)), h, weights

    def forward(self, x: mg.Tensor, lengths: np.ndarray, y: np.ndarray | None = None,
                device: str = "cpu") -> tuple[mg.Tensor, np.ndarray, np.ndarray]:
        """Teacher-forced when ``y (10, B)`` is given, greedy otherwise.

        Returns logits ``(10, B, V)``, the predicted indices ``(10, B)`` and the
        attention weights ``(10, B, S)``.
        """
        keys, h = self.encode(x, lengths)
        batch, source = keys.shape[0], keys.shape[1]
        mask = mg.tensor(np.arange(source)[None, :] < lengths[:, None], device=device)
        prev = mg.tensor(np.full(batch, START), device=device)
        logits, preds, attn = [], [], []
        for t in range(OUT_LEN):
            step_logits, h, weights = self.step(prev, h, keys, mask)
            logits.append(step_logits)
            guess = step_logits.detach().argmax(axis=-1)  # (B,) on the model's device
            preds.append(guess.numpy())
            attn.append(weights.numpy())
            prev = mg.tensor(y[t], device=device) if y is not None else guess
        return mg.stack(logits), np.stack(preds), np.stack(attn)


def make_split(n_test: int, seed: int) -> tuple[list[dt.date], set[dt.date]]:
    """Held-out test dates (and the set of them, which training never draws)."""
    rng = random.Random(seed)
    test: list[dt.date] = []
    seen: set[dt.date] = set()
    while len(test) < n_test:
        d = random_date(rng)
        if d not in seen:
            seen.add(d)
            test.append(d)
    return test, seen


def accuracy(model: DateTranslator, texts: list[str], dates: list[dt.date], device: str,
             batch: int = 250) -> tuple[float, list[tuple[str, str, str]]]:
    """Exact-match accuracy of greedy decoding, and a few (input, guess, truth) triples."""
    model.eval()
    hits, examples = 0, []
    with mg.no_grad():
        for s in range(0, len(texts), batch):
            x, lengths = encode_batch(texts[s : s + batch])
            _, preds, _ = model(mg.tensor(x, device=device), lengths, device=device)
            for text, guess, d in zip(texts[s : s + batch], decode_outputs(preds),
                                      dates[s : s + batch]):
                hits += guess == d.isoformat()
                if len(examples) < 8:
                    examples.append((text, guess, d.isoformat()))
    model.train()
    return hits / len(texts), examples


def plot_attention(model: DateTranslator, texts: list[str], device: str, path: Path) -> Path:
    """A heatmap of the attention weights for each of ``texts``."""
    from matplotlib.figure import Figure

    x, lengths = encode_batch(texts)
    model.eval()
    with mg.no_grad():
        _, preds, attn = model(mg.tensor(x, device=device), lengths, device=device)
    outputs = decode_outputs(preds)
    fig = Figure(figsize=(4.2 * len(texts), 4.2), dpi=110)
    axes = fig.subplots(1, len(texts), squeeze=False)[0]
    for b, (ax, text) in enumerate(zip(axes, texts)):
        weights = attn[:, b, : len(text)]
        ax.imshow(weights, cmap="viridis", aspect="auto", vmin=0, vmax=1)
        ax.set_xticks(range(len(text)), list(text), fontsize=8)
        ax.set_yticks(range(OUT_LEN), list(outputs[b]), fontsize=9)
        ax.set_title(f"{text!r} -> {outputs[b]}", fontsize=9)
        ax.set_xlabel("input character")
    axes[0].set_ylabel("output character")
    fig.suptitle("where each output character looked (additive attention weights)")
    fig.tight_layout()
    fig.savefig(path)
    return path


def main(argv: list[str] | None = None) -> float:
    """Parse the command line, train, evaluate, print ``RESULT ...`` last; returns the metric."""
    p = argparse.ArgumentParser(description="GRU encoder-decoder with attention: dates to ISO")
    p.add_argument("--quick", action="store_true", help="a short run (under a minute)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--out", default="seq2seq-out", help="folder for attention.png")
    p.add_argument("--steps", type=int, help="training steps")
    args = p.parse_args(argv)
    steps, budget, hidden = (400, 25.0, 48) if args.quick else (1200, 240.0, 64)
    steps = args.steps or steps
    mg.manual_seed(0)
    rng = random.Random(1)

    test_dates, held_out = make_split(1000, seed=2)
    test_texts = [human(d, rng) for d in test_dates]
    model = DateTranslator(hidden=hidden).to(args.device)
    params = list(model.parameters())
    opt = mg.optim.Adam(params, lr=5e-3)
    print(f"{sum(q.data.size for q in params):,} parameters; e.g. "
          + ", ".join(repr(human(test_dates[0], random.Random(i))) for i in range(3)))

    start = time.perf_counter()
    for step in range(1, steps + 1):
        dates: list[dt.date] = []
        while len(dates) < 64:
            d = random_date(rng)
            if d not in held_out:
                dates.append(d)
        x, lengths = encode_batch([human(d, rng) for d in dates])
        y = encode_targets(dates)
        logits, _, _ = model(mg.tensor(x, device=args.device), lengths, y, args.device)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                               mg.tensor(y.reshape(-1), device=args.device))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        elapsed = time.perf_counter() - start
        if step % 100 == 0 or step == 1:
            print(f"step {step:5d}  loss {loss.item():.4f}  {elapsed:6.1f} s")
        if elapsed > budget:
            print(f"time budget reached after {step} steps")
            break

    acc, examples = accuracy(model, test_texts, test_dates, args.device)
    for text, guess, truth in examples:
        print(f"  {text!r:34s} -> {guess}  {'ok' if guess == truth else 'WRONG, ' + truth}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = plot_attention(model, ["3 March 2021", "Mar 3, 2021", "03/03/21"], args.device,
                          out / "attention.png")
    print(f"attention heatmap: {path}")
    print(f"exact-match accuracy on {len(test_texts)} held-out dates: {acc:.1%}")
    print(f"RESULT accuracy={acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
