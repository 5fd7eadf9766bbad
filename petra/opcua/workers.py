"""Worker threads started all at once, so none appears mid-run and none outlives its owner."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

WORKER_NAME = "petra-opcua-worker"
WORKERS = 2


def started_executor(workers: int = WORKERS, name: str = WORKER_NAME) -> ThreadPoolExecutor:
    """`workers` threads named `name_N`, all running when this returns."""
    executor = ThreadPoolExecutor(workers, thread_name_prefix=name)
    barrier = threading.Barrier(workers + 1)
    for _ in range(workers):  # each submit finds no idle worker and starts one
        executor.submit(barrier.wait)
    barrier.wait()
    return executor
