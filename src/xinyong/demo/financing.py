"""The demo city's 信易贷: three institutions with users, products, firms with accounts, a year of needs in every
state (dated history: each step is taken on its own past day), grants (in force, revoked, expired) and the
banks' views of the firms' credit information."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.core import calendar as workdays
from xinyong.core.errors import DomainError

DEMO_BANK_PASSWORD = "bank123456"
INSTITUTIONS = (  # (unified code, name, kind, user prefix)
    ("91371400MA3C00001A", "德州银行股份有限公司", "bank", "dzbank"),
    ("91371400MA3C00002B", "德州农村商业银行股份有限公司", "bank", "dznsh"),
    ("91371400MA3C00003C", "德州市融资担保有限公司", "guarantee", "dzdb"),
)
CLEAN = {"all": [{"fact": "on_black_list", "eq": False}, {"fact": "severe_penalties_2y", "eq": 0}]}
PRODUCTS = (  # (institution index, name, min, max, min term, max term, min rate, max rate, guarantee, rules)
    (0, "鲁信贷·信用快贷", 100_000, 3_000_000, 6, 12, 3.45, 4.35, "credit",
     {"all": [*CLEAN["all"], {"fact": "years_established", "gte": 2}]}),
    (0, "德银税易贷", 100_000, 2_000_000, 6, 12, 3.6, 4.8, "credit",
     {"all": [*CLEAN["all"], {"fact": "tax_credit_rating", "in": ["A", "B"]}]}),
    (0, "德银厂房抵押贷", 1_000_000, 20_000_000, 12, 60, 3.8, 5.2, "mortgage", {"fact": "on_black_list", "eq": False}),
    (1, "农商惠企贷", 50_000, 1_000_000, 3, 12, 4.2, 6.0, "credit", CLEAN),
    (1, "农商科创贷", 200_000, 5_000_000, 6, 36, 3.9, 5.5, "guarantee",
     {"all": [*CLEAN["all"], {"not": {"fact": "abnormal_operation", "eq": True}}]}),
    (2, "政银担·小微担保贷", 100_000, 3_000_000, 6, 24, 4.0, 5.8, "guarantee", {"fact": "on_black_list", "eq": False}),
)
FIRMS = 40


def _firms(session: Session, seed: int, subjects: int, today: date) -> list[tuple[str, str, str]]:
    import polars as pl

    from xinyong.demo.vsubjects import subject_frame

    frame = subject_frame(seed, 0, min(subjects, 600), today).filter(pl.col("category") == "91")
    return [(str(r["uscc"]), str(r["legal_rep"]), str(r["legal_rep_id"])) for r in frame.iter_rows(named=True)]


def _account_actor(session: Session, uscc: str, rep: str, rep_id: str) -> Any:
    from xinyong.access.actors import actor_for_account
    from xinyong.accounts.models import SubjectAccount
    from xinyong.subject_accounts import service as subject_accounts

    account = session.scalar(select(SubjectAccount).where(SubjectAccount.uscc == uscc))
    if account is None:
        try:
            with session.begin_nested():
                account = subject_accounts.register(session, subject_accounts.Registration(
                    uscc, rep, rep_id, "firm12345", "0534-2000000"))
                subject_accounts.approve(session, account.id, actor="demo")
        except DomainError:
            return None
    return actor_for_account(account) if account.status == "active" else None


def load_financing(session: Session, *, subjects: int, seed: int, today: date, firm_uscc: str | None = None
                   ) -> dict[str, int]:
    """Load the demo's financing service; returns counts by need state."""
    from xinyong.financing import service
    from xinyong.financing.models import Institution

    rng = random.Random(seed * 7919 + 15)
    if session.scalar(select(Institution.id).limit(1)) is not None:
        return {}
    banks = []
    for uscc, name, kind, prefix in INSTITUTIONS:
        inst = service.add_institution(session, uscc, name, kind, actor="demo")
        manager = service.add_user(session, inst, f"{prefix}_pm", DEMO_BANK_PASSWORD, "product_manager", actor="demo")
        officer = service.add_user(session, inst, f"{prefix}_lo", DEMO_BANK_PASSWORD, "loan_officer", actor="demo")
        banks.append((inst, service.actor_for_bank_user(manager), service.actor_for_bank_user(officer)))
    products = []
    for idx, name, lo, hi, tlo, thi, rlo, rhi, guarantee, rules in PRODUCTS:
        products.append(service.create_product(session, banks[idx][1], service.ProductIn(
            name=name, min_amount=lo, max_amount=hi, min_term=tlo, max_term=thi, min_rate=rlo, max_rate=rhi,
            guarantee=guarantee, regions=[], industries=[], rules=rules, description="演示产品")))
    withdrawn = service.create_product(session, banks[1][1], service.ProductIn(
        name="农商旧版经营贷（已下架）", min_amount=10_000, max_amount=500_000, min_term=3, max_term=12, min_rate=5.0,
        max_rate=7.0, guarantee="credit", regions=[], industries=[], rules=None))
    service.set_product_status(session, banks[1][1], withdrawn.id, "withdrawn")

    people = _firms(session, seed, subjects, today)
    if firm_uscc is not None:
        people.sort(key=lambda p: p[0] != firm_uscc)  # the demo firm first: its page shows every kind of need
    actors = [a for p in people[:FIRMS * 2] if (a := _account_actor(session, *p)) is not None][:FIRMS]
    counts: dict[str, int] = {}
    # the demo firm (first) goes through the full cycle in every final state; the others at random
    script = ["disbursed", "accepted", "posted", "refused", "granted", "withdrawn", "sent", "cancelled"]
    plan: list[tuple[Any, str, date]] = []
    if actors:
        plan += [(actors[0], state, today - timedelta(days=rng.randint(20, 300))) for state in script]
    for actor in actors[1:]:
        for _ in range(rng.randint(2, 6)):
            wanted = rng.choices(["disbursed", "refused", "withdrawn", "granted", "accepted", "posted", "sent",
                                 "cancelled"], [40, 15, 5, 8, 8, 8, 8, 8])[0]
            plan.append((actor, wanted, today - timedelta(days=rng.randint(0, 365))))
    # recent needs still open: a few overdue, most in time
    plan = [(a, s, today - timedelta(days=rng.randint(0, 6)) if s in ("posted", "sent") else d) for a, s, d in plan]
    for actor, target, day in sorted(plan, key=lambda p: p[2]):
        state = _run_need(session, service, rng, actor, target, day, today, banks, products)
        if state:
            counts[state] = counts.get(state, 0) + 1
    _grants(session, service, rng, actors, banks, today)
    return counts


