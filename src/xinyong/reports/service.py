"""Public credit information reports: gather the content, issue (number, hashes, verification code), verify.

Report number: "XY" + issue date (Asia/Shanghai, YYYYMMDD) + 12 random characters (Crockford base32, 60 bits):
numbers follow no sequence, so they tell nothing about how many reports were issued or for whom.
Verification code: the first 16 hex characters of HMAC-SHA256 under the report key (core/crypto.py, derived
for "report") over the report number, the SHA-256 of the report's canonical content, the subject (id and
printed code) and the issue time; printed in the report as XXXX-XXXX-XXXX-XXXX. Only the platform can compute it, and it is never shown again: verifying a copy
(/verify, GET /api/v1/reports/<number>) asks for the number AND the printed code; a wrong pair answers exactly
as an unknown number does, so neither the subject nor the existence of a report leaks. With the right pair
the answer says whether the stored row is intact (its seal holds) and whether an uploaded PDF has the
stored SHA-256 (byte-for-byte the file we issued).
The code cannot cover the PDF's own SHA-256 (it is printed inside the PDF), so the stored row carries a seal:
an HMAC under the report key over the number, subject, issue time, validity, content hash, PDF hash and code.
Verification trusts a row only when its seal holds, so neither the stored PDF hash nor the code can be changed
in the database to fit a forged copy. A key rotation re-seals every report after checking its old seal.
"""

from __future__ import annotations

import hmac
import json
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.catalog.service import get_catalog
from xinyong.core import crypto
from xinyong.core.db import utcnow
from xinyong.core.errors import NotFound
from xinyong.core.settings import SecretKeyMissing, get_settings
from xinyong.records import service as records
from xinyong.reports.models import Report
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Subject
from xinyong.ui.sections import SubjectSection, subject_sections

CST = ZoneInfo("Asia/Shanghai")
VALIDITY_DAYS = 7
VERIFY_PURPOSE = "report_verify"

# Which fields each item shows in the report (catalog field names); other items show their first fields.
COLUMNS: dict[str, tuple[str, ...]] = {
    "admin_license": ("decision_no", "certificate_name", "content", "authority", "decision_date", "valid_to"),
    "admin_penalty": ("decision_no", "violation_type", "penalty_type", "penalty_content", "fine_amount", "authority",
                      "decision_date"),
    "dishonest_judgment_debtor": ("case_no", "court", "obligation", "performance", "publish_date"),
    "honour": ("honour_name", "level", "awarding_unit", "award_date", "valid_to"),
    "credit_commitment": ("commitment_type", "content", "acceptor", "commitment_date", "performance"),
    "business_abnormal": ("decision_no", "list_reason", "authority", "list_date", "removal_date"),
}
_IDENTITY_ROLES = {"subject_name", "subject_kind", "uscc", "reg_no", "org_code", "tax_no", "inst_cert_no",
                   "social_org_no", "id_type", "id_no", "legal_rep_id_type", "legal_rep_id_no", "source_dept",
                   "source_dept_uscc", "authority_uscc", "note"}
# (section key, title, item codes, empty text) in the order of the national report.
LAYOUT: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("licences", "行政许可信息", ("admin_license",)),
    ("penalties", "行政处罚信息（公示期内）", ("admin_penalty",)),
    ("court_list", "失信被执行人信息", ("dishonest_judgment_debtor",)),
    ("honours", "诚实守信相关荣誉信息", ("honour",)),
    ("record_commitments", "信用承诺信息", ("credit_commitment",)),
)
STATEMENT = (
    "本报告依据《全国公共信用信息基础目录》及本平台公共信用信息目录，汇集截至出具时间本平台归集的公共信用信息，"
    "仅包括依法可以公开（自然人报告为部门间共享）且处于公示期内的信息；已届满、已修复、已撤销的信息不在报告中。",
    "本报告不包括：未归集到本平台的信息；金融信贷等市场信用信息；依法不予公开的信息；对信用主体的评分、评级或任何综合评价。",
    "轻微违法行为的行政处罚信息原则上不予公示；一般、严重行政处罚信息按《信用修复管理办法》规定的公示期限公示。",
    "报告内容以出具时间为准，有效期为出具之日起7日；信息如有变化，以平台最新公示为准。",
    "标注“异议处理中”的信息，信用主体已提出异议，正在核实。对报告内容有异议的，可通过本平台提出异议申诉或申请信用修复。",
    "核验方法：扫描二维码或访问本平台“报告验真”页面，输入报告编号，核对验证码；可上传PDF文件比对文件哈希。",
)


def now_cst() -> datetime:
    return utcnow().astimezone(CST)


def _cell(item: Any, values: dict[str, Any], name: str) -> tuple[str, str]:
    field = item.field(name)
    return (field.label if field else name), str(values.get(name, "") or "")


