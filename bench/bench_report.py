"""PDF report benchmark: issue a credit report (render + hash + store) for a subject with ~50 records.

    .venv/bin/python bench/bench_report.py [--records 50] [--runs 20] [--db sqlite|postgresql]

Reports the first report of the process (includes loading the 17 MB font) and the steady state.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta

os.environ.setdefault("XINYONG_SECRET_KEY", "bench-secret-key-0123456789abcdef")
PG_ADMIN = os.environ.get("XINYONG_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=50)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--db", default="sqlite")
    args = ap.parse_args()
    drop = None
    if args.db == "postgresql":
        from sqlalchemy import create_engine, text

        name = f"xinyong_bench_report_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        drop = (admin, name)
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/report.db"
    os.environ["XINYONG_DATABASE_URL"] = url
    from xinyong import db_models  # noqa: F401
    from xinyong.accounts import service as accounts
    from xinyong.core.db import Base, get_engine, session_scope
    from xinyong.records import service as records
    from xinyong.reports import service
    from xinyong.subjects import service as subjects

    Base.metadata.create_all(get_engine())
    today = date.today()
    with session_scope() as s:
        dept = accounts.add_department(s, "SCJG", "德州市市场监督管理局")
        sub = subjects.upsert_organisation(s, uscc="91440300708461136T", name="德州市顺意商贸有限公司")
        for i in range(args.records):
            on = today - timedelta(days=10 + i * 5)
            if i % 2:
                values = {"subject_name": sub.name, "decision_no": f"德市监处罚〔2026〕{i}号", "penalty_type": "罚款",
                          "violation_type": "产品质量", "penalty_content": "罚款人民币五千元，没收违法所得" * 2,
                          "fine_amount": "0.5", "decision_date": on.isoformat(), "authority": "德州市市场监督管理局"}
                records.add_record(s, subject=sub, item_code="admin_penalty", dept_id=dept.id, values=values,
                                   decision_no=values["decision_no"], decision_date=on, severity="一般",
                                   publish_from=on, publish_until=on + timedelta(days=365))
            else:
                values = {"subject_name": sub.name, "decision_no": f"鲁食经许〔2026〕{i}号", "certificate_name": "食品经营许可证",
                          "content": "预包装食品（含冷藏冷冻食品）销售；散装食品销售", "decision_date": on.isoformat(),
                          "authority": "德州市市场监督管理局"}
                records.add_record(s, subject=sub, item_code="admin_license", dept_id=dept.id, values=values,
                                   decision_no=values["decision_no"], decision_date=on, publish_from=on)
        sub_id = sub.id
    times, size, pages = [], 0, 0
    for _ in range(args.runs):
        with session_scope() as s:
            from xinyong.subjects.models import Subject

            subject = s.get(Subject, sub_id)
            assert subject is not None
            t = time.perf_counter()
            _rep, body = service.issue(s, subject, requested_by="bench")
            times.append(time.perf_counter() - t)
            size, pages = len(body), len(re.findall(rb"/Type /Page\b(?!s)", body))
    print(json.dumps({"machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPU", "db": args.db,
                      "records": args.records, "pdf_kb": size // 1024, "pages": pages, "first_s": round(times[0], 3),
                      "p50_s": round(statistics.median(times[1:]), 3), "max_s": round(max(times[1:]), 3)},
                     ensure_ascii=False))
    if drop is not None:
        from sqlalchemy import text

        from xinyong.core.db import reset_engine

        reset_engine()
        with drop[0].connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{drop[1]}" WITH (FORCE)'))
    sys.exit(0)


if __name__ == "__main__":
    main()
