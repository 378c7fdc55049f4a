"""``python -m bench.worker CASE CLIENT``: run one case for one client, print JSON.

Parameters come as one JSON object on standard input; the result is one JSON
object on the last line of standard output. A fresh process per run keeps
imports, caches and the garbage collector of one client from touching another.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m bench.worker CASE CLIENT  (params JSON on stdin)", file=sys.stderr)
        return 2
    from .cases import load

    case_name, client = argv
    params = json.loads(sys.stdin.read() or "{}")
    result = load(case_name).run(client, params)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
