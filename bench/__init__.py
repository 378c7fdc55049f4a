"""rawclaude benchmarks: rawclaude vs the official SDK vs a bare aiohttp "floor".

``python -m bench`` runs the quick suite; ``bench/README.md`` says what each case
measures and how to read the output; ``bench/RESULTS.md`` holds the last full run.
Every case runs in fresh worker processes (``python -m bench.worker``) with the
fake server (``python -m rawclaude.testing``) in a process of its own.
"""
