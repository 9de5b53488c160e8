"""Logging set-up. Messages never carry clear ID numbers: services log masked values only."""

from __future__ import annotations

import logging
import sys


def setup_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(getattr(h, "_xinyong", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._xinyong = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
