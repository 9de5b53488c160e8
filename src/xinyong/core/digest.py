"""Signed digests of the tables the audit trail covers without an event per row.

Ingest writes records by the million and checks write their log by COPY; an audit event per row would cost
every bulk path. Instead each anchor (`xinyong audit anchor`, the daily job, a key rotation) chains into the
audit trail, per table, a keyed hash (audit key) of the content of every row up to the highest id: the
columns that never change once written. A direct SQL edit or deletion of such a row makes `audit verify`
fail, naming the table. The columns that move by legal process (state, deadlines, answers) are left out: each
of those moves is an audit event of its own (record.*, list_entry.*, objection.*, repair.*, complaint.*,
commitment.*), written by the only code that makes it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.core import crypto
from xinyong.core.db import Base
from xinyong.core.errors import RuleViolation

# table -> (Chinese name, columns fixed once the row is written)
COVERED: dict[str, tuple[str, tuple[str, ...]]] = {
    "records": ("信用记录", (
        "id", "subject_id", "item_code", "dept_id", "batch_id", "source_row", "record_key", "content_hash",
        "decision_no", "decision_date", "severity", "publish_from", "version", "supersedes_id", "layout_id",
        "payload", "secrets", "secret_hashes", "created_at")),
    "list_entries": ("名单条目", (
        "id", "list_type", "kind", "subject_id", "initiator_dept_id", "record_id", "decision_no", "decision_date",
        "facts", "basis", "source", "batch_id", "created_at")),
    "objections": ("异议申诉", (
        "id", "case_no", "query_hash", "query_enc", "target_kind", "record_id", "entry_id", "subject_id",
        "provider_dept_id", "applicant_enc", "subject_code", "reason", "requested", "submitted_on", "created_at")),
    "repair_applications": ("信用修复申请", (
        "id", "case_no", "query_hash", "query_enc", "record_id", "subject_id", "dept_id", "applicant_enc",
        "statement", "commitment_id", "submitted_on", "created_at")),
    "complaints": ("投诉举报", (
        "id", "case_no", "query_hash", "query_enc", "category", "target_name", "target_code", "content",
        "reporter_enc", "reporter_consents", "submitted_on", "created_at")),
    "commitments": ("信用承诺", (
        "id", "commitment_no", "type_code", "subject_id", "signer_name", "signer_uscc", "matter",
        "acceptor_dept_id", "record_id", "title", "legal_basis", "text", "text_sha256", "signed_at", "signed_on")),
    "check_logs": ("核查日志", (
        "id", "at", "dept_id", "user_id", "matter", "matter_type", "purpose", "subject_id", "query_kind",
        "query_ref", "result", "batch_id", "seq")),
}


class DigestMismatch(RuleViolation):
    pass


def _canonical(value: Any) -> Any:
    # A timestamp reads back in the connection's time zone on PostgreSQL: compare instants, not wall clocks.
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return value


def _table_mac(session: Session, name: str, upto: int, gen: int) -> tuple[int, str]:
    table = Base.metadata.tables[name]
    cols = [table.c[c] for c in COVERED[name][1]]
    mac = hmac.new(crypto.purpose_key("audit", gen), f"digest|{name}".encode(), hashlib.sha256)
    rows = 0
    result = session.execute(select(*cols).where(table.c.id <= upto).order_by(table.c.id)
                             .execution_options(yield_per=5000))
    for row in result:
        rows += 1
        mac.update(json.dumps([_canonical(v) for v in row], ensure_ascii=False, sort_keys=True,
                              default=str).encode("utf-8"))
        mac.update(b"\n")
    return rows, mac.hexdigest()


def take(session: Session) -> dict[str, dict[str, Any]]:
    """The digest of every covered table as it is now (in this transaction)."""
    gen = crypto.current_generation()
    out: dict[str, dict[str, Any]] = {}
    for name in COVERED:
        table = Base.metadata.tables.get(name)
        if table is None:
            continue
        upto = session.execute(select(table.c.id).order_by(table.c.id.desc()).limit(1)).scalar() or 0
        rows, mac = _table_mac(session, name, upto, gen)
        out[name] = {"upto": upto, "rows": rows, "mac": mac, "gen": gen}
    return out


def check(session: Session) -> str | None:
    """None when the covered tables match the latest signed digest (or none was taken yet), else the reason."""
    from xinyong.core.audit import AuditEvent

    latest = session.execute(select(AuditEvent.seq, AuditEvent.after).where(AuditEvent.action == "audit.anchor")
                             .order_by(AuditEvent.seq.desc()).limit(1)).first()
    if latest is None or not latest.after:
        return None
    tables: dict[str, dict[str, Any]] = json.loads(latest.after).get("tables", {})
    for name, signed in tables.items():
        label = COVERED.get(name, (name,))[0]
        if name not in COVERED or name not in Base.metadata.tables:
            return f"第 {latest.seq} 号审计事件签名了未知的表 {name}：请用与数据库相同版本的程序校验"
        rows, mac = _table_mac(session, name, int(signed["upto"]), int(signed["gen"]))
        if rows != signed["rows"]:
            return (f"{label}（{name}）在第 {latest.seq} 号审计事件签名时有 {signed['rows']} 行（编号至 {signed['upto']}），"
                    f"现在只剩 {rows} 行：有行被直接从数据库删除")
        if not hmac.compare_digest(mac, str(signed["mac"])):
            return (f"{label}（{name}）的内容与第 {latest.seq} 号审计事件中签名的摘要不符："
                    "有行被绕过平台直接修改。请从备份核对该表并报告信用办")
    return None
