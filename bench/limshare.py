"""One process of the shared-bucket case: acquire in a loop, print grant times (JSON).

``python -m bench.limshare URL KEY RATE CAPACITY START_AT SECONDS``; START_AT is a
``time.time()`` value so that all processes begin together.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def main(
    url: str, key: str, rate: float, capacity: float, start_at: float, seconds: float
) -> list[float]:
    from rawclaude import RedisTokenBucket

    bucket = RedisTokenBucket(url, key, rate, capacity)
    try:
        await bucket.tokens()  # connect and load the script before the start
        await asyncio.sleep(max(0.0, start_at - time.time()))
        stamps: list[float] = []
        end = start_at + seconds
        while True:
            await bucket.acquire()
            now = time.time()
            if now > end:
                return stamps
            stamps.append(now)
    finally:
        await bucket.aclose()


if __name__ == "__main__":
    a = sys.argv[1:]
    stamps = asyncio.run(main(a[0], a[1], float(a[2]), float(a[3]), float(a[4]), float(a[5])))
    print(json.dumps(stamps))
