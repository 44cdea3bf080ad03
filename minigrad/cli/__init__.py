"""The ``minigrad`` command: ``demo``, ``graph`` and ``bench``."""

from __future__ import annotations

import sys

USAGE = """usage: minigrad COMMAND [options]

commands:
  demo    train a character-level LSTM on Python's own docs and write pictures
  graph   render the unrolled backprop-through-time graph of a cell
  bench   time RNN/LSTM/GRU training steps (against PyTorch when installed)

`minigrad COMMAND --help` describes the options of each command."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args:
        print(USAGE, file=sys.stderr)
        return 2
    if args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command == "demo":
        from .demo import demo_command

        return demo_command(rest)
    if command == "graph":
        from .graph import graph_command

        return graph_command(rest)
    if command == "bench":
        from .bench import bench_command

        return bench_command(rest)
    print(f"minigrad: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2
