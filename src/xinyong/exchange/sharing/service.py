"""Partners: registration, scoped keys (stored as SHA-256 like department keys), the key resolver, rate limits and
the read log. Functions take a Session and never commit."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from limits import parse as parse_limit
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from xinyong.access.actors import Actor, ActorKind
from xinyong.access.deps import register_key_resolver
from xinyong.accounts import service as accounts
from xinyong.catalog.service import get_catalog
from xinyong.core import audit, clock
from xinyong.core.db import utcnow
from xinyong.core.errors import NotFound, Refused, Unauthorized
from xinyong.core.throttle import Throttle
from xinyong.exchange.sharing import rules
from xinyong.exchange.sharing.models import Partner, PartnerKey, PartnerRead, PartnerReadMonth, PartnerScope
from xinyong.lists.config import get_list_types

KEY_PREFIX = "xyp_"


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ScopeIn:
    item: str
    level: str = "shared"
    id_numbers: str = "masked"


def _scope_kind(item: str) -> tuple[str, str]:
    """(kind, disclosure) of a scope item: a catalog item or a list type; unknown → Refused naming the choices."""
    cat = get_catalog().find(item)
    if cat is not None:
        return "item", cat.disclosure
    lt = get_list_types().find(item)
    if lt is not None:
        return "list", "public" if lt.public else "shared"
    choices = "、".join([i.code for i in get_catalog().list()] + [t.code for t in get_list_types().list()])
    raise Refused(f"共享范围中的“{item}”既不是目录信息项也不是名单类型，可选：{choices}")


def _check_scope(scope: ScopeIn) -> tuple[str, str]:
    if scope.level not in rules.LEVELS:
        raise Refused(f"公开等级“{scope.level}”无效，可选：{'、'.join(rules.LEVELS)}")
    if scope.id_numbers not in rules.ID_NUMBERS:
        raise Refused(f"证件号码提供方式“{scope.id_numbers}”无效，可选：{'、'.join(rules.ID_NUMBERS)}")
    kind, disclosure = _scope_kind(scope.item)
    if not rules.level_allows(scope.level, disclosure):
        raise Refused(f"信息项“{scope.item}”的公开等级为「{rules.LEVEL_LABELS[disclosure]}」，高于授予的"
                      f"「{rules.LEVEL_LABELS[scope.level]}」：请提高该项的公开等级或从范围中去掉它")
    return kind, disclosure


def _new_key(session: Session, partner: Partner) -> str:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(PartnerKey(partner_id=partner.id, prefix=key[:12], key_hash=_key_hash(key)))
    return key


def add_partner(session: Session, code: str, name: str, scopes: list[ScopeIn], *, kind: str = "department",
                purpose: str = "", expires_on: date | None = None, rate_limit: str = "600 per minute",
                dept_code: str | None = None, actor: str = "system") -> tuple[Partner, str]:
    """Register a partner with its scope; returns it and its key (shown once, stored only hashed)."""
    try:
        code = rules.check_code(code)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    if not name.strip():
        raise Refused("合作方名称不能为空")
    if kind not in rules.KINDS:
        raise Refused(f"合作方类型“{kind}”无效，可选：{'、'.join(rules.KINDS)}")
    if not scopes:
        raise Refused("请至少指定一个可读取的信息项（--items ITEM,…）")
    try:
        parse_limit(rate_limit)
    except ValueError:
        raise Refused(f"访问频率“{rate_limit}”无效，请按“600 per minute”的格式填写") from None
    if expires_on is not None and expires_on < clock.today():
        raise Refused(f"到期日 {expires_on.isoformat()} 早于今天，请填写今天或以后的日期")
    kinds = [_check_scope(s) for s in scopes]
    if session.scalar(select(Partner.id).where(Partner.code == code)) is not None:
        raise Refused(f"合作方代码“{code}”已存在：请换一个代码，或先吊销原合作方")
    dept_id = accounts.get_department(session, dept_code).id if dept_code else None
    partner = Partner(code=code, name=name.strip(), kind=kind, purpose=purpose.strip(), expires_on=expires_on,
                      rate_limit=rate_limit, dept_id=dept_id)
    session.add(partner)
    session.flush()
    for scope, (scope_kind, _) in zip(scopes, kinds, strict=True):
        session.add(PartnerScope(partner_id=partner.id, item=scope.item, kind=scope_kind, level=scope.level,
                                 id_numbers=scope.id_numbers))
    key = _new_key(session, partner)
    session.flush()
    audit.record(session, actor=actor, action="partner.add", entity="partner", entity_id=partner.id,
                 after={"code": code, "kind": kind, "items": [s.item for s in scopes], "expires_on": expires_on,
                        "prefix": key[:12]})
    return partner, key


def get_partner(session: Session, code: str) -> Partner:
    partner = session.scalar(select(Partner).where(Partner.code == code))
    if partner is None:
        raise NotFound(f"合作方“{code}”不存在，请用 `xinyong partner list` 查看已登记的合作方")
    return partner


def list_partners(session: Session) -> list[Partner]:
    return list(session.scalars(select(Partner).order_by(Partner.code)))


def scopes_of(session: Session, partner_id: int) -> list[PartnerScope]:
    return list(session.scalars(select(PartnerScope).where(PartnerScope.partner_id == partner_id)
                                .order_by(PartnerScope.id)))


def revoke_partner(session: Session, code: str, *, actor: str = "system") -> Partner:
    partner = get_partner(session, code)
    if partner.revoked_at is None:
        now = utcnow()
        partner.revoked_at = now
        session.execute(update(PartnerKey).where(PartnerKey.partner_id == partner.id,
                                                 PartnerKey.revoked_at.is_(None)).values(revoked_at=now))
        audit.record(session, actor=actor, action="partner.revoke", entity="partner", entity_id=partner.id,
                     after={"code": code})
    return partner


def status_of(partner: Partner, today: date) -> str:
    if partner.revoked_at is not None:
        return "已吊销"
    if partner.expires_on is not None and today > partner.expires_on:
        return "已到期"
    return "有效"


# ---------------------------------------------------------------- keys → actors

@lru_cache(maxsize=64)
def _throttle(limit: str) -> Throttle:
    return Throttle(f"partner:{limit}", limit, "访问过于频繁，已超过约定的访问频率：请在 {wait}后再试")


def partner_for_key(session: Session, key: str) -> Partner:
    row = session.execute(select(Partner, PartnerKey.revoked_at).join(PartnerKey, PartnerKey.partner_id == Partner.id)
                          .where(PartnerKey.key_hash == _key_hash(key.strip()))).first()
    if row is None:
        raise Unauthorized("共享密钥无效：请核对 Authorization: Bearer <密钥>，密钥由信用办用 `xinyong partner add` 签发")
    partner, key_revoked = row
    refusal = rules.key_refusal(partner_revoked=partner.revoked_at is not None, key_revoked=key_revoked is not None,
                                expires_on=partner.expires_on, today=clock.today())
    if refusal:
        raise Unauthorized(refusal)
    return partner


def resolve_partner_key(session: Session, key: str) -> Actor | None:
    """The access layer's resolver: keys starting with xyp_ are partners'. Every request counts against the
    partner's rate limit (429 with Retry-After over it)."""
    if not key.startswith(KEY_PREFIX):
        return None
    partner = partner_for_key(session, key)
    _throttle(partner.rate_limit).hit(partner.code)
    return Actor(ActorKind.PARTNER, label=f"partner:{partner.code}", party_id=partner.id)


