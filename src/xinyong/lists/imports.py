"""List files sent through the ingest pipeline: the file becomes a batch of records, then list entries.

- Court lists (list types with `source: imported`, e.g. 失信被执行人): the court decided and served notice;
  entries are created published and dispatched at once.
- Lists decided by a department: a row with 告知日期 and 告知方式 is created, notified and published; a row
  without them stays proposed until the department registers the notice (rules: notify before publish).
- A row that breaks a list rule (unknown list type, department not an initiator, term past the maximum) is
  turned into a reject of the batch, and its record is taken back out: the batch stays one transaction with
  one reject report.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.accounts.models import Department
from xinyong.core import audit, clock
from xinyong.core.errors import DomainError, NotFound
from xinyong.ingest.models import Batch, BatchReject
from xinyong.lists import rules, service
from xinyong.lists.config import ListType, get_list_types
from xinyong.lists.models import ListEntry, ListEntryEvent
from xinyong.lists.rules import State
from xinyong.records.models import Record
from xinyong.records.service import payload_values


def import_list_file(session: Session, path: Path, *, dept_code: str, item_code: str = "serious_dishonesty",
                     list_type: str | None = None, file_name: str | None = None,
                     today: date | None = None) -> dict[str, Any]:
    """Ingest a list file (same checks, atomicity and reject report as any batch) and create its entries."""
    from xinyong.ingest.service import batch_summary, get_batch, ingest_file

    today = today or clock.today()
    summary = ingest_file(session, path, item_code, dept_code, file_name=file_name, today=today)
    result = import_entries_from_batch(session, summary.batch_id, list_type=list_type, today=today)
    return {"batch": batch_summary(session, get_batch(session, summary.batch_id)), **result}


def _list_type_for(code_or_name: str) -> ListType | None:
    types = get_list_types()
    found = types.find(code_or_name.strip())
    if found is None:
        found = next((t for t in types.list() if t.name == code_or_name.strip()), None)
    return found


def import_entries_from_batch(session: Session, batch_id: int, *, list_type: str | None = None,
                              today: date | None = None) -> dict[str, int]:
    today = today or clock.today()
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound(f"批次 {batch_id} 不存在")
    dept = session.get(Department, batch.dept_id)
    assert dept is not None
    actor = f"dept:{dept.code}"
    records = list(session.scalars(select(Record).where(Record.batch_id == batch_id, Record.state == "active")
                                   .order_by(Record.source_row, Record.id)))
    counts = {"entries": 0, "published": 0, "proposed": 0, "rejected": 0, "existing": 0}
    for rec in records:
        values = payload_values(session, rec.layout_id, rec.payload)
        code = list_type or values.get("list_type", "")
        try:
            lt = _list_type_for(code)
            if lt is None:
                raise DomainError(f"名单类型“{code}”不存在，可选：{'、'.join(t.code for t in get_list_types().list())}")
            if lt.catalog_item != batch.item_code:
                raise DomainError(f"“{lt.name}”不能用信息项 {batch.item_code} 报送（应为 {lt.catalog_item or '接口'}）")
            rules.check_initiator(dept.code, lt.initiators, lt.name)
            decision_date = rec.decision_date or today
            term_end = (date.fromisoformat(values["term_end"]) if values.get("term_end")
                        else rules.default_term_end(decision_date, lt.term.default_months))
            rules.check_term(decision_date, term_end, lt.term.max_months, lt.name)
        except DomainError as exc:
            _reject(session, batch, rec, "名单类型" if "名单类型" in exc.detail else "期限截止日", exc.detail,
                    values.get("list_type") or values.get("term_end"))
            counts["rejected"] += 1
            continue
        existing = session.scalar(select(ListEntry).where(
            ListEntry.list_type == lt.code, ListEntry.decision_no == (rec.decision_no or ""),
            ListEntry.subject_id == rec.subject_id, ListEntry.state != State.REVOKED.value))
        if existing is not None:  # a corrected row: the entry now rests on the newer record version
            existing.record_id = rec.id
            counts["existing"] += 1
            continue
        entry = ListEntry(list_type=lt.code, kind=lt.kind, subject_id=rec.subject_id, initiator_dept_id=dept.id,
                          record_id=rec.id, decision_no=rec.decision_no or "", decision_date=decision_date,
                          facts=values.get("facts") or values.get("circumstances") or values.get("obligation") or "",
                          basis=values.get("basis") or lt.basis_text(), term_end=term_end,
                          state=State.PROPOSED.value, source="import", batch_id=batch.id)
        session.add(entry)
        session.flush()
        session.add(ListEntryEvent(entry_id=entry.id, actor=actor, action="import", from_state=None,
                                   to_state=State.PROPOSED.value, note=f"批次 {batch.id} 第 {rec.source_row} 行"))
        counts["entries"] += 1
        if lt.source == "imported":
            # The court (or other deciding body) decided and served notice itself.
            service.notify_and_publish(session, entry, notified_at=decision_date, actor=actor, today=today,
                                       channel=f"由{values.get('court') or '决定机关'}依法告知")
            counts["published"] += 1
        elif values.get("notified_at") and values.get("notify_channel"):
            service.notify_and_publish(session, entry, notified_at=date.fromisoformat(values["notified_at"]),
                                       channel=values["notify_channel"], actor=actor, today=today)
            counts["published"] += 1
        else:
            counts["proposed"] += 1
    audit.record(session, actor=actor, action="list_entry.import", entity="batch", entity_id=batch.id, after=counts)
    session.flush()
    return counts


def _reject(session: Session, batch: Batch, rec: Record, field: str, reason: str, value: str | None) -> None:
    session.add(BatchReject(batch_id=batch.id, row=rec.source_row or 0, field=field, reason=reason, value=value))
    session.delete(rec)
    batch.accepted = max(0, batch.accepted - 1)
    batch.rejected += 1
