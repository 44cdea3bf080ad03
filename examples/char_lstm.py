"""A character-level LSTM language model, the model behind ``minigrad demo``, as one script.

It reads the Python reference text that ships with CPython (``pydoc_data.topics``) or
any UTF-8 file, learns to predict the next character, samples text at a chosen
temperature and reports the held-out loss in bits per character.

The model, the streams, the truncated-BPTT training loop and the sampler are written
once, in ``minigrad/cli/char_lstm.py`` (read its docstring for the three ideas worth
reading slowly); this script puts them together the way a user would, and the demo
adds a progress bar and pictures around the same pieces.

    python examples/char_lstm.py --quick
    python examples/char_lstm.py --text my_book.txt --device cuda
"""

from __future__ import annotations

import argparse

import numpy as np

import minigrad as mg
from minigrad.cli.char_lstm import (
    CharLSTM,
    TrainConfig,
    Vocab,
    evaluate_bpc,
    load_text,
    sample,
    train,
    unigram_bpc,
)


def main(argv: list[str] | None = None) -> float:
    """Parse the command line, train, evaluate, print ``RESULT ...`` last; returns the metric."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--text", help="UTF-8 file to train on (default: CPython's pydoc topics)")
    p.add_argument("--quick", action="store_true", help="a small run (well under a minute)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--temperature", type=float, default=0.7)
    args = p.parse_args(argv)

    cfg = TrainConfig.quick() if args.quick else TrainConfig()
    mg.manual_seed(0)
    text = load_text(args.text)[: cfg.max_text_chars]
    vocab = Vocab.from_text(text)
    ids = vocab.encode(text)
    split = int(0.95 * len(ids))
    train_ids, val_ids = ids[:split], ids[split:]

    model = CharLSTM(len(vocab), cfg.embed, cfg.hidden).to(args.device)
    print(f"{len(text):,} characters, {len(vocab)} distinct; "
          f"{sum(q.data.size for q in model.parameters()):,} parameters")
    result = train(model, vocab, train_ids, val_ids, cfg, args.device)
    print(f"trained {len(result.steps)} steps in {result.seconds:.1f} s")

    rng = np.random.default_rng(0)
    print("\n" + sample(model, vocab, "The ", 200, args.temperature, rng, args.device) + "\n")
    bpc = evaluate_bpc(model, val_ids, cfg.seq_len, 8, args.device)
    unigram = unigram_bpc(train_ids, val_ids, len(vocab))
    print(f"validation {bpc:.3f} bits/char; a unigram model needs {unigram:.3f}")
    print(f"RESULT val_bpc={bpc:.4f}")
    return bpc


if __name__ == "__main__":
    main()