def _step(day: date, rng: random.Random, today: date, lo: int = 1, hi: int = 4) -> date:
    return min(workdays.add_workdays(day, rng.randint(lo, hi)), today)


def _run_need(session: Session, service: Any, rng: random.Random, actor: Any, target: str, day: date, today: date,
              banks: list[Any], products: list[Any]) -> str | None:
    amount = rng.choice([200_000, 300_000, 500_000, 800_000, 1_000_000, 1_500_000, 2_000_000])
    term = rng.choice([6, 12, 12, 12, 24])
    purpose = rng.choice(["采购原材料", "支付货款", "扩大生产", "设备更新", "流动资金周转", "研发投入"])
    directed = target == "sent" or rng.random() < 0.35
    from xinyong.financing import eligibility

    facts = eligibility.facts_of(session, actor.subject_id, day)
    fitting = [p for p in products if not service.product_check(p, facts, amount, term)]
    try:
        with session.begin_nested():
            if directed and fitting:
                product = rng.choice(fitting)
                need = service.create_need(session, actor, amount=amount, term=term, purpose=purpose,
                                           product_id=product.id, today=day)
            else:
                need = service.create_need(session, actor, amount=amount, term=term, purpose=purpose,
                                           product_id=None, today=day)
    except DomainError:
        return None
    if target in ("posted", "sent") or (target == "cancelled"):
        if target == "cancelled":
            service.act(session, actor, need.id, "cancel", service.Feedback(text="已通过其他渠道解决"), _step(day, rng, today))
        return str(need.state)
    officer = next((b[2] for b in banks if b[0].id == need.institution_id), None)
    d = _step(day, rng, today, 0, 3)
    try:
        with session.begin_nested():
            if need.state == "posted":
                candidates = [b for b in banks if any(p.institution_id == b[0].id for p in fitting)]
                if not candidates:
                    return str(need.state)
                officer = rng.choice(candidates)[2]
                service.claim(session, officer, need.id, d)
            else:
                service.act(session, officer, need.id, "accept", service.Feedback(), d)
            if target == "accepted" and rng.random() < 0.5:
                return "accepted"  # some still waiting for their first contact
            service.act(session, officer, need.id, "contact", service.Feedback(text="电话联系企业财务负责人"),
                        _step(d, rng, today, 0, 1))
            if target == "accepted":
                return "accepted"
            d = _step(d, rng, today, 1, 4)
            if target == "refused":
                reason = rng.choice(["repayment", "collateral", "materials", "credit"])
                service.act(session, officer, need.id, "refuse", service.Feedback(
                    reasons=[reason], text="经审查暂不符合授信条件，可补充材料后重新申请"), d)
                return "refused"
            product = next(p for p in products if p.id == need.product_id)
            granted = max(product.min_amount, min(product.max_amount, amount - rng.choice([0, 0, 100_000])))
            rate = round(rng.uniform(product.min_rate, product.max_rate), 2)
            service.act(session, officer, need.id, "grant", service.Feedback(
                amount=granted, rate=rate, term=max(product.min_term, min(product.max_term, term))), d)
            if target == "granted":
                return "granted"
            d = _step(d, rng, today, 1, 5)
            if target == "withdrawn":
                service.act(session, officer, need.id, "withdraw", service.Feedback(text="企业放弃用款"), d)
                return "withdrawn"
            service.act(session, officer, need.id, "disburse", service.Feedback(amount=granted, on=d), d)
            return "disbursed"
    except DomainError:
        return str(need.state)


