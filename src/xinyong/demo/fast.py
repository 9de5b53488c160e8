"""A fast, vectorised (Polars) writer of national-format 双公示 penalty CSVs, for benchmarks.

Rows are gathered from small pools (subjects, templates, departments) with random indices drawn from
`random.Random(seed)` bytes, so the same arguments give the same bytes.
"""

from __future__ import annotations

import random
from array import array
from datetime import date
from pathlib import Path

import polars as pl

from xinyong.demo.departments import BY_CODE
from xinyong.demo.subjects import KIND_LABEL
from xinyong.demo.templates import PENALTIES
from xinyong.demo.vsubjects import subject_frame

CHUNK = 100_000
ANCHOR = date(2025, 6, 30)  # fixed "today" of benchmark files: same arguments, same bytes, any day
# The admin_penalty catalog fields, in the catalog's order; labels come from the catalog when it loads.
PENALTY_FIELDS: tuple[tuple[str, str], ...] = (
    ("subject_name", "行政相对人名称"), ("subject_kind", "行政相对人类别"),
    ("uscc", "行政相对人代码_1(统一社会信用代码)"), ("reg_no", "行政相对人代码_2(工商注册号)"),
    ("org_code", "行政相对人代码_3(组织机构代码)"), ("tax_no", "行政相对人代码_4(税务登记号)"),
    ("inst_cert_no", "行政相对人代码_5(事业单位证书号)"), ("social_org_no", "行政相对人代码_6(社会组织登记证号)"),
    ("legal_rep", "法定代表人"), ("legal_rep_id_type", "法定代表人证件类型"), ("legal_rep_id_no", "法定代表人证件号码"),
    ("id_type", "证件类型"), ("id_no", "证件号码"), ("decision_no", "行政处罚决定书文号"), ("violation_type", "违法行为类型"),
    ("violation_facts", "违法事实"), ("penalty_basis", "处罚依据"), ("penalty_type", "处罚类别"),
    ("severity", "失信行为严重程度"), ("penalty_content", "处罚内容"), ("fine_amount", "罚款金额(万元)"),
    ("confiscated_amount", "没收违法所得、没收非法财物的金额(万元)"), ("licence_seized", "暂扣或吊销证照名称及编号"),
    ("decision_date", "处罚决定日期"), ("penalty_valid_until", "处罚有效期"), ("publish_until", "公示截止期"),
    ("authority", "处罚机关"), ("authority_uscc", "处罚机关统一社会信用代码"), ("source_dept", "数据来源单位"),
    ("source_dept_uscc", "数据来源单位统一社会信用代码"), ("note", "备注"),
)  # fmt: skip
_TEMPLATES_PER_SUBJECT = 4


def penalty_headers() -> list[tuple[str, str]]:
    """(field name, header label) in catalog order; the built-in list when the catalog is unavailable."""
    try:
        from xinyong.catalog.service import get_catalog

        item = get_catalog().find("admin_penalty")
        if item is not None:
            return [(f.name, f.label) for f in item.fields]
    except Exception:  # the catalog is another module's; a benchmark file must not depend on it loading
        pass
    return list(PENALTY_FIELDS)


def _templates_for(sector: str) -> list[int]:
    fit = [i for i, t in enumerate(PENALTIES) if sector in t.sectors]
    if sector != "person":
        fit += [i for i, t in enumerate(PENALTIES) if "any" in t.sectors]
    return fit or [0]


