"""Run a script with the CuPy stand-in installed: ``python -m tests.cupy_standin.run SCRIPT ARGS``.

At exit it prints one line ``cupy-standin: syncs=.. h2d=.. d2h=.. d2d=..`` to stderr.
"""

from __future__ import annotations

import os
import runpy
import sys

from . import COUNTERS, install


def main() -> None:
    install()
    script, sys.argv = sys.argv[1], sys.argv[1:]
    sys.path[0] = os.path.dirname(os.path.abspath(script))  # as `python SCRIPT` does
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        counts = " ".join(f"{k}={v}" for k, v in COUNTERS.snapshot().items())
        print(f"cupy-standin: {counts}", file=sys.stderr)


if __name__ == "__main__":
    main()
