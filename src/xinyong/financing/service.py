"""信易贷 service: institutions, bank users and keys, products, needs and their feedback, grants, the bank's
authorised credit view (every look logged for the firm), statistics. Functions take a Session and never commit."""

from __future__ import annotations

import hashlib
import io
import json
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from xinyong.access.actors import Actor, ActorKind
from xinyong.accounts import service as accounts
from xinyong.catalog.service import get_catalog
from xinyong.core import audit
from xinyong.core import calendar as workdays
from xinyong.core import conditions as cond
from xinyong.core.errors import DomainError, Forbidden, NotFound, Refused, RuleViolation, Unauthorized
from xinyong.core.identifiers import normalize_code
from xinyong.core.throttle import LOGIN_BY_ACCOUNT, LOGIN_BY_ADDRESS
from xinyong.financing import eligibility, rules
from xinyong.financing.models import (
    BankKey,
    BankSession,
    BankUser,
    Grant,
    Institution,
    Need,
    NeedEvent,
    Product,
    ViewLog,
)
from xinyong.subjects.models import Subject

KEY_PREFIX = "xyb_"
SLA: dict[str, int] = dict(rules.DEFAULT_SLA)
CONFIG_NAME = "financing.yaml"


def _rule(exc: rules.RuleError) -> DomainError:
    return DomainError(str(exc), rule="financing")


def load_sla(path: Path | None = None) -> dict[str, int]:
    """SLA limits per stage (working days) from the configuration's financing.yaml (`sla: {claim: 2, …}`), else
    the defaults of rules.DEFAULT_SLA."""
    from xinyong.catalog.service import config_dir

    path = path or config_dir() / CONFIG_NAME
    limits = dict(rules.DEFAULT_SLA)
    if path.exists():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for stage, days in (data.get("sla") or {}).items():
            if stage not in rules.DEFAULT_SLA or isinstance(days, bool) or not isinstance(days, int) or days < 1:
                raise ValueError(f"{path}: sla.{stage} 须为已知阶段（{'、'.join(rules.DEFAULT_SLA)}）的正整数工作日")
            limits[stage] = days
    SLA.clear()
    SLA.update(limits)  # all or nothing: a bad file leaves the limits in force
    return dict(SLA)


# ---------------------------------------------------------------- institutions, users, keys

def add_institution(db: Session, uscc: str, name: str, kind: str = "bank", *, actor: str = "system") -> Institution:
    code = normalize_code(uscc)
    if len(code) != 18:
        raise DomainError("统一社会信用代码须为 18 位，请核对后重新填写")
    if kind not in rules.INSTITUTION_KINDS:
        raise DomainError(f"机构类型须为：{'、'.join(rules.INSTITUTION_KINDS)}")
    if not name.strip():
        raise DomainError("请填写机构名称")
    if db.scalar(select(Institution.id).where(Institution.uscc == code)) is not None:
        raise Refused(f"统一社会信用代码为 {code} 的机构已登记，无需重复添加")
    inst = Institution(uscc=code, name=name.strip()[:200], kind=kind)
    db.add(inst)
    db.flush()
    audit.record(db, actor=actor, action="fi.institution.add", entity="fi_institution", entity_id=inst.id,
                 after={"uscc": code, "name": inst.name, "kind": kind})
    return inst


def set_webhook(db: Session, inst: Institution, url: str | None, *, actor: str = "system") -> str | None:
    """Where the institution hears of post-loan changes (a checked public address); returns the signing key."""
    from xinyong.financing.monitoring import webhook_secret
    from xinyong.joint.webhooks import check_target

    if url:
        check_target(url)
    inst.webhook_url = url.strip()[:500] if url else None
    audit.record(db, actor=actor, action="fi.webhook.set", entity="fi_institution", entity_id=inst.id,
                 after={"url": inst.webhook_url})
    return webhook_secret(inst.id) if url else None


def get_institution(db: Session, ref: int | str) -> Institution:
    inst = (db.get(Institution, ref) if isinstance(ref, int)
            else db.scalar(select(Institution).where(Institution.uscc == normalize_code(ref))))
    if inst is None:
        raise NotFound("未找到该金融机构，请核对机构编号或统一社会信用代码")
    return inst


def add_user(db: Session, institution: Institution, username: str, password: str, role: str, *,
             actor: str = "system") -> BankUser:
    if role not in rules.ROLES:
        raise DomainError(f"角色须为：{'、'.join(f'{k}（{v}）' for k, v in rules.ROLES.items())}")
    name = username.strip()
    if not 3 <= len(name) <= 64:
        raise DomainError("用户名须为 3 至 64 个字符")
    if len(password) < 10:
        raise DomainError("密码至少 10 位，请重新设置")
    if db.scalar(select(BankUser.id).where(BankUser.username == name)) is not None:
        raise Refused(f"用户名 {name} 已被使用，请换一个")
    user = BankUser(institution_id=institution.id, username=name, password_hash=accounts.hash_password(password),
                    role=role)
    db.add(user)
    db.flush()
    audit.record(db, actor=actor, action="fi.user.add", entity="fi_user", entity_id=user.id,
                 after={"institution": institution.uscc, "username": name, "role": role})
    return user


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(db: Session, institution: Institution, label: str | None = None, *, actor: str = "system") -> str:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    db.add(BankKey(institution_id=institution.id, prefix=key[:12], key_hash=_key_hash(key), label=label))
    db.flush()
    audit.record(db, actor=actor, action="fi.key.create", entity="fi_institution", entity_id=institution.id,
                 after={"prefix": key[:12], "label": label})
    return key


