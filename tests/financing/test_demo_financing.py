"""The demo city's 信易贷 (both databases): needs in every state, grants and logged views, loans over a year."""

from __future__ import annotations

from datetime import date, timedelta

from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.demo.cli import run_demo
from xinyong.financing import rules
from xinyong.financing.models import Grant, Need, Product, ViewLog


def test_the_demo_has_needs_in_every_state_grants_and_a_year_of_loans(db: Session) -> None:
    today = date(2026, 6, 30)
    run_demo(subjects=400, seed=3, console=Console(stderr=True, quiet=True), today=today)
    states = {s: n for s, n in db.execute(select(Need.state, func.count()).group_by(Need.state))}
    assert set(states) == set(rules.STATES), states
    assert db.scalar(select(func.count()).select_from(Product)) >= 6
    loans = [d for (d,) in db.execute(select(Need.closed_on).where(Need.state == "disbursed"))]
    assert min(loans) < today - timedelta(days=200) and max(loans) <= today
    assert db.scalar(select(func.count()).select_from(Grant).where(Grant.revoked_on.is_not(None))) >= 1
    views = {bool(a): n for a, n in db.execute(select(ViewLog.allowed, func.count()).group_by(ViewLog.allowed))}
    assert views.get(True, 0) > 0 and views.get(False, 0) > 0
