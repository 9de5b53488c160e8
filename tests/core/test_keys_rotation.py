"""Keys on both databases: ciphertexts bound to their rows, `xinyong keys rotate` keeping everything readable
and findable, and a database from before key generations converted by the same command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from due_process_support import PNG, org, penalty, world
from xinyong.access.actors import Actor, ActorKind
from xinyong.cases import attachments
from xinyong.cases.casework import case_aad
from xinyong.cli import app
from xinyong.core import audit, crypto, keyring
from xinyong.core.settings import reset_settings
from xinyong.joint.models import Webhook
from xinyong.joint.webhooks import secret_aad
from xinyong.objections import service as objections
from xinyong.records import service as records
from xinyong.records.models import Record
from xinyong.reports import service as reports
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Subject

runner = CliRunner()
PERSON = "11010519491231002X"
OTHER = "110105194912310021"

# the credit office's counter (窗口代办) files for the organisation in these tests
COUNTER = Actor(ActorKind.OPERATOR, "user:office", is_credit_office=True)


def _use_key_file(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.delenv("XINYONG_SECRET_KEY", raising=False)
    monkeypatch.setenv("XINYONG_KEY_FILE", str(path))
    # attachments live under the data directory; other tests' files were sealed with other keys
    monkeypatch.setenv("XINYONG_VAR_DIR", str(path.parent.parent / "var"))
    reset_settings()
    crypto.clear_key_cache()


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "keys" / "secret.key"
    _use_key_file(monkeypatch, path)
    assert keyring.ensure_key_file() == "created"
    yield path
    monkeypatch.undo()
    reset_settings()
    crypto.clear_key_cache()


@pytest.fixture
def legacy_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A key file as versions before key generations wrote it: one bare secret."""
    path = tmp_path / "keys" / "secret.key"
    path.parent.mkdir()
    path.write_text("5f" * 32 + "\n")
    _use_key_file(monkeypatch, path)
    yield path
    monkeypatch.undo()
    reset_settings()
    crypto.clear_key_cache()