def _grants(session: Session, service: Any, rng: random.Random, actors: list[Any], banks: list[Any],
            today: date) -> None:
    from xinyong.financing.models import Need

    scope = ["registration", "admin_license", "admin_penalty", "tax_credit_rating", "business_abnormal",
             "dishonest_judgment_debtor"]
    known = service.scope_items()
    scope = [c for c in scope if c in known]
    for i, actor in enumerate(actors):
        needs = list(session.scalars(select(Need).where(Need.subject_id == actor.subject_id,
                                                        Need.institution_id.is_not(None))))
        if not needs:
            continue
        need = needs[-1]
        bank = next(b for b in banks if b[0].id == need.institution_id)
        start = min(need.posted_on, today)
        kind = ("expired", "revoked", "monitoring")[i % 3] if i else "monitoring"
        expires = start + timedelta(days=5) if kind == "expired" and start + timedelta(days=5) < today else (
            today + timedelta(days=180))
        grant = service.create_grant(session, actor, institution_id=bank[0].id, items=scope,
                                     purpose="need" if kind != "monitoring" else "monitoring", expires_on=expires,
                                     need_id=need.id if kind != "monitoring" else None, today=start)
        uscc = actor.label.removeprefix("account:")
        if expires >= today:
            service.authorised_report(session, bank[2], uscc, purpose=f"审查融资需求 {need.id}", today=today)
        if kind == "revoked":
            service.revoke_grant(session, actor, grant.id, today)
        if kind != "monitoring":  # a look after the grant ended: refused, and the firm sees the refusal
            try:  # no savepoint: the refusal's log row stays
                service.authorised_report(session, bank[2], uscc, purpose="贷后检查", today=today)
            except DomainError:
                pass