def revoke_key(db: Session, prefix: str, *, actor: str = "system") -> None:
    row = db.scalar(select(BankKey).where(BankKey.prefix == prefix))
    if row is None:
        raise NotFound("未找到该密钥，请核对密钥前缀")
    if row.revoked_at is None:
        from xinyong.core.db import utcnow

        row.revoked_at = utcnow()
        audit.record(db, actor=actor, action="fi.key.revoke", entity="fi_institution", entity_id=row.institution_id,
                     after={"prefix": prefix})


def actor_for_key(db: Session, key: str) -> Actor | None:
    """The key resolver registered with access.deps: a bank's key by its prefix, else None."""
    if not key.startswith(KEY_PREFIX):
        return None
    row = db.execute(select(BankKey, Institution).join(Institution, Institution.id == BankKey.institution_id)
                     .where(BankKey.key_hash == _key_hash(key.strip()))).first()
    if row is None or row[0].revoked_at is not None or not row[1].active:
        raise Unauthorized("金融机构 API 密钥无效或已吊销：请联系信用办签发新密钥（xinyong fi key）")
    return Actor(ActorKind.BANK, label=f"bankkey:{row[0].prefix}", party_id=row[1].id)


def actor_for_bank_user(user: BankUser) -> Actor:
    return Actor(ActorKind.BANK, label=f"bank:{user.username}", party_id=user.institution_id)


def actor_for_session(db: Session, web_session_id: int) -> Actor | None:
    row = db.get(BankSession, web_session_id)
    if row is None:
        return None
    user = db.get(BankUser, row.user_id)
    if user is None or not user.active:
        return None
    inst = db.get(Institution, user.institution_id)
    if inst is None or not inst.active:
        return None
    return actor_for_bank_user(user)


def authenticate(db: Session, username: str, password: str, *, address: str) -> BankUser:
    """A bank user's login, throttled per user name and per address like every login; failures audited."""
    key = username.strip()[:64]
    LOGIN_BY_ACCOUNT.check(f"bank:{key}")
    LOGIN_BY_ADDRESS.check(address)
    user = db.scalar(select(BankUser).where(BankUser.username == key))
    if not accounts.verify_password(user.password_hash if user else None, password) or user is None:
        LOGIN_BY_ACCOUNT.count(f"bank:{key}")
        LOGIN_BY_ADDRESS.count(address)
        audit.record(db, actor=f"anonymous:{address}", action="fi.login_failed", entity="fi_user",
                     entity_id=user.id if user else None, after={"username": key})
        raise Unauthorized("用户名或密码错误，请重新输入；忘记密码请联系本机构管理员或信用办", rule="fi.login")
    if not user.active:
        raise Forbidden("该用户已停用，不能登录；请联系信用办", rule="fi.disabled")
    audit.record(db, actor=f"bank:{user.username}", action="fi.login", entity="fi_user", entity_id=user.id,
                 after={"address": address})
    return user


def bank_user_of(db: Session, actor: Actor) -> BankUser | None:
    if not actor.label.startswith("bank:"):
        return None
    return db.scalar(select(BankUser).where(BankUser.username == actor.label.removeprefix("bank:")))


def require_role(db: Session, actor: Actor, role: str) -> None:
    """A bank's user acts in its role (API keys act for the whole institution)."""
    user = bank_user_of(db, actor)
    if user is not None and user.role != role:
        raise Forbidden(f"此项业务须由{rules.ROLES[role]}办理，您的角色是{rules.ROLES.get(user.role, user.role)}")


def _institution_id(actor: Actor) -> int:
    if actor.kind is not ActorKind.BANK or actor.party_id is None:
        raise Forbidden("仅金融机构可办理此项业务")
    return actor.party_id


# ---------------------------------------------------------------- products

@dataclass
class ProductIn:
    name: str
    min_amount: int
    max_amount: int
    min_term: int
    max_term: int
    min_rate: float
    max_rate: float
    guarantee: str
    regions: list[str]
    industries: list[str]
    rules: dict[str, Any] | None
    description: str = ""


