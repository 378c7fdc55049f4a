"""Sizes of the three suites: --smoke (tests), quick (default), --full."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Config:
    mode: str
    reps: int
    worker_timeout: float
    # 1. in-process parse + decode + accumulate
    inproc_sizes: tuple[int, ...]
    inproc_min_time: float
    chunk_bytes: int
    # 2. one long stream end to end
    stream_events: int
    stream_min_time: float
    # 3. time to first text delta
    ttft_delay: float
    ttft_deltas: int
    ttft_warm: int
    ttft_cold: int
    # 4. non-streaming create
    create_levels: tuple[int, ...]
    create_seconds: float
    create_reps: int
    # 5. many concurrent streams
    many_streams: int
    many_rate: float
    many_seconds: float
    # 6. import time and RSS
    import_rounds: int
    import_warmup: bool
    # 7. install footprint: "venv" or "metadata"
    footprint_method: str
    # 8. limiter
    limiter_calls: int
    redis_calls: int
    share_procs: int
    share_rate: float
    share_capacity: float
    share_seconds: float
    share_start_delay: float
    # 10. a streamed tool input
    toolinput_sizes: tuple[int, ...]
    toolinput_min_time: float
    toolinput_max_predicted: float
    # 11. the agent loop's own overhead
    agentloop_tools: int
    agentloop_turns: int
    agentloop_min_time: float
    # 12-15. batches and files
    batch_results: int
    batch_pairs: int
    batch_line_rounds: int
    batch_line_sizes: tuple[int, int]
    upload_mib: int
    create_many_requests: int
    # 16. the command line
    cli_launches: int
    cli_words: int
    # 17. the browser relay
    relay_browsers: int
    relay_rate: float
    relay_seconds: float


QUICK = Config(
    mode="quick",
    reps=3,
    worker_timeout=300.0,
    inproc_sizes=(5_000, 20_000, 50_000),
    inproc_min_time=0.3,
    chunk_bytes=16 * 1024,
    stream_events=20_000,
    stream_min_time=1.0,
    ttft_delay=0.020,
    ttft_deltas=5,
    ttft_warm=50,
    ttft_cold=15,
    create_levels=(1, 16, 64, 256),
    create_seconds=0.5,
    create_reps=4,
    many_streams=200,
    many_rate=40.0,
    many_seconds=1.5,
    import_rounds=9,
    import_warmup=True,
    footprint_method="venv",
    limiter_calls=20_000,
    redis_calls=1_000,
    share_procs=4,
    share_rate=200.0,
    share_capacity=20.0,
    share_seconds=3.0,
    share_start_delay=1.5,
    toolinput_sizes=(25_000, 100_000, 1_000_000, 4_000_000),
    toolinput_min_time=0.5,
    toolinput_max_predicted=20.0,
    agentloop_tools=8,
    agentloop_turns=5,
    agentloop_min_time=1.0,
    batch_results=100_000,
    batch_pairs=4,
    batch_line_rounds=2,
    batch_line_sizes=(1024 * 1024, 4 * 1024 * 1024),
    upload_mib=200,
    create_many_requests=250_000,
    cli_launches=5,
    cli_words=50,
    relay_browsers=200,
    relay_rate=20.0,
    relay_seconds=3.0,
)

FULL = replace(
    QUICK,
    mode="full",
    reps=5,
    worker_timeout=900.0,
    inproc_min_time=1.0,
    stream_events=50_000,
    stream_min_time=2.0,
    ttft_warm=200,
    ttft_cold=50,
    create_seconds=2.0,
    create_reps=6,
    many_seconds=5.0,
    import_rounds=20,
    limiter_calls=100_000,
    redis_calls=5_000,
    share_seconds=10.0,
    toolinput_min_time=1.5,
    toolinput_max_predicted=60.0,
    agentloop_min_time=3.0,
    cli_launches=10,
    relay_seconds=8.0,
)

SMOKE = replace(
    QUICK,
    mode="smoke",
    reps=1,
    worker_timeout=60.0,
    inproc_sizes=(300, 600, 1_200),
    inproc_min_time=0.0,
    stream_events=300,
    stream_min_time=0.0,
    ttft_delay=0.005,
    ttft_warm=3,
    ttft_cold=2,
    create_levels=(1, 4),
    create_seconds=0.1,
    create_reps=1,
    many_streams=4,
    many_rate=50.0,
    many_seconds=0.2,
    import_rounds=1,
    import_warmup=False,
    footprint_method="metadata",
    limiter_calls=500,
    redis_calls=50,
    share_procs=2,
    share_rate=100.0,
    share_capacity=5.0,
    share_seconds=0.3,
    share_start_delay=1.0,
    toolinput_sizes=(2_000, 5_000, 10_000),
    toolinput_min_time=0.0,
    agentloop_turns=2,
    agentloop_min_time=0.0,
    batch_results=2_000,
    batch_pairs=1,
    batch_line_rounds=1,
    batch_line_sizes=(64 * 1024, 256 * 1024),
    upload_mib=4,
    create_many_requests=2_500,
    cli_launches=1,
    cli_words=5,
    relay_browsers=4,
    relay_rate=50.0,
    relay_seconds=0.2,
)

MODES = {"quick": QUICK, "full": FULL, "smoke": SMOKE}
