"""The scoring is written once (narwhals) and runs on Polars and on PySpark: a demo-like population through
both engines gives identical scores, grades and overrides for every subject, for both shipped models.

It needs no database (the facts are the frames the extraction produces), so it runs once, not per backend;
Spark's start-up costs ~30 s on two cores. It never skips: without pyspark or a JRE it fails."""

from __future__ import annotations

import random

import polars as pl

from xinyong.evaluation import config
from xinyong.evaluation import engine as eng
from xinyong.lists.config import get_list_types

SOURCES = ["item:admin_penalty", "item:admin_inspection", "item:business_abnormal", "item:honour",
           "item:dishonest_judgment_debtor", "commitment:breached", "commitment:fulfilled", "repair:approved"]


def _demo_like(n: int = 4000, seed: int = 7) -> eng.Facts:
    rnd = random.Random(seed)
    lists = sorted(get_list_types().items)
    pop = pl.DataFrame({"subject_id": list(range(1, n + 1)),
                        "kind": [rnd.choice(["legal_person", "other_org"]) for _ in range(n)],
                        "region_code": [rnd.choice(["371402", "371403", "371422"]) for _ in range(n)]},
                       schema=eng.POP_SCHEMA)
    rows = []
    fid = 0
    for sid in range(1, n + 1):
        for _ in range(rnd.choice([0, 0, 0, 1, 1, 2, 3, 6])):
            fid += 1
            src = rnd.choice([*SOURCES, f"list:{rnd.choice(lists)}"])
            sev = rnd.choice(["一般", "严重", "轻微", None]) if src == "item:admin_penalty" else None
            amount = round(rnd.uniform(0, 30), 2) if src == "item:admin_penalty" and rnd.random() < .8 else None
            result = rnd.choice(["未发现问题（合格）", "合格", "发现问题，责令整改", None]) \
                if src == "item:admin_inspection" else None
            rows.append((sid, fid, src, sev, rnd.randint(0, 2000), amount, result))
    facts = pl.DataFrame(rows, schema={**eng.FACT_SCHEMA, "f_fine_amount": pl.Float64, "t_result": pl.Utf8},
                         orient="row")
    return eng.Facts(population=pop, facts=facts)


def test_polars_and_spark_give_identical_scores_and_grades() -> None:
    facts = _demo_like()
    for model_id in ("city_comprehensive", "env_enterprise"):
        loaded = config.get_model(model_id)
        a = eng.run_polars(loaded, facts)
        b = eng.run_spark(loaded, facts).select(a.columns)
        assert a.height == b.height == 4000
        cols = ["subject_id", "score", "grade", "override"] + [c for c in a.columns if c.startswith("p_")]
        assert a.select(cols).equals(b.select(cols)), model_id
        assert a["grade"].n_unique() >= 3  # the population spreads over several grades
        if model_id == "city_comprehensive":
            assert a["override"].drop_nulls().len() > 0
