"""``python -m rawclaude``: the command line (loaded only when run this way)."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from rawclaude.cli import main

    sys.exit(main())
