"""``python -m minigrad``: the same as the ``minigrad`` command."""

from .cli import main

raise SystemExit(main())
