"""Progress of compiled loops, reported to a rich progress bar by host callbacks.

A loop inside a compiled program (NUTS chains, SVI steps) reports its iterations through
``jax.debug.callback`` with a token argument; the host maps the token to a bar.  The
token is an argument, not a constant, so showing a bar or not compiles the same program.
"""

from __future__ import annotations

import contextlib
import itertools
import threading

import jax
import jax.numpy as jnp

UPDATES = 100  # callbacks per loop: often enough to watch, rare enough to cost nothing

_BARS: dict = {}
_LOCK = threading.Lock()
_TOKENS = itertools.count(1)


def report_progress(token, iteration, total: int) -> None:
    """Inside a loop of ``total`` iterations: advance bar ``token`` every 1/UPDATES of them."""
    every = max(1, total // UPDATES)
    jax.lax.cond(
        (iteration + 1) % every == 0,
        lambda: jax.debug.callback(_advance, token, every),
        lambda: None,
    )


def _advance(token, steps) -> None:
    with _LOCK:
        advance = _BARS.get(int(token))
    if advance is not None:
        advance(int(steps))


@contextlib.contextmanager
def progress_bar(show: bool, total: int, label: str):
    """A token for ``report_progress``: 0 (nothing shown) or a live bar of ``total`` steps."""
    if not show:
        yield jnp.asarray(0)
        return
    from rich.console import Console
    from rich.progress import Progress

    # on stderr, and gone when done: a fit's printed results stay clean
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=total)
        token = next(_TOKENS)
        with _LOCK:
            _BARS[token] = lambda steps: progress.advance(task, steps)
        try:
            yield jnp.asarray(token)
        finally:
            with _LOCK:
                _BARS.pop(token, None)
