"""Cyclic garbage collection paused around bulk work.

A batch (an ingest, a batch check) creates millions of short-lived tuples, lists and Python strings, none
of them in a reference cycle. Each 700 container allocations trigger a young-generation collection and
every tenth of those an older one, which walks the surviving objects again: measured on a 250,000-row
SQLite ingest, 2.5 s of 18 s of process CPU went to `gc_collect_main` and its visitors. Reference counting
still frees everything as usual; only cycles (none are made on purpose) wait for the pause to end.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collection inside the block (also usable as a decorator). Counted, so that concurrent
    batches in one process resume it only when the last one ends; if someone else had disabled it
    already, it is left as it was."""
    global _holders
    with _lock:
        owned = _holders > 0 or gc.isenabled()
        if owned:
            _holders += 1
            gc.disable()
    try:
        yield
    finally:
        if owned:
            with _lock:
                _holders -= 1
                if _holders == 0:
                    gc.enable()
