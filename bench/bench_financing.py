"""信易贷 benchmark: eligibility of one need against 500 products; "which products is each firm eligible for"
for 100,000 firms × 500 products in a batch; the authorised report PDF.

    .venv/bin/python bench/bench_financing.py [--firms 100000] [--products 500]

A fresh SQLite database in a temporary directory (schema from Base.metadata), 500 products with rules drawn from
the fact language (black list, severe penalties, years established, tax rating, abnormal operation, grade),
N organisations written in bulk with 15 % one penalty in the last two years (a third of them 严重), 2 % in the
abnormal-operation directory. Then:
  one      service.eligibility_for(firm, amount, term) against every product: median and p95 of 30 calls (warm);
  batch    facts_frame(all firms) from the database + batch_eligible (Polars) → one boolean per firm and product;
           raw comparison: core/conditions.evaluate row by row in Python on 2,000 firms, extrapolated to N;
  pdf      service.authorised_pdf for a firm with records, under a grant: median of 5 (ReportLab). Without the
           Chinese font (fonts-wqy-zenhei) DejaVu Sans is used and said so (same layout work, glyphs missing).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("XINYONG_SECRET_KEY", "bench-secret-key-0123456789abcdef")
TODAY = date(2026, 6, 15)
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def rule(rng: random.Random) -> dict[str, object]:
    leaves: list[dict[str, object]] = [{"fact": "on_black_list", "eq": False}]
    if rng.random() < 0.8:
        leaves.append({"fact": "severe_penalties_2y", "eq": 0})
    if rng.random() < 0.5:
        leaves.append({"fact": "years_established", "gte": rng.choice([1, 2, 3, 5])})
    if rng.random() < 0.4:
        leaves.append({"any": [{"fact": "tax_credit_rating", "in": ["A", "B"]}, {"fact": "penalties_2y", "lte": 1}]})
    if rng.random() < 0.3:
        leaves.append({"not": {"fact": "abnormal_operation", "eq": True}})
    if rng.random() < 0.2:
        leaves.append({"fact": "grade", "in": ["A+", "A", "B"]})
    return {"all": leaves}


def build(n_firms: int, n_products: int) -> dict[str, object]:
    from sqlalchemy import insert

    from xinyong import db_models  # noqa: F401 - every table
    from xinyong.access.actors import Actor, ActorKind
    from xinyong.accounts import service as accounts
    from xinyong.core.db import Base, get_engine, new_session
    from xinyong.core.identifiers import make_uscc
    from xinyong.financing import service
    from xinyong.records.models import Record
    from xinyong.records.rules import key64
    from xinyong.subjects.models import Subject

    engine = get_engine()
    Base.metadata.create_all(engine)
    rng = random.Random(15)
    db = new_session()
    dept = accounts.add_department(db, "SCJG", "德州市市场监督管理局")
    inst = service.add_institution(db, make_uscc("91", "371400", "BENCH001"), "基准测试银行")
    manager = Actor(ActorKind.BANK, label="bankkey:bench", party_id=inst.id)
    for i in range(n_products):
        lo = rng.choice([50_000, 100_000, 200_000, 500_000])
        service.create_product(db, manager, service.ProductIn(
            name=f"产品{i}", min_amount=lo, max_amount=lo * rng.choice([10, 20, 40]), min_term=3, max_term=36,
            min_rate=3.2, max_rate=6.0, guarantee=rng.choice(["credit", "mortgage", "guarantee"]),
            regions=[] if rng.random() < 0.8 else ["3714"], industries=[], rules=rule(rng)))
    db.commit()
    t0 = time.perf_counter()
    subjects = []
    recs = []
    for i in range(n_firms):
        body = "".join("0123456789ABCDEFGHJKLMNPQRTUWXY"[(i // 31**k) % 31] for k in range(8))
        established = TODAY - timedelta(days=rng.randint(100, 7000))
        subjects.append({"id": i + 1, "kind": "legal_person", "name": f"基准企业{i}", "uscc": make_uscc("91", "371402", body),
                         "region_code": "371402", "status": "存续", "established": established})
        if rng.random() < 0.15:
            day = TODAY - timedelta(days=rng.randint(1, 700))
            recs.append({"subject_id": i + 1, "item_code": "admin_penalty", "dept_id": dept.id,
                         "record_key": f"{2 * i:032x}", "key64": key64(f"{2 * i:032x}"), "content_hash": f"h{i}", "decision_date": day,
                         "severity": "严重" if rng.random() < 0.33 else "一般", "state": "active", "version": 1,
                         "late": False, "layout_id": 0, "payload": "[]"})
        if rng.random() < 0.02:
            recs.append({"subject_id": i + 1, "item_code": "business_abnormal", "dept_id": dept.id,
                         "record_key": f"{2 * i + 1:032x}", "key64": key64(f"{2 * i + 1:032x}"), "content_hash": f"a{i}", "decision_date": TODAY, "severity": None,
                         "state": "active", "version": 1, "late": False, "layout_id": 0, "payload": "[]"})
    for i in range(0, len(subjects), 20_000):
        db.execute(insert(Subject), subjects[i:i + 20_000])
    for i in range(0, len(recs), 20_000):
        db.execute(insert(Record), recs[i:i + 20_000])
    db.commit()
    db.close()
    return {"institution": inst.id, "build_seconds": round(time.perf_counter() - t0, 1), "records": len(recs)}


def bench_one(n_products: int, rounds: int = 30) -> dict[str, float]:
    from xinyong.core.db import new_session
    from xinyong.financing import service

    db = new_session()
    times = []
    for i in range(rounds):
        t = time.perf_counter()
        out = service.eligibility_for(db, 1 + (i * 7919) % 1000, TODAY, amount=500_000, term=12)
        times.append((time.perf_counter() - t) * 1000)
    assert len(out) == n_products
    db.close()
    times.sort()
    return {"median_ms": round(statistics.median(times), 1), "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
            "products": len(out), "eligible_last": sum(1 for r in out if r["eligible"])}


def bench_batch(n_firms: int) -> dict[str, float]:
    from xinyong.core import conditions as cond
    from xinyong.core.db import new_session
    from xinyong.financing import eligibility, service

    db = new_session()
    conditions = {p.id: eligibility.parse_rules(p.rules) for p in service.products(db)}
    t = time.perf_counter()
    frame = eligibility.facts_frame(db, None, TODAY)
    t_facts = time.perf_counter() - t
    t = time.perf_counter()
    result = eligibility.batch_eligible(frame, conditions)
    counts = result.drop("subject_id").sum_horizontal()
    t_match = time.perf_counter() - t
    assert frame.height == n_firms
    # the raw comparison: the same rules row by row in Python, on a sample
    sample = frame.head(2_000).to_dicts()
    t = time.perf_counter()
    python = [[cond.evaluate(c, row).ok if c is not None else True for c in conditions.values()] for row in sample]
    t_python = (time.perf_counter() - t) * n_firms / len(sample)
    vector = result.head(2_000).drop("subject_id").rows()
    assert [list(r) for r in vector] == python, "Polars and evaluate disagree"
    db.close()
    return {"firms": frame.height, "products": len(conditions), "facts_seconds": round(t_facts, 2),
            "match_seconds": round(t_match, 2), "total_seconds": round(t_facts + t_match, 2),
            "eligible_pairs": int(counts.sum()), "python_evaluate_seconds_extrapolated": round(t_python, 1)}


def bench_pdf(rounds: int = 5) -> dict[str, object]:
    from xinyong.access.actors import Actor, ActorKind, actor_for_account
    from xinyong.accounts.models import SubjectAccount
    from xinyong.core.db import new_session
    from xinyong.financing import service
    from xinyong.reports import pdf

    font = "wqy-zenhei"
    try:
        pdf.find_font()
    except pdf.FontMissing:
        os.environ["XINYONG_REPORT_FONT"] = DEJAVU
        font = "DejaVu Sans (no Chinese font installed)"
    db = new_session()
    account = SubjectAccount(uscc="", subject_id=2, status="active", legal_rep_name="张三",
                             legal_rep_id_hash="x", password_hash="x")
    from xinyong.subjects.models import Subject

    subject = db.get(Subject, 2)
    assert subject is not None
    account.uscc = subject.uscc or ""
    db.add(account)
    db.flush()
    inst = int(db.scalar(__import__("sqlalchemy").text("SELECT id FROM fi_institutions LIMIT 1")) or 0)
    service.create_grant(db, actor_for_account(account), institution_id=inst, items=["admin_penalty", "registration"],
                         purpose="monitoring", expires_on=TODAY + timedelta(days=30), need_id=None, today=TODAY)
    bank = Actor(ActorKind.BANK, label="bankkey:bench", party_id=inst)
    times = []
    size = 0
    for _ in range(rounds):
        t = time.perf_counter()
        _, body = service.authorised_pdf(db, bank, subject.uscc or "", purpose="基准", today=TODAY)
        times.append(time.perf_counter() - t)
        size = len(body)
    db.rollback()
    db.close()
    return {"median_seconds": round(statistics.median(times), 3), "max_seconds": round(max(times), 3),
            "bytes": size, "font": font}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--firms", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="xinyong-bench-fi-") as tmp:
        os.environ["XINYONG_DATABASE_URL"] = f"sqlite:///{tmp}/bench.db"
        os.environ["XINYONG_KEY_FILE"] = f"{tmp}/secret.key"
        os.environ.setdefault("XINYONG_AUDIT_WITNESS_DIR", f"{tmp}/witness")
        from xinyong.core.clock import FixedClock, use

        with use(FixedClock(TODAY)):
            out: dict[str, object] = {"build": build(args.firms, args.products)}
            out["one"] = bench_one(args.products)
            out["batch"] = bench_batch(args.firms)
            out["pdf"] = bench_pdf()
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
