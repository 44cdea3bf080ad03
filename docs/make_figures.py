"""Regenerate the pictures of docs/bptt.md (SVG files under docs/img/) with minigrad itself.

Run ``python docs/make_figures.py`` from the repository root (needs Graphviz's ``dot``;
without it the .dot sources are written instead). Every figure is deterministic: the
same minigrad gives byte-identical DOT.
"""

from __future__ import annotations

from pathlib import Path

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
    mg.viz.render_to_file(loss, IMG / f"{cell}_grad_norms.svg",
                          params=dict(layer.named_parameters()), show_shapes=False,
                          show_grad_norms=True, grad_norm_range=NORM_RANGE)


def lstm_folded(steps: int = 1000) -> None:
    """A 1,000-step LSTM: the middle steps fold into one summary node."""
    mg.manual_seed(0)
    lstm = mg.nn.LSTM(input_size=2, hidden_size=3)
    out, _ = lstm(mg.randn(steps, 1, 2))
    mg.viz.render_to_file(out.sum(), IMG / "lstm_1000_steps.svg",
                          params=dict(lstm.named_parameters()), show_shapes=False)


def main() -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    lstm_unrolled()
    grad_norms("rnn")
    grad_norms("lstm")
    lstm_folded()
    for path in sorted(IMG.glob("*.svg")):
        print(f"{path.relative_to(IMG.parent.parent)}  {path.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