def create_product(db: Session, actor: Actor, data: ProductIn) -> Product:
    inst_id = _institution_id(actor)
    require_role(db, actor, "product_manager")
    if not data.name.strip():
        raise DomainError("请填写产品名称")
    try:
        rules.check_product_ranges(data.min_amount, data.max_amount, data.min_term, data.max_term, data.min_rate,
                                   data.max_rate, data.guarantee)
    except rules.RuleError as exc:
        raise _rule(exc) from exc
    try:
        eligibility.parse_rules(data.rules)
    except cond.ConditionError as exc:
        where = ".".join(str(p) for p in exc.path)
        raise DomainError(f"准入条件有误{f'（{where}）' if where else ''}：{exc.message}") from exc
    product = Product(institution_id=inst_id, name=data.name.strip()[:200], min_amount=data.min_amount,
                      max_amount=data.max_amount, min_term=data.min_term, max_term=data.max_term,
                      min_rate=data.min_rate, max_rate=data.max_rate, guarantee=data.guarantee,
                      regions=",".join(r.strip() for r in data.regions if r.strip()),
                      industries=",".join(i.strip() for i in data.industries if i.strip()),
                      rules=json.dumps(data.rules, ensure_ascii=False) if data.rules else "",
                      description=data.description[:2000], status="published")
    db.add(product)
    db.flush()
    audit.record(db, actor=actor.label, action="fi.product.create", entity="fi_product", entity_id=product.id,
                 after={"name": product.name})
    return product


def set_product_status(db: Session, actor: Actor, product_id: int, status: str) -> Product:
    product = db.get(Product, product_id)
    if product is None or product.institution_id != _institution_id(actor):
        raise NotFound("未找到本机构的该产品")
    require_role(db, actor, "product_manager")
    if status not in ("published", "withdrawn"):
        raise DomainError("产品状态只能为 published（上架）或 withdrawn（下架）")
    product.status = status
    audit.record(db, actor=actor.label, action="fi.product.status", entity="fi_product", entity_id=product.id,
                 after={"status": status})
    return product


def products(db: Session, *, institution_id: int | None = None, published_only: bool = True) -> list[Product]:
    query = select(Product).order_by(Product.id)
    if published_only:
        query = query.where(Product.status == "published")
    if institution_id is not None:
        query = query.where(Product.institution_id == institution_id)
    return list(db.scalars(query))


@dataclass(frozen=True, slots=True)
class ProductView:
    """A product's columns read without the ORM (eligibility lists all products on every call)."""

    id: int
    institution_id: int
    name: str
    min_amount: int
    max_amount: int
    min_term: int
    max_term: int
    min_rate: float
    max_rate: float
    guarantee: str
    regions: str
    industries: str
    rules: str
    description: str
    status: str


def product_views(db: Session, *, institution_id: int | None = None) -> list[ProductView]:
    """Published products as plain rows (a Core select: no identity map, ~10× cheaper than ORM objects)."""
    t = Product.__table__
    fields = list(ProductView.__slots__)
    query = select(*(t.c[f] for f in fields)).where(t.c.status == "published").order_by(t.c.id)
    if institution_id is not None:
        query = query.where(t.c.institution_id == institution_id)
    return [ProductView(*row) for row in db.execute(query)]


@lru_cache(maxsize=4096)
def _rules_data(text: str) -> Any:
    return json.loads(text) if text else None


def product_out(db: Session, p: Product | ProductView, names: dict[int, str] | None = None) -> dict[str, Any]:
    inst_name = (names or {}).get(p.institution_id)
    if inst_name is None:
        inst = db.get(Institution, p.institution_id)
        inst_name = inst.name if inst else ""
    return {"id": p.id, "name": p.name, "institution_id": p.institution_id, "institution": inst_name,
            "min_amount": p.min_amount, "max_amount": p.max_amount, "min_term": p.min_term, "max_term": p.max_term,
            "min_rate": p.min_rate, "max_rate": p.max_rate, "guarantee": p.guarantee,
            "guarantee_label": rules.GUARANTEES.get(p.guarantee, p.guarantee),
            "regions": [r for r in p.regions.split(",") if r], "industries": [i for i in p.industries.split(",") if i],
            "rules": _rules_data(p.rules or ""),
            "rules_text": eligibility.describe_rules(p.rules or ""), "status": p.status,
            "description": p.description}


def institution_names(db: Session) -> dict[int, str]:
    return {i: n for i, n in db.execute(select(Institution.id, Institution.name))}


# ---------------------------------------------------------------- eligibility

def product_check(p: Product | ProductView, facts: dict[str, Any], amount: int | None, term: int | None) -> list[str]:
    """Why this firm (its facts) may not use the product for this amount and term; empty: eligible."""
    reasons: list[str] = []
    if amount is not None and not p.min_amount <= amount <= p.max_amount:
        reasons.append(f"申请金额 {amount} 元不在产品额度范围（{p.min_amount} 至 {p.max_amount} 元）内")
    if term is not None and not p.min_term <= term <= p.max_term:
        reasons.append(f"申请期限 {term} 个月不在产品期限范围（{p.min_term} 至 {p.max_term} 个月）内")
    regions = [r for r in p.regions.split(",") if r]
    region = facts.get("region_code") or ""
    if regions and not any(region.startswith(r) for r in regions):
        reasons.append(f"所在地区（{region or '未知'}）不在产品服务地区内")
    if p.rules:
        condition = eligibility.parse_rules(p.rules)
        if condition is not None:
            reasons.extend(cond.evaluate(condition, facts).reasons)
    return reasons


