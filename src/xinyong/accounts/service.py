"""Departments, API keys (stored as SHA-256 of a high-entropy secret) and users (argon2)."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.accounts.models import ApiKey, Department, User
from xinyong.accounts.sessions import end_sessions_of
from xinyong.core import audit
from xinyong.core.db import utcnow
from xinyong.core.errors import NotFound, Refused, Unauthorized
from xinyong.core.identifiers import check_uscc

_ph = PasswordHasher()
KEY_PREFIX = "xy_"


def hash_password(password: str) -> str:
    return _ph.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """argon2 verification; an unknown account still costs one hash, so timing does not tell it apart."""
    if stored is None:
        _ph.hash(password)
        return False
    try:
        return bool(_ph.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def _key_hash(key: str) -> str:
    # API keys carry 256 bits of randomness, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def add_department(session: Session, code: str, name: str, uscc: str | None = None,
                   *, credit_office: bool = False, actor: str = "system") -> Department:
    code = code.strip()
    if not code or not name.strip():
        raise Refused("部门代码和名称不能为空，请补充后重试")
    if uscc:
        check = check_uscc(uscc)
        if not check.ok:
            raise Refused(f"部门统一社会信用代码无效：{check.error}")
        uscc = check.value
    existing = session.scalar(select(Department).where(Department.code == code))
    if existing is not None:
        existing.name = name.strip()
        existing.uscc = uscc or existing.uscc
        existing.is_credit_office = existing.is_credit_office or credit_office
        return existing
    dept = Department(code=code, name=name.strip(), uscc=uscc, is_credit_office=credit_office)
    session.add(dept)
    session.flush()
    audit.record(session, actor=actor, action="dept.add", entity="department", entity_id=dept.id,
                 after={"code": code, "name": dept.name, "uscc": uscc})
    return dept


def get_department(session: Session, code: str) -> Department:
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise NotFound(f"部门「{code}」不存在，请先用 `xinyong dept add` 登记该部门")
    return dept


def list_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.code)))


def create_api_key(session: Session, dept_code: str, label: str | None = None, *, actor: str = "system") -> str:
    dept = get_department(session, dept_code)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(dept_id=dept.id, prefix=key[:10], key_hash=_key_hash(key), label=label))
    session.flush()
    audit.record(session, actor=actor, action="apikey.create", entity="department", entity_id=dept.id,
                 after={"prefix": key[:10], "label": label})
    return key


def department_for_key(session: Session, key: str) -> Department:
    row = session.execute(
        select(Department, ApiKey.revoked_at)
        .join(ApiKey, ApiKey.dept_id == Department.id)
        .where(ApiKey.key_hash == _key_hash(key.strip()))
    ).first()
    if row is None or row[1] is not None:
        raise Unauthorized("API 密钥无效或已吊销：请在请求头中提供 Authorization: Bearer <密钥>，密钥由信用办用 `xinyong apikey create` 签发")
    return row[0]


def revoke_api_key(session: Session, prefix: str, *, actor: str = "system") -> None:
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)))
    if key is None:
        raise NotFound(f"未找到前缀为「{prefix}」的有效密钥")
    key.revoked_at = utcnow()
    audit.record(session, actor=actor, action="apikey.revoke", entity="department", entity_id=key.dept_id,
                 after={"prefix": prefix})


def create_user(session: Session, username: str, password: str, *, display_name: str | None = None,
                dept_code: str | None = None, role: str = "dept", actor: str = "system") -> User:
    if role not in ("operator", "dept", "auditor"):
        raise Refused("角色只能是 operator（信用办）、dept（部门用户）或 auditor（审计）")
    if len(password) < 8:
        raise Refused("密码至少 8 位，请重新设置")
    dept_id = get_department(session, dept_code).id if dept_code else None
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, display_name=display_name or username, password_hash=_ph.hash(password),
                    dept_id=dept_id, role=role)
        session.add(user)
    else:
        user.password_hash = _ph.hash(password)
        end_sessions_of(session, user=user)  # a reset password logs the user out everywhere
        user.dept_id = dept_id
        user.role = role
        user.display_name = display_name or user.display_name
    session.flush()
    audit.record(session, actor=actor, action="user.save", entity="user", entity_id=user.id,
                 after={"username": username, "role": role, "dept": dept_code})
    return user


def authenticate_user(session: Session, username: str, password: str) -> User:
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    failure = Unauthorized("用户名或密码错误，请重新输入；忘记密码请联系信用办重置")
    if user is None:
        _ph.hash(password)  # equalise timing with the found-user path
        raise failure
    try:
        _ph.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise failure from None
    return user


def change_password(session: Session, user: User, current: str, new: str, confirm: str) -> None:
    """A user changes their own password; every session of theirs ends (the caller starts a fresh one)."""
    try:
        _ph.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("当前密码不正确，请重新输入；忘记密码请联系信用办重置") from None
    if new != confirm:
        raise Refused("两次输入的新密码不一致，请重新输入")
    if len(new) < 8:
        raise Refused("新密码至少 8 位，请重新设置")
    if new == current:
        raise Refused("新密码不能与当前密码相同，请换一个")
    user.password_hash = _ph.hash(new)
    ended = end_sessions_of(session, user=user)
    audit.record(session, actor=f"user:{user.username}", action="user.password_change", entity="user",
                 entity_id=user.id, after={"sessions_ended": ended})


def set_user_active(session: Session, username: str, active: bool, *, actor: str = "system") -> User:
    """Disable (or enable again) a user of /admin; disabling ends every session of that user at once."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"没有用户名为「{username[:64]}」的用户，请核对")
    user.active = active
    ended = 0 if active else end_sessions_of(session, user=user)
    audit.record(session, actor=actor, action="user.enable" if active else "user.disable", entity="user",
                 entity_id=user.id, after={"username": user.username, "sessions_ended": ended})
    return user