register_key_resolver(resolve_partner_key)


def partner_of(session: Session, actor: Actor) -> Partner:
    partner = session.get(Partner, actor.party_id) if actor.party_id is not None else None
    if partner is None:  # a partner actor always names its partner; one that was deleted is gone
        raise NotFound("共享合作方不存在：请联系信用办核对合作方登记")
    return partner


# ---------------------------------------------------------------- the read log

def log_read(session: Session, partner: Partner, action: str, what: str, rows: int) -> None:
    """One row per read and the month's counts (the month of legal time)."""
    session.add(PartnerRead(partner_id=partner.id, action=action, what=what[:300], rows=rows, purpose=partner.purpose))
    month = clock.today().strftime("%Y-%m")
    done = session.execute(update(PartnerReadMonth)
                           .where(PartnerReadMonth.partner_id == partner.id, PartnerReadMonth.month == month)
                           .values(reads=PartnerReadMonth.reads + 1, rows=PartnerReadMonth.rows + rows))
    if not getattr(done, "rowcount", 0):
        session.add(PartnerReadMonth(partner_id=partner.id, month=month, reads=1, rows=rows))
    session.flush()


def reads_of(session: Session, partner_id: int, limit: int = 50) -> list[PartnerRead]:
    return list(session.scalars(select(PartnerRead).where(PartnerRead.partner_id == partner_id)
                                .order_by(PartnerRead.id.desc()).limit(limit)))


def monthly_counts(session: Session, partner_id: int | None = None) -> list[PartnerReadMonth]:
    q = select(PartnerReadMonth).order_by(PartnerReadMonth.month.desc(), PartnerReadMonth.partner_id)
    if partner_id is not None:
        q = q.where(PartnerReadMonth.partner_id == partner_id)
    return list(session.scalars(q))


def totals(session: Session) -> dict[int, tuple[int, int]]:
    """partner id → (reads, rows) over all months."""
    rows = session.execute(select(PartnerReadMonth.partner_id, func.sum(PartnerReadMonth.reads),
                                  func.sum(PartnerReadMonth.rows)).group_by(PartnerReadMonth.partner_id))
    return {int(p): (int(r or 0), int(n or 0)) for p, r, n in rows}