def eligibility_for(db: Session, subject_id: int, today: date, *, amount: int | None = None,
                    term: int | None = None) -> list[dict[str, Any]]:
    facts = eligibility.facts_of(db, subject_id, today)
    names = institution_names(db)
    out = []
    for p in product_views(db):
        reasons = product_check(p, facts, amount, term)
        out.append({"product": product_out(db, p, names), "eligible": not reasons, "reasons": reasons})
    out.sort(key=lambda r: not r["eligible"])
    return out


# ---------------------------------------------------------------- needs

def _event(db: Session, need: Need, actor: str, action: str, before: str | None, today: date,
           note: str | None = None) -> None:
    db.add(NeedEvent(need_id=need.id, on=today, actor=actor, action=action, from_state=before, to_state=need.state,
                     note=note))


def _subject_of(actor: Actor) -> int:
    if actor.kind is not ActorKind.SUBJECT or actor.subject_id is None:
        raise Forbidden("仅企业主体账户可办理此项业务，请先登录主体账户")
    return actor.subject_id


def create_need(db: Session, actor: Actor, *, amount: int, term: int, purpose: str, product_id: int | None,
                today: date) -> Need:
    """A firm's need: sent to the chosen product's bank, or (no product) posted for eligible banks to claim."""
    subject_id = _subject_of(actor)
    try:
        rules.check_amount(amount, label="申请金额")
        rules.check_term(term)
    except rules.RuleError as exc:
        raise _rule(exc) from exc
    if not purpose.strip():
        raise DomainError("请填写资金用途")
    need = Need(subject_id=subject_id, account_id=actor.account_id, amount=amount, term=term,
                purpose=purpose.strip()[:2000], posted_on=today, mode="posted", state="posted")
    if product_id is not None:
        product = db.get(Product, product_id)
        if product is None or product.status != "published":
            raise NotFound("未找到该产品或产品已下架，请从融资产品列表中选择")
        reasons = product_check(product, eligibility.facts_of(db, subject_id, today), amount, term)
        if reasons:
            raise Refused("不符合该产品的条件：" + "；".join(reasons), rule="fi.eligibility")
        need.mode, need.state = "directed", "sent"
        need.product_id, need.institution_id, need.guarantee = product.id, product.institution_id, product.guarantee
    db.add(need)
    db.flush()
    _event(db, need, actor.label, "send" if need.mode == "directed" else "post", None, today)
    return need


def get_need_for(db: Session, actor: Actor, need_id: int) -> Need:
    """A need as this actor may see it: the firm its own, a bank the posted ones and its own, the office all."""
    need = db.get(Need, need_id)
    visible = need is not None and (
        (actor.kind is ActorKind.SUBJECT and actor.subject_id == need.subject_id)
        or (actor.kind is ActorKind.BANK and (need.institution_id == actor.party_id or need.state == "posted"))
        or actor.kind in (ActorKind.OPERATOR, ActorKind.AUDITOR))
    if need is None or not visible:
        raise NotFound("未找到该融资需求（或您无权查看）")
    return need


def claim(db: Session, actor: Actor, need_id: int, today: date) -> Need:
    """抢单: the first bank with an eligible product wins, by one conditional UPDATE; the others are refused."""
    inst_id = _institution_id(actor)
    require_role(db, actor, "loan_officer")
    need = db.get(Need, need_id)
    if need is None:
        raise NotFound("未找到该融资需求")
    if need.state != "posted":
        raise RuleViolation("该需求已被接单或已结束，不能再接单（已被接单）", rule="fi.taken")
    facts = eligibility.facts_of(db, need.subject_id, today)
    fitting = [p for p in product_views(db, institution_id=inst_id)
               if not product_check(p, facts, need.amount, need.term)]
    if not fitting:
        raise Refused("本机构没有该企业符合条件的上架产品，不能接单", rule="fi.eligibility")
    best = fitting[0]
    result = db.execute(update(Need).where(Need.id == need_id, Need.state == "posted", Need.institution_id.is_(None))
                        .values(state="accepted", institution_id=inst_id, accepted_on=today, product_id=best.id,
                                guarantee=best.guarantee).execution_options(synchronize_session=False))
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        raise RuleViolation("该需求已被其他机构接单（已被接单）", rule="fi.taken")
    db.refresh(need)
    db.add(NeedEvent(need_id=need.id, on=today, actor=actor.label, action="claim", from_state="posted",
                     to_state="accepted", note=best.name))
    return need


@dataclass
class Feedback:
    amount: int | None = None
    rate: float | None = None
    term: int | None = None
    reasons: list[str] | None = None
    text: str = ""
    on: date | None = None


