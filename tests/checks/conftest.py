from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _flush_check_log(request: pytest.FixtureRequest) -> Iterator[None]:
    """Write the buffered check log before the database is emptied, so no row leaks into the next test."""
    if "engine" not in request.fixturenames and "db" not in request.fixturenames and "client" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("engine")
    yield
    from xinyong.checks.logbuffer import buffer

    buffer.flush()
