from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from xinyong.core import audit


def _three_events(db: Session) -> None:
    for i in range(3):
        audit.record(
            db,
            actor="tester",
            action="thing.change",
            entity="thing",
            entity_id=i,
            before={"v": i},
            after={"v": i + 1},
        )
    db.commit()


def test_intact_chain_verifies(db: Session) -> None:
    _three_events(db)
    check = audit.verify_chain(db)
    assert check.ok and check.events == 3 and check.first_broken is None


def test_edited_event_breaks_the_chain_at_that_event(db: Session) -> None:
    _three_events(db)
    db.execute(text("UPDATE audit_events SET after = '{\"v\": 99}' WHERE seq = 2"))
    db.commit()
    check = audit.verify_chain(db)
    assert not check.ok and check.first_broken == 2
    assert check.reason and "篡改" in check.reason


def test_deleted_event_is_named(db: Session) -> None:
    _three_events(db)
    db.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    db.commit()
    check = audit.verify_chain(db)
    assert not check.ok and check.first_broken == 2