def act(db: Session, actor: Actor, need_id: int, action: str, fb: Feedback, today: date) -> Need:
    """A structured feedback step on a need: only its bank (cancel: only its firm), no stage skipped."""
    need = db.get(Need, need_id)
    if action == "cancel":
        if need is None or actor.kind is not ActorKind.SUBJECT or actor.subject_id != need.subject_id:
            raise NotFound("未找到该融资需求（或您无权查看）")
    else:
        if need is None:
            raise NotFound("未找到该融资需求（或您无权查看）")
        inst_id = _institution_id(actor)
        require_role(db, actor, "loan_officer")
        if action == "claim":
            return claim(db, actor, need_id, today)
        if (need.institution_id != inst_id and need.state != "posted"):
            raise NotFound("未找到该融资需求（或您无权查看）")
        if need.institution_id != inst_id:
            raise Forbidden("该需求不属于本机构，不能反馈；待接单的需求请先接单")
    try:
        target = rules.next_state(need.state, action)
    except rules.RuleError as exc:
        raise RuleViolation(str(exc), rule="fi.state") from exc
    try:
        note = None
        product = db.get(Product, need.product_id) if need.product_id else None
        if action == "grant":
            if fb.amount is None or fb.rate is None or fb.term is None:
                raise rules.RuleError("授信须填写金额、年利率和期限")
            rules.check_amount(fb.amount, label="授信金额")
            rules.check_term(fb.term)
            if product is not None:
                rules.check_in_range(fb.amount, product.min_amount, product.max_amount, "授信金额", " 元")
                rules.check_in_range(fb.rate, product.min_rate, product.max_rate, "年利率", "%")
                rules.check_in_range(fb.term, product.min_term, product.max_term, "期限", " 个月")
            elif not 0 < fb.rate <= 36:
                raise rules.RuleError("年利率须在 0 至 36% 之间")
            note = f"授信 {fb.amount} 元，年利率 {fb.rate:g}%，期限 {fb.term} 个月"
        elif action == "refuse":
            rules.check_refusal(fb.reasons or [], fb.text)
            note = "、".join(rules.REFUSAL_REASONS[r] for r in fb.reasons or []) + "：" + fb.text.strip()
        elif action == "disburse":
            if fb.amount is None:
                raise rules.RuleError("放款须填写金额")
            rules.check_amount(fb.amount, label="放款金额")
            if need.granted_amount is not None and fb.amount > need.granted_amount:
                raise rules.RuleError(f"放款金额不能超过授信金额 {need.granted_amount} 元")
            on = fb.on or today
            if on > today or (need.decided_on is not None and on < need.decided_on):
                raise rules.RuleError("放款日期须在授信之后、不晚于今天")
            note = f"放款 {fb.amount} 元（{on.isoformat()}）"
        elif action == "contact":
            if need.contacted_on is not None:
                raise rules.RuleError(f"已于 {need.contacted_on.isoformat()} 登记首次联系，无需重复登记")
            note = fb.text.strip()[:500] or None
        elif action in ("withdraw", "cancel"):
            note = fb.text.strip()[:500] or None
    except rules.RuleError as exc:
        raise _rule(exc) from exc
    before = need.state
    # conditional on the state read: two concurrent feedbacks cannot both pass
    result = db.execute(update(Need).where(Need.id == need.id, Need.state == before).values(state=target)
                        .execution_options(synchronize_session=False))
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        raise RuleViolation("需求状态已变化，请刷新后重试", rule="fi.conflict")
    db.refresh(need)
    if action == "accept":
        need.accepted_on = today
    elif action == "contact":
        need.contacted_on = today
    elif action == "grant":
        need.granted_amount, need.granted_rate, need.granted_term, need.decided_on = fb.amount, fb.rate, fb.term, today
    elif action == "refuse":
        need.refusal_reasons = ",".join(fb.reasons or [])
        need.refusal_text, need.decided_on = fb.text.strip()[:2000], today
    elif action == "disburse":
        need.disbursed_amount, need.closed_on = fb.amount, fb.on or today
    else:
        need.closed_on = today
    _event(db, need, actor.label, action, before, today, note)
    db.flush()
    return need


def overdue_stage(need: Need, today: date) -> str | None:
    contacted = need.contacted_on is not None
    started = rules.stage_started(need.state, need.posted_on, need.accepted_on, need.decided_on, need.contacted_on,
                                  contacted=contacted)
    return rules.overdue(need.state, started, today, SLA, workdays.workdays_between, contacted=contacted)