def _rotate() -> Any:
    result = runner.invoke(app, ["keys", "rotate", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _everything(db: Session) -> dict[str, Any]:
    w = world(db)
    company = org(db)
    person = subjects.upsert_person(db, PERSON, "李四")
    rec = penalty(db, company, w.scjg, decided=date(2026, 1, 5))
    values = {**records.record_values(rec), "legal_rep_id_no": OTHER, "decision_no": "德市监罚〔2026〕900号"}
    sealed = records.add_record(db, subject=company, item_code="admin_penalty", dept_id=w.scjg.id, values=values,
                                decision_no="德市监罚〔2026〕900号", decision_date=date(2026, 1, 5), severity="一般",
                                publish_from=date(2026, 1, 5), publish_until=date(2027, 1, 5))
    hook = Webhook(dept_id=w.sw.id, url="https://hooks.example.org/x", secret_enc=crypto.encrypt("hook-secret",
                   secret_aad(w.sw.id)), active=True)
    db.add(hook)
    db.commit()
    case = objections.submit(db, {"applicant_name": "德州某某食品有限公司", "contact": "0534-1234567",
                                  "subject_code": company.uscc, "record_id": rec.id,
                                  "reason": "处罚决定已被复议机关撤销，信息不应公示"},
                             [attachments.Upload("营业执照.png", PNG)], idempotency_key=None, today=date(2026, 2, 2), actor=COUNTER)
    rep, pdf = reports.issue(db, company, requested_by="public")
    db.commit()
    return {"person": person.id, "record": sealed.id, "hook": hook.id, "objection": case.objection.id,
            "code": case.query_code, "report": rep.report_no, "report_code": rep.verify_code, "pdf": pdf, "company": company.uscc}


def _readable_and_findable(db: Session, made: dict[str, Any], generation: int) -> None:
    db.expire_all()
    prefix = f"k{generation}."
    person = subjects.find_by_citizen_id(db, PERSON)
    assert person is not None and person.id == made["person"]
    assert (person.id_enc or "").startswith(prefix)
    assert crypto.decrypt(person.id_enc or "", subjects.id_aad(person.id_hash or "")) == PERSON
    rec = db.get(Record, made["record"])
    assert rec is not None and (rec.secrets or "").startswith(prefix)
    assert records.record_secrets(rec) == {"legal_rep_id_no": OTHER}
    assert [r.id for r in records.find_records_by_secret(db, OTHER)] == [rec.id]
    hook = db.get(Webhook, made["hook"])
    assert hook is not None and hook.secret_enc.startswith(prefix)
    assert crypto.decrypt(hook.secret_enc, secret_aad(hook.dept_id)) == "hook-secret"
    found = objections.by_case(db, db.get(objections.Objection, made["objection"]).case_no,  # type: ignore[union-attr]
                               made["code"])
    assert found.id == made["objection"] and found.query_enc.startswith(prefix)
    assert crypto.decrypt(found.applicant_enc, case_aad("objections.applicant_enc", found.query_hash))
    (row,) = attachments.list_for(db, objections.CASE, found.id)
    blob = attachments.path_of(row.sha256).read_bytes()
    assert crypto.bytes_generation(blob) == generation and PNG not in blob
    assert attachments.read(db, row.id, objections.CASE, found.id)[1] == PNG
    checked = reports.verify(db, made["report"], made["report_code"], made["pdf"])
    assert checked["genuine"] is True and checked["file_matches"] is True


def test_rotation_re_encrypts_everything_and_keeps_it_readable_and_findable(db: Session, key_file: Path) -> None:
    made = _everything(db)
    assert runner.invoke(app, ["audit", "anchor"]).exit_code == 0
    _readable_and_findable(db, made, 1)
    out = _rotate()
    assert out["generation"] == 2 and out["files"] == 1 and out["reports_resealed"] == 1
    assert out["values"]["subjects.id_enc"] == 1 and out["values"]["records.secrets"] == 1
    ring = keyring.parse(key_file.read_text(), key_file)
    assert ring.current == 2 and set(ring.masters) == {1, 2}
    assert not keyring.backup_path(key_file).exists()  # kept only until the rotation was done
    _readable_and_findable(db, made, 2)
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output  # events under generation 1 still verify
    assert _rotate()["generation"] == 3
    _readable_and_findable(db, made, 3)


def test_without_the_new_generation_the_rotated_data_does_not_open(db: Session, key_file: Path) -> None:
    made = _everything(db)
    before = key_file.read_text()
    _rotate()
    key_file.write_text(before)  # an operator restores the key file from before the rotation
    crypto.clear_key_cache()
    db.expire_all()
    rec = db.get(Record, made["record"])
    assert rec is not None
    with pytest.raises(Exception, match="第 2 代密钥"):
        records.record_secrets(rec)


def test_rotation_refuses_a_database_whose_covered_tables_were_edited(db: Session, key_file: Path) -> None:
    made = _everything(db)
    assert runner.invoke(app, ["audit", "anchor"]).exit_code == 0
    db.execute(text("UPDATE records SET decision_no = '改' WHERE id = :id"), {"id": made["record"]})
    db.commit()
    before = key_file.read_text()
    result = runner.invoke(app, ["keys", "rotate"])
    assert result.exit_code == 1 and "不轮换密钥" in result.output.replace("\n", "")
    assert key_file.read_text() == before


def test_rotation_is_refused_for_a_key_from_the_environment(db: Session) -> None:
    result = runner.invoke(app, ["keys", "rotate"])
    assert result.exit_code == 1 and "XINYONG_SECRET_KEY" in result.output.replace("\n", "")


def test_keys_show_names_the_file_and_generations_never_the_key(db: Session, key_file: Path) -> None:
    result = runner.invoke(app, ["keys", "show"])
    out = result.output.replace("\n", "")
    assert result.exit_code == 0 and "第 1 代" in out and key_file.name in out
    assert keyring.keyring().masters[1].hex() not in out


def test_a_database_from_before_key_generations_is_converted_by_rotate(db: Session, legacy_key_file: Path) -> None:
    made = _everything(db)
    # Make the rows what the earlier version wrote: AES-GCM without associated data, files in clear, reports
    # with the old code and no seal, audit events linked by plain SHA-256.
    person = db.get(Subject, made["person"])
    rec = db.get(Record, made["record"])
    assert person is not None and rec is not None
    db.execute(text("UPDATE subjects SET id_enc = :e WHERE id = :id"),
               {"e": crypto.legacy_encrypt(PERSON), "id": person.id})
    db.execute(text("UPDATE records SET secrets = :e WHERE id = :id"),
               {"e": crypto.legacy_encrypt(records.secrets_json([("legal_rep_id_no", OTHER)])), "id": rec.id})
    (row,) = attachments.list_for(db, objections.CASE, made["objection"])
    attachments.path_of(row.sha256).write_bytes(PNG)
    rep = reports.get_report(db, made["report"], made["report_code"])
    old_code = crypto.keyed_hash(f"{rep.report_no}|{rep.content_sha256}", reports.VERIFY_PURPOSE)[:16]
    db.execute(text("UPDATE reports SET seal = NULL, verify_code = :c WHERE id = :id"), {"c": old_code, "id": rep.id})
    prev = audit.GENESIS
    for ev in db.scalars(select(audit.AuditEvent).order_by(audit.AuditEvent.seq)).all():
        digest = audit.event_hash(prev, ev.seq, ev.at, ev.actor, ev.action, ev.entity, ev.entity_id, ev.before,
                                  ev.after, None)
        db.execute(text("UPDATE audit_events SET key_gen = NULL, prev_hash = :p, hash = :h WHERE seq = :s"),
                   {"p": prev, "h": digest, "s": ev.seq})
        prev = digest
    db.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})
    db.commit()
    db.expire_all()
    assert reports.verify(db, made["report"], old_code)["genuine"] is True  # still read before conversion
    out = _rotate()
    assert out["generation"] == 1 and out["files"] == 1 and out["reports_resealed"] == 1
    ring = keyring.parse(legacy_key_file.read_text(), legacy_key_file)
    assert ring.lookup_scheme == "legacy" and set(ring.masters) == {0, 1}
    made["report_code"] = old_code  # the code printed on the legacy report stays valid after conversion
    _readable_and_findable(db, made, 1)
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize("column", ["subjects", "records"])
def test_a_ciphertext_moved_to_another_row_does_not_decrypt(db: Session, column: str) -> None:
    made = _everything(db)
    if column == "subjects":
        other = subjects.upsert_person(db, "371402195701099966", "王五")
        db.commit()
        db.execute(text("UPDATE subjects SET id_enc = (SELECT id_enc FROM subjects WHERE id = :a) WHERE id = :b"),
                   {"a": made["person"], "b": other.id})
        db.commit()
        db.expire_all()
        moved = db.get(Subject, other.id)
        assert moved is not None
        with pytest.raises(crypto.DecryptionFailed, match="无法解密"):
            crypto.decrypt(moved.id_enc or "", subjects.id_aad(moved.id_hash or ""))
    else:
        target = db.scalars(select(Record).where(Record.id != made["record"])).first()
        assert target is not None
        db.execute(text("UPDATE records SET secrets = (SELECT secrets FROM records WHERE id = :a) WHERE id = :b"),
                   {"a": made["record"], "b": target.id})
        db.commit()
        db.expire_all()
        moved = db.get(Record, target.id)
        assert moved is not None
        with pytest.raises(crypto.DecryptionFailed, match="不属于这一行"):
            records.record_secrets(moved)


