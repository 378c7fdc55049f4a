#!/usr/bin/env bash
# The newcomer's one command: from a fresh clone, set up .venv and run the quick
# benchmark suite against the embedded fake server (no API key; no network but
# the package install). Arguments go to `python -m bench` (e.g. --full, --only).
set -euo pipefail
cd "$(dirname "$0")/.."
# The Redis cases (limiter, share) run against a real redis-server.
bash .ci/system-deps redis-server=redis-server
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet -e ".[bench]"
exec .venv/bin/python -m bench "$@"
