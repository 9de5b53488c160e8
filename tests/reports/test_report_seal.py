"""A report's stored row is sealed under the report key: the PDF hash, subject and issue time cannot be changed
in the database to make a forged copy verify (both databases)."""

from __future__ import annotations

from typing import Any

import pytest
from check_data import DEBTOR, city
from sqlalchemy import text
from sqlalchemy.orm import Session

from xinyong.core.crypto import sha256_hex
from xinyong.reports import service


def _issue(client: Any, db: Session) -> tuple[str, bytes]:
    city(db)
    resp = client.post(f"/reports/{DEBTOR}.pdf")
    assert resp.status_code == 200
    return resp.headers["X-Report-No"], resp.content


def _code(db: Session, number: str) -> str:
    return str(db.scalar(text("SELECT verify_code FROM reports WHERE report_no = :no"), {"no": number}))


@pytest.mark.parametrize("sql", [
    "UPDATE reports SET pdf_sha256 = :forged WHERE report_no = :no",           # the hash of a forged PDF
    "UPDATE reports SET subject_name = '另一家公司' WHERE report_no = :no",
    "UPDATE reports SET issued_at = issued_at - INTERVAL '1 day' WHERE report_no = :no",
    "UPDATE reports SET verify_code = '0000000000000000' WHERE report_no = :no",
    "UPDATE reports SET seal = NULL WHERE report_no = :no",
])
def test_a_report_row_edited_in_the_database_is_not_genuine(client: Any, db: Session, backend: str, sql: str) -> None:
    number, body = _issue(client, db)
    code = _code(db, number)
    assert client.get(f"/api/v1/reports/{number}", params={"code": code}).json()["genuine"] is True
    forged = body.replace(b"%PDF", b"%PDF", 1) + b"% forged\n"
    if "INTERVAL" in sql and backend == "sqlite":
        sql = "UPDATE reports SET issued_at = datetime(issued_at, '-1 day') WHERE report_no = :no"
    db.execute(text(sql), {"no": number, "forged": sha256_hex(forged)})
    db.commit()
    resp = client.get(f"/api/v1/reports/{number}", params={"code": code})
    # an edited code no longer matches the printed one (404, as for a forgery); any other edit breaks the seal
    assert resp.status_code == 404 or resp.json()["genuine"] is False
    page = client.post("/verify", data={"report_no": number, "code": code},
                       files={"file": ("r.pdf", forged, "application/pdf")})
    assert "verify-ok" not in page.text and ("不一致" in page.text or "不正确" in page.text)


def test_the_seal_names_its_key_generation(client: Any, db: Session) -> None:
    number, _ = _issue(client, db)
    rep = service.get_report(db, number, _code(db, number))
    assert (rep.seal or "").startswith("k1.") and service.seal_holds(rep)