def record_rows(item: Any, recs: list[Any]) -> tuple[list[str], list[dict[str, Any]]]:
    names = COLUMNS.get(item.code) or tuple(f.name for f in item.fields if f.role not in _IDENTITY_ROLES)[:5]
    columns: list[str] = []
    rows = []
    for rec in recs:
        values = records.record_values(rec)
        cells = dict(_cell(item, values, n) for n in names)
        if item.code == "admin_penalty":
            cells["公示截止"] = (rec.publish_until - timedelta(days=1)).isoformat() if rec.publish_until else "长期"
        if not columns:
            columns = list(cells)
        rows.append({"cells": cells, "badge": "异议处理中" if rec.state == "objection" else None})
    if not columns:
        columns = [_cell(item, {}, n)[0] for n in names]
    return columns, rows


def report_sections(session: Session, subject: Subject, audience: str, today: date,
                    items: frozenset[str] | None = None) -> list[SubjectSection]:
    catalog = get_catalog()
    visible = records.visible_records(session, subject.id, audience, today)
    if items is not None:  # an authorised report shows only the items its grant covers
        visible = [rec for rec in visible if rec.item_code in items]
    by_item: dict[str, list[Any]] = {}
    for rec in visible:
        by_item.setdefault(rec.item_code, []).append(rec)
    out: list[SubjectSection] = []
    placed: set[str] = set()
    contributed = subject_sections(session, subject, "public", today)
    keys = {s.key for s in contributed}
    for key, title, codes in LAYOUT:
        for code in codes:
            item = catalog.find(code)
            if item is None:
                continue
            columns, rows = record_rows(item, by_item.get(code, []))
            out.append(SubjectSection(key=key, title=title, rows=rows, columns=columns))
            placed.add(code)
        if key == "court_list" and not any("list" in k for k in keys):
            out.append(SubjectSection(key="lists", title="严重失信主体名单及红名单信息", rows=[], columns=["名单", "列入日期"],
                                      empty_text="暂无"))
    out.extend(contributed)
    for code, recs in by_item.items():  # every other catalog category the subject has records in
        item = catalog.find(code)
        if code in placed or item is None:
            continue
        columns, rows = record_rows(item, recs)
        out.append(SubjectSection(key=f"item_{code}", title=f"{item.category}：{item.name}", rows=rows, columns=columns))
    return out


def report_data(session: Session, subject: Subject, *, audience: str = "public", today: date | None = None,
                issued_at: datetime | None = None, items: frozenset[str] | None = None) -> dict[str, Any]:
    issued = issued_at or now_cst()
    today = today or issued.date()
    basic = subjects.subject_out(session, subject)
    sections = report_sections(session, subject, audience, today, items)
    return {
        "issuer": get_settings().issuer,
        "title": "公共信用信息报告" + ("（自然人·部门核查专用）" if subject.kind == "natural_person" else ""),
        "issued_at": issued,
        "valid_until": issued.date() + timedelta(days=VALIDITY_DAYS - 1),
        "validity_days": VALIDITY_DAYS,
        "audience": audience,
        "subject": basic,
        "sections": sections,
        "statement": STATEMENT,
        "counts": {s.title: len(s.rows) for s in sections},
    }


def content_hash(data: dict[str, Any]) -> str:
    material = {k: v for k, v in data.items() if k not in ("report_no", "verify_code", "verify_url")}
    material["sections"] = [vars(s) for s in data["sections"]]
    return crypto.sha256_hex(json.dumps(material, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8"))


def verification_code(report_no: str, content_sha256: str, subject_id: int, subject_code: str | None,
                      issued_at: datetime) -> str:
    material = json.dumps([report_no, content_sha256, subject_id, subject_code or "", _instant(issued_at)],
                          ensure_ascii=False)
    return crypto.mac("report", "code|" + material)[:16]


def _instant(at: datetime) -> str:
    return at.astimezone(CST).isoformat(timespec="seconds")


def _seal_material(rep: Report) -> str:
    return "seal|" + json.dumps([rep.report_no, rep.subject_id, rep.subject_name, rep.subject_code or "",
                                 rep.audience, _instant(rep.issued_at), rep.valid_until.isoformat(),
                                 rep.content_sha256, rep.pdf_sha256, rep.verify_code], ensure_ascii=False)


def seal(rep: Report) -> str:
    gen = crypto.current_generation()
    return f"k{gen}.{crypto.mac('report', _seal_material(rep), gen)}"


def seal_holds(rep: Report) -> bool:
    """The stored row is what the platform issued: its seal verifies (under the key generation that made it).
    A report from before seals existed is checked by its old code, made with the lookup key of that time."""
    if not rep.seal:
        legacy = crypto.keyed_hash(f"{rep.report_no}|{rep.content_sha256}", VERIFY_PURPOSE)[:16]
        return bool(rep.verify_code) and hmac.compare_digest(legacy, rep.verify_code)
    gen = crypto.generation_of(rep.seal)
    if gen is None:
        return False
    try:
        expected = crypto.mac("report", _seal_material(rep), gen)
    except SecretKeyMissing:
        return False
    return hmac.compare_digest(rep.seal.partition(".")[2], expected)


NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
NUMBER_RANDOM_CHARS = 12


def new_report_no(issued_at: datetime) -> str:
    return f"XY{issued_at:%Y%m%d}" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_RANDOM_CHARS))


