"""Regenerate the pictures of docs/bptt.md (SVG files under docs/img/) with minigrad itself.

Run ``python docs/make_figures.py`` from the repository root (needs Graphviz's ``dot``;
without it the .dot sources are written instead). Every figure is deterministic: the
same minigrad gives byte-identical DOT.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import minigrad as mg

IMG = Path(__file__).resolve().parent / "img"
# One colour scale for both gradient pictures, so their colours can be compared.
NORM_RANGE = (1e-10, 1.0)


def lstm_unrolled(steps: int = 3) -> None:
    """A one-layer LSTM unrolled over a few steps, loss = sum of all outputs."""
    mg.manual_seed(0)
    lstm = mg.nn.LSTM(input_size=2, hidden_size=3)
    out, _ = lstm(mg.randn(steps, 1, 2))
    loss = out.sum()
    mg.viz.render_to_file(loss, IMG / "lstm_unrolled.svg",
                          params=dict(lstm.named_parameters()))


def grad_norms(cell: str, steps: int = 30) -> None:
    """Gradient of the final hidden state's sum, reaching every earlier step."""
    mg.manual_seed(0)
    layer = {"rnn": mg.nn.RNN, "lstm": mg.nn.LSTM}[cell](input_size=4, hidden_size=8)
    if cell == "lstm":
        # forget-gate bias 1 (PyTorch gate order i, f, g, o): the usual LSTM init advice
        with mg.no_grad():
            layer.bias_ih_l0.data[8:16] = 1.0
    _, state = layer(mg.randn(steps, 1, 4))
    h_n = state[0] if cell == "lstm" else state
    loss = h_n.sum()
    loss.backward(retain_graph=True)
    # max_nodes given: every one of the 30 steps drawn (by default the middle ones fold)
    mg.viz.render_to_file(loss, IMG / f"{cell}_grad_norms.svg",
                          params=dict(layer.named_parameters()), show_shapes=False,
                          show_grad_norms=True, grad_norm_range=NORM_RANGE, max_nodes=2000)


def lstm_folded(steps: int = 1000) -> None:
    """A 1,000-step LSTM: the middle steps fold into one summary node."""
    mg.manual_seed(0)
    lstm = mg.nn.LSTM(input_size=2, hidden_size=3)
    out, _ = lstm(mg.randn(steps, 1, 2))
    mg.viz.render_to_file(out.sum(), IMG / "lstm_1000_steps.svg",
                          params=dict(lstm.named_parameters()), show_shapes=False)


class WordLanguageModel(mg.nn.Module):
    """PyTorch's word-language-model: embedding, dropout, 2-layer LSTM, linear decoder."""

    def __init__(self, ntoken: int = 50, ninp: int = 16, nhid: int = 16) -> None:
        super().__init__()
        self.ntoken = ntoken
        self.encoder = mg.nn.Embedding(ntoken, ninp)
        self.drop = mg.nn.Dropout(0.2)
        self.rnn = mg.nn.LSTM(ninp, nhid, 2, dropout=0.2)
        self.decoder = mg.nn.Linear(nhid, ntoken)

    def forward(self, x: mg.Tensor) -> mg.Tensor:
        """Token ids ``(T, B)`` -> logits ``(T * B, ntoken)``."""
        out, _ = self.rnn(self.drop(self.encoder(x)))
        return self.decoder(self.drop(out)).reshape(-1, self.ntoken)


def word_language_model(steps: int = 35, batch: int = 4) -> None:
    """One bptt window of the word language model, with defaults and at the op level."""
    mg.manual_seed(0)
    model = WordLanguageModel()
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.integers(0, 50, (steps, batch)))
    y = mg.tensor(rng.integers(0, 50, (steps * batch,)))
    loss = mg.nn.functional.cross_entropy(model(x), y)
    params = dict(model.named_parameters())
    mg.viz.render_to_file(loss, IMG / "word_lm.svg", params=params)
    mg.viz.render_to_file(loss, IMG / "word_lm_ops.svg", params=params, detail="ops",
                          focus_step=17)


def main() -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    lstm_unrolled()
    grad_norms("rnn")
    grad_norms("lstm")
    lstm_folded()
    word_language_model()
    for path in sorted(IMG.glob("*.svg")):
        print(f"{path.relative_to(IMG.parent.parent)}  {path.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
