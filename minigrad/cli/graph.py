"""``minigrad graph``: draw the unrolled backprop-through-time graph of a small model.

``minigrad graph --cell lstm --steps 4 -o bptt.svg`` builds a one-layer LSTM over 4
steps, takes the loss from its final hidden state, and writes the picture (``.svg``,
``.png``, ``.pdf`` or ``.dot``). ``--grad-norms`` colours each step by the gradient
reaching its state. ``--cell attention`` runs a decoder loop that calls
``MultiheadAttention`` over an encoded memory at every step.
"""

from __future__ import annotations

import argparse
import sys
import time

import minigrad as mg
from minigrad.tensor import Tensor
from minigrad.viz.options import DETAILS
from minigrad.viz.render import FORMATS, write_dot_text

CELLS = ("rnn", "lstm", "gru", "attention")


def build_example(
    cell: str, steps: int, hidden: int = 3, input_size: int = 2, seed: int = 0
) -> tuple[Tensor, dict[str, Tensor]]:
    """A tiny model of kind ``cell`` unrolled over ``steps``; returns ``(loss, params)``.

    The loss is the sum of the final hidden state, so the gradient of step 0 has
    travelled through every step (what ``--grad-norms`` shows).
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
    if steps < 1 or hidden < 1:
        raise ValueError(f"steps and hidden must be positive, got {steps} and {hidden}")
    mg.manual_seed(seed)
    x = mg.randn(steps, 1, input_size)
    if cell == "attention":
        heads = 2 if hidden % 2 == 0 else 1
        encoder = mg.nn.Linear(input_size, hidden)
        mha = mg.nn.MultiheadAttention(hidden, heads)
        params = {f"encoder.{k}": v for k, v in encoder.named_parameters()}
        params.update({f"attn.{k}": v for k, v in mha.named_parameters()})
        with mg.name_scope("encoder"):
            memory = encoder(x)  # (S, 1, H)
        h = mg.zeros(1, 1, hidden)
        with mg.name_scope("decoder"):
            for t in range(steps):
                with mg.name_scope(f"t{t}"):
                    context, _ = mha(h, memory, memory, need_weights=False)
                    h = (context + h).tanh()
        return h.sum(), params
    layer = {"rnn": mg.nn.RNN, "lstm": mg.nn.LSTM, "gru": mg.nn.GRU}[cell](input_size, hidden)
    _, state = layer(x)
    h_n = state[0] if cell == "lstm" else state
    return h_n.sum(), dict(layer.named_parameters())


def graph_command(argv: list[str] | None = None) -> int:
    """Entry point of ``minigrad graph``; returns the process exit status."""
    parser = argparse.ArgumentParser(
        prog="minigrad graph",
        description="Render the unrolled backprop-through-time graph of a small "
                    "recurrent or attention model.",
    )
    parser.add_argument("--cell", choices=CELLS, default="lstm", help="model (default lstm)")
    parser.add_argument("--steps", type=int, default=4, help="time steps (default 4)")
    parser.add_argument("--hidden", type=int, default=3, help="hidden size (default 3)")
    parser.add_argument("--grad-norms", action="store_true",
                        help="colour each step by the gradient norm reaching its state")
    parser.add_argument("--max-nodes", type=int, default=None,
                        help="fold middle steps above this many nodes (default: chosen "
                             "from the graph so that the picture is readable)")
    parser.add_argument("--detail", choices=DETAILS, default="auto",
                        help="ops, modules, or auto (default: ops for small graphs)")
    parser.add_argument("--focus-step", type=int, default=None,
                        help="a time step always drawn in full")
    parser.add_argument("--seed", type=int, default=0, help="parameter seed (default 0)")
    parser.add_argument("-o", "--output", required=True,
                        help="output file: .svg, .png, .pdf or .dot")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    fmt = args.output.rsplit(".", 1)[-1].lower() if "." in args.output else ""
    if fmt not in FORMATS:
        parser.error(f"-o must end in one of {', '.join('.' + f for f in FORMATS)}, "
                     f"got {args.output!r}")
    if args.steps < 1 or args.hidden < 1:
        parser.error("--steps and --hidden must be positive")
    start = time.perf_counter()
    loss, params = build_example(args.cell, args.steps, args.hidden, seed=args.seed)
    text = mg.viz.to_dot(loss, params, show_grad_norms=args.grad_norms,
                         max_nodes=args.max_nodes, detail=args.detail,
                         focus_step=args.focus_step)
    try:
        path = write_dot_text(text, args.output)
    except RuntimeError as exc:
        print(f"minigrad graph: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({args.cell}, {args.steps} steps, "
          f"{time.perf_counter() - start:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(graph_command())
