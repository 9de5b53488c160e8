"""The change feed over HTTP, on both databases: every change in scope, in order, with a signed cursor; deletions
for revocations and ends of publication; ID numbers masked unless the scope says otherwise; bad input refused."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sharing_support import ID_NO, h, partner, penalty
from sqlalchemy import select
from sqlalchemy.orm import Session

from lists_support import add_departments, new_org
from lists_support import publish as publish_entry
from xinyong.exchange.sharing import feed
from xinyong.exchange.sharing.models import Partner, PartnerRead, PartnerReadMonth
from xinyong.lists import service as lists
from xinyong.records import service as records


def _all(client: Any, key: str, cursor: str | None = None, limit: int = 1000) -> tuple[list[dict[str, Any]], str]:
    changes: list[dict[str, Any]] = []
    while True:
        r = client.get("/api/v1/feed", params={"limit": limit, **({"cursor": cursor} if cursor else {})},
                       headers=h(key))
        assert r.status_code == 200, r.text
        body = r.json()
        changes += body["changes"]
        cursor = body["cursor"]
        if not body["more"]:
            return changes, cursor


def _apply(copy: dict[str, dict[str, Any]], changes: list[dict[str, Any]]) -> None:
    for c in changes:
        if c["op"] == "upsert":
            copy[c["key"]] = c
        else:
            copy.pop(c["key"], None)


def test_feed_follows_new_corrected_revoked_and_ended_records(client: Any, db: Session, clock: Any) -> None:
    today = clock.today()
    first, second, third = penalty(db, today), penalty(db, today), penalty(db, today)
    db.commit()
    key = partner(db)
    changes, cursor = _all(client, key, limit=2)
    assert [c["record_id"] for c in changes] == [first.id, second.id, third.id]
    assert all(c["op"] == "upsert" and c["change"] == "new" for c in changes)
    masked = changes[0]["values"]["legal_rep_id_no"]
    assert masked != ID_NO and "*" in masked and ID_NO not in str(changes)
    copy: dict[str, dict[str, Any]] = {}
    _apply(copy, changes)

    # a correction (a new version of the same decision), a revocation, an end of publication
    corrected = penalty(db, today, n=int(first.decision_no.split("〕")[1].rstrip("号")), penalty_type="警告")
    records.set_state(db, second.id, "revoked", actor="dept:SCJG", note="撤销处罚决定")
    records.end_publication(db, third.id, today, actor="user:repair", reason="信用修复")
    db.commit()
    more, cursor2 = _all(client, key, cursor)
    _apply(copy, more)
    assert set(copy) == {first.record_key}
    assert copy[first.record_key]["record_id"] == corrected.id and copy[first.record_key]["values"]["penalty_type"] == "警告"
    kinds = {(c["op"], c["change"]) for c in more}
    assert ("delete", "revoked") in kinds and ("delete", "publication_ended") in kinds
    assert ("upsert", "corrected") in kinds

    # nothing new: an empty page, and the same cursor read again gives the same changes (stable order)
    again, _ = _all(client, key, cursor2)
    assert again == []
    replay, _ = _all(client, key, cursor)
    assert replay == more


def test_scope_decides_items_and_id_numbers(client: Any, db: Session, clock: Any) -> None:
    penalty(db, clock.today())
    db.commit()
    hidden = partner(db, "NOID", id_numbers="none")
    clear = partner(db, "CLEAR", id_numbers="clear")
    other = partner(db, "LICENCE", items="admin_license")
    assert "legal_rep_id_no" not in _all(client, hidden)[0][0]["values"]
    assert _all(client, clear)[0][0]["values"]["legal_rep_id_no"] == ID_NO
    assert _all(client, other)[0] == []


def test_list_entries_enter_and_leave_the_feed(client: Any, db: Session, clock: Any) -> None:
    clock.set(date(2026, 3, 2))
    depts = add_departments(db, ["SCJG"])
    entry = publish_entry(db, depts["SCJG"], new_org(db))
    db.commit()
    key = partner(db, "LISTS", items="scjg_serious_illegal")
    changes, cursor = _all(client, key)
    assert [(c["op"], c["key"]) for c in changes] == [("upsert", f"list:{entry.id}")]
    assert changes[0]["subject_name"].startswith("德州某某商贸有限公司")
    lists.exit_entry(db, entry.id, actor="dept:SCJG", reason="信用修复", today=date(2026, 4, 1))
    db.commit()
    later, _ = _all(client, key, cursor)
    assert [(c["op"], c["change"]) for c in later] == [("delete", "list_exit")]


def test_reads_are_logged_with_rows_and_purpose_and_counted_per_month(client: Any, db: Session, clock: Any) -> None:
    penalty(db, clock.today())
    penalty(db, clock.today())
    db.commit()
    key = partner(db)
    _all(client, key, limit=1)
    pid = db.scalar(select(Partner.id).where(Partner.code == "BANK1"))
    reads = list(db.scalars(select(PartnerRead).where(PartnerRead.partner_id == pid)))
    assert sum(r.rows for r in reads) == 2 and all(r.purpose == "信贷审批" and r.action == "feed" for r in reads)
    month = db.scalar(select(PartnerReadMonth).where(PartnerReadMonth.partner_id == pid))
    assert month is not None and month.reads == len(reads) and month.rows == 2
    assert month.month == clock.today().strftime("%Y-%m")


def test_bad_cursors_are_400_in_chinese(client: Any, db: Session) -> None:
    key = partner(db)
    other_key = partner(db, "BANK2")
    other_id = db.scalar(select(Partner.id).where(Partner.code == "BANK2"))
    foreign = feed.encode_cursor(other_id, (5, 0, 0))
    valid = client.get("/api/v1/feed", headers=h(other_key)).json()["cursor"]
    assert client.get("/api/v1/feed", params={"cursor": valid}, headers=h(other_key)).status_code == 200
    for bad in ("garbage", "MTIzLjQuNX5hYmM", foreign, valid[:-2], "x" * 199):
        r = client.get("/api/v1/feed", params={"cursor": bad}, headers=h(key))
        assert r.status_code == 400, bad
        assert "游标无效" in r.json()["detail"]
    assert client.get("/api/v1/feed", params={"limit": 0}, headers=h(key)).status_code == 422


def test_expired_revoked_and_wrong_keys_are_refused(client: Any, db: Session, clock: Any) -> None:
    today = clock.today()
    key = partner(db, expires_on=today)
    assert client.get("/api/v1/feed", headers=h(key)).status_code == 200
    clock.set(today + timedelta(days=1))
    r = client.get("/api/v1/feed", headers=h(key))
    assert r.status_code == 401 and "到期" in r.json()["detail"]
    clock.set(today)
    from xinyong.exchange.sharing import service

    service.revoke_partner(db, "BANK1")
    db.commit()
    r = client.get("/api/v1/feed", headers=h(key))
    assert r.status_code == 401 and "吊销" in r.json()["detail"]
    r = client.get("/api/v1/feed", headers=h("xyp_not-a-key"))
    assert r.status_code == 401 and "共享密钥无效" in r.json()["detail"]


def test_over_the_rate_limit_is_429_with_retry_after(client: Any, db: Session) -> None:
    key = partner(db, rate_limit="3 per minute")
    for _ in range(3):
        assert client.get("/api/v1/feed", headers=h(key)).status_code == 200
    r = client.get("/api/v1/feed", headers=h(key))
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and "频繁" in r.json()["detail"]


def test_partners_are_refused_department_routes(client: Any, db: Session) -> None:
    key = partner(db)
    assert client.get("/api/v1/batches/1", headers=h(key)).status_code == 403
    assert client.get("/api/v1/tasks", headers=h(key)).status_code == 403


def _raw_copy(session: Session, rec: Any) -> int:
    """A record row written without the ORM's audit (which would wait on the other open transaction)."""
    from sqlalchemy import insert

    from xinyong.records import rules
    from xinyong.records.models import Record

    cols = {c: getattr(rec, c) for c in ("subject_id", "item_code", "dept_id", "content_hash", "decision_no",
                                         "decision_date", "publish_from", "publish_until", "layout_id", "payload")}
    key = f"{rec.record_key[:24]}{session.hash_key:08x}"[:32]
    result = session.execute(insert(Record).values(record_key=key, key64=rules.key64(key), state="active", version=1,
                                                   **cols).returning(Record.id))
    return int(result.scalar_one())


def test_feed_never_passes_a_record_still_in_flight(client: Any, db: Session, clock: Any, backend: str) -> None:
    if backend != "postgresql":
        import pytest

        pytest.skip("SQLite has one writer at a time: its ids commit in order")
    from xinyong.core.db import new_session

    first = penalty(db, clock.today())
    db.commit()
    key = partner(db)
    changes, cursor = _all(client, key)
    assert [c["record_id"] for c in changes] == [first.id]
    slow = new_session()
    try:
        in_flight = _raw_copy(slow, first)  # drawn first, committed last
        fast = _raw_copy(db, first)
        db.commit()
        assert fast > in_flight
        waiting, cursor2 = _all(client, key, cursor)
        assert waiting == []  # the committed later record waits for the one still in flight
        slow.commit()
    finally:
        slow.close()
    both, _ = _all(client, key, cursor2)
    assert [c["record_id"] for c in both] == [in_flight, fast]
