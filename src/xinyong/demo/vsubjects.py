"""Subjects of the demo city as a Polars frame: the vectorised twin of subjects.make_subject.

Every column is an expression over the subject index, so a window of a million subjects costs a few
Polars passes instead of a Python call per subject. splitmix64 is exact in UInt64 (Polars wraps on
overflow), and check characters come from per-position values and table lookups, so the frame agrees
with make_subject value for value (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import cache
from typing import Any

import polars as pl

from xinyong.core.identifiers import USCC_ALPHABET
from xinyong.demo import names as N
from xinyong.demo import subjects as S

_U = pl.UInt64
_USCC_W = [pow(3, i, 31) for i in range(17)]
_ORG_W = (3, 7, 9, 10, 5, 8, 4, 2)
_ID_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_USCC_VAL = {ch: i for i, ch in enumerate(USCC_ALPHABET)}


def mix(seed: int, stream: int, index: pl.Expr) -> pl.Expr:
    """names.mix over a column of indices (UInt64 arithmetic wraps, as the & mask does in Python)."""
    m = 2**64
    start = (seed * 0x9E3779B97F4A7C15 + stream * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019) % m
    x = index.cast(_U) * pl.lit(0xBF58476D1CE4E5B9, _U) + pl.lit(start, _U)
    x = x.xor(x // 2**30) * pl.lit(0xBF58476D1CE4E5B9, _U)
    x = x.xor(x // 2**27) * pl.lit(0x94D049BB133111EB, _U)
    return x.xor(x // 2**31)


def pick(options: Sequence[str], index: pl.Expr) -> pl.Expr:
    """options[index] for a column of indices."""
    return pl.lit(pl.Series(list(options), dtype=pl.String)).gather(index.cast(pl.Int64))


def pick_int(options: Sequence[int], index: pl.Expr) -> pl.Expr:
    return pl.lit(pl.Series(list(options), dtype=pl.Int64)).gather(index.cast(pl.Int64))


def _m(h: pl.Expr, n: int) -> pl.Expr:
    return (h % n).cast(pl.Int64)


def person_name(h: pl.Expr) -> pl.Expr:
    ns, ng = len(N.SURNAMES), len(N.GIVEN)
    rest = h // ns // ng
    second = pl.when(rest % 10 < 7).then(pick(N.GIVEN, _m(rest // 10, ng))).otherwise(pl.lit(""))
    return pl.concat_str(pick(N.SURNAMES, _m(h, ns)), pick(N.GIVEN, _m(h // ns, ng)), second)


_TRADES = [N.TRADE[2 * k : 2 * k + 2] for k in range(len(N.TRADE) // 2)]
_GOV = [t + ("办事处" if t.endswith("街道") else "人民政府") for t in N.TOWNS]
_SCHOOL_SECTOR = ["education" if k.endswith("中学") or k == "中心小学" else "medical" if "医" in k or k == "卫生院"
                  else "culture" for k in N.SCHOOL_KINDS]  # fmt: skip
_NONPROFIT_SECTOR = ["education" if "校" in k or "幼儿园" in k else "service" for k in N.PRIVATE_NONPROFIT]


def name91(prefix: pl.Expr, h: pl.Expr) -> pl.Expr:
    """The name of a category-91 enterprise (the only category that gets renamed)."""
    h2 = h // 2**20
    head = pl.when((h2 // 2**12) % 10 == 0).then(pl.lit("山东")).otherwise(prefix)
    return pl.concat_str(head, pick(_TRADES, _m(h, len(_TRADES))), pick([w for w, _ in N.INDUSTRIES], _m(h2, len(N.INDUSTRIES))),
                         pick(("有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司"), _m(h2 // 2**8, 5)))


def org_names(prefix: pl.Expr, h: pl.Expr) -> dict[str, tuple[pl.Expr, pl.Expr]]:
    """category -> (name, sector) expressions, as subjects._org_name."""
    trade = pick(_TRADES, _m(h, len(_TRADES)))
    h2 = h // 2**20
    town = pick(N.TOWNS, _m(h2, len(N.TOWNS)))
    ind = _m(h2, len(N.INDUSTRIES))
    n91 = name91(prefix, h)
    shop = pick([w for w, _ in N.SHOPS], _m(h2, len(N.SHOPS)))
    keeper = shop.is_in(["小吃店", "水饺馆", "饭店"]) & ((h2 // 2**8) % 2 == 1)
    n92 = pl.when(keeper).then(pl.concat_str(prefix, pick(N.SURNAMES, _m(h2 // 2**9, len(N.SURNAMES))), pl.lit("记"),
                                             shop)).otherwise(pl.concat_str(prefix, trade, shop))  # fmt: skip
    school = _m(h2 // 2**6, len(N.SCHOOL_KINDS))
    kind12 = pick(N.SCHOOL_KINDS, school)
    n12 = (pl.when(kind12.str.ends_with("中学"))
           .then(pl.concat_str(prefix, pl.lit("第"), pick(list("一二三四五六七八九十"), _m(h2 // 2**10, 10)), kind12))
           .when(kind12.is_in(["中心小学", "卫生院"])).then(pl.concat_str(prefix, town, kind12))
           .when(kind12 == "图书馆").then(pl.concat_str(prefix, trade, kind12))
           .otherwise(pl.concat_str(prefix, kind12)))  # fmt: skip
    np_kind = _m(h2 // 2**6, len(N.PRIVATE_NONPROFIT))
    village = pl.concat_str(pick(N.SURNAMES, _m(h2 // 2**6, len(N.SURNAMES))),
                            pick(N.VILLAGE_SUFFIX, _m(h2 // 2**14, len(N.VILLAGE_SUFFIX))))
    assoc = pl.when((h2 // 2**11) % 2 == 1).then(pl.lit("行业协会")).otherwise(pl.lit("协会"))
    names = {
        "91": n91, "92": n92,
        "93": pl.concat_str(prefix, trade, pick(N.COOP_WORDS, _m(h2 // 2**6, len(N.COOP_WORDS))), pl.lit("专业合作社")),
        "11": pl.concat_str(prefix, pick(_GOV, _m(h2, len(N.TOWNS)))), "12": n12,
        "51": pl.concat_str(prefix, pick(N.ASSOC_WORDS, _m(h2 // 2**6, len(N.ASSOC_WORDS))), assoc),
        "52": pl.concat_str(prefix, trade, pick(N.PRIVATE_NONPROFIT, np_kind)),
        "53": pl.concat_str(pl.lit(N.CITY), trade, pl.lit("慈善基金会")),
        "31": pl.concat_str(pl.lit("山东"), trade, pl.lit("律师事务所")),
        "Y1": pl.concat_str(prefix, trade, pl.lit("小区业主委员会")),
    }  # fmt: skip
    sectors = {
        "91": pick([s for _, s in N.INDUSTRIES], ind), "92": pick([s for _, s in N.SHOPS], _m(h2, len(N.SHOPS))),
        "93": pl.lit("agri"), "11": pl.lit("gov"), "12": pick(_SCHOOL_SECTOR, school), "51": pl.lit("service"),
        "52": pick(_NONPROFIT_SECTOR, np_kind), "53": pl.lit("service"), "31": pl.lit("service"),
        "Y1": pl.lit("service"),
    }  # fmt: skip
    out = {code: (names[code], sectors[code]) for code in names}
    out["N2"] = (pl.concat_str(prefix, town, village, pl.lit("股份经济合作社")), pl.lit("agri"))
    return out


def _iso7064_state(digits: str) -> int:
    p = 10
    for ch in digits:
        s = (p + int(ch)) % 10 or 10
        p = (2 * s) % 11
    return p


@cache
def _tables() -> dict[str, Any]:
    regions = S.counties()
    cats = [c for c, _ in S.MIX]
    roll: list[str] = []
    for limit, c in S._CUM:
        roll += [c] * (limit - len(roll))
    etypes: list[str] = []
    e_off: list[int] = []
    e_len: list[int] = []
    for c in cats:
        options = S.ENTITY_TYPES.get(c, ("",))
        e_off.append(len(etypes))
        e_len.append(len(options))
        etypes += options
    return {
        "roll": roll, "cats": cats, "region": [r for r, _ in regions], "county": [c for _, c in regions],
        "prefix": [N.county_prefix(r, c) for r, c in regions], "e_types": etypes, "e_off": e_off, "e_len": e_len,
        "id_region_sum": [sum(int(d) * w for d, w in zip(r, _ID_W, strict=False)) for r, _ in regions],
        "reg_state": [_iso7064_state(r) for r, _ in regions],
        "uscc_region_sum": [sum(int(d) * w for d, w in zip(r, _USCC_W[2:8], strict=False)) for r, _ in regions],
    }


@cache
def _birth_tables() -> tuple[pl.Series, pl.Series, pl.Series, pl.Series]:
    """Per birth-day offset and per sequence number: the ID digits as text and their weighted sum."""
    def weighted(texts: pl.Series, weights: tuple[int, ...]) -> pl.Series:
        return pl.select(pl.sum_horizontal([pl.lit(texts).str.slice(k, 1).cast(pl.Int64) * w
                                            for k, w in enumerate(weights)])).to_series()

    days = pl.select(pl.lit(date(1950, 1, 1)) + pl.duration(days=pl.int_range(0, S._ID_DAYS))).to_series()
    texts = days.dt.strftime("%Y%m%d")
    seqs = pl.int_range(0, 1000, eager=True).cast(pl.String).str.zfill(3)
    return texts, weighted(texts, _ID_W[6:14]), seqs, weighted(seqs, _ID_W[14:])


def citizen_id(seed: int, stream: int, index: pl.Expr) -> pl.Expr:
    """subjects.citizen_id over a column of indices."""
    t = _tables()
    b_text, b_sum, s_text, s_sum = _birth_tables()
    space, mul, offset = S._id_space(seed)
    p = ((index * mul) % space + (stream * 7_919_993 * mul + offset) % space) % space
    region_idx = p // (S._ID_DAYS * 1000)
    day = (p % (S._ID_DAYS * 1000)) // 1000
    seq = p % 1000
    total = pick_int(t["id_region_sum"], region_idx) + pl.lit(b_sum).gather(day) + pl.lit(s_sum).gather(seq)
    return pl.concat_str(pick(t["region"], region_idx), pl.lit(b_text).gather(day), pl.lit(s_text).gather(seq),
                         pick(list("10X98765432"), total % 11))


def _ints(values: dict[str, int], keys: list[str]) -> list[int]:
    return [values[k] for k in keys]


def subject_frame(seed: int, start: int, stop: int, today: date) -> pl.DataFrame:
    """Subjects start..stop-1, one row each, with every field of subjects.Subject (empty codes as "")."""
    t = _tables()
    i = pl.col("index")
    lf = pl.LazyFrame({"index": pl.int_range(start, stop, dtype=pl.Int64, eager=True)})
    h = mix(seed, 1, i)
    h1 = h // 1024
    ri = _m(h1, len(t["region"]))
    age = ((((h1 // 16) % 10_000).cast(pl.Float64) / 10_000).pow(1.2) * 30 * 365).cast(pl.Int64) + 30
    lf = lf.with_columns(category=pick(t["roll"], _m(h, 1000)), region_idx=ri, age=age,
                         h2=mix(seed, 2, i), h3=mix(seed, 3, i))
    lf = lf.with_columns(region=pick(t["region"], pl.col("region_idx")), county=pick(t["county"], pl.col("region_idx")),
                         prefix=pick(t["prefix"], pl.col("region_idx")),
                         founded=pl.lit(today) - pl.duration(days=pl.col("age")))
    cat, prefix, h2, h3 = pl.col("category"), pl.col("prefix"), pl.col("h2"), pl.col("h3")
    person = cat == "P"
    # Names per category on that category's rows only: a when/then chain would build all twelve everywhere.
    named = org_names(prefix, h2)
    named["P"] = (person_name(h2), pl.lit("person"))
    base = lf.collect()
    parts = [part.with_columns(name=named[code][0], sector=named[code][1])
             for (code,), part in base.partition_by("category", as_dict=True, maintain_order=True).items()]
    lf = pl.concat(parts).sort("index").lazy().with_columns(
        former=name91(prefix, h3 // 16), old=(pl.col("founded") < S.REFORM) & (cat != "92"),
    )
    rename = (cat == "91") & (h3 % 10 == 0) & (pl.col("age") > 400) & (pl.col("former") != pl.col("name"))
    digits = 10_000_000 + (i * S._DIGIT_MUL + 4_321) % S._DIGIT_SPACE
    ma = (i * S._MA_MUL + 12_345) % S._MA_SPACE
    lf = lf.with_columns(
        former_name=pl.when(rename).then(pl.col("former")),
        renamed_on=pl.when(rename).then(pl.col("founded") + pl.duration(days=(h3 // 256) % (pl.col("age") - 200).cast(_U) + 100)),
        use_digits=pl.col("old") | cat.str.slice(0, 1).is_in(list("135NY")), digits=digits, ma=ma,
    )
    # The 8 body characters as alphabet values: USCC alphabet index and GB 11714 value (int(ch, 36)).
    org_of = [int(ch, 36) for ch in USCC_ALPHABET]
    use_d = pl.col("use_digits")
    d_vals = [(pl.col("digits") // 10 ** (7 - k)) % 10 for k in range(8)]
    ma_idx = [(pl.col("ma") // 31 ** (5 - k)) % 31 for k in range(6)]
    uscc_v = [pl.when(use_d).then(d_vals[k]).otherwise(pl.lit(_USCC_VAL[c])) for k, c in enumerate("MA")]
    uscc_v += [pl.when(use_d).then(d_vals[k + 2]).otherwise(ma_idx[k]) for k in range(6)]
    org_v = [pl.when(use_d).then(d_vals[k]).otherwise(pl.lit(int(c, 36))) for k, c in enumerate("MA")]
    org_v += [pl.when(use_d).then(d_vals[k + 2]).otherwise(pick_int(org_of, ma_idx[k])) for k in range(6)]
    lf = lf.with_columns(
        body=pl.when(use_d).then(pl.col("digits").cast(pl.String))
        .otherwise(pl.concat_str(pl.lit("MA"), *[pick(USCC_ALPHABET, v) for v in ma_idx])),
        org_c=11 - pl.sum_horizontal([v * w for v, w in zip(org_v, _ORG_W, strict=True)]) % 11,
        body_sum=pl.sum_horizontal([v * w for v, w in zip(uscc_v, _USCC_W[8:16], strict=True)]),
    )
    cats = t["cats"]
    c0 = pick_int(_ints(_USCC_VAL, [c[0] if c != "P" else "0" for c in cats]), cat.replace_strict(cats, list(range(len(cats)))))
    c1 = pick_int(_ints(_USCC_VAL, [c[1] if c != "P" else "0" for c in cats]), cat.replace_strict(cats, list(range(len(cats)))))
    org_char = pick(["?", "1", "2", "3", "4", "5", "6", "7", "8", "9", "X", "0"], pl.col("org_c"))
    org_val = pick_int([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, _USCC_VAL["X"], 0], pl.col("org_c"))
    total = (c0 * _USCC_W[0] + c1 * _USCC_W[1] + pick_int(t["uscc_region_sum"], pl.col("region_idx"))
             + pl.col("body_sum") + org_val * _USCC_W[16])  # fmt: skip
    org = pl.col("category").is_in(["P"]).not_()
    lf = lf.with_columns(
        uscc=pl.when(org).then(pl.concat_str(cat, pl.col("region"), pl.col("body"), org_char,
                                             pick(USCC_ALPHABET, (31 - total % 31) % 31))).otherwise(pl.lit("")),
        org_code=pl.when(org & use_d).then(pl.concat_str(pl.col("body"), org_char)).otherwise(pl.lit("")),
    )  # fmt: skip
    # 15-digit 工商注册号, ISO 7064 MOD 11,10: the state after the 6 region digits comes from a table.
    seq = (i * S._DIGIT_MUL + 777) % 100_000_000
    lf = lf.with_columns(reg_seq=seq, p=pick_int(t["reg_state"], pl.col("region_idx")))
    for k in range(8):
        s = (pl.col("p") + (pl.col("reg_seq") // 10 ** (7 - k)) % 10) % 10
        lf = lf.with_columns(p=(2 * pl.when(s == 0).then(10).otherwise(s)) % 11)
    lf = lf.with_columns(reg_body=pl.concat_str(pl.col("region"), pl.col("reg_seq").cast(pl.String).str.zfill(8)))
    reg = pl.col("old") & cat.is_in(["91", "93"])
    e_idx = cat.replace_strict(cats, list(range(len(cats))))
    lf = lf.with_columns(
        reg_no=pl.when(reg).then(pl.concat_str(pl.col("reg_body"), ((11 - pl.col("p")) % 10).cast(pl.String)))
        .otherwise(pl.lit("")),
        tax_no=pl.when((pl.col("org_code") != "") & cat.is_in(["91", "93"]))
        .then(pl.concat_str(pl.col("region"), pl.col("org_code"))).otherwise(pl.lit("")),
        inst_cert_no=pl.when(cat == "12").then(pl.concat_str(pl.lit("1"), pl.col("region").str.slice(0, 4),
                                                              (i % 10_000_000).cast(pl.String).str.zfill(7)))
        .otherwise(pl.lit("")),
        social_org_no=pl.when(cat.is_in(["51", "52", "53"]))
        .then(pl.concat_str(pl.lit("鲁德民证字第"), (i % 1_000_000).cast(pl.String).str.zfill(6), pl.lit("号")))
        .otherwise(pl.lit("")),
        legal_rep=pl.when(org).then(person_name(h3 // 2**20)).otherwise(pl.lit("")),
        legal_rep_id=pl.when(org).then(citizen_id(seed, 1, i)).otherwise(pl.lit("")),
        id_no=pl.when(person).then(citizen_id(seed, 0, i)).otherwise(pl.lit("")),
        kind=cat.replace_strict(S.KIND_OF, default="legal_person", return_dtype=pl.String),
        entity_type=pick(t["e_types"], pick_int(t["e_off"], e_idx) + ((h3 // 2**40) % pick_int(t["e_len"], e_idx).cast(_U)).cast(pl.Int64)),
    )  # fmt: skip
    return lf.select(
        "index", "category", "kind", "name", "former_name", "renamed_on", "uscc", "reg_no", "org_code", "tax_no",
        "inst_cert_no", "social_org_no", "legal_rep", "id_no", "legal_rep_id", "region", "county", "prefix", "sector",
        "founded", "entity_type", "age",
    ).collect()