def normalise_code(code: str) -> str:
    """What a person types from the printed code ("ABCD-1234-…", spaces, lower case) as stored."""
    return "".join(ch for ch in code[:64] if ch.isalnum()).lower()


def show_code(code: str) -> str:
    code = code.upper()
    return "-".join(code[i:i + 4] for i in range(0, 16, 4))


def issue(session: Session, subject: Subject, *, requested_by: str, audience: str = "public",
          purpose: str | None = None, items: frozenset[str] | None = None,
          title: str | None = None) -> tuple[Report, bytes]:
    """Number, render and store a PDF report. Returns the stored row and the PDF bytes. `items` limits the
    records to those catalog items (an authorised report), `title` replaces the report's title."""
    from xinyong.reports import pdf

    data = report_data(session, subject, audience=audience, items=items)
    if title:
        data["title"] = title
    basic = data["subject"]
    # Whole seconds: the issue time is inside the verification code and must read back the same.
    issued_at = data["issued_at"].replace(microsecond=0)
    data["issued_at"] = issued_at
    number = new_report_no(issued_at)
    while session.scalar(select(Report.id).where(Report.report_no == number)) is not None:
        number = new_report_no(issued_at)
    rep = Report(subject_id=subject.id, subject_name=basic["name"], subject_code=basic["uscc"] or basic["id_masked"],
                 # in UTC: SQLite keeps a timestamp's wall clock and drops its zone
                 audience=audience, issued_at=issued_at.astimezone(UTC), valid_until=data["valid_until"],
                 requested_by=requested_by, purpose=purpose, report_no=number)
    rep.content_sha256 = content_hash(data)
    rep.verify_code = verification_code(number, rep.content_sha256, subject.id, rep.subject_code,
                                        rep.issued_at)
    session.add(rep)
    data.update(report_no=rep.report_no, verify_code=show_code(rep.verify_code),
                verify_url=f"{get_settings().base_url.rstrip('/')}/verify/{rep.report_no}")
    body = pdf.render(data)
    rep.pdf_sha256 = crypto.sha256_hex(body)
    rep.seal = seal(rep)
    session.flush()
    return rep, body


NOT_VERIFIED = ("报告编号或验证码不正确：请核对报告首页印制的报告编号（如 XY20260305K7Q2M9D4X1RB）和验证码"
                "（16 位，如 1A2B-3C4D-5E6F-7A8B）；仍不符的，该报告并非本平台出具，请勿采信")


def get_report(session: Session, report_no: str, code: str) -> Report:
    """The report with this number and printed code; a wrong pair is NotFound, the same as a wrong number."""
    number = report_no.strip().upper()[:40]
    given = normalise_code(code)
    rep = session.scalar(select(Report).where(Report.report_no == number)) if number and given else None
    if rep is None or not hmac.compare_digest(given.encode("ascii", "replace"), rep.verify_code.encode("ascii")):
        raise NotFound(NOT_VERIFIED)
    return rep


def verify(session: Session, report_no: str, code: str, pdf_bytes: bytes | None = None,
           today: date | None = None) -> dict[str, Any]:
    """Check a report by its number and printed code (and optionally the PDF). The code is never returned."""
    rep = get_report(session, report_no, code)
    today = today or now_cst().date()
    genuine = seal_holds(rep)
    out: dict[str, Any] = {
        "report_no": rep.report_no,
        "genuine": genuine,
        "issuer": get_settings().issuer,
        "subject": {"name": rep.subject_name, "code": rep.subject_code},
        "issued_at": rep.issued_at.astimezone(CST).isoformat(timespec="seconds"),
        "valid_until": rep.valid_until.isoformat(),
        "expired": today > rep.valid_until,
        "sha256": rep.pdf_sha256,
        "file_matches": None,
    }
    if pdf_bytes is not None:
        # The stored hash counts only while the row's seal holds: an edited row proves nothing about a copy.
        out["file_matches"] = genuine and hmac.compare_digest(crypto.sha256_hex(pdf_bytes), rep.pdf_sha256)
    return out
