"""``python -m minigrad.cli``: the same as the ``minigrad`` command."""

from . import main

raise SystemExit(main())
