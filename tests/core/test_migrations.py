"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text

from xinyong import db_models
from xinyong.core.db import Base
from xinyong.core.migrate import alembic_config, is_managed, upgrade
from xinyong.core.settings import reset_settings
from xinyong.records import rules

_ = db_models
PG_ADMIN_URL = os.environ.get("XINYONG_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database that has never seen create_all: SQLite file or a new PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    name = f"xinyong_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _name(diff: object) -> str | None:
    entry = diff[0] if isinstance(diff, list) else diff
    obj = entry[1] if isinstance(entry, tuple) and len(entry) > 1 else None
    return getattr(obj, "name", None)


def test_upgrade_head_builds_the_schema_the_models_describe(fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_DATABASE_URL", fresh_url)
    reset_settings()
    try:
        upgrade()
        engine = create_engine(fresh_url)
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = [d for d in compare_metadata(ctx, Base.metadata) if is_managed(_name(d))]
            tables = set(inspect(conn).get_table_names())
        engine.dispose()
        assert diff == []
        assert {"subjects", "records", "batches", "list_entries", "objections", "audit_events"} <= tables
    finally:
        monkeypatch.undo()
        reset_settings()


def test_secrets_move_from_their_own_table_into_the_record(fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Upgrading a database that has record_secrets rows (revision 405aa4a2b032) keeps every value."""
    from xinyong.core import crypto
    from xinyong.records.service import record_secrets

    monkeypatch.setenv("XINYONG_DATABASE_URL", fresh_url)
    reset_settings()
    try:
        upgrade("405aa4a2b032")
        engine = create_engine(fresh_url)
        hash_of = crypto.hasher("record_secret")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO records (id, subject_id, item_code, dept_id, record_key, content_hash, state, version, "
                "late, payload, created_at) VALUES (:id, 1, 'admin_penalty', 1, :key, 'h', 'active', 1, false, "
                "'{}', CURRENT_TIMESTAMP)"), [{"id": 1, "key": "k1"}, {"id": 2, "key": "k2"}])
            # stored in the old order (id_no before legal_rep_id_no); the catalog order puts the representative first
            conn.execute(text("INSERT INTO record_secrets (record_id, field, value_hash, value_enc) "
                              "VALUES (:r, :f, :h, :e)"), [
                {"r": 1, "f": "id_no", "h": hash_of("11010519491231002X"), "e": crypto.legacy_encrypt("11010519491231002X")},
                {"r": 1, "f": "legal_rep_id_no", "h": hash_of("371402195710099968"),
                 "e": crypto.legacy_encrypt("371402195710099968")}])
        upgrade("7c4e2a91d5b0")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, secrets, secret_hashes FROM records ORDER BY id")).all()
            tables = set(inspect(conn).get_table_names())
        engine.dispose()
        assert "record_secrets" not in tables
        (_, sealed, hashes), (_, none_sealed, none_hashes) = rows
        assert (none_sealed, none_hashes) == (None, None)
        assert "11010519491231002X" not in sealed
        values = record_secrets(type("R", (), {"secrets": sealed, "record_key": "k1", "version": 1})())  # type: ignore[arg-type]
        assert values == {"legal_rep_id_no": "371402195710099968", "id_no": "11010519491231002X"}
        assert list(values) == ["legal_rep_id_no", "id_no"]
        assert hashes == (f"legal_rep_id_no:{hash_of('371402195710099968')} "
                          f"id_no:{hash_of('11010519491231002X')}")
    finally:
        monkeypatch.undo()
        reset_settings()


PERSON = "11010519491231002X"
ORG = "914403001922038216"


def _object(values: dict[str, str]) -> str:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def _old_records() -> list[dict[str, object]]:
    """Records as revision 7c4e2a91d5b0 wrote them: payload objects (catalog order, no empty values), full
    64-digit secret hashes, record keys of rows without a decision number made of the object's hash."""
    from xinyong.core import crypto
    from xinyong.records import rules

    hash_of = crypto.hasher("record_secret")
    penalty = {"subject_name": "德州甲有限公司", "uscc": ORG, "legal_rep_id_no": "110105********002X",
               "decision_no": "德市监罚〔2026〕1号", "penalty_type": "罚款", "fine_amount": "1.5",
               "decision_date": "2026-03-16", "note": "含\"引号\"与\\"}
    rating = {"subject_name": "德州甲有限公司", "uscc": ORG, "rating_year": "2025", "rating": "D",
              "rating_date": "2026-03-01"}
    person = {"subject_name": "李四", "rating_year": "2025", "rating": "B"}
    extra = {"subject_name": "德州甲有限公司", "uscc": ORG, "old_field": "旧值"}  # a field no longer in the catalog
    rows = []
    for rid, (subject_id, item, decision_no, values) in enumerate([
            (1, "admin_penalty", "德市监罚〔2026〕1号", penalty), (1, "tax_credit_rating", None, rating),
            (2, "tax_credit_rating", None, person), (1, "registration", ORG, extra)], start=1):
        text = _object(values)
        digest = rules.content_hash(item, text)
        key = rules.record_key(1, item, decision_no, ORG if subject_id == 1 else "ab" * 32, digest)
        rows.append({"id": rid, "subject_id": subject_id, "item_code": item, "key": key, "hash": digest,
                     "no": decision_no, "payload": text, "secrets": None, "hashes": None})
    rows[0]["secrets"] = crypto.legacy_encrypt(_object({"legal_rep_id_no": PERSON}))
    rows[0]["hashes"] = f"legal_rep_id_no:{hash_of(PERSON)}"
    return rows


def test_payloads_become_positional_with_the_same_values(fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Upgrading records written as JSON objects (revision 7c4e2a91d5b0): the values decode the same, the hashes
    and keys are what the new code computes (the same record sent again is a duplicate), lookups by secret
    still work."""
    from sqlalchemy.orm import Session

    from xinyong.catalog.service import get_catalog
    from xinyong.records import service as records
    from xinyong.records.models import Record
    from xinyong.subjects.models import Subject

    monkeypatch.setenv("XINYONG_DATABASE_URL", fresh_url)
    reset_settings()
    old = _old_records()
    try:
        upgrade("7c4e2a91d5b0")
        engine = create_engine(fresh_url)
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO subjects (id, kind, name, uscc, id_hash, status, created_at, updated_at) VALUES "
                "(1, 'legal_person', '德州甲有限公司', :uscc, NULL, '存续', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), "
                "(2, 'natural_person', '李四', NULL, :h, '正常', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                {"uscc": ORG, "h": "ab" * 32})
            conn.execute(text(
                "INSERT INTO records (id, subject_id, item_code, dept_id, record_key, content_hash, decision_no, state, "
                "version, late, payload, secrets, secret_hashes, created_at) VALUES (:id, :subject_id, :item_code, 1, "
                ":key, :hash, :no, 'active', 1, false, :payload, :secrets, :hashes, CURRENT_TIMESTAMP)"), old)
        upgrade()
        with Session(engine) as session:
            migrated = {r.id: r for r in session.scalars(select(Record).order_by(Record.id))}
            for row in old:
                rec = migrated[int(row["id"])]  # type: ignore[call-overload]
                assert records.record_values(rec) == json.loads(str(row["payload"]))
                assert rec.content_hash == rules.content_hash(rec.item_code, rec.payload)
            penalty, rating, person, extra = (migrated[i] for i in (1, 2, 3, 4))
            assert penalty.payload == records.payload_json("admin_penalty", json.loads(str(old[0]["payload"])))
            assert penalty.record_key == old[0]["key"]  # made of the decision number: unchanged
            assert rating.record_key != old[1]["key"]
            assert records.layout_fields(session, extra.layout_id)[-1] == "old_field"
            # the same content through the request path is a duplicate, not a new record or version
            for rec, values in ((penalty, {**json.loads(str(old[0]["payload"])), "legal_rep_id_no": PERSON}),
                                (rating, json.loads(str(old[1]["payload"]))), (person, json.loads(str(old[2]["payload"])))):
                subject = session.get(Subject, rec.subject_id)
                assert subject is not None
                same = records.add_record(session, subject=subject, item_code=rec.item_code, dept_id=1, values=values,
                                          decision_no=rec.decision_no)
                assert same.id == rec.id
            assert penalty.layout_id == records.layout_for(session, get_catalog().get("admin_penalty"))
            digest = crypto_hash(PERSON)
            assert penalty.secret_hashes == f"legal_rep_id_no:{digest[:32]}"
            assert [r.id for r in records.find_records_by_secret(session, PERSON)] == [penalty.id]
            assert [r.id for r in records.find_records_by_secret(session, PERSON, "legal_rep_id_no")] == [penalty.id]
            assert records.record_secrets(penalty) == {"legal_rep_id_no": PERSON}
        command.downgrade(alembic_config(), "7c4e2a91d5b0")  # and back: the very rows revision 7c4e2a91d5b0 wrote
        with engine.connect() as conn:
            back = conn.execute(text("SELECT id, record_key, content_hash, payload, secret_hashes FROM records "
                                     "ORDER BY id")).all()
        assert [tuple(r) for r in back] == [(r["id"], r["key"], r["hash"], r["payload"], r["hashes"]) for r in old]
        engine.dispose()
    finally:
        monkeypatch.undo()
        reset_settings()


def crypto_hash(value: str) -> str:
    from xinyong.core import crypto

    return crypto.keyed_hash(value, "record_secret")


def test_name_grams_and_due_dates_are_filled_and_taken_back(fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Upgrading a database with subjects and records (revision 3b9e51c0a7d2) fills the search side table and the
    due-date table from them, and drops the expiry index; downgrading gives the index back."""
    from sqlalchemy.orm import Session

    from xinyong.repair.service import expire_publication
    from xinyong.subjects.grams import name_grams

    monkeypatch.setenv("XINYONG_DATABASE_URL", fresh_url)
    reset_settings()
    try:
        upgrade("3b9e51c0a7d2")
        engine = create_engine(fresh_url)
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO subjects (id, kind, name, uscc, id_hash, status, created_at, updated_at) VALUES "
                "(1, 'legal_person', '德州华为有限公司', :uscc, NULL, '存续', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), "
                "(2, 'natural_person', '李四', NULL, :h, '正常', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                {"uscc": ORG, "h": "ab" * 32})
            conn.execute(text(
                "INSERT INTO records (id, subject_id, item_code, dept_id, record_key, content_hash, state, version, "
                "late, layout_id, payload, publish_until, created_at) VALUES (:id, 1, 'admin_penalty', 1, :key, 'h', "
                ":state, 1, false, 1, '[]', :until, CURRENT_TIMESTAMP)"),
                [{"id": 1, "key": f"{1:032x}", "state": "active", "until": "2027-01-05"},  # hex keys: later
                 {"id": 2, "key": f"{2:032x}", "state": "superseded", "until": "2027-01-05"},  # revisions read
                 {"id": 3, "key": f"{3:032x}", "state": "objection", "until": "2027-01-05"},  # them (key64)
                 {"id": 4, "key": f"{4:032x}", "state": "active", "until": "2028-03-01"},
                 {"id": 5, "key": f"{5:032x}", "state": "active", "until": None}])
        upgrade()
        with engine.connect() as conn:
            grams = {(g, i) for g, i in conn.execute(text("SELECT gram, subject_id FROM subject_grams"))}
            due = sorted((str(d), json.loads(ids)) for d, ids in conn.execute(text("SELECT due_on, ids FROM record_due")))
            indexes = {ix["name"] for ix in inspect(conn).get_indexes("records")}
        assert grams == {(g, 1) for g in name_grams("德州华为有限公司")}
        assert due == [("2027-01-05", [1, 3]), ("2028-03-01", [4])]
        assert "ix_records_active_until" not in indexes
        with Session(engine) as session:
            assert expire_publication(session, date(2027, 1, 5)) == 1
            session.commit()
        command.downgrade(alembic_config(), "3b9e51c0a7d2")
        with engine.connect() as conn:
            assert "ix_records_active_until" in {ix["name"] for ix in inspect(conn).get_indexes("records")}
            assert not {"subject_grams", "record_due"} & set(inspect(conn).get_table_names())
            states = dict(conn.execute(text("SELECT id, state FROM records")).all())
        assert states == {1: "expired", 2: "superseded", 3: "objection", 4: "active", 5: "active"}
        engine.dispose()
    finally:
        monkeypatch.undo()
        reset_settings()


def test_key64_is_filled_from_the_record_key_and_replaces_its_index(
        fresh_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Upgrading records written before key64 (revision 713ba77cbe2e) fills it from record_key, so that an ingest
    correction after the upgrade finds them; downgrading gives the text index back."""
    from sqlalchemy.orm import Session

    from xinyong.accounts import service as accounts
    from xinyong.catalog.service import get_catalog
    from xinyong.ingest.service import ingest_file
    from xinyong.records import service as records
    from xinyong.records.models import Record
    from xinyong.subjects import service as subjects

    monkeypatch.setenv("XINYONG_DATABASE_URL", fresh_url)
    reset_settings()
    try:
        upgrade("713ba77cbe2e")
        engine = create_engine(fresh_url)
        item = get_catalog().get("admin_penalty")
        with Session(engine) as session:
            dept = accounts.add_department(session, "SCJG", "德州市市场监督管理局")
            subject = subjects.upsert_organisation(session, uscc=ORG, name="德州甲有限公司")
            layout = records.layout_for(session, item)
            dept_id, subject_id = dept.id, subject.id
            session.commit()
        # decision numbers whose keys start with a high and a low bit: key64 negative and positive
        numbers: dict[bool, str] = {}
        for n in range(1, 100):
            no = f"德市监罚〔2026〕{n}号"
            numbers.setdefault(rules.record_key(dept_id, item.code, no, ORG, "")[0] >= "8", no)
        rows = []
        for no in (numbers[True], numbers[False]):
            values = {"subject_name": "德州甲有限公司", "subject_kind": "法人及非法人组织", "uscc": ORG,
                      "legal_rep": "张三", "decision_no": no, "penalty_type": "罚款", "fine_amount": "1.5",
                      "decision_date": "2026-03-16", "authority": "德州市市场监督管理局"}
            payload = records.payload_text(records.catalog_fields(item), values)
            rows.append({"subject_id": subject_id, "dept_id": dept_id, "no": no, "layout": layout,
                         "key": rules.record_key(dept_id, item.code, no, ORG, ""), "payload": payload,
                         "hash": rules.content_hash(item.code, payload)})
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO records (subject_id, item_code, dept_id, record_key, content_hash, decision_no, state, "
                "version, late, layout_id, payload, created_at) VALUES (:subject_id, 'admin_penalty', :dept_id, "
                ":key, :hash, :no, 'active', 1, false, :layout, :payload, CURRENT_TIMESTAMP)"), rows)  # ids 1, 2
        upgrade()
        with engine.connect() as conn:
            filled = dict(conn.execute(text("SELECT record_key, key64 FROM records")).all())
            indexes = {ix["name"]: ix["column_names"] for ix in inspect(conn).get_indexes("records")}
        assert filled == {r["key"]: rules.key64(str(r["key"])) for r in rows}
        assert sorted(v < 0 for v in filled.values()) == [False, True]
        assert indexes.get("ix_records_key64") == ["key64"] and "ix_records_key" not in indexes

        csv = tmp_path / "p.csv"
        header = ("行政相对人名称,行政相对人类别,行政相对人代码_1(统一社会信用代码),法定代表人,法定代表人证件号码,证件类型,"
                  "证件号码,行政处罚决定书文号,处罚类别,罚款金额(万元),处罚决定日期,公示截止期,处罚机关")
        line = "德州甲有限公司,法人及非法人组织,{org},张三,,,,{no},罚款,{amount},2026-03-16,,德州市市场监督管理局"
        csv.write_text("\n".join([header, line.format(org=ORG, no=numbers[True], amount="2"),
                                  line.format(org=ORG, no=numbers[False], amount="1.5")]) + "\n", encoding="utf-8")
        with Session(engine) as session:
            summary = ingest_file(session, csv, item.code, "SCJG", today=date(2026, 3, 20))
            session.commit()
            assert (summary.accepted, summary.superseded, summary.duplicates) == (1, 1, 1)
            chain = [(r.id, r.decision_no, r.version, r.state, r.supersedes_id, r.key64)
                     for r in session.scalars(select(Record).order_by(Record.id))]
        assert chain == [(1, numbers[True], 1, "superseded", None, filled[str(rows[0]["key"])]),
                         (2, numbers[False], 1, "active", None, filled[str(rows[1]["key"])]),
                         (3, numbers[True], 2, "active", 1, filled[str(rows[0]["key"])])]

        command.downgrade(alembic_config(), "713ba77cbe2e")
        with engine.connect() as conn:
            records_table = inspect(conn)
            indexes = {ix["name"]: ix["column_names"] for ix in records_table.get_indexes("records")}
            columns = {c["name"] for c in records_table.get_columns("records")}
            keys = sorted(k for (k,) in conn.execute(text("SELECT record_key FROM records")))
        assert indexes.get("ix_records_key") == ["record_key"] and "ix_records_key64" not in indexes
        assert "key64" not in columns
        assert keys == sorted([str(rows[0]["key"]), str(rows[1]["key"]), str(rows[0]["key"])])
        engine.dispose()
    finally:
        monkeypatch.undo()
        reset_settings()
