"""Credit commitments: templates, signing, the subject section, fulfilment and breach (→ a credit record)."""

from __future__ import annotations

from datetime import date
from itertools import product
from typing import Any

import pytest
from sqlalchemy.orm import Session

from due_process_support import count_rows, org, sign_in, world
from xinyong.commitments import rules
from xinyong.commitments.config import templates
from xinyong.commitments.models import Commitment
from xinyong.commitments.rules import State
from xinyong.core.errors import Forbidden, Refused, RuleViolation
from xinyong.records.models import Record
from xinyong.records.service import record_values


def test_every_type_has_a_template_with_text_and_legal_basis() -> None:
    tpls = templates()
    assert {"notice", "voluntary", "industry", "repair"} <= set(tpls)
    for t in tpls.values():
        assert t.legal_basis and t.title and "{subject_name}" in t.text and "{uscc}" in t.text


@pytest.mark.parametrize(("current", "to"), list(product(State, State)))
def test_every_pair_of_states(current: State, to: State) -> None:
    if to in rules.TRANSITIONS[current]:
        rules.check_transition(current, to)
    else:
        with pytest.raises(RuleViolation):
            rules.check_transition(current, to)


@pytest.mark.parametrize(("office", "acceptor", "has_acceptor", "ok"), [
    (False, True, True, True), (True, False, True, False), (False, False, True, False),
    (True, False, False, True), (False, False, False, False),
])
def test_who_records_the_outcome(office: bool, acceptor: bool, has_acceptor: bool, ok: bool) -> None:
    if ok:
        rules.check_recorder(office, acceptor, has_acceptor)
    else:
        with pytest.raises(Forbidden):
            rules.check_recorder(office, acceptor, has_acceptor)


def test_rendering_refuses_missing_values_and_hash_is_stable() -> None:
    with pytest.raises(Refused) as exc:
        rules.render("{subject_name}承诺{matter}", {"subject_name": "某公司", "matter": " "})
    assert "matter" in exc.value.detail
    text = rules.render("{subject_name}承诺{matter}", {"subject_name": "某公司", "matter": "按时履约"})
    assert text == "某公司承诺按时履约" and rules.text_hash(text) == rules.text_hash("某公司承诺按时履约")


def test_sign_publish_and_breach_becomes_a_credit_record(client: Any, db: Session) -> None:
    w = world(db)
    subject = org(db)
    db.commit()
    sign_in(client, db, subject)
    body = {"type": "notice", "uscc": subject.uscc, "signer_uscc": subject.uscc, "signer_name": "张某某",
            "matter": "食品经营许可证核发（证明事项：场所产权证明）", "acceptor": "SCJG"}
    r = client.post("/api/v1/commitments", json=body)
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["commitment_no"].startswith("CN") and c["state"] == "signed" and subject.name in c["text"]
    assert c["text_sha256"] == rules.text_hash(c["text"]) and c["acceptor"] == w.scjg.name
    page = client.get(f"/subjects/{subject.uscc}")
    if page.status_code == 200:  # the portal renders registered sections
        assert "信用承诺" in page.text and c["commitment_no"] in page.text
    # only the accepting department records the outcome
    bad = client.post(f"/api/v1/commitments/{c['commitment_no']}/outcome",
                      json={"outcome": "breached", "note": "承诺不实"}, headers=w.auth("sw"))
    assert bad.status_code == 403 and count_rows(db, Record) == 0
    r = client.post(f"/api/v1/commitments/{c['commitment_no']}/outcome",
                    json={"outcome": "breached", "note": "现场核查发现场所产权证明不实", "on": "2026-03-10"},
                    headers=w.auth("scjg"))
    assert r.status_code == 200, r.text
    rec = db.get(Record, r.json()["breach_record_id"])
    assert rec.item_code == "credit_commitment" and rec.decision_date == date(2026, 3, 10)
    payload = record_values(rec)
    assert payload["performance"] == "违诺" and payload["commitment_type"] == "证明事项告知承诺"
    again = client.post(f"/api/v1/commitments/{c['commitment_no']}/outcome",
                        json={"outcome": "fulfilled", "note": "补录"}, headers=w.auth("scjg"))
    assert again.status_code == 409


def test_signing_refusals(client: Any, db: Session) -> None:
    world(db)
    subject, other = org(db), org(db)
    db.commit()
    sign_in(client, db, subject)
    base = {"type": "notice", "uscc": subject.uscc, "signer_uscc": subject.uscc, "signer_name": "张某某",
            "matter": "某审批事项"}
    r = client.post("/api/v1/commitments", json=base)
    assert r.status_code == 422 and "受理部门" in r.json()["detail"]
    r = client.post("/api/v1/commitments", json={**base, "acceptor": "SCJG", "signer_uscc": other.uscc})
    assert r.status_code == 422 and "须与承诺主体一致" in r.json()["detail"]
    r = client.post("/api/v1/commitments", json={**base, "type": "nonsense"})
    assert r.status_code == 404 and "承诺类型" in r.json()["detail"]
    r = client.post("/api/v1/commitments", json={**base, "type": "repair"})
    assert r.status_code == 422 and "record_id" in r.json()["detail"]
    assert count_rows(db, Commitment) == 0


def test_voluntary_commitment_outcome_by_the_office(client: Any, db: Session) -> None:
    w = world(db)
    subject = org(db)
    db.commit()
    sign_in(client, db, subject)
    c = client.post("/api/v1/commitments", json={"type": "voluntary", "uscc": subject.uscc,
                                                 "signer_uscc": subject.uscc, "signer_name": "李某",
                                                 "matter": "不销售过期食品"}).json()
    r = client.post(f"/api/v1/commitments/{c['commitment_no']}/outcome", json={"outcome": "fulfilled",
                                                                             "note": "年度核查履约"},
                    headers=w.auth("office"))
    assert r.status_code == 200 and r.json()["state_label"] == "已履约"
