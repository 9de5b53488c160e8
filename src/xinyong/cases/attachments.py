"""Attachments of due-process cases: PDF, JPG or PNG judged by content (magic bytes), size-limited, stored under
var/attachments by SHA-256 (the same file twice is stored once). The database keeps only the metadata.

They are often ID-card scans, so the files are encrypted at rest (AES-GCM under the encryption key, bound to
the file's SHA-256): a file swapped for another one's does not open, and what opens must hash to the SHA-256
the database names. Files stored in clear before encryption are still read (their hash checked) until
`xinyong keys rotate` encrypts them."""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.cases.config import get_config
from xinyong.cases.models import CaseAttachment
from xinyong.core import crypto
from xinyong.core.crypto import sha256_hex
from xinyong.core.errors import NotFound, Refused, TooLarge
from xinyong.core.settings import get_settings

_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "pdf", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
)
LABELS = {"pdf": "PDF", "jpg": "JPG", "png": "PNG"}


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class Checked:
    filename: str
    data: bytes
    kind: str
    media_type: str
    sha256: str


def sniff(data: bytes) -> tuple[str, str] | None:
    # PDF readers accept a header within the first KB; allow leading whitespace/BOM only.
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    for magic, kind, media in _MAGIC:
        if head.startswith(magic):
            return kind, media
    return None


def _safe_name(name: str) -> str:
    base = os.path.basename(name.replace("\\", "/")).strip() or "附件"
    return re.sub(r"[\x00-\x1f]", "", base)[:200]


def check(uploads: list[Upload]) -> list[Checked]:
    """Validate every file before anything is stored: one bad file refuses the whole submission."""
    policy = get_config().attachments
    uploads = [u for u in uploads if u.data or u.filename]
    if len(uploads) > policy.max_files:
        raise Refused(f"附件最多 {policy.max_files} 个（收到 {len(uploads)} 个），请合并后重新提交")
    limit = int(policy.max_mb * 1024 * 1024)
    allowed = "、".join(LABELS.get(t, t.upper()) for t in policy.types)
    out = []
    for u in uploads:
        name = _safe_name(u.filename)
        if not u.data:
            raise Refused(f"附件「{name}」是空文件，请重新选择")
        if len(u.data) > limit:
            raise TooLarge(f"附件「{name}」大小 {len(u.data) / 1048576:.1f} MB，超过 {policy.max_mb:g} MB 的上限，"
                           "请压缩或拆分后重新提交")
        found = sniff(u.data)
        if found is None or found[0] not in policy.types:
            raise Refused(f"附件「{name}」的内容不是 {allowed} 文件（按文件内容判断，与扩展名无关），"
                          f"请上传 {allowed} 格式的材料")
        out.append(Checked(name, u.data, found[0], found[1], sha256_hex(u.data)))
    return out


def decode(items: list[tuple[str, str]]) -> list[Upload]:
    """(filename, base64 content) pairs from a JSON body."""
    out = []
    for name, content in items:
        try:
            out.append(Upload(name, base64.b64decode(content, validate=True)))
        except (binascii.Error, ValueError):
            raise Refused(f"附件「{_safe_name(name)}」的 content_base64 不是有效的 Base64 编码") from None
    return out


def root() -> Path:
    return get_settings().var_dir / "attachments"


def path_of(sha256: str) -> Path:
    return root() / sha256[:2] / sha256


def file_aad(sha256: str) -> str:
    return f"case_attachments|{sha256}"


def seal(data: bytes, sha256: str) -> bytes:
    return crypto.encrypt_bytes(data, file_aad(sha256))


def open_file(blob: bytes, sha256: str) -> bytes:
    """The clear bytes of a stored file, checked against the SHA-256 the database holds for it."""
    data = crypto.decrypt_bytes(blob, file_aad(sha256)) if crypto.is_sealed_bytes(blob) else blob
    if sha256_hex(data) != sha256:
        raise crypto.DecryptionFailed("附件文件与登记的 SHA-256 不符（文件被替换或损坏）：请用备份恢复该文件")
    return data


def write_file(target: Path, blob: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    tmp.write_bytes(blob)
    os.replace(tmp, target)  # atomic: a reader never sees half a file


def store(session: Session, case_type: str, case_id: int, files: list[Checked]) -> list[CaseAttachment]:
    rows = []
    for f in files:
        target = path_of(f.sha256)
        if not target.exists():
            write_file(target, seal(f.data, f.sha256))
        row = CaseAttachment(case_type=case_type, case_id=case_id, filename=f.filename, media_type=f.media_type,
                             size=len(f.data), sha256=f.sha256)
        session.add(row)
        rows.append(row)
    return rows


def list_for(session: Session, case_type: str, case_id: int) -> list[CaseAttachment]:
    return list(session.scalars(select(CaseAttachment).where(CaseAttachment.case_type == case_type,
                                                             CaseAttachment.case_id == case_id)
                                .order_by(CaseAttachment.id)))


def read(session: Session, attachment_id: int, case_type: str, case_id: int) -> tuple[CaseAttachment, bytes]:
    row = session.get(CaseAttachment, attachment_id)
    if row is None or row.case_type != case_type or row.case_id != case_id:
        raise NotFound("附件不存在")
    try:
        blob = path_of(row.sha256).read_bytes()
    except FileNotFoundError:
        raise NotFound("附件文件不存在（可能已被移走）：请联系信用办从备份恢复") from None
    return row, open_file(blob, row.sha256)
