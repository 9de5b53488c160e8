"""The key file: one master secret per key generation, and the root of the lookup hashes.

Every key the platform uses is derived from these with HKDF, one per purpose (core/crypto.py): encryption,
audit, sessions, report codes, lookup hashes. The file lives outside the data directory (setting
`XINYONG_KEY_FILE`, default ./keys/secret.key) so that a copy of var/ or a database backup does not carry it.

Format, one key a line (`#` starts a comment):

    lookup hkdf <64 hex>     root of the lookup hashes (ID numbers, query codes); never rotated, see below
    key 2 <64 hex>           the current master secret: the highest number
    key 1 <64 hex>           an earlier one, kept to verify the audit events written under it

Lookup hashes are kept across a rotation: the check log stores ID numbers only as keyed hashes, which cannot
be recomputed under a new key, and a lookup must still find every earlier row. A file written before keys
were versioned holds one bare secret; it reads as `key 0` plus `lookup legacy`: the derivations of that time
(HMAC per purpose, AES-GCM without associated data) stay readable until `xinyong keys rotate` converts the
data. A secret given in `XINYONG_SECRET_KEY` instead of a file is generation 1 with the earlier lookup
derivation, and cannot be rotated by the command (the variable lives outside the platform).
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from xinyong.core.settings import SecretKeyMissing, Settings, get_settings

HEADER = (
    "# xinyong 密钥文件（权限 0600）。请离线备份本文件，并与数据库备份分开保存：\n"
    "# 丢失后，加密的证件号码与附件无法解密，审计链与报告验证码无法校验。\n"
    "# 每行「用途 编号或方案 密钥」；key 行编号最大者为当前密钥，其余为轮换前的旧密钥，仅用于校验旧的审计事件。\n"
)
LEGACY = 0  # the generation of a bare, pre-versioning secret


@dataclass(frozen=True)
class KeyRing:
    lookup_scheme: str  # "hkdf" or "legacy"
    lookup: bytes
    masters: dict[int, bytes] = field(default_factory=dict)
    path: Path | None = None  # None when the key comes from XINYONG_SECRET_KEY

    @property
    def current(self) -> int:
        return max(self.masters)

    def master(self, kid: int) -> bytes:
        try:
            return self.masters[kid]
        except KeyError:
            raise SecretKeyMissing(f"密钥文件中没有第 {kid} 代密钥：请用轮换前备份的密钥文件恢复，"
                                   "或确认 XINYONG_KEY_FILE 指向正确的文件") from None


def _secret_bytes(kid_or_scheme: str, text: str) -> bytes:
    # Generation 0 and the legacy lookup root were used as the UTF-8 bytes of their hex text.
    if kid_or_scheme in ("0", "legacy"):
        return text.encode("utf-8")
    return bytes.fromhex(text)


def parse(text: str, path: Path | None = None) -> KeyRing:
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if len(lines) == 1 and len(lines[0].split()) == 1:  # a bare secret from before versioned keys
        bare = lines[0]
        return KeyRing("legacy", bare.encode("utf-8"), {LEGACY: bare.encode("utf-8")}, path)
    scheme, lookup, masters = "", b"", {}
    try:
        for ln in lines:
            kind, tag, value = ln.split()
            if kind == "lookup" and tag in ("hkdf", "legacy"):
                scheme, lookup = tag, _secret_bytes(tag, value)
            elif kind == "key":
                masters[int(tag)] = _secret_bytes(tag, value)
            else:
                raise ValueError(ln)
    except ValueError:
        raise SecretKeyMissing(f"密钥文件 {path} 格式不正确：请用备份恢复该文件") from None
    if not scheme or not masters:
        raise SecretKeyMissing(f"密钥文件 {path} 不完整（缺少 lookup 或 key 行）：请用备份恢复该文件")
    return KeyRing(scheme, lookup, masters, path)


def render(ring: KeyRing) -> str:
    def shown(tag: str, secret: bytes) -> str:
        return secret.decode("utf-8") if tag in ("0", "legacy") else secret.hex()

    lines = [HEADER, f"lookup {ring.lookup_scheme} {shown(ring.lookup_scheme, ring.lookup)}\n"]
    lines += [f"key {kid} {shown(str(kid), ring.masters[kid])}\n" for kid in sorted(ring.masters, reverse=True)]
    return "".join(lines)


def write_file(path: Path, text: str) -> None:
    """Write atomically with mode 0600: a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def new_ring(path: Path | None = None) -> KeyRing:
    return KeyRing("hkdf", secrets.token_bytes(32), {1: secrets.token_bytes(32)}, path)


def with_new_master(ring: KeyRing) -> KeyRing:
    masters = dict(ring.masters)
    masters[ring.current + 1] = secrets.token_bytes(32)
    return KeyRing(ring.lookup_scheme, ring.lookup, masters, ring.path)


def ensure_key_file(settings: Settings | None = None) -> str | None:
    """Make sure a key exists. Returns what was done ("created", "moved") or None when nothing was needed.

    A key file found at the old place beside the database is moved to the key file's place."""
    settings = settings or get_settings()
    if settings.secret_key:
        return None
    path = settings.key_file
    if path.exists():
        return None
    legacy = settings.legacy_key_path
    if legacy.exists() and legacy.resolve() != path.resolve():
        write_file(path, legacy.read_text(encoding="utf-8"))
        legacy.unlink()
        clear_cache()
        return "moved"
    write_file(path, render(new_ring(path)))
    clear_cache()
    return "created"


@lru_cache(maxsize=1)
def keyring() -> KeyRing:
    settings = get_settings()
    if settings.secret_key:
        # A secret from the environment (tests, containers) derives its purpose keys with HKDF like a key
        # file's; its lookup hashes keep the derivation they had before key generations, so a deployment
        # that has always used the variable still finds every person it stored.
        secret = settings.secret_key.encode("utf-8")
        return KeyRing("legacy", secret, {1: secret}, None)
    path = settings.key_file
    if not path.exists():
        raise SecretKeyMissing(f"未找到密钥文件 {path}：请先运行 `xinyong init` 生成，"
                               "或把 XINYONG_KEY_FILE 指向已有的密钥文件")
    return parse(path.read_text(encoding="utf-8"), path)


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def keep_backup(path: Path) -> Path:
    target = backup_path(path)
    shutil.copy2(path, target)
    os.chmod(target, 0o600)
    return target


def clear_cache() -> None:
    keyring.cache_clear()
