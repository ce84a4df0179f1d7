"""Imported by each local worker process before it starts (a Dask preload): Ctrl-C in the
terminal reaches every process of the job, and the worker leaves it to the job's own
process, which stops the job and says what was kept, instead of printing a traceback."""

from __future__ import annotations

import signal


def dask_setup(worker) -> None:
    """Ignore SIGINT in this worker process (the job's process handles it)."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: nothing to do
        pass