def test_an_attachment_file_swapped_for_another_does_not_open(db: Session) -> None:
    from due_process_support import PDF

    made = _everything(db)
    (row,) = attachments.list_for(db, objections.CASE, made["objection"])
    other = attachments.check([attachments.Upload("x.pdf", PDF)])[0]
    attachments.store(db, objections.CASE, made["objection"], [other])
    db.commit()
    target = attachments.path_of(row.sha256)
    target.write_bytes(attachments.path_of(other.sha256).read_bytes())
    with pytest.raises(crypto.DecryptionFailed):
        attachments.read(db, row.id, objections.CASE, made["objection"])


def test_a_case_or_webhook_secret_moved_to_another_row_does_not_decrypt(db: Session) -> None:
    made = _everything(db)
    first = db.get(objections.Objection, made["objection"])
    assert first is not None
    second = objections.submit(db, {"applicant_name": "另一申请人", "contact": "0534-7654321",
                                    "subject_code": made["company"], "record_id": made["record"],
                                    "reason": "信息有误，请核实"}, [], idempotency_key=None,
                               today=date(2026, 2, 3), actor=COUNTER).objection
    db.commit()
    db.execute(text("UPDATE objections SET applicant_enc = :e WHERE id = :id"),
               {"e": first.applicant_enc, "id": second.id})
    hook = db.get(Webhook, made["hook"])
    assert hook is not None
    other_dept = db.execute(text("SELECT id FROM departments WHERE id <> :d ORDER BY id LIMIT 1"),
                            {"d": hook.dept_id}).scalar_one()
    db.add(Webhook(dept_id=other_dept, url="https://hooks.example.org/y", secret_enc=hook.secret_enc, active=True))
    db.commit()
    db.expire_all()
    moved = db.get(objections.Objection, second.id)
    assert moved is not None
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(moved.applicant_enc, case_aad("objections.applicant_enc", moved.query_hash))
    copied = db.scalars(select(Webhook).where(Webhook.dept_id == other_dept)).one()
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(copied.secret_enc, secret_aad(copied.dept_id))
