"""Credit checks on the request path: one subject, few round-trips, the log written behind the request.

A check reads the subject and its records in force with one Core statement (compiled once), the list
entries through the lists domain, and, only when the subject is on a list, the measures through the joint
domain. The log row goes to checks.logbuffer; no round-trip is spent on it.

Ambiguous names: when an exact name belongs to several organisations the check cannot tell which one the
department means. It answers result "not_found" (no unique subject identified), ambiguous=true, and the
candidates (uscc, name, region) so the department checks again by code; records of none of them are shown.
The log keeps "ambiguous" as its result so the statistics can tell the two apart.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, exists, literal_column, select
from sqlalchemy.orm import Session

from xinyong.accounts.models import Department
from xinyong.catalog.service import get_catalog
from xinyong.checks import rules
from xinyong.checks.logbuffer import buffer, ids
from xinyong.core import audit, clock, crypto
from xinyong.core.db import scrub_text, utcnow
from xinyong.core.errors import Refused
from xinyong.core.identifiers import check_citizen_id, check_uscc, is_valid_uscc, normalize_code
from xinyong.core.regions import lookup_region
from xinyong.joint import service as joint
from xinyong.lists import service as lists
from xinyong.lists.models import ListEntry
from xinyong.records import rules as record_rules
from xinyong.records.models import STATE_LABELS, Record
from xinyong.records.service import payload_values
from xinyong.subjects import service as subjects
from xinyong.subjects.models import KIND_LABELS, Subject

log = logging.getLogger("xinyong.checks")

MAX_QUERY = 200
MAX_MATTER = 200
MAX_PURPOSE = 500
MAX_CANDIDATES = 20
NOT_FOUND_MESSAGE = "未找到该主体：请核对统一社会信用代码、名称（须为全称）或公民身份号码"
_ID_SHAPE = re.compile(r"\d{17}[\dX]|\d{15}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Query:
    kind: str    # uscc | citizen_id | name | invalid
    value: str   # normalised code, normalised ID, or the name as typed (trimmed)
    error: str | None = None

    def ref(self) -> str:
        """What the log keeps: never a clear ID number."""
        if self.kind == "citizen_id":
            return "hash:" + subjects.citizen_id_hash(self.value)
        if self.kind == "invalid" and _ID_SHAPE.fullmatch(normalize_code(self.value)):
            return "hash:" + crypto.keyed_hash(normalize_code(self.value), "check_query")
        # what no text column holds (NUL, a lone surrogate) shows as U+FFFD, on both databases
        return scrub_text(self.value[:MAX_QUERY])


def parse_query(raw: str) -> Query:
    """Decide whether the input is a unified code, a citizen ID number or an exact name."""
    if len(raw) == 18 and raw.isascii() and raw.isalnum():  # the common case, without normalisation
        code = raw.upper()
        if is_valid_uscc(code):
            return Query("uscc", code)
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        return Query("invalid", "", "核查对象为空：请填写统一社会信用代码、主体全称或公民身份号码")
    if len(text) > MAX_QUERY:
        return Query("invalid", text[:MAX_QUERY],
                     f"核查对象过长（{len(text)} 个字符）：统一社会信用代码为18位，主体名称不超过{MAX_QUERY}个字")
    if _CONTROL.search(text):
        return Query("invalid", text, "核查对象含有不可见的控制字符，请删除后重试")
    code = normalize_code(text)
    if len(code) == 18 and is_valid_uscc(code):
        return Query("uscc", code)
    if _ID_SHAPE.fullmatch(code):
        check = check_citizen_id(code)
        if check.ok:
            return Query("citizen_id", check.value)
        if len(code) == 18:
            uscc = check_uscc(code)
            return Query("invalid", code, f"「{code[:6]}…」不是有效的统一社会信用代码或公民身份号码：{check.error}；"
                                          f"若为统一社会信用代码：{uscc.error}")
        return Query("invalid", code, check.error)
    if len(code) == 18 and code.isascii() and code.isalnum():
        return Query("invalid", code, check_uscc(code).error)
    return Query("name", text)


def validate_matter(matter: str, matter_type: str, purpose: str) -> tuple[str, str, str]:
    matter = matter.strip()
    purpose = purpose.strip()
    if not matter:
        raise Refused("请填写核查事项（matter），如“2026年度某项目政府采购”，用于“应查必查”统计")
    if len(matter) > MAX_MATTER:
        raise Refused(f"核查事项过长（{len(matter)} 个字符），请控制在{MAX_MATTER}字以内")
    reason = rules.check_matter_type(matter_type)
    if reason:
        raise Refused(reason)
    if len(purpose) > MAX_PURPOSE:
        raise Refused(f"核查目的过长（{len(purpose)} 个字符），请控制在{MAX_PURPOSE}字以内")
    return matter, matter_type, purpose


# ---- adapters to the lists and joint domains --------------------------------------------------------

def list_entries(session: Session, subject_id: int, today: date) -> list[dict[str, Any]]:
    return list(lists.entries_for_subject(session, subject_id, audience="department", today=today))


def list_entries_bulk(session: Session, subject_ids: list[int], today: date,
                      listed: set[int] | None = None) -> dict[int, list[dict[str, Any]]]:
    """List entries of many subjects; `listed`, when given, are those of subject_ids with an entry in force."""
    if not subject_ids:
        return {}
    if listed is None:
        listed = set()
        for i in range(0, len(subject_ids), 5000):  # one query per chunk finds the few subjects on a list
            listed |= listed_subjects(session, subject_ids[i:i + 5000])
    out = {}
    for sid in sorted(listed):
        entries = lists.entries_for_subject(session, sid, audience="department", today=today)
        if entries:
            out[sid] = list(entries)
    return out


def measures(session: Session, subject_id: int, dept: Department, check_id: int, today: date) -> list[dict[str, Any]]:
    return list(joint.measures_for_check(session, subject_id=subject_id, dept=dept, check_id=check_id, today=today))


def list_facts(entries: list[dict[str, Any]]) -> list[rules.ListFact]:
    return [rules.ListFact(kind=str(e.get("kind", "")), state=str(e.get("state", "")),
                           name=str(e.get("list_name") or e.get("name") or e.get("list_type") or ""))
            for e in entries]


# ---- the subject's grade (a later domain, evaluation, provides it) -----------------------------------


@dataclass(frozen=True, slots=True)
class GradeProvider:
    """How answers carry the subject's current grade and its measures without checks importing evaluation:
    `sql(ref)` is a scalar subquery over the subject id expression `ref` (one primary-key lookup inside the
    check's own statement), `render` turns its value into the answer's "evaluation", `bulk` serves batches."""

    sql: Callable[[str], str]
    render: Callable[[Any], dict[str, Any] | None]
    bulk: Callable[[Session, list[int]], dict[int, dict[str, Any]]]


_grade_provider: list[GradeProvider] = []


def register_grade_provider(provider: GradeProvider) -> None:
    _grade_provider[:] = [provider]
    _stmts.clear()


def grade_provider() -> GradeProvider | None:
    return _grade_provider[0] if _grade_provider else None


def grade_sql(ref: str) -> str:
    provider = grade_provider()
    return provider.sql(ref) if provider else "NULL"


def render_grade(value: Any) -> dict[str, Any] | None:
    provider = grade_provider()
    return provider.render(value) if provider and value is not None else None


# ---- the hot path ----------------------------------------------------------------------------------

_s = Subject.__table__
_r = Record.__table__
_COLUMNS = (_s.c.id, _s.c.kind, _s.c.name, _s.c.uscc, _s.c.id_masked, _s.c.region_code, _s.c.status,
            _r.c.id.label("rid"), _r.c.item_code, _r.c.decision_no, _r.c.decision_date, _r.c.severity,
            _r.c.publish_from, _r.c.publish_until, _r.c.state, _r.c.version, _r.c.layout_id, _r.c.payload)
_JOIN = _s.outerjoin(_r, and_(_r.c.subject_id == _s.c.id, _r.c.state.in_(sorted(record_rules.VISIBLE_STATES))))
LIVE_LIST_STATES = ("published", "suspended")


def _listed_flag() -> Any:
    """EXISTS(list entries in force) as a column, so a subject on no list costs no call to the lists domain."""
    entries = ListEntry.__table__
    return (exists().where(entries.c.subject_id == _s.c.id, entries.c.state.in_(LIVE_LIST_STATES))).label("listed")


def listed_subjects(session: Session, subject_ids: list[int]) -> set[int]:
    entries = ListEntry.__table__
    if not subject_ids:
        return set()
    stmt = select(entries.c.subject_id).where(entries.c.subject_id.in_(subject_ids),
                                              entries.c.state.in_(LIVE_LIST_STATES)).distinct()
    return set(session.scalars(stmt))


def _statements() -> dict[str, Any]:
    # Built once: SQLAlchemy caches the compiled form of a statement object it sees again.
    cols: tuple[Any, ...] = (*_COLUMNS, _listed_flag(), literal_column(grade_sql("subjects.id")).label("grade"))
    return {
        "uscc": select(*cols).select_from(_JOIN).where(_s.c.uscc == bindparam("q")),
        "name": (select(*cols).select_from(_JOIN)
                 .where(_s.c.name == bindparam("q"), _s.c.kind != "natural_person").order_by(_s.c.id)),
        "id": select(*cols).select_from(_JOIN).where(_s.c.id == bindparam("q")),
    }


_stmts: dict[str, Any] = {}


def statement(kind: str) -> Any:
    if not _stmts:
        _stmts.update(_statements())
    return _stmts[kind]


# what subject_brief() reads, for callers holding plain tuples (checks/fast.py)
SubjectRow = namedtuple("SubjectRow", "id kind name uscc id_masked region_code status")


def subject_brief(row: Any) -> dict[str, Any]:
    region = lookup_region(row.region_code) if row.region_code else None
    person = row.kind == "natural_person"
    return {
        "id": row.id,
        "uscc": row.uscc,
        "name": mask_name(row.name) if person else row.name,
        "kind": row.kind,
        "kind_label": KIND_LABELS.get(row.kind, row.kind),
        "id_masked": row.id_masked,
        "region_code": row.region_code,
        "region": region.full_name if region else None,
        "status": row.status,
    }


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(1, len(name) - 1) if name else name


def record_brief(session: Session | None, row: Any, item: Any) -> dict[str, Any]:
    values = payload_values(session, row.layout_id, row.payload)
    if row.kind == "natural_person":  # a person's name is shown masked, like the ID number
        named = item.field_by_role("subject_name")
        if named is not None and named.name in values:
            values[named.name] = mask_name(str(values[named.name]))
    return {
        "id": row.rid,
        "item": row.item_code,
        "item_name": item.name,
        "category": item.category,
        "disclosure": item.disclosure,
        "decision_no": row.decision_no,
        "decision_date": row.decision_date.isoformat() if row.decision_date else None,
        "severity": row.severity,
        "publish_from": row.publish_from.isoformat() if row.publish_from else None,
        "publish_until": row.publish_until.isoformat() if row.publish_until else None,
        "state": row.state,
        "state_label": STATE_LABELS.get(row.state, row.state),
        "under_objection": row.state == "objection",
        "values": values,  # field names as in the catalog (GET /api/v1/catalog gives their Chinese labels)
    }


_catalog: tuple[float, Any] = (0.0, None)
CATALOG_RECHECK_SECONDS = 5.0


def catalog() -> Any:
    """get_catalog() resolves the configuration path on every call (file-system calls); a check asks for it
    once per CATALOG_RECHECK_SECONDS."""
    global _catalog
    now = time.monotonic()
    if _catalog[1] is None or now - _catalog[0] > CATALOG_RECHECK_SECONDS:
        _catalog = (now, get_catalog())
    return _catalog[1]


def _visible(session: Session | None, rows: Sequence[Any],
             today: date) -> tuple[list[dict[str, Any]], list[rules.RecordFact]]:
    catalog_ = catalog()
    out: list[dict[str, Any]] = []
    facts: list[rules.RecordFact] = []
    for row in rows:
        if row.rid is None:
            continue
        item = catalog_.find(row.item_code)
        if item is None or not record_rules.visible(row.state, item.disclosure, row.publish_from,
                                                    row.publish_until, "department", today):
            continue
        brief = record_brief(session, row, item)
        out.append(brief)
        grade = brief["values"].get("rating") if row.item_code in rules.RATED_ITEMS else None
        facts.append(rules.RecordFact(row.item_code, row.state, row.publish_from, row.publish_until,
                                      row.decision_date, grade))
    out.sort(key=lambda r: (r["decision_date"] or "", r["id"]), reverse=True)
    return out, facts


def prepare(subject: str, matter: str, matter_type: str, purpose: str) -> tuple[Query, str, str, str]:
    """Validate a check request; raises Refused with a Chinese reason."""
    matter, matter_type, purpose = validate_matter(matter, matter_type, purpose)
    query = parse_query(subject)
    if query.error:
        raise Refused(query.error)
    if query.kind == "citizen_id" and not purpose:
        raise Refused("核查自然人须填写核查目的（purpose），以符合个人信息处理的必要性要求")
    return query, matter, matter_type, purpose


def check_one(session: Session, *, dept: Department, subject: str, matter: str, matter_type: str,
              purpose: str = "", today: date | None = None, user_id: int | None = None) -> dict[str, Any]:
    """Check one subject for a department and log it. Raises Refused on unusable input."""
    query, matter, matter_type, purpose = prepare(subject, matter, matter_type, purpose)
    if query.kind in ("uscc", "name"):
        rows = session.execute(statement(query.kind), {"q": query.value}).all()
    else:
        person = subjects.find_by_citizen_id(session, query.value)
        rows = session.execute(statement("id"), {"q": person.id}).all() if person is not None else []
    return answer(session, rows, query, dept=dept, matter=matter, matter_type=matter_type, purpose=purpose,
                  today=today or clock.today(), user_id=user_id)


def answer(session: Session | None, rows: Sequence[Any], query: Query, *, dept: Department, matter: str,
           matter_type: str, purpose: str, today: date, user_id: int | None) -> dict[str, Any]:
    """The check's answer from the subject-and-records rows; logs it. A session is needed only when the
    subject is on a list (lists and measures) or is a natural person (audit)."""
    check_id = ids.next_id()
    subject_ids = list(dict.fromkeys(row.id for row in rows))
    out: dict[str, Any] = {"check_id": check_id, "subject": None, "candidates": [], "ambiguous": False,
                           "records": [], "lists": [], "measures": [], "reasons": [], "message": None,
                           "evaluation": None}
    subject_id: int | None = None
    logged: str
    if len(subject_ids) > 1:
        seen = {row.id: row for row in rows}
        out["candidates"] = [{"uscc": r.uscc, "name": r.name, "region": subject_brief(r)["region"],
                              "status": r.status} for r in list(seen.values())[:MAX_CANDIDATES]]
        out["ambiguous"] = True
        out["message"] = f"名称「{query.value}」对应 {len(subject_ids)} 个主体，请改用统一社会信用代码核查"
        result: str = "not_found"
        logged = "ambiguous"
    elif not subject_ids:
        result = logged = "not_found"
        out["message"] = NOT_FOUND_MESSAGE
    else:
        subject_id = subject_ids[0]
        out["subject"] = subject_brief(rows[0])
        out["evaluation"] = render_grade(getattr(rows[0], "grade", None))
        out["records"], facts = _visible(session, rows, today)
        if rows[0].listed and session is not None:
            out["lists"] = list_entries(session, subject_id, today)
            if out["lists"]:
                out["measures"] = measures(session, subject_id, dept, check_id, today)
        verdict = rules.classify(True, facts, list_facts(out["lists"]), today)
        result = logged = verdict.result
        out["reasons"] = list(verdict.reasons)
        if query.kind == "citizen_id" and session is not None:
            audit.record(session, actor=f"dept:{dept.code}", action="check.person", entity="subject",
                         entity_id=subject_id, after={"id_masked": out["subject"]["id_masked"], "check_id": check_id,
                                                      "matter": matter, "purpose": purpose, "result": result})
    out["result"] = result
    out["result_label"] = rules.RESULT_LABELS[logged]
    buffer.add((check_id, utcnow(), dept.id, user_id, matter, matter_type, purpose, subject_id, query.kind,
                query.ref(), logged, None, None))
    return out
