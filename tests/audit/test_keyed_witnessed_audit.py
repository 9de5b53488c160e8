"""The keyed, witnessed audit trail against an operator with database access: rewriting and re-chaining,
cutting the newest events, deleting everything, editing the witness, and editing covered tables directly.
Each must make `xinyong audit verify` exit 1 with a Chinese reason, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from due_process_support import listed, org, penalty, world
from xinyong.access.actors import Actor, ActorKind
from xinyong.checks.models import CheckLog
from xinyong.cli import app
from xinyong.core import audit
from xinyong.core.audit import AuditEvent
from xinyong.objections import service as objections
from xinyong.records import service as records

runner = CliRunner()

# the credit office's counter (窗口代办) files for the organisation in these tests
COUNTER = Actor(ActorKind.OPERATOR, "user:office", is_credit_office=True)


class Ran:
    """A CLI run with its output unwrapped (the console wraps long Chinese lines at the terminal width)."""

    def __init__(self, args: list[str]) -> None:
        result = runner.invoke(app, args)
        self.exit_code = result.exit_code
        self.output = result.output.replace("\n", "")
        self.stdout = result.stdout


def _verify() -> Ran:
    return Ran(["audit", "verify"])


def _anchor() -> Ran:
    return Ran(["audit", "anchor"])


def _events(db: Session, n: int = 4) -> None:
    for i in range(n):
        audit.record(db, actor="tester", action="thing.change", entity="thing", entity_id=i, after={"v": i})
    db.commit()


def _rechain(db: Session, start: int, mac: Any) -> None:
    """What an operator can do with SQL: recompute every link from `start` with a hash function they have."""
    events = list(db.scalars(select(AuditEvent).where(AuditEvent.seq >= start - 1).order_by(AuditEvent.seq)))
    prev = events[0].hash if start > 1 else audit.GENESIS
    for ev in events[1:] if start > 1 else events:
        digest = mac(prev, ev)
        db.execute(text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
                   {"p": prev, "h": digest, "s": ev.seq})
        prev = digest
    db.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})
    db.commit()


def _fields(ev: AuditEvent) -> tuple[Any, ...]:
    return (ev.seq, ev.at, ev.actor, ev.action, ev.entity, ev.entity_id, ev.before, ev.after)


def test_events_carry_an_hmac_under_the_audit_key_not_a_plain_hash(db: Session) -> None:
    _events(db, 1)
    ev = db.scalars(select(AuditEvent)).one()
    assert ev.key_gen is not None
    unkeyed = audit.event_hash(ev.prev_hash, *_fields(ev), key_gen=None)
    assert ev.hash != unkeyed and ev.hash == audit.event_hash(ev.prev_hash, *_fields(ev), key_gen=ev.key_gen)


def test_a_rewritten_event_rechained_without_the_key_is_caught(db: Session) -> None:
    _events(db)
    assert _anchor().exit_code == 0
    db.execute(text("UPDATE audit_events SET after = '{\"v\": 99}' WHERE seq = 2"))
    db.commit()
    db.expire_all()
    # re-chained as the old code did: plain SHA-256 links, marked as from before keying
    db.execute(text("UPDATE audit_events SET key_gen = NULL WHERE seq >= 2"))
    db.commit()
    db.expire_all()
    _rechain(db, 2, lambda prev, ev: audit.event_hash(prev, *_fields(ev), key_gen=None))
    result = _verify()
    assert result.exit_code == 1 and "第 2 号事件" in result.output and "没有密钥校验码" in result.output


def test_a_rewritten_event_rechained_with_a_guessed_key_is_caught(db: Session) -> None:
    import hashlib
    import hmac

    _events(db)
    db.execute(text("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 3"))
    db.commit()
    db.expire_all()

    def guessed(prev: str, ev: AuditEvent) -> str:
        material = json.dumps([prev, ev.seq, ev.at.isoformat(), ev.actor, ev.action, ev.entity, ev.entity_id,
                               ev.before, ev.after], ensure_ascii=False)
        return hmac.new(b"guessed-key", material.encode(), hashlib.sha256).hexdigest()

    _rechain(db, 3, guessed)
    result = _verify()
    assert result.exit_code == 1 and "第 3 号事件" in result.output and "篡改" in result.output


def test_a_rechain_with_the_stolen_key_still_disagrees_with_the_witness(db: Session) -> None:
    _events(db)
    assert _anchor().exit_code == 0  # event 5 witnessed
    db.execute(text("UPDATE audit_events SET after = '{\"v\": 99}' WHERE seq = 2"))
    db.commit()
    db.expire_all()
    _rechain(db, 2, lambda prev, ev: audit.event_hash(prev, *_fields(ev), key_gen=ev.key_gen))
    assert audit.verify_chain(db).ok  # the chain alone is consistent again
    result = _verify()
    assert result.exit_code == 1 and "见证文件" in result.output and "重新链接" in result.output


def test_cutting_the_newest_events_leaves_the_witness_ahead(db: Session) -> None:
    _events(db)
    assert _anchor().exit_code == 0  # event 5
    db.execute(text("DELETE FROM audit_events WHERE seq >= 4"))
    db.execute(text("UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_events WHERE seq = 3)"))
    db.commit()
    assert audit.verify_chain(db).ok
    result = _verify()
    assert result.exit_code == 1 and "见证记录到第 5 号" in result.output and "末尾事件被删除" in result.output


def test_deleting_everything_is_a_failure_while_other_data_exist(db: Session) -> None:
    world(db)
    assert _anchor().exit_code == 0
    db.execute(text("DELETE FROM audit_events"))
    db.execute(text("DELETE FROM audit_head"))
    db.commit()
    assert audit.verify_chain(db).ok  # an empty chain is a valid chain
    result = _verify()
    assert result.exit_code == 1 and "审计链为空" in result.output and "全部删除" in result.output


def test_deleting_everything_and_the_witness_is_still_a_failure(db: Session, witness_dir: Path) -> None:
    world(db)
    db.execute(text("DELETE FROM audit_events"))
    db.execute(text("DELETE FROM audit_head"))
    db.commit()
    result = _verify()
    assert result.exit_code == 1 and "审计链为空" in result.output


def test_an_empty_database_with_no_witness_verifies(db: Session) -> None:
    result = _verify()
    assert result.exit_code == 0, result.output


def test_events_without_any_witness_are_not_trusted(db: Session) -> None:
    _events(db, 2)
    result = _verify()
    assert result.exit_code == 1 and "未找到审计见证" in result.output and "xinyong audit anchor" in result.output


def test_an_edited_witness_line_is_caught(db: Session, witness_dir: Path) -> None:
    _events(db, 2)
    assert _anchor().exit_code == 0
    path = witness_dir / audit.WITNESS_FILE
    line = json.loads(path.read_text())
    line["seq"] = 2
    path.write_text(json.dumps(line) + "\n")
    result = _verify()
    assert result.exit_code == 1 and "见证文件第 1 行的校验码不符" in result.output


def test_the_witness_is_written_every_n_events_and_never_for_a_rollback(
        db: Session, witness_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xinyong.core.settings import reset_settings

    monkeypatch.setenv("XINYONG_AUDIT_WITNESS_EVERY", "2")
    reset_settings()
    path = witness_dir / audit.WITNESS_FILE
    audit.record(db, actor="t", action="a.b", entity="t")
    audit.record(db, actor="t", action="a.b", entity="t")
    assert not path.exists()  # not before the commit
    db.rollback()
    assert not path.exists()
    _events(db, 3)
    assert [json.loads(x)["seq"] for x in path.read_text().splitlines()] == [2]
    assert _verify().exit_code == 0


# ---- direct SQL edits of covered tables ------------------------------------------------------------------

def _covered_world(db: Session) -> dict[str, Any]:
    w = world(db)
    subject = org(db)
    rec = penalty(db, subject, w.scjg, decided=date(2026, 1, 5), severity="严重")
    lone = penalty(db, org(db), w.scjg, decided=date(2026, 1, 7))
    entry = listed(db, w.scjg, subject, rec, date(2026, 2, 1))
    db.commit()
    case = objections.submit(db, {"applicant_name": "德州某某食品有限公司", "contact": "0534-1234567",
                                  "subject_code": subject.uscc, "record_id": rec.id,
                                  "reason": "处罚决定已被复议机关撤销，信息不应公示"}, [],
                             idempotency_key=None, today=date(2026, 2, 2), actor=COUNTER).objection
    db.add(CheckLog(id=1, dept_id=w.sw.id, matter="政府采购资格审查", matter_type="procurement",
                    purpose="供应商资格审查", subject_id=subject.id, query_kind="uscc", query_ref=subject.uscc or "",
                    result="attention"))
    db.commit()
    assert _anchor().exit_code == 0
    return {"w": w, "record": rec, "lone": lone, "entry": entry, "objection": case}


@pytest.mark.parametrize(("sql", "table"), [
    ("UPDATE records SET payload = replace(payload, '罚款人民币贰万元', '警告') WHERE id = :record", "信用记录"),
    ("DELETE FROM records WHERE id = :lone", "信用记录"),
    ("UPDATE list_entries SET facts = '无' WHERE id = :entry", "名单条目"),
    ("UPDATE objections SET reason = '撤回' WHERE id = :objection", "异议申诉"),
    ("UPDATE check_logs SET result = 'clean' WHERE id = 1", "核查日志"),
    ("DELETE FROM check_logs WHERE id = 1", "核查日志"),
])
def test_a_direct_sql_edit_of_a_covered_table_is_caught(db: Session, sql: str, table: str) -> None:
    made = _covered_world(db)
    db.execute(text("DELETE FROM record_events WHERE record_id = :lone"), {"lone": made["lone"].id})
    db.execute(text(sql), {"record": made["record"].id, "lone": made["lone"].id, "entry": made["entry"].id,
                           "objection": made["objection"].id})
    db.commit()
    result = _verify()
    assert result.exit_code == 1, result.output
    assert table in result.output
    refused = _anchor()  # the tampering is not signed into a fresh digest
    assert refused.exit_code == 1 and "未写入见证" in refused.output


def test_changes_through_the_platform_after_an_anchor_still_verify(db: Session) -> None:
    made = _covered_world(db)
    records.set_state(db, made["lone"].id, "revoked", actor="dept:SCJG", note="复议撤销")
    penalty(db, org(db), made["w"].scjg, decided=date(2026, 1, 6))
    db.commit()
    result = _verify()
    assert result.exit_code == 0, result.output
    assert _anchor().exit_code == 0 and _verify().exit_code == 0


# ---- PostgreSQL: the table itself refuses ------------------------------------------------------------------

def test_postgresql_audit_table_refuses_update_delete_truncate(db: Session, backend: str) -> None:
    if backend != "postgresql":
        result = Ran(["db", "harden", "--app-role", "xinyong_app"])
        assert result.exit_code == 1 and "SQLite 没有数据库角色" in result.output
        return
    _events(db, 2)
    conn = db.connection()
    audit.install_append_only(conn)
    db.commit()
    try:
        for sql in ("UPDATE audit_events SET actor = 'x' WHERE seq = 1", "DELETE FROM audit_events WHERE seq = 2",
                    "TRUNCATE audit_events"):
            with pytest.raises(DBAPIError, match="审计事件只能追加"):
                db.execute(text(sql))
            db.rollback()
        audit.record(db, actor="t", action="still.appends", entity="t")
        db.commit()
        assert db.scalar(text("SELECT count(*) FROM audit_events")) == 3
    finally:
        audit.uninstall_append_only(db.connection())
        db.commit()


def test_db_harden_grants_the_app_role_only_insert_and_select_on_audit(db: Session, backend: str) -> None:
    import uuid

    dry = Ran(["db", "harden", "--app-role", "app", "--dry-run"])
    if backend != "postgresql":
        assert dry.exit_code == 1
        return
    assert "GRANT SELECT, INSERT ON audit_events" in dry.stdout
    _events(db, 1)
    role = f"xinyong_app_{uuid.uuid4().hex[:8]}"
    missing = Ran(["db", "harden", "--app-role", role])
    assert missing.exit_code == 1 and "没有角色" in missing.output
    db.execute(text(f'CREATE ROLE "{role}"'))
    db.commit()
    try:
        result = Ran(["db", "harden", "--app-role", role])
        assert result.exit_code == 0, result.output
        db.execute(text(f'SET ROLE "{role}"'))
        assert db.scalar(text("SELECT count(*) FROM audit_events")) == 1
        with pytest.raises(DBAPIError, match="permission denied"):
            db.execute(text("UPDATE audit_events SET actor = 'x'"))
        db.rollback()
    finally:
        db.execute(text("RESET ROLE"))
        audit.uninstall_append_only(db.connection())
        db.execute(text(f'DROP OWNED BY "{role}"'))
        db.execute(text(f'DROP ROLE "{role}"'))
        db.commit()


def test_the_admin_audit_page_shows_a_cut_chain_to_the_auditor(client: Any, db: Session) -> None:
    from xinyong.accounts import service as accounts

    _events(db)
    assert _anchor().exit_code == 0
    db.execute(text("DELETE FROM audit_events WHERE seq >= 4"))
    db.execute(text("UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_events WHERE seq = 3)"))
    accounts.create_user(db, "u-auditor", "password-123", role="auditor")
    db.commit()
    r = client.post("/admin/login", data={"username": "u-auditor", "password": "password-123", "next": "/admin"},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/admin/audit", params={"verify": "1"})
    # the login itself is audited, so the cut shows as events that differ from the witness (or as a cut end)
    assert page.status_code == 200 and "审计链已被破坏" in page.text
    assert "末尾事件被删除" in page.text or "与见证文件" in page.text


def test_an_unwritable_witness_fails_the_anchor_command_but_not_the_commit(
        db: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xinyong.core.settings import reset_settings

    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the witness directory should be")
    monkeypatch.setenv("XINYONG_AUDIT_WITNESS_DIR", str(blocked))
    reset_settings()
    _events(db, 2)
    result = _anchor()
    assert result.exit_code == 1 and "见证文件" in result.output and "写权限" in result.output
    assert db.scalar(text("SELECT count(*) FROM audit_events")) == 3  # the anchor event itself is kept


def test_the_daily_job_anchors_and_refuses_to_sign_over_tampering(db: Session, witness_dir: Path) -> None:
    from xinyong.core.jobs import run_daily

    _covered_world(db)
    results = run_daily(date(2026, 3, 2))
    seq = results["audit.anchor"]
    assert isinstance(seq, int) and audit.witnessed(seq)
    db.execute(text("UPDATE check_logs SET matter = '无' WHERE id = 1"))
    db.commit()
    refused = run_daily(date(2026, 3, 3))["audit.anchor"]
    assert isinstance(refused, str) and "核查日志" in refused
    assert _verify().exit_code == 1


def test_a_whole_chain_rewritten_as_unkeyed_events_disagrees_with_the_witness(db: Session) -> None:
    _events(db)
    assert _anchor().exit_code == 0
    db.execute(text("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 1"))
    db.execute(text("UPDATE audit_events SET key_gen = NULL"))
    db.commit()
    db.expire_all()
    _rechain(db, 1, lambda prev, ev: audit.event_hash(prev, *_fields(ev), key_gen=None))
    assert audit.verify_chain(db).ok  # looks like a chain from before keying
    result = _verify()
    assert result.exit_code == 1 and "见证文件" in result.output


def test_digests_and_the_chain_do_not_depend_on_the_connections_time_zone(db: Session, backend: str) -> None:
    from xinyong.core import digest

    _covered_world(db)
    if backend == "postgresql":
        db.execute(text("SET TIME ZONE 'America/New_York'"))
        db.expire_all()
    assert digest.check(db) is None
    assert audit.verify_chain(db).ok
    db.rollback()
