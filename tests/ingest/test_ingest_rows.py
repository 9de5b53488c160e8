"""Ingesting penalty files: accepted and rejected rows, subjects, payloads, windows, lateness."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from ingest_helpers import (
    ORG_A,
    ORG_B,
    ORG_C,
    PENALTY_HEADERS,
    PERSON_ID,
    TODAY,
    counts,
    penalty_row,
    write_csv,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.core import crypto
from xinyong.core.calendar import workdays_between
from xinyong.ingest.models import Batch, BatchReject
from xinyong.records import service as records
from xinyong.records.models import Record
from xinyong.subjects.models import Subject
from xinyong.subjects.service import citizen_id_hash, id_aad


def test_clean_rows_are_accepted_with_subjects_and_masked_secrets(db: Session, ingest, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [
        penalty_row(rep_id=PERSON_ID),
        penalty_row(name="乙个体户", kind="个体工商户", uscc=ORG_C, no="德市监罚〔2026〕2号", ptype="警告", amount=""),
        penalty_row(name="李四", kind="自然人", uscc="", rep="", id_type="身份证", id_no="11010519491231002x",
                    no="德市监罚〔2026〕3号", ptype="吊销许可证件"),
    ])
    summary = ingest(path)
    assert (summary.rows, summary.accepted, summary.rejected, summary.duplicates) == (3, 3, 0, 0)
    subjects = {s.name: s for s in db.scalars(select(Subject))}
    assert subjects["德州甲有限公司"].kind == "legal_person" and subjects["德州甲有限公司"].uscc == ORG_A
    assert subjects["乙个体户"].kind == "individual_business"
    person = subjects["李四"]
    assert person.kind == "natural_person" and person.uscc is None
    assert person.id_hash == citizen_id_hash(PERSON_ID)
    assert person.id_masked == "110105********002X"
    assert crypto.decrypt(person.id_enc or "", id_aad(person.id_hash or "")) == PERSON_ID
    recs = {r.decision_no: r for r in db.scalars(select(Record))}
    first = records.record_values(recs["德市监罚〔2026〕1号"])
    assert first["legal_rep_id_no"] == "110105********002X"
    assert first["fine_amount"] == "1.5" and first["decision_date"] == "2026-03-16"
    assert records.record_secrets(recs["德市监罚〔2026〕1号"]) == {"legal_rep_id_no": PERSON_ID}
    assert records.record_secrets(recs["德市监罚〔2026〕3号"]) == {"id_no": PERSON_ID}  # lower-case x normalised
    assert recs["德市监罚〔2026〕2号"].secrets is None and recs["德市监罚〔2026〕2号"].secret_hashes is None
    hashed = records.secret_hashes_text([("id_no", PERSON_ID)])
    assert recs["德市监罚〔2026〕3号"].secret_hashes == hashed
    # Request path and ingest write the same columns: one lookup finds both kinds of record.
    found = records.find_records_by_secret(db, PERSON_ID)
    assert {r.decision_no for r in found} == {"德市监罚〔2026〕1号", "德市监罚〔2026〕3号"}
    assert [r.decision_no for r in records.find_records_by_secret(db, PERSON_ID, "id_no")] == ["德市监罚〔2026〕3号"]
    assert records.record_values(recs["德市监罚〔2026〕3号"])["id_no"] == "110105********002X"
    batch = db.get(Batch, summary.batch_id)
    assert batch is not None and batch.state == "done" and batch.accepted == 3


def test_rows_with_the_same_secrets_are_sealed_each_to_its_own_row(db: Session, ingest, tmp_path: Path) -> None:
    other = "110105194912310021"
    ingest(write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [
        penalty_row(rep_id=PERSON_ID), penalty_row(no="德市监罚〔2026〕2号", rep_id=PERSON_ID),
        penalty_row(no="德市监罚〔2026〕3号", rep_id=other),
    ]))
    recs = {r.decision_no: r for r in db.scalars(select(Record))}
    one, two, three = (recs[f"德市监罚〔2026〕{i}号"] for i in (1, 2, 3))
    assert one.secrets != two.secrets and records.record_secrets(one) == records.record_secrets(two)
    assert one.secret_hashes == two.secret_hashes == records.secret_hashes_text([("legal_rep_id_no", PERSON_ID)])
    # The sealed bytes are exactly what the request path seals.
    aad = records.secrets_aad(three.record_key, three.version)
    assert crypto.decrypt(three.secrets or "", aad) == records.secrets_json([("legal_rep_id_no", other)])
    with pytest.raises(crypto.DecryptionFailed):  # one row's ciphertext does not open as another's
        crypto.decrypt(one.secrets or "", records.secrets_aad(two.record_key, two.version))


def test_every_accepted_date_form_and_dirty_code(db: Session, ingest, tmp_path: Path) -> None:
    serial = str((date(2026, 3, 16) - date(1899, 12, 30)).days)
    forms = ["2026-03-16", "2026/3/16", "2026.3.16", "2026年3月16日", "20260316", serial, "2026-03-16 00:00:00"]
    rows = [penalty_row(no=f"德市监罚〔2026〕{i}号", decided=d) for i, d in enumerate(forms, start=1)]
    rows.append(penalty_row(uscc="９１４４０３００ 1922-03821６", no="德市监罚〔2026〕99号", amount="1,500元"))
    rows.append(penalty_row(uscc=ORG_B.lower(), no="德市监罚〔2026〕98号", amount="12,000.50"))
    summary = ingest(write_csv(tmp_path / "p.csv", PENALTY_HEADERS, rows))
    assert summary.rejected == 0, summary.rejects
    assert summary.accepted == len(rows)
    dates = {r.decision_date for r in db.scalars(select(Record))}
    assert dates == {date(2026, 3, 16)}
    payloads = {r.decision_no: records.record_values(r) for r in db.scalars(select(Record))}
    assert payloads["德市监罚〔2026〕99号"]["uscc"] == ORG_A
    assert payloads["德市监罚〔2026〕99号"]["fine_amount"] == "0.15"
    assert payloads["德市监罚〔2026〕98号"]["uscc"] == ORG_B
    assert payloads["德市监罚〔2026〕98号"]["fine_amount"] == "12000.5"
    assert any("以“元”填写，已换算为万元（1 行）" in w for w in summary.warnings)


def test_dirty_rows_are_rejected_with_row_label_reason_and_value(db: Session, ingest, tmp_path: Path) -> None:
    rows = [
        penalty_row(no="N1"),                                             # row 2: fine
        penalty_row(no="N2", decided="2026-02-30"),                       # row 3: no such date
        penalty_row(no="N3", decided="2026-04-01"),                       # row 4: in the future
        penalty_row(no="N4", uscc="914403001922038217"),                  # row 5: check character
        penalty_row(no="N5", name=""),                                    # row 6: required
        penalty_row(no="N6", ptype="罚酒"),                                # row 7: enumeration
        penalty_row(no="N7", amount="-2"),                                # row 8: negative
        penalty_row(no="N8", amount="三千"),                               # row 9: not a number
        penalty_row(no="N9", name="王五", kind="自然人", uscc="", id_no="110105194912310021"),  # row 10: ID check
        penalty_row(no="N10", decided="2026-13-01", amount="abc"),        # row 11: two reasons
        penalty_row(no="N11", kind="外星人"),                              # row 12: unknown kind
        penalty_row(no="N12", name="赵六", kind="自然人", uscc=""),         # row 13: person without ID number
    ]
    summary = ingest(write_csv(tmp_path / "p.csv", PENALTY_HEADERS, rows))
    assert (summary.rows, summary.accepted, summary.rejected) == (12, 1, 11)
    got = {(r.row, r.field): (r.reason, r.value) for r in summary.rejects}
    assert got[(3, "处罚决定日期")] == ("「处罚决定日期」不是有效日期（收到“2026-02-30”），请按 2026-03-05 格式填写",
                                     "2026-02-30")
    assert "晚于今天（2026-03-20）" in got[(4, "处罚决定日期")][0]
    assert "校验位错误" in got[(5, "行政相对人代码_1(统一社会信用代码)")][0]
    assert got[(5, "行政相对人代码_1(统一社会信用代码)")][1] == "914403001922038217"
    assert got[(6, "行政相对人名称")][0] == "「行政相对人名称」为必填项，请填写后重新报送"
    assert "“罚酒”不在可选范围内" in got[(7, "处罚类别")][0]
    assert got[(8, "罚款金额(万元)")][0] == "「罚款金额(万元)」不能为负数，请核对金额"
    assert "不是有效金额（收到“三千”）" in got[(9, "罚款金额(万元)")][0]
    reason, value = got[(10, "证件号码")]
    assert "校验码错误" in reason and value == "110105********0021"
    assert {k for k in got if k[0] == 11} == {(11, "处罚决定日期"), (11, "罚款金额(万元)")}
    assert "“外星人”无效" in got[(12, "行政相对人类别")][0]
    assert "自然人的「证件号码」为必填项" in got[(13, "证件号码")][0]
    stored = db.scalars(select(BatchReject).where(BatchReject.batch_id == summary.batch_id)).all()
    assert len(stored) == len(summary.rejects) == 12
    assert all("110105194912310021" not in (r.value or "") + (r.raw or "") for r in stored)
    assert counts(db)["records"] == 1


def test_same_file_twice_adds_nothing(db: Session, ingest, tmp_path: Path) -> None:
    rows = [penalty_row(no=f"N{i}", uscc=u) for i, u in enumerate((ORG_A, ORG_B, ORG_C))]
    rows.append(penalty_row(name="李四", kind="自然人", uscc="", id_no=PERSON_ID, no="P1"))
    path = write_csv(tmp_path / "p.csv", PENALTY_HEADERS, rows)
    first = ingest(path)
    before = counts(db)
    second = ingest(path)
    assert first.accepted == 4
    assert (second.accepted, second.duplicates, second.superseded) == (0, 4, 0)
    after = counts(db)
    assert after["records"] == before["records"] == 4
    assert after["subjects"] == before["subjects"] == 4
    assert after["batches"] == 2


def test_changed_row_in_a_later_batch_supersedes_and_keeps_history(db: Session, ingest, tmp_path: Path) -> None:
    ingest(write_csv(tmp_path / "a.csv", PENALTY_HEADERS, [penalty_row(no="N1", amount="1.5")]))
    later = ingest(write_csv(tmp_path / "b.csv", PENALTY_HEADERS, [penalty_row(no="N1", amount="2")]))
    assert (later.accepted, later.superseded, later.duplicates) == (1, 1, 0)
    old, new = db.scalars(select(Record).order_by(Record.version)).all()
    assert (old.state, old.version) == ("superseded", 1)
    assert (new.state, new.version, new.supersedes_id) == ("active", 2, old.id)
    events = records.history(db, old.id)
    assert [(e.from_state, e.to_state) for e in events] == [("active", "superseded")]
    again = ingest(write_csv(tmp_path / "c.csv", PENALTY_HEADERS, [penalty_row(no="N1", amount="2")]))
    assert (again.accepted, again.duplicates) == (0, 1)


def test_repeats_inside_one_file(db: Session, ingest, tmp_path: Path) -> None:
    rows = [penalty_row(no="N1"), penalty_row(no="N1"), penalty_row(no="N2", amount="1"),
            penalty_row(no="N2", amount="3")]
    summary = ingest(write_csv(tmp_path / "p.csv", PENALTY_HEADERS, rows))
    assert (summary.accepted, summary.duplicates, summary.superseded) == (3, 1, 1)
    n2 = db.scalars(select(Record).where(Record.decision_no == "N2").order_by(Record.version)).all()
    assert [(r.state, r.source_row) for r in n2] == [("superseded", 4), ("active", 5)]
    assert n2[1].supersedes_id == n2[0].id


def test_bulk_payload_and_hashes_equal_the_request_path(db: Session, ingest, tmp_path: Path, dept: str) -> None:
    ingest(write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [penalty_row(rep_id=PERSON_ID, ptype="罚款；没收违法所得")]))
    rec = db.scalars(select(Record)).one()
    subject = db.get(Subject, rec.subject_id)
    assert subject is not None
    values = {"subject_name": "德州甲有限公司", "subject_kind": "法人及非法人组织", "uscc": ORG_A, "legal_rep": "张三",
              "legal_rep_id_no": PERSON_ID, "decision_no": "德市监罚〔2026〕1号", "penalty_type": "罚款；没收违法所得",
              "fine_amount": "1.5", "decision_date": "2026-03-16", "authority": "德州市市场监督管理局"}
    masked = dict(values, legal_rep_id_no="110105********002X")
    assert rec.payload == records.payload_json("admin_penalty", masked)
    same = records.add_record(db, subject=subject, item_code="admin_penalty", dept_id=rec.dept_id, values=values,
                              decision_no=rec.decision_no)
    assert same.id == rec.id  # identical content hash and record key: the request path sees a duplicate
    assert (same.content_hash, same.record_key) == (rec.content_hash, rec.record_key)


def test_publication_windows_follow_the_class_rules(db: Session, ingest, tmp_path: Path) -> None:
    rows = [
        penalty_row(no="W1", ptype="罚款", decided="2026-01-31"),
        penalty_row(no="W2", ptype="警告"),
        penalty_row(no="W3", ptype="吊销许可证件", decided="2025-02-28"),
        penalty_row(no="W4", ptype="罚款", decided="2026-01-15", until="2030-01-01"),  # capped at 1 year
        penalty_row(no="W5", ptype="罚款", decided="2026-01-15", until="2026-02-01"),  # raised to 3 months
        penalty_row(no="W6", ptype="罚款；责令停产停业", decided="2026-01-15"),        # the most severe part
    ]
    ingest(write_csv(tmp_path / "p.csv", PENALTY_HEADERS, rows))
    got = {r.decision_no: (r.severity, r.publish_from, r.publish_until) for r in db.scalars(select(Record))}
    assert got["W1"] == ("一般", date(2026, 1, 31), date(2027, 1, 31))
    assert got["W2"] == ("轻微", None, None)
    assert got["W3"] == ("严重", date(2025, 2, 28), date(2028, 2, 28))
    assert got["W4"] == ("一般", date(2026, 1, 15), date(2027, 1, 15))
    assert got["W5"] == ("一般", date(2026, 1, 15), date(2026, 4, 15))
    assert got["W6"][0] == "严重"
    # the daily end-of-publication job learns each end day from the small due-date table, not from an index
    from xinyong.records.models import RecordDue

    due: dict[date, list[int]] = {}
    for day, ids in db.execute(select(RecordDue.due_on, RecordDue.ids)):
        due.setdefault(day, []).extend(json.loads(ids))
    ids = {r.decision_no: r.id for r in db.scalars(select(Record))}
    assert due == {until: [ids[no] for no, v in sorted(got.items()) if v[2] == until]
                   for until in {v[2] for v in got.values() if v[2] is not None}}


def test_lateness_counts_working_days_across_the_spring_festival(db: Session, ingest, tmp_path: Path) -> None:
    today = date(2026, 2, 27)
    rows = [penalty_row(no="L1", decided="2026-02-11"), penalty_row(no="L2", decided="2026-02-10")]
    summary = ingest(write_csv(tmp_path / "p.csv", PENALTY_HEADERS, rows), today=today)
    got = {r.decision_no: (r.report_workdays, r.late) for r in db.scalars(select(Record))}
    # Monday to Friday would count 12 and 13 days; the holiday calendar says 7 (in time) and 8 (late).
    assert got["L1"] == (workdays_between(date(2026, 2, 11), today), False) == (7, False)
    assert got["L2"] == (8, True)
    assert summary.late == 1


def test_an_item_refuses_subject_kinds_it_does_not_take(db: Session, ingest, tmp_path: Path) -> None:
    headers = ["承诺主体名称", "承诺主体类别", "统一社会信用代码", "承诺类型", "承诺事由", "承诺内容", "承诺日期", "承诺受理单位"]
    rows = [["某某", "自然人", ORG_B, "告知承诺", "申请许可", "守法经营", "2026-03-01", "行政审批局"],
            ["甲公司", "法人及非法人组织", ORG_A, "告知承诺", "申请许可", "守法经营", "2026-03-01", "行政审批局"]]
    summary = ingest(write_csv(tmp_path / "c.csv", headers, rows), item="credit_commitment")
    assert (summary.accepted, summary.rejected) == (1, 1)
    assert summary.rejects[0].row == 2
    assert "不接收自然人类主体" in summary.rejects[0].reason


def test_registration_without_code_is_rejected_and_ids_stay_masked(db: Session, ingest, tmp_path: Path) -> None:
    headers = ["名称", "统一社会信用代码", "成立日期", "备注"]
    path = write_csv(tmp_path / "r.csv", headers, [["某某", PERSON_ID, "2020-01-01", ""],
                                                   ["甲公司", ORG_A, "2020-01-01", ""]])
    summary = ingest(path, item="registration")
    assert (summary.accepted, summary.rejected) == (1, 1)
    assert summary.rejects[0].value == "110105********002X"
    assert PERSON_ID not in json.dumps(summary.model_dump(), ensure_ascii=False)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_encodings_and_messy_headers(db: Session, ingest, tmp_path: Path, encoding: str) -> None:
    headers = [h.replace("(", "（").replace(")", "）") + " " for h in PENALTY_HEADERS]
    headers[2] = "行政相对人代码＿1\n(统一社会信用代码)"
    summary = ingest(write_csv(tmp_path / "p.csv", headers, [penalty_row()], encoding=encoding))
    assert summary.accepted == 1, summary.rejects


def test_today_is_the_default_ingest_date(db: Session, dept: str, tmp_path: Path) -> None:
    from xinyong.ingest.service import ingest_file

    path = write_csv(tmp_path / "p.csv", PENALTY_HEADERS, [penalty_row(decided=TODAY.isoformat())])
    assert ingest_file(db, path, "admin_penalty", dept).accepted == 1
    db.rollback()


def test_a_chain_of_corrections_inside_one_file(db: Session, ingest, tmp_path: Path) -> None:
    rows = [penalty_row(no="N1", amount="1"), penalty_row(no="N2"), penalty_row(no="N1", amount="2"),
            penalty_row(no="N1", amount="3"), penalty_row(no="N1", amount="3")]
    summary = ingest(write_csv(tmp_path / "p.csv", PENALTY_HEADERS, rows))
    assert (summary.accepted, summary.duplicates, summary.superseded) == (4, 1, 2)
    n1 = db.scalars(select(Record).where(Record.decision_no == "N1").order_by(Record.version)).all()
    assert [(r.version, r.state, r.source_row) for r in n1] == [(1, "superseded", 2), (2, "superseded", 4),
                                                                (3, "active", 5)]
    assert [r.supersedes_id for r in n1] == [None, n1[0].id, n1[1].id]
    every = db.scalars(select(Record).order_by(Record.id)).all()
    assert [r.source_row for r in every] == [2, 3, 4, 5]  # ids follow the file's order
