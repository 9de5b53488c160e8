"""Fixtures for the portal tests."""

from __future__ import annotations

import pytest
from portal_city import City, seed_city
from sqlalchemy.orm import Session


@pytest.fixture
def city(db: Session) -> City:
    return seed_city(db)
