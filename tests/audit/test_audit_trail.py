"""The audit trail: `xinyong audit verify` on both databases after edits and deletions (including the newest
event), and /admin/audit search for operators and auditors with personal data masked."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from due_process_support import org, penalty, world
from xinyong.accounts import service as accounts
from xinyong.cli import app
from xinyong.core import audit

runner = CliRunner()


def _events(db: Session, n: int = 4) -> None:
    for i in range(n):
        audit.record(db, actor="tester", action="thing.change", entity="thing", entity_id=i, after={"v": i})
    db.commit()


def _verify() -> Any:
    return runner.invoke(app, ["audit", "verify"])


def test_intact_chain_exits_zero(db: Session) -> None:
    _events(db)
    assert runner.invoke(app, ["audit", "anchor"]).exit_code == 0
    result = _verify()
    assert result.exit_code == 0, result.output
    assert "审计链完整" in result.output


def test_empty_chain_is_intact(db: Session) -> None:
    assert _verify().exit_code == 0


@pytest.mark.parametrize(("sql", "broken"), [
    ("UPDATE audit_events SET after = '{\"v\": 99}' WHERE seq = 2", 2),
    ("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 4", 4),
    ("DELETE FROM audit_events WHERE seq = 2", 2),
    ("DELETE FROM audit_events WHERE seq = 4", 4),              # the newest event: caught by the anchor
    ("DELETE FROM audit_events WHERE seq >= 3", 3),             # the newest two
    ("DELETE FROM audit_events", 1),                            # everything
    ("UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_events WHERE seq = 3)", 4),
])
def test_edits_and_deletions_exit_non_zero_naming_the_first_broken_event(db: Session, sql: str, broken: int) -> None:
    _events(db)
    db.execute(text(sql))
    db.commit()
    result = _verify()
    assert result.exit_code == 1, result.output
    assert f"第 {broken} 号事件" in result.output


def test_json_output(db: Session) -> None:
    _events(db, 2)
    db.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    db.commit()
    result = runner.invoke(app, ["audit", "verify", "--json"])
    assert result.exit_code == 1 and '"first_broken": 2' in result.stdout


def test_appending_after_a_deleted_newest_event_still_shows_the_gap(db: Session) -> None:
    _events(db, 3)
    db.execute(text("DELETE FROM audit_events WHERE seq = 3"))
    db.commit()
    audit.record(db, actor="tester", action="thing.change", entity="thing", entity_id=9)
    db.commit()
    check = audit.verify_chain(db)
    assert not check.ok and check.first_broken == 3


def _login(client: Any, db: Session, role: str, dept: str | None = None) -> None:
    accounts.create_user(db, f"u-{role}", "password-123", role=role, dept_code=dept)
    db.commit()
    r = client.post("/admin/login", data={"username": f"u-{role}", "password": "password-123", "next": "/admin"},
                    follow_redirects=False)
    assert r.status_code == 303


def test_admin_audit_search_for_auditors_masks_personal_data(client: Any, db: Session) -> None:
    w = world(db)
    subject = org(db)
    penalty(db, subject, w.scjg, decided=date(2026, 1, 5))
    audit.record(db, actor="dept:SCJG", action="person.read", entity="subject", entity_id=1,
                 after={"id": "110105199001010023", "phone": "13812345678"})
    db.commit()
    _login(client, db, "auditor")
    page = client.get("/admin/audit", params={"action": "person."})
    assert page.status_code == 200
    assert "110105199001010023" not in page.text and "13812345678" not in page.text
    assert "110105********0023" in page.text and "138****5678" in page.text
    page = client.get("/admin/audit", params={"entity": "record", "date_from": "2000-01-01", "date_to": "2099-01-01"})
    assert "record.add" in page.text and "person.read" not in page.text
    bad = client.get("/admin/audit", params={"date_from": "2026-02-30"})
    assert "不是有效日期" in bad.text
    audit.anchor(db, actor="test")
    db.commit()
    assert "审计链完整" in client.get("/admin/audit", params={"verify": "1"}).text


def test_department_users_cannot_read_the_audit_trail(client: Any, db: Session) -> None:
    world(db)
    _login(client, db, "dept", "SCJG")
    r = client.get("/admin/audit", headers={"accept": "text/html"})
    assert r.status_code == 403 and "审计" in r.text
