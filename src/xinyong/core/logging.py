"""Logging set-up. Messages never carry clear ID numbers.

Services log masked values; as the second line, every log record is masked when it is made (a record
factory, so every handler sees the masked text: the console, files, a test's capture): anything shaped like
an 18-character citizen ID number in the message, its arguments or its traceback is shown as
'110105********002X'. A refused request logs its detail, which may quote what the user typed.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from xinyong.core.identifiers import ID_NUMBER_IN_TEXT, mask_id_numbers

_TRACEBACKS = logging.Formatter()


def _masked_record_factory(base: Any) -> Any:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = base(*args, **kwargs)
        mask_record(record)
        return record

    make._xinyong_masking = True  # type: ignore[attr-defined]
    return make


def mask_record(record: logging.LogRecord) -> None:
    """Masks ID numbers in the record's message (formatted with its arguments) and traceback, in place."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: leave it to the handler's own error reporting
        return
    if ID_NUMBER_IN_TEXT.search(message):
        record.msg, record.args = mask_id_numbers(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = mask_id_numbers(_TRACEBACKS.formatException(record.exc_info))


def install_masking() -> None:
    """Makes every log record of the process masked at creation (idempotent)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "_xinyong_masking", False):
        logging.setLogRecordFactory(_masked_record_factory(factory))


def setup_logging(level: str = "INFO") -> None:
    install_masking()
    root = logging.getLogger()
    if any(getattr(h, "_xinyong", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._xinyong = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
