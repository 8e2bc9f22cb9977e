"""A shared pool of worker processes for the test modules that run many models (corners, levers)."""

from __future__ import annotations

import functools
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

WORKERS = min(2, os.cpu_count() or 1)


@functools.cache
def pool() -> ProcessPoolExecutor:
    """The pool (spawned processes: no forked state of the test process), started on first use."""
    return ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn"))


def shutdown() -> None:
    """Stop the pool's processes if it was started."""
    if pool.cache_info().currsize:
        pool().shutdown()
        pool.cache_clear()
