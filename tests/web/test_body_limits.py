"""Request bodies are limited per route before they are read (SQLite and PostgreSQL): 413 in Chinese."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from upload_support import chinese
from xinyong.checks.models import BatchCheck
from xinyong.commitments.models import Commitment
from xinyong.core.settings import get_settings
from xinyong.web import bodylimit


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b"x" * piece


def _problem_413(resp: Any) -> str:
    assert resp.status_code == 413, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["title"] == "内容过大" and chinese(body["detail"])
    return str(body["detail"])


def test_every_route_has_a_limit_and_uploads_get_the_configured_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "max_upload_mb", 7)
    upload = bodylimit.rule_for("POST", "/api/v1/batches")
    assert upload.limit() == 7 * bodylimit.MB
    assert bodylimit.rule_for("POST", "/admin/checks/batch").limit() == 7 * bodylimit.MB
    assert bodylimit.rule_for("POST", "/api/v1/list-entries").limit() == bodylimit.DEFAULT_BYTES
    assert bodylimit.rule_for("POST", "/commitments/new").limit() == bodylimit.ANONYMOUS_BYTES
    assert bodylimit.rule_for("POST", "/objections/OB2026000001").limit() == bodylimit.ANONYMOUS_BYTES
    assert bodylimit.rule_for("POST", "/admin/login").limit() == bodylimit.ANONYMOUS_BYTES
    assert bodylimit.rule_for("GET", "/api/v1/batches/1").limit() == bodylimit.ANONYMOUS_BYTES
    assert bodylimit.rule_for("DELETE", "/api/v1/webhooks/1").limit() == bodylimit.ANONYMOUS_BYTES
    attach = bodylimit.rule_for("POST", "/objections/new").limit()
    assert bodylimit.ANONYMOUS_BYTES < attach < bodylimit.rule_for("POST", "/api/v1/objections").limit()


def test_json_endpoint_over_1_mb_is_413_by_declared_length(client: Any, dept_key: tuple[str, str]) -> None:
    headers = {"Authorization": f"Bearer {dept_key[1]}", "content-type": "application/json"}
    body = b'{"subject": "' + b"x" * (bodylimit.DEFAULT_BYTES + 10) + b'"}'
    detail = _problem_413(client.post("/api/v1/list-entries", content=body, headers=headers))
    assert "1 MB" in detail


def test_chunked_body_without_length_is_cut_at_the_limit(client: Any, db: Session, dept_key: tuple[str, str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "max_upload_mb", 1)
    headers = {"Authorization": f"Bearer {dept_key[1]}", "content-type": "application/json"}
    resp = client.post("/api/v1/checks/batch", content=_chunks(3 * bodylimit.MB), headers=headers)
    assert "1 MB" in _problem_413(resp)
    assert db.scalar(select(func.count()).select_from(BatchCheck)) == 0


def test_anonymous_form_gets_the_smallest_limit(client: Any, db: Session) -> None:
    form = {"type": "general", "uscc": "91371402MA3C5X0Q3H", "signer_name": "张三",
            "matter": "x" * (bodylimit.ANONYMOUS_BYTES + 1), "agree": "1"}
    resp = client.post("/commitments/new", data=form, headers={"accept": "text/html"})
    assert resp.status_code == 413 and "64 KB" in resp.text and "内容过大" in resp.text
    assert db.scalar(select(func.count()).select_from(Commitment)) == 0
    lookup = client.post("/objections/OB2026000001", content=_chunks(200 * 1024),
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert "64 KB" in _problem_413(lookup)


def test_a_body_on_a_get_is_refused_before_it_is_read(client: Any) -> None:
    resp = client.request("GET", "/healthz", content=b"x" * (bodylimit.ANONYMOUS_BYTES + 1))
    _problem_413(resp)
    assert client.get("/healthz").status_code == 200
