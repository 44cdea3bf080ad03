"""See vanishing gradients: how much of the loss's gradient reaches each time step.

Task: the *adding problem*. Each input step carries a random number in [0, 1) and a
marker; exactly two steps are marked, one in the first tenth of the sequence and one
in its second half, and the target is the sum of the two marked numbers. To solve it
the network must carry information from the first marker to the end, so the gradient
of the loss must reach back there.

For ``RNNCell``, ``LSTMCell`` and ``GRUCell`` (freshly initialised, as in PyTorch) the
script unrolls the cell by hand, keeps every hidden state ``h_t`` and asks
``mg.autograd.grad`` for ``dL/dh_t`` at every step, then plots ``||dL/dh_t||`` against
``t`` on a log scale. Backpropagation through time multiplies one Jacobian per step, so
every curve decays geometrically; what differs is the rate. The tanh RNN loses the most
per step. The gated cells pass gradient along their gates: with PyTorch's default init
the LSTM's forget gate sits near ``sigmoid(0) = 0.5``, and the classic remedy of a
forget-gate bias of 1 (Jozefowicz et al., 2015) keeps orders of magnitude more
gradient, which is also plotted.

It also draws the unrolled graph of a short sequence for each cell with
``mg.viz.render_to_file(..., show_grad_norms=True)``: each time step's cluster is
coloured by the norm of the gradient reaching its hidden state.

    python examples/vanishing_gradients.py --quick --out /tmp/vanishing
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

CELLS = {"RNN": nn.RNNCell, "LSTM": nn.LSTMCell, "LSTM, forget bias 1": nn.LSTMCell,
         "GRU": nn.GRUCell}


def adding_batch(rng: np.random.Generator, steps: int, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``(T, B, 2)`` (value, marker) and targets ``(B, 1)``."""
    values = rng.random((steps, batch)).astype(np.float32)
    markers = np.zeros((steps, batch), dtype=np.float32)
    first = rng.integers(0, max(1, steps // 10), size=batch)
    second = rng.integers(steps // 2, steps, size=batch)
    markers[first, np.arange(batch)] = 1.0
    markers[second, np.arange(batch)] = 1.0
    target = (values * markers).sum(axis=0, keepdims=True).T
    return np.stack([values, markers], axis=-1), target


class Unrolled(nn.Module):
    """A cell applied step by step (one ``name_scope`` per step) and a linear read-out."""

    def __init__(self, kind: str, hidden: int) -> None:
        super().__init__()
        self.kind = kind
        self.cell = CELLS[kind](2, hidden)
        self.head = nn.Linear(hidden, 1)
        if "forget bias" in kind:  # gate order i, f, g, o: rows H..2H are the forget gate
            self.cell.bias_ih.data[hidden : 2 * hidden] = 1.0

    def forward(self, x: mg.Tensor) -> tuple[mg.Tensor, list[mg.Tensor]]:
        """``x (T, B, 2)`` -> prediction ``(B, 1)`` and every hidden state ``h_t (B, H)``."""
        state = None
        hs = []
        with mg.name_scope(self.kind.split(",")[0].lower()):
            for t in range(x.shape[0]):
                with mg.name_scope(f"t{t}"):
                    state = self.cell(x[t], state)
                    hs.append(state[0] if isinstance(state, tuple) else state)
            return self.head(hs[-1]), hs


def grad_norms(model: Unrolled, x: np.ndarray, y: np.ndarray, device: str) -> np.ndarray:
    """``||dL/dh_t||`` for every step t (the gradient flowing into h_t from later steps)."""
    pred, hs = model(mg.tensor(x, device=device))
    loss = F.mse_loss(pred, mg.tensor(y, device=device))
    grads = mg.autograd.grad(loss, hs)
    return np.array([float(np.sqrt((g.numpy().astype(np.float64) ** 2).sum())) for g in grads])


def main(argv: list[str] | None = None) -> float:
    """Parse the command line, train, evaluate, print ``RESULT ...`` last; returns the metric."""
    p = argparse.ArgumentParser(description="gradient norm per time step: RNN vs LSTM vs GRU")
    p.add_argument("--quick", action="store_true", help="shorter sequences, less training")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--out", default="vanishing-out", help="folder for the pictures")
    args = p.parse_args(argv)
    seq_len, hidden = (50, 32) if args.quick else (150, 64)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mg.manual_seed(0)
    x, y = adding_batch(np.random.default_rng(123), seq_len, 64)

    curves: dict[str, np.ndarray] = {}
    for kind in CELLS:
        model = Unrolled(kind, hidden).to(args.device)
        curves[kind] = norms = grad_norms(model, x, y, args.device)
        print(f"{kind:20s} ||dL/dh_0|| / ||dL/dh_{seq_len - 1}|| = {norms[0] / norms[-1]:.1e}")

        # The picture: a 5-step unroll, each step coloured by its gradient norm.
        xs, ys = adding_batch(np.random.default_rng(7), 5, 1)
        pred, _ = model(mg.tensor(xs, device=args.device))
        small_loss = F.mse_loss(pred, mg.tensor(ys, device=args.device))
        name = kind.split(",")[0].lower() + ("_fb1" if "forget" in kind else "")
        written = mg.viz.render_to_file(small_loss, out / f"bptt_{name}.svg",
                                        params=dict(model.named_parameters()),
                                        show_grad_norms=True)
        print(f"{'':20s} graph: {written}")

    path = plot(curves, out / "grad_norms.png")
    print(f"plot: {path}")
    # How many orders of magnitude more gradient reaches step 0 in the LSTM than the RNN.
    gain = float(np.log10(curves["LSTM"][0] / curves["RNN"][0]))
    print(f"RESULT lstm_over_rnn_log10_grad_at_t0={gain:.3f}")
    return gain


def plot(curves: dict[str, np.ndarray], path: Path) -> Path:
    """``||dL/dh_t||`` against t for every cell, log scale."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5), dpi=110)
    ax = fig.subplots()
    for kind, color in zip(CELLS, ("tab:blue", "tab:orange", "tab:red", "tab:green")):
        ax.semilogy(curves[kind], color=color, label=kind)
    ax.set_title("gradient of the loss reaching each time step (adding problem, at init)")
    ax.set_xlabel("time step t (the loss reads the last step)")
    ax.set_ylabel("||dL / dh_t||")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    return path


if __name__ == "__main__":
    main()