def need_out(db: Session, need: Need, today: date, *, viewer: Actor | None = None,
             names: dict[int, str] | None = None) -> dict[str, Any]:
    names = names if names is not None else institution_names(db)
    taken_by_other = (viewer is not None and viewer.kind is ActorKind.BANK and need.institution_id is not None
                      and need.institution_id != viewer.party_id)
    stage = overdue_stage(need, today)
    subject = db.get(Subject, need.subject_id)
    product = db.get(Product, need.product_id) if need.product_id else None
    return {"id": need.id, "subject_id": need.subject_id, "firm": subject.name if subject else "",
            "uscc": subject.uscc if subject else None, "amount": need.amount, "term": need.term,
            "purpose": need.purpose, "mode": need.mode, "state": "taken" if taken_by_other else need.state,
            "state_label": "已被接单" if taken_by_other else rules.STATE_LABELS.get(need.state, need.state),
            "institution": names.get(need.institution_id or 0, ""), "institution_id": need.institution_id,
            "product": product.name if product else None, "product_id": need.product_id,
            "posted_on": need.posted_on, "accepted_on": need.accepted_on, "contacted_on": need.contacted_on,
            "decided_on": need.decided_on,
            "closed_on": need.closed_on, "granted_amount": need.granted_amount, "granted_rate": need.granted_rate,
            "granted_term": need.granted_term, "disbursed_amount": need.disbursed_amount,
            "refusal": [rules.REFUSAL_REASONS.get(r, r) for r in (need.refusal_reasons or "").split(",") if r],
            "refusal_text": need.refusal_text,
            "overdue": stage, "overdue_label": f"{rules.STAGE_LABELS[stage]}超时" if stage else None}


def need_events(db: Session, need: Need) -> list[dict[str, Any]]:
    rows = db.scalars(select(NeedEvent).where(NeedEvent.need_id == need.id).order_by(NeedEvent.id))
    return [{"on": e.on, "action": rules.ACTION_LABELS.get(e.action, e.action), "actor": e.actor,
             "state": rules.STATE_LABELS.get(e.to_state or "", e.to_state), "note": e.note} for e in rows]


def needs_of_subject(db: Session, subject_id: int) -> list[Need]:
    return list(db.scalars(select(Need).where(Need.subject_id == subject_id).order_by(Need.id.desc())))


def needs_for_bank(db: Session, institution_id: int, limit: int = 200) -> list[Need]:
    """The bank's own needs and the market: posted needs, and recently taken ones (shown as 已被接单)."""
    query = (select(Need).where((Need.institution_id == institution_id) | (Need.mode == "posted"))
             .order_by(Need.id.desc()).limit(limit))
    return list(db.scalars(query))


# ---------------------------------------------------------------- grants and the bank's view

def scope_items() -> dict[str, str]:
    return {code: item.name for code, item in get_catalog().items.items()}


def create_grant(db: Session, actor: Actor, *, institution_id: int, items: list[str], purpose: str,
                 expires_on: date, need_id: int | None, today: date) -> Grant:
    subject_id = _subject_of(actor)
    try:
        scope = rules.check_grant_scope(items, frozenset(scope_items()))
    except rules.RuleError as exc:
        raise _rule(exc) from exc
    if purpose not in rules.PURPOSES:
        raise DomainError(f"授权用途须为：{'、'.join(f'{k}（{v}）' for k, v in rules.PURPOSES.items())}")
    inst = db.get(Institution, institution_id)
    if inst is None or not inst.active:
        raise NotFound("未找到该金融机构")
    if expires_on < today or expires_on > today + timedelta(days=3 * 366):
        raise DomainError("授权到期日须在今天至三年之内")
    if purpose == "need":
        need = db.get(Need, need_id) if need_id is not None else None
        if need is None or need.subject_id != subject_id:
            raise DomainError("“办理本次融资需求”的授权须选择本企业的一项融资需求")
    grant = Grant(subject_id=subject_id, institution_id=inst.id, need_id=need_id if purpose == "need" else None,
                  purpose=purpose, scope=",".join(scope), granted_on=today, expires_on=expires_on)
    db.add(grant)
    db.flush()
    audit.record(db, actor=actor.label, action="fi.grant.create", entity="fi_grant", entity_id=grant.id,
                 after={"institution": inst.uscc, "scope": scope, "purpose": purpose,
                        "expires_on": expires_on.isoformat()})
    return grant


def revoke_grant(db: Session, actor: Actor, grant_id: int, today: date) -> Grant:
    subject_id = _subject_of(actor)
    grant = db.get(Grant, grant_id)
    if grant is None or grant.subject_id != subject_id:
        raise NotFound("未找到本企业的该项授权")
    if grant.revoked_on is not None:
        raise Refused("该授权已撤销")
    grant.revoked_on = today
    audit.record(db, actor=actor.label, action="fi.grant.revoke", entity="fi_grant", entity_id=grant.id)
    return grant


def grants_of_subject(db: Session, subject_id: int) -> list[Grant]:
    return list(db.scalars(select(Grant).where(Grant.subject_id == subject_id).order_by(Grant.id.desc())))


def grant_out(grant: Grant, today: date, names: dict[int, str], items: dict[str, str]) -> dict[str, Any]:
    why_not = rules.grant_in_force(grant.granted_on, grant.expires_on, grant.revoked_on, today)
    return {"id": grant.id, "institution": names.get(grant.institution_id, ""), "institution_id": grant.institution_id,
            "purpose": grant.purpose, "purpose_label": rules.PURPOSES.get(grant.purpose, grant.purpose),
            "need_id": grant.need_id, "scope": [items.get(c, c) for c in grant.scope.split(",") if c],
            "scope_codes": [c for c in grant.scope.split(",") if c], "granted_on": grant.granted_on,
            "expires_on": grant.expires_on, "revoked_on": grant.revoked_on, "in_force": why_not is None,
            "status": why_not or "有效"}


