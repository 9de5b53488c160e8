"""The `actors` fixture (access_support.make_actors) for every test of the authorisation layer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from access_support import Actors, make_actors
from sqlalchemy.orm import Session


@pytest.fixture
def actors(db: Session, engine: Any) -> Iterator[Actors]:
    yield from make_actors(db)