def _pools(seed: int, size: int, today: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = subject_frame(seed, 0, size, today)
    person = pl.col("kind") == "natural_person"
    subjects = frame.select(
        "name", pl.col("kind").replace_strict(KIND_LABEL, return_dtype=pl.String).alias("subject_kind"), "uscc",
        "reg_no", "org_code", "tax_no", "inst_cert_no", "social_org_no", "legal_rep",
        pl.when(person).then(pl.lit("")).otherwise(pl.lit("身份证")).alias("legal_rep_id_type"),
        pl.col("legal_rep_id").alias("legal_rep_id_no"),
        pl.when(person).then(pl.lit("身份证")).otherwise(pl.lit("")).alias("id_type"), "id_no",
    ).rename({"name": "subject_name"})  # fmt: skip
    tpl: list[int] = []
    rng = random.Random(seed * 31 + 1)
    for sector in frame["sector"]:
        fit = _templates_for(sector)
        tpl.extend(fit[rng.randrange(len(fit))] for _ in range(_TEMPLATES_PER_SUBJECT))
    templates = pl.DataFrame(
        {
            "violation_type": [t.violation for t in PENALTIES],
            "violation_facts": [f"经查，{t.facts}。" for t in PENALTIES],
            "penalty_basis": [t.basis for t in PENALTIES],
            "penalty_type": [t.types for t in PENALTIES],
            "fine_lo": [t.fine[0] if t.fine else 0 for t in PENALTIES],
            "fine_span": [(t.fine[1] - t.fine[0]) // 100 + 1 if t.fine else 0 for t in PENALTIES],
            "confiscate": [t.confiscate for t in PENALTIES],
            "licence_seized": [t.seized for t in PENALTIES],
            "authority": [BY_CODE[t.dept].name for t in PENALTIES],
            "authority_uscc": [BY_CODE[t.dept].uscc for t in PENALTIES],
            "doc_prefix": [BY_CODE[t.dept].doc_prefix for t in PENALTIES],
        }
    )
    template_of = pl.DataFrame({"t": tpl}, schema={"t": pl.UInt32})
    per_slot = pl.int_range(0, size * _TEMPLATES_PER_SUBJECT, dtype=pl.UInt32, eager=True) // _TEMPLATES_PER_SUBJECT
    return subjects[per_slot].hstack(templates[template_of["t"]].rename(lambda c: "t_" + c)), templates


def _randoms(rng: random.Random, n: int) -> pl.Series:
    return pl.Series(array("Q", rng.randbytes(8 * n)).tolist(), dtype=pl.UInt64)


def _chunk(start: int, n: int, pool: pl.DataFrame, subjects: int, rng: random.Random, today: date,
           dirty: float) -> tuple[pl.DataFrame, int]:
    r1, r2 = _randoms(rng, n), _randoms(rng, n)
    slot = ((r1 % subjects) * _TEMPLATES_PER_SUBJECT + (r1 // (1 << 32)) % _TEMPLATES_PER_SUBJECT).cast(pl.UInt32)
    df = pool[slot]
    offset = (r2 % 1826 + 1).cast(pl.Int64)
    decided = pl.lit(today) - pl.duration(days=pl.col("offset"))
    fine_yuan = pl.col("t_fine_lo") + ((pl.col("r2") // 65536) % pl.col("t_fine_span").clip(1)) * 100
    has_fine = pl.col("t_fine_span") > 0
    wan = (fine_yuan / 10_000).round(4).cast(pl.String)
    seq = pl.int_range(start + 1, start + n + 1, dtype=pl.Int64).cast(pl.String)
    df = df.with_columns(offset=offset, r1=r1, r2=r2).with_columns(
        decision_no=pl.concat_str(pl.col("t_doc_prefix"), pl.lit("〔"), decided.dt.year().cast(pl.String),
                                  pl.lit("〕"), seq, pl.lit("号")),
        violation_type=pl.col("t_violation_type"),
        violation_facts=pl.col("t_violation_facts"),
        penalty_basis=pl.col("t_penalty_basis"),
        penalty_type=pl.col("t_penalty_type"),
        severity=pl.lit(""),
        penalty_content=pl.when(has_fine)
        .then(pl.concat_str(pl.lit("责令改正，处罚款人民币"), fine_yuan.cast(pl.String), pl.lit("元")))
        .otherwise(pl.concat_str(pl.lit("责令改正，"), pl.col("t_penalty_type"))),
        fine_amount=pl.when(has_fine).then(wan).otherwise(pl.lit("")),
        confiscated_amount=pl.when(pl.col("t_confiscate"))
        .then((((pl.col("r2") // 1099511627776) % 500 + 1) / 100).cast(pl.String))
        .otherwise(pl.lit("")),
        licence_seized=pl.col("t_licence_seized"),
        decision_date=decided.dt.strftime("%Y-%m-%d"),
        penalty_valid_until=pl.lit(""),
        publish_until=(decided + pl.duration(days=365)).dt.strftime("%Y-%m-%d"),
        authority=pl.col("t_authority"),
        authority_uscc=pl.col("t_authority_uscc"),
        source_dept=pl.col("t_authority"),
        source_dept_uscc=pl.col("t_authority_uscc"),
        note=pl.lit(""),
    )
    bad = 0
    if dirty > 0:
        roll = pl.col("r1") // (1 << 36) % 1_000_000
        threshold = int(dirty * 1_000_000)
        fixable = roll < threshold // 2
        broken = (roll >= threshold // 2) & (roll < threshold)
        # Fixable: another accepted date form; rejected: a date that does not exist.
        df = df.with_columns(
            decision_date=pl.when(fixable).then(decided.dt.strftime("%Y年%-m月%-d日"))
            .when(broken).then(pl.concat_str(decided.dt.year().cast(pl.String), pl.lit("-02-30")))
            .otherwise(pl.col("decision_date"))
        )
        bad = int(df.select(broken.sum()).item())
    return df, bad


def write_penalty_csv(path: Path, rows: int, *, seed: int = 7, dirty: float = 0.0, encoding: str = "utf-8",
                      today: date | None = None, stats: dict[str, int] | None = None) -> int:
    """Write `rows` penalty rows in the national 双公示 format (headers = catalog labels); return rows written.

    dirty: share of dirty rows, half of them accepted after normalisation (另一种日期写法), half
    rejected (2月30日); `stats` (if given) receives {"rows", "expected_rejected"}. encoding: utf-8,
    utf-8-sig or gbk/gb18030. About 400 bytes per row.
    """
    today = today or ANCHOR
    fields = penalty_headers()
    names = [name for name, _ in fields]
    pool_size = max(200, min(rows // 50, 10_000))
    pool, _ = _pools(seed, pool_size, today)
    rng = random.Random(seed)
    expected_bad = 0
    text_mode = encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "utf-8-sig")
    with open(path, "wb") as fh:
        if encoding.lower() == "utf-8-sig":
            fh.write(b"\xef\xbb\xbf")
        header = ",".join(label for _, label in fields) + "\n"
        fh.write(header.encode(encoding.replace("-sig", "")))
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            df, bad = _chunk(start, n, pool, pool_size, rng, today, dirty)
            expected_bad += bad
            # Empty cells as nulls, so they are written bare (,,) rather than quoted ("").
            out = df.select([pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) if c in df.columns
                             else pl.lit(None, dtype=pl.String).alias(c) for c in names])
            if text_mode:
                fh.write(out.write_csv(include_header=False).encode(encoding, errors="replace"))
            else:
                out.write_csv(fh, include_header=False)
    if stats is not None:
        stats.update(rows=rows, expected_rejected=expected_bad)
    return rows

