"""``python -m bench [--full | --smoke] [--only CASE,...] [--out DIR] [--write-results]``."""

import sys

from .cli import main

sys.exit(main())
