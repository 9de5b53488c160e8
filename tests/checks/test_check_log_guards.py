"""The write-behind check log on SQLite and PostgreSQL: hostile text is scrubbed as on the ORM path, a row the
database refuses is quarantined and never holds back the others, and the batch arrays carry any text."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from check_data import CLEAN, city, dept
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from xinyong.checks import batch, fast
from xinyong.checks.logbuffer import buffer, ids, read_quarantine
from xinyong.checks.models import CheckLog
from xinyong.core.db import NUL_SHOWN_AS, scrub_text, utcnow
from xinyong.core.settings import get_settings

CHECK = {"matter": "2026年政府采购项目", "matter_type": "procurement", "purpose": "投标人资格审查"}
HOSTILE = st.lists(st.sampled_from(["\x00", "\\", "\t", "\n", "\r", "\b", "\v", "\f", '"', "'", ",", "{", "}",
                                            " ", "N", "NULL", "a", "中", "\U0001f600", "\ud800", "\udfff"]),
                   max_size=12).map("".join)


@pytest.fixture
def quarantine_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(get_settings(), "var_dir", tmp_path)
    return tmp_path


def _logged(db: Session) -> list[CheckLog]:
    buffer.flush()
    db.expire_all()
    return list(db.scalars(select(CheckLog).where(CheckLog.batch_id.is_(None)).order_by(CheckLog.id)))


def test_a_check_with_nul_and_the_checks_after_it_are_all_logged(client: Any, db: Session,
                                                                 dept_key: tuple[str, str]) -> None:
    city(db)
    db.commit()
    headers = {"Authorization": f"Bearer {dept_key[1]}", "content-type": "application/json"}
    bodies = [{**CHECK, "subject": CLEAN, "matter": "采购\x00项目", "purpose": "审查"}]
    bodies += [{**CHECK, "subject": CLEAN, "purpose": f"第{i}次"} for i in range(5)]
    for body in bodies:
        resp = client.post("/api/v1/checks", content=json.dumps(body), headers=headers)  # \u escapes
        assert resp.status_code == 200, resp.text
    rows = _logged(db)
    assert len(rows) == 6
    assert rows[0].matter == f"采购{NUL_SHOWN_AS}项目"
    assert [r.purpose for r in rows[1:]] == [f"第{i}次" for i in range(5)]
    assert buffer.pending() == 0


def test_a_refused_row_is_quarantined_and_the_rest_is_written(db: Session, quarantine_dir: Path) -> None:
    d = dept(db)
    db.commit()
    at = utcnow()

    def row(check_id: int, purpose: str) -> tuple[Any, ...]:
        return (check_id, at, d.id, None, "采购", "procurement", purpose, None, "uscc", CLEAN, "clean", None, None)

    first = ids.next_id()
    buffer.add(row(first, "已写入"))
    buffer.flush()
    before = buffer.quarantined
    later = [ids.next_id() for _ in range(6)]
    rows = [row(later[0], "之前"), row(first, "重复的编号 11010519491231002X"),
            *[row(i, f"之后{n}") for n, i in enumerate(later[1:])]]
    for r in rows:
        buffer.add(r)
    buffer.flush()
    assert buffer.pending() == 0
    logged = _logged(db)
    assert [r.purpose for r in logged] == ["已写入", "之前", *[f"之后{n}" for n in range(5)]]
    bad = read_quarantine()
    assert [b["purpose"] for b in bad] == ["重复的编号 110105********002X"] and bad[0]["id"] == first
    assert bad[0]["error"] and "11010519491231002X" not in (quarantine_dir / "quarantine" / "check_logs.jsonl").read_text()
    assert buffer.quarantined == before + 1
    buffer.flush()  # nothing re-queued: the quarantined row is not tried again
    assert read_quarantine() == bad and len(_logged(db)) == 7


def test_log_rows_with_hostile_text_are_written_scrubbed(db: Session) -> None:
    d = dept(db)
    db.commit()
    at = utcnow() - timedelta(seconds=1)
    texts = ["\x00", "a\x00b", "\\N", "\\", "\t\n\r\b\v\f", "\ud800x", "x\udfff", "\U0001f600", "NULL", '"{,}"']
    for i, value in enumerate(texts):
        buffer.add((ids.next_id(), at, d.id, None, value, "procurement", value, None, "name", value, "not_found",
                    None, i))
    rows = _logged(db)
    assert [(r.matter, r.purpose, r.query_ref) for r in rows] == [(scrub_text(t),) * 3 for t in texts]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(HOSTILE, min_size=1, max_size=6))
def test_batch_arrays_carry_any_text_scrubbed(db: Session, values: list[str]) -> None:
    """The array literal the batch check binds is read back by the database as exactly the scrubbed values."""
    if db.get_bind().dialect.name == "postgresql":
        literal, kind = batch._pg_array(values)
        assert kind == "text[]"
        back = db.execute(text("SELECT CAST(:a AS text[])"), {"a": literal}).scalar_one()
    else:
        back = db.execute(text("SELECT json_group_array(value) FROM json_each(:a)"),
                          {"a": batch._json_array(values)}).scalar_one()
        back = json.loads(back)
    assert back == [scrub_text(v) for v in values]


def test_batch_check_with_hostile_queries_is_logged(db: Session) -> None:
    city(db)
    d = dept(db)
    db.commit()
    queries = [CLEAN, "名称\x00含空字符", "代理\ud800项", '带"引号"和\\反斜杠']
    out = batch.check_batch(db, dept=d, queries=queries, matter="采购\x00", matter_type="procurement", purpose="审查")
    db.commit()
    refs = db.scalars(select(CheckLog.query_ref).where(CheckLog.batch_id == out["batch_check_id"])
                      .order_by(CheckLog.seq)).all()
    assert refs == [CLEAN, *[scrub_text(q) for q in queries[1:]]]
    assert db.scalar(select(func.count()).select_from(CheckLog)) == 4
    assert fast.try_check(d, CLEAN, "采购", "procurement", "") is not None


def test_an_unreachable_database_keeps_the_rows_behind_the_newer_ones(db: Session,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    from xinyong.checks import logbuffer

    d = dept(db)
    db.commit()
    at = utcnow()

    def row(purpose: str) -> tuple[Any, ...]:
        return (ids.next_id(), at, d.id, None, "采购", "procurement", purpose, None, "uscc", CLEAN, "clean", None, None)

    old, new = [row("旧0"), row("旧1")], row("新")
    log = logbuffer.CheckLogBuffer()  # a buffer of its own: no writer thread races the steps below

    class Down:
        def begin(self) -> Any:
            log._rows.append(new)  # a check answered while the flush was failing
            raise OperationalError("connect", {}, Exception("connection refused"))

    log._rows.extend(old)
    monkeypatch.setattr(logbuffer, "get_engine", lambda: Down())
    assert log.flush() == 0
    assert [r[6] for r in log._rows] == ["新", "旧0", "旧1"]
    monkeypatch.undo()
    assert log.flush() == 3 and log.pending() == 0 and log.quarantined == 0
    assert sorted(r.purpose for r in _logged(db)) == ["新", "旧0", "旧1"]
