from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.accounts import service as accounts
from xinyong.accounts.models import ApiKey
from xinyong.core.errors import NotFound, Refused, Unauthorized


def test_api_key_is_shown_once_and_stored_hashed(db: Session) -> None:
    accounts.add_department(db, "SW", "国家税务总局德州市税务局")
    key = accounts.create_api_key(db, "SW")
    db.commit()
    stored = db.scalars(select(ApiKey)).one()
    assert key not in (stored.key_hash, stored.prefix) and stored.key_hash != key
    assert accounts.department_for_key(db, key).code == "SW"
    with pytest.raises(Unauthorized):
        accounts.department_for_key(db, key + "x")


def test_revoked_key_no_longer_authenticates(db: Session) -> None:
    accounts.add_department(db, "SW", "税务局")
    key = accounts.create_api_key(db, "SW")
    accounts.revoke_api_key(db, key[:10])
    with pytest.raises(Unauthorized):
        accounts.department_for_key(db, key)


def test_key_for_unknown_department_is_refused_in_chinese(db: Session) -> None:
    with pytest.raises(NotFound, match="不存在"):
        accounts.create_api_key(db, "NOPE")


def test_department_with_bad_uscc_is_refused(db: Session) -> None:
    with pytest.raises(Refused):
        accounts.add_department(db, "X", "某局", "914403001922038217")


def test_password_login_uses_argon2(db: Session) -> None:
    accounts.add_department(db, "SCJG", "市场监管局")
    user = accounts.create_user(db, "clerk", "correct horse", dept_code="SCJG")
    assert user.password_hash.startswith("$argon2")
    assert accounts.authenticate_user(db, "clerk", "correct horse").id == user.id
    with pytest.raises(Unauthorized):
        accounts.authenticate_user(db, "clerk", "wrong password")
    with pytest.raises(Unauthorized):
        accounts.authenticate_user(db, "nobody", "whatever1")
