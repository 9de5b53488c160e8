"""`xinyong keys rotate`: a new master key, every ciphertext re-encrypted under it, every report re-sealed.

Order, so that nothing is unreadable at any moment:
1. the covered tables are checked against the latest signed digest (a tampered database is not re-signed);
2. the key file is copied to `<key file>.bak`, then rewritten atomically with a new generation added as the
   current one; the earlier generations stay in the file (ciphertexts name their generation, so rows not yet
   converted still open, and old audit events and digests still verify);
3. in one transaction: every ciphertext not of the new generation (AES-GCM bound to its row; text from
   before generations, without associated data, is converted here too) and every attachment file is
   re-encrypted; every report whose seal holds is re-sealed; an audit event and a fresh signed digest close it;
4. after the commit the backup is removed. If anything fails the backup stays, the key file keeps both
   generations, and running the command again continues.

Lookup hashes are not recomputed: their root is kept across rotations (core/keyring.py says why), so a person
is found by ID number before and after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from xinyong.cases import attachments
from xinyong.cases.casework import case_aad
from xinyong.cases.models import CaseAttachment
from xinyong.core import audit, crypto, digest, keyring
from xinyong.core.db import Base
from xinyong.core.errors import Refused
from xinyong.joint.webhooks import secret_aad
from xinyong.records.service import secrets_aad
from xinyong.reports import service as reports
from xinyong.reports.models import Report
from xinyong.subjects.service import id_aad

_BATCH = 2000

# table -> (the row's key columns, {encrypted column: associated data from the row})
Sealed = dict[str, Callable[[Any], str]]
ENCRYPTED: dict[str, Sealed] = {
    "subjects": {"id_enc": lambda r: id_aad(r.id_hash)},
    "records": {"secrets": lambda r: secrets_aad(r.record_key, r.version)},
    "joint_webhooks": {"secret_enc": lambda r: secret_aad(r.dept_id)},
    "objections": {"query_enc": lambda r: case_aad("objections.query_enc", r.query_hash),
                   "applicant_enc": lambda r: case_aad("objections.applicant_enc", r.query_hash)},
    "repair_applications": {
        "query_enc": lambda r: case_aad("repair_applications.query_enc", r.query_hash),
        "applicant_enc": lambda r: case_aad("repair_applications.applicant_enc", r.query_hash)},
    "complaints": {"query_enc": lambda r: case_aad("complaints.query_enc", r.query_hash),
                   "reporter_enc": lambda r: case_aad("complaints.reporter_enc", r.query_hash)},
}
_ROW_KEYS = {"subjects": ("id_hash",), "records": ("record_key", "version"), "joint_webhooks": ("dept_id",),
             "objections": ("query_hash",), "repair_applications": ("query_hash",), "complaints": ("query_hash",)}


@dataclass
class Rotation:
    generation: int = 0
    values: dict[str, int] = field(default_factory=dict)  # "table.column" -> values re-encrypted
    files: int = 0
    reports_resealed: int = 0
    reports_refused: list[str] = field(default_factory=list)  # report numbers whose seal did not hold


def _rows(session: Session, table: Table, columns: list[str]) -> Iterator[list[Any]]:
    last = None
    cols = [table.c.id, *(table.c[c] for c in _ROW_KEYS[table.name]), *(table.c[c] for c in columns)]
    while True:
        q = select(*cols).order_by(table.c.id).limit(_BATCH)
        if last is not None:
            q = q.where(table.c.id > last)
        rows = session.execute(q).all()
        if not rows:
            return
        last = rows[-1].id
        yield list(rows)


def reencrypt_values(session: Session, out: Rotation) -> None:
    for name, sealed in ENCRYPTED.items():
        table = Base.metadata.tables[name]
        for column in sealed:
            out.values[f"{name}.{column}"] = 0
        for rows in _rows(session, table, list(sealed)):
            for row in rows:
                changes = {}
                for column, aad_of in sealed.items():
                    token = getattr(row, column)
                    if token is None or crypto.is_current(token):
                        continue
                    aad = aad_of(row)
                    changes[column] = crypto.encrypt(crypto.decrypt(token, aad), aad)
                    out.values[f"{name}.{column}"] += 1
                if changes:
                    session.execute(update(table).where(table.c.id == row.id).values(**changes))


def reencrypt_files(session: Session, out: Rotation) -> None:
    current = crypto.current_generation()
    for sha in sorted(set(session.scalars(select(CaseAttachment.sha256)))):
        path = attachments.path_of(sha)
        if not path.exists():
            continue  # reported by the case page when read; nothing to convert
        blob = path.read_bytes()
        if crypto.bytes_generation(blob) == current:
            continue
        attachments.write_file(path, attachments.seal(attachments.open_file(blob, sha), sha))
        out.files += 1


def reseal_reports(session: Session, out: Rotation) -> None:
    for rep in session.scalars(select(Report).order_by(Report.id).execution_options(yield_per=_BATCH)):
        if not reports.seal_holds(rep):
            out.reports_refused.append(rep.report_no or f"#{rep.id}")
            continue
        if rep.seal is None or crypto.generation_of(rep.seal) != crypto.current_generation():
            rep.seal = reports.seal(rep)
            out.reports_resealed += 1
    session.flush()


def convert(session: Session, *, actor: str, out: Rotation | None = None) -> Rotation:
    """Bring every ciphertext, attachment and report seal to the current key generation, then sign a fresh
    digest. Used by rotation; also converts a database from before key generations."""
    out = out or Rotation()
    out.generation = crypto.current_generation()
    reencrypt_values(session, out)
    reencrypt_files(session, out)
    reseal_reports(session, out)
    session.flush()
    audit.record(session, actor=actor, action="keys.rotate", entity="keys", entity_id=out.generation,
                 after={"values": out.values, "files": out.files, "reports_resealed": out.reports_resealed,
                        "reports_refused": out.reports_refused})
    audit.anchor(session, actor=actor, check_first=False)
    return out


def rotate(session: Session, *, actor: str) -> Rotation:
    """New master key, then convert(). The caller commits, then calls finish()."""
    ring = keyring.keyring()
    if ring.path is None:
        raise Refused("密钥来自环境变量 XINYONG_SECRET_KEY，无法在此轮换：请改用密钥文件（XINYONG_KEY_FILE），"
                      "或在外部更换该变量后重新加密")
    problem = digest.check(session)
    if problem is not None:
        raise digest.DigestMismatch(problem + "。数据表与签名摘要不符时不轮换密钥，以免把篡改签进新的摘要")
    keyring.keep_backup(ring.path)
    keyring.write_file(ring.path, keyring.render(keyring.with_new_master(ring)))
    crypto.clear_key_cache()
    return convert(session, actor=actor)


def finish() -> None:
    """After the commit: the backup of the previous key file is no longer needed."""
    path = keyring.keyring().path
    if path is not None:
        keyring.backup_path(path).unlink(missing_ok=True)