def _subject_by_ref(db: Session, ref: str | int) -> Subject:
    subject = (db.get(Subject, ref) if isinstance(ref, int)
               else db.scalar(select(Subject).where(Subject.uscc == normalize_code(ref))))
    if subject is None or subject.kind == "natural_person":
        raise NotFound("未找到该企业，请核对统一社会信用代码")
    return subject


def _log(db: Session, actor: Actor, subject_id: int, what: str, purpose: str, grant: Grant | None, *,
         allowed: bool, reason: str | None = None, report_no: str | None = None) -> None:
    db.add(ViewLog(subject_id=subject_id, institution_id=actor.party_id or 0, actor=actor.label[:200],
                   grant_id=grant.id if grant else None, what=what, purpose=purpose[:200], allowed=allowed,
                   reason=reason, report_no=report_no))
    db.flush()


def grant_for(db: Session, institution_id: int, subject_id: int, today: date) -> tuple[Grant | None, str]:
    """The grant in force for this bank and firm (the widest scope), or None and why not."""
    rows = list(db.scalars(select(Grant).where(Grant.subject_id == subject_id,
                                                Grant.institution_id == institution_id).order_by(Grant.id.desc())))
    if not rows:
        return None, "企业未向本机构授权查询其信用信息"
    live = [g for g in rows if rules.grant_in_force(g.granted_on, g.expires_on, g.revoked_on, today) is None]
    if not live:
        reason = rules.grant_in_force(rows[0].granted_on, rows[0].expires_on, rows[0].revoked_on, today)
        return None, reason or "授权不在有效期内"
    return max(live, key=lambda g: len(g.scope.split(","))), ""


class GrantRequired(Forbidden):
    pass


def authorised_view(db: Session, actor: Actor, subject_ref: str | int, *, purpose: str, what: str,
                    today: date) -> tuple[Subject, Grant]:
    """The firm and the grant in force that lets this bank look; a refusal is logged (and committed by the
    caller, who commits it before raising — see routes) and raised."""
    subject = _subject_by_ref(db, subject_ref)
    inst_id = _institution_id(actor)
    grant, why = grant_for(db, inst_id, subject.id, today)
    if grant is None:
        _log(db, actor, subject.id, what, purpose or "未说明", None, allowed=False, reason=why)
        raise GrantRequired(f"不能查看该企业的授权信用报告：{why}。无授权时只能查看公开信息（/subjects）；"
                            "请请企业在“我的融资”中授权本机构", rule="fi.grant")
    return subject, grant


def authorised_report(db: Session, actor: Actor, subject_ref: str | int, *, purpose: str,
                      today: date) -> dict[str, Any]:
    from xinyong.reports import service as reports

    subject, grant = authorised_view(db, actor, subject_ref, purpose=purpose, what="report", today=today)
    items = frozenset(grant.scope.split(","))
    data = reports.report_data(db, subject, audience="authorised", today=today, items=items)
    data["title"] = "授权信用信息报告（金融机构专用）"
    data["grant"] = grant_out(grant, today, institution_names(db), scope_items())
    _log(db, actor, subject.id, "report", purpose or rules.PURPOSES[grant.purpose], grant, allowed=True)
    return data


def authorised_pdf(db: Session, actor: Actor, subject_ref: str | int, *, purpose: str,
                   today: date) -> tuple[str, bytes]:
    from xinyong.reports import service as reports

    subject, grant = authorised_view(db, actor, subject_ref, purpose=purpose, what="pdf", today=today)
    rep, body = reports.issue(db, subject, requested_by=actor.label[:100], audience="authorised",
                              purpose=f"授权查询（授权编号 {grant.id}）：{purpose}"[:500],
                              items=frozenset(grant.scope.split(",")), title="授权信用信息报告（金融机构专用）")
    _log(db, actor, subject.id, "pdf", purpose or rules.PURPOSES[grant.purpose], grant, allowed=True,
         report_no=rep.report_no)
    return str(rep.report_no), body


def views_of_subject(db: Session, subject_id: int, limit: int = 500) -> list[dict[str, Any]]:
    """谁在何时因何查看了我的信用信息."""
    names = institution_names(db)
    rows = db.scalars(select(ViewLog).where(ViewLog.subject_id == subject_id).order_by(ViewLog.id.desc()).limit(limit))
    labels = {"report": "授权信用报告（网页）", "pdf": "授权信用报告（PDF）", "public": "公开信息"}
    return [{"at": v.at, "institution": names.get(v.institution_id, ""), "actor": v.actor,
             "what": labels.get(v.what, v.what), "purpose": v.purpose, "allowed": v.allowed,
             "result": "已查看" if v.allowed else f"已拒绝：{v.reason}", "report_no": v.report_no} for v in rows]


# ---------------------------------------------------------------- statistics

def stats(db: Session, today: date) -> dict[str, Any]:
    """Needs, claims, grants and loans by bank and month, with the rates the office reports."""
    names = institution_names(db)
    needs = list(db.scalars(select(Need)))
    by: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {
        "needs": 0, "claimed": 0, "granted": 0, "loans": 0, "granted_amount": 0, "loan_amount": 0,
        "credit_loans": 0, "decision_days": [], "disbursement_days": [], "overdue": 0})
    totals = by[("合计", "")]
    posted = sum(1 for n in needs if n.mode == "posted")
    claimed_posted = sum(1 for n in needs if n.mode == "posted" and n.accepted_on is not None)
    for n in needs:
        bank = names.get(n.institution_id or 0, "（未接单）")
        month = n.posted_on.strftime("%Y-%m")
        for row in (by[(bank, month)], totals):
            row["needs"] += 1
            row["claimed"] += n.accepted_on is not None
            if n.state in ("granted", "disbursed", "withdrawn"):
                row["granted"] += 1
                row["granted_amount"] += n.granted_amount or 0
            if n.state == "disbursed":
                row["loans"] += 1
                row["loan_amount"] += n.disbursed_amount or 0
                row["credit_loans"] += n.guarantee == "credit"
                if n.closed_on:
                    row["disbursement_days"].append(workdays.workdays_between(n.posted_on, n.closed_on))
            if n.decided_on:
                row["decision_days"].append(workdays.workdays_between(n.posted_on, n.decided_on))
            row["overdue"] += overdue_stage(n, today) is not None
    out_rows = []
    for (bank, month), row in sorted(by.items(), key=lambda kv: (kv[0][0] == "合计", kv[0][1], kv[0][0])):
        out_rows.append(_rates(bank, month, row))
    return {"rows": out_rows, "total": _rates("合计", "", totals),
            "claim_rate": round(claimed_posted / posted * 100, 1) if posted else None,
            "posted": posted, "claimed_posted": claimed_posted,
            "products": len(products(db)), "institutions": len(names)}


def _rates(bank: str, month: str, row: dict[str, Any]) -> dict[str, Any]:
    def avg(xs: list[int]) -> float | None:
        return round(sum(xs) / len(xs), 2) if xs else None

    return {"bank": bank, "month": month, "needs": row["needs"], "claimed": row["claimed"], "granted": row["granted"],
            "loans": row["loans"], "granted_amount": row["granted_amount"], "loan_amount": row["loan_amount"],
            "claim_rate": round(row["claimed"] / row["needs"] * 100, 1) if row["needs"] else None,
            "obtain_rate": round(row["granted"] / row["needs"] * 100, 1) if row["needs"] else None,
            "avg_decision_days": avg(row["decision_days"]), "avg_disbursement_days": avg(row["disbursement_days"]),
            "credit_share": round(row["credit_loans"] / row["loans"] * 100, 1) if row["loans"] else None,
            "overdue": row["overdue"]}


STAT_COLUMNS = (("bank", "金融机构"), ("month", "月份"), ("needs", "需求数"), ("claimed", "接单数"),
                ("granted", "授信数"), ("loans", "放款笔数"), ("granted_amount", "授信金额（元）"),
                ("loan_amount", "放款金额（元）"), ("claim_rate", "接单率（%）"), ("obtain_rate", "获得率（%）"),
                ("avg_decision_days", "平均决定用时（工作日）"), ("avg_disbursement_days", "平均放款用时（工作日）"),
                ("credit_share", "纯信用贷款占比（%）"), ("overdue", "超时未办"))


def stats_xlsx(db: Session, today: date) -> bytes:
    from xinyong.core.exports import workbook

    data = stats(db, today)
    out = io.BytesIO()
    book = workbook(out)
    sheet = book.add_worksheet("信易贷统计")
    for col, (_, label) in enumerate(STAT_COLUMNS):
        sheet.write_string(0, col, label)
    for r, row in enumerate([*data["rows"]], start=1):
        for col, (key, _) in enumerate(STAT_COLUMNS):
            value = row[key]
            if isinstance(value, int | float):
                sheet.write_number(r, col, value)
            elif value is not None:
                sheet.write_string(r, col, str(value))
    book.close()
    return out.getvalue()


def public_headline(db: Session, today: date) -> dict[str, Any]:
    total = stats(db, today)["total"]
    return {"products": len(products(db)), "institutions": len(institution_names(db)), "needs": total["needs"],
            "loans": total["loans"], "loan_amount": total["loan_amount"], "obtain_rate": total["obtain_rate"]}


def end_bank_sessions(db: Session, user: BankUser) -> None:
    from xinyong.accounts.models import WebSession
    from xinyong.core.db import utcnow

    ids = list(db.scalars(select(BankSession.web_session_id).where(BankSession.user_id == user.id)))
    if ids:
        db.execute(update(WebSession).where(and_(WebSession.id.in_(ids), WebSession.revoked_at.is_(None)))
                   .values(revoked_at=utcnow()))
