"""The demo city's rows as Polars frames: registrations of the organisations, then records of every item.

The city is cut into windows: window c holds subjects [c·S/n, (c+1)·S/n) and records [c·R/n, (c+1)·R/n),
and every record of a window is about one of its subjects. A window's subjects are built once (vectorised,
vsubjects.subject_frame), its rows are built column by column, and nothing else is kept, so memory is
flat at any size. Same (seed, today, subjects, records): same frames. Frames hold catalog field names;
dates are pl.Date, absent values null; "dept" names the sending department and "row" is a stable row
number (for the dirt).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from xinyong.demo import names as N
from xinyong.demo import templates as T
from xinyong.demo.departments import BY_CODE
from xinyong.demo.subjects import KIND_LABEL
from xinyong.demo.vsubjects import mix, pick, pick_int, subject_frame

RECORD_CHUNK = 250_000
LONG_TERM = date(2099, 12, 31)
# Share of records per item (per 1000); items missing from the catalog are skipped.
ITEM_MIX: tuple[tuple[str, int], ...] = (
    ("admin_license", 380), ("admin_penalty", 330), ("admin_inspection", 80), ("business_abnormal", 40),
    ("credit_commitment", 50), ("honour", 30), ("dishonest_judgment_debtor", 30), ("tax_credit_rating", 60),
)  # fmt: skip
# Which subject categories each item draws from ("P" = natural persons).
ITEM_CATEGORIES: dict[str, frozenset[str]] = {
    "admin_license": frozenset({"91", "92", "93", "12", "52", "31", "P"}),
    "admin_penalty": frozenset({"91", "92", "93", "12", "51", "52", "53", "31", "Y1", "N2", "P"}),
    "admin_inspection": frozenset({"91", "92", "93", "12", "52"}),
    "business_abnormal": frozenset({"91", "92", "93"}),
    "credit_commitment": frozenset({"91", "92", "93", "52"}),
    "honour": frozenset({"91", "92", "93", "12", "P"}),
    "dishonest_judgment_debtor": frozenset({"91", "92", "P"}),
    "tax_credit_rating": frozenset({"91", "92", "93"}),
}
REGISTRAR = {"91": "SCJG", "92": "SCJG", "93": "SCJG", "11": "BB", "12": "BB", "51": "MZ", "52": "MZ", "53": "MZ",
             "31": "SFJ", "Y1": "XYB", "N2": "NY"}  # fmt: skip
SCOPES = {
    "food": "食品销售；餐饮服务；食品互联网销售（依法须经批准的项目，经相关部门批准后方可开展经营活动）",
    "construction": "房屋建筑工程施工；市政公用工程施工；建筑装饰工程设计与施工",
    "chemical": "化工产品（不含危险化学品）生产、销售；新材料技术研发",
    "transport": "道路普通货物运输；仓储服务（不含危险品）；装卸搬运",
    "agri": "农作物种植；农业机械服务；农副产品收购、销售",
}
HONOUR_PREFIX = {"SCJG": "德市监发", "XYB": "德信用办发", "RS": "德人社发", "YJGL": "德应急发"}
DEFAULT_SCOPE = "一般项目：技术服务、技术开发、技术咨询；销售代理；机械设备销售（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）"
ROADS = ("东风路", "湖滨大道", "新湖大街", "天衢路", "三八路", "解放大道", "德兴大道", "长河大道", "大学路", "广川大道", "文化路", "建设街")
SECTORS = ("manufacturing", "medical", "culture", "service", "agri", "transport", "chemical", "education", "food",
           "trade", "person", "construction", "energy", "gov", "tech")  # fmt: skip
C = pl.col


def _s(value: str) -> pl.Expr:
    return pl.lit(value, dtype=pl.String)


def _txt(e: pl.Expr) -> pl.Expr:
    return e.cast(pl.String)


@dataclass
class City:
    subjects: int
    seed: int
    today: date
    records: int | None = None
    items: tuple[str, ...] = tuple(code for code, _ in ITEM_MIX)
    registration: bool = True
    _counters: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def record_count(self) -> int:
        return self.records if self.records is not None else 2 * self.subjects

    def frames(self) -> Iterator[tuple[str, pl.DataFrame]]:
        """(item code, rows) window by window: registrations first, then each item's records."""
        total = self.record_count
        windows = max(1, min(self.subjects, -(-total // RECORD_CHUNK)))
        for c in range(windows):
            s0, s1 = c * self.subjects // windows, (c + 1) * self.subjects // windows
            subj = subject_frame(self.seed, s0, s1, self.today)
            if self.registration:
                yield "registration", self._registrations(subj)
            yield from self._records(subj, c * total // windows, (c + 1) * total // windows)

    # ---- helpers --------------------------------------------------------------------------------

    def _h(self, stream: int) -> pl.Expr:
        """A non-negative Int64 hash of the row for one purpose."""
        return (mix(self.seed, stream, C("row")) // 2).cast(pl.Int64)

    def _day(self, h: pl.Expr, span: int = 5 * 365) -> pl.Expr:
        """A day in the last five years (never before the subject was founded, never after today)."""
        limit = pl.min_horizontal(pl.lit(span), (pl.lit(self.today) - C("founded")).dt.total_days()).clip(1)
        return pl.lit(self.today) - pl.duration(days=h % limit)

    def _number(self, df: pl.DataFrame, key: str, year: str) -> pl.DataFrame:
        """Column "n": per (key, year), 1, 2, 3… continuing across windows (文号 are never reused)."""
        if df.is_empty():
            return df.with_columns(n=pl.lit(0, pl.Int64))
        df = df.with_columns(n=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(key, year))
        counts = df.group_by(key, year).agg(pl.len().alias("count"))
        bases = []
        for k, y, count in counts.iter_rows():
            base = self._counters.get((k, y), 0)
            self._counters[(k, y)] = base + count
            bases.append(base)
        offsets = counts.with_columns(base=pl.Series(bases, dtype=pl.Int64)).drop("count")
        return df.join(offsets, on=[key, year], how="left", maintain_order="left").with_columns(
            n=C("n") + C("base")).drop("base")

    @staticmethod
    def _doc(prefix: pl.Expr, year: pl.Expr) -> pl.Expr:
        return pl.concat_str(prefix, _s("〔"), _txt(year), _s("〕"), _txt(C("n")), _s("号"))

    def _name_on(self, day: str) -> pl.Expr:
        renamed = C("renamed_on").is_not_null() & (C(day) < C("renamed_on"))
        return pl.when(renamed).then(C("former_name")).otherwise(C("name"))

    @staticmethod
    def _ids(h: pl.Expr, *, secondary: bool = True) -> dict[str, pl.Expr]:
        """Subject identification columns: unified code, sometimes older codes and the legal representative."""
        person = C("kind") == "natural_person"
        out = {"subject_kind": C("kind").replace_strict(KIND_LABEL, return_dtype=pl.String),
               "id_type": pl.when(person).then(_s("身份证")), "id_no": pl.when(person).then(C("id_no")),
               "uscc": pl.when(~person).then(C("uscc"))}  # fmt: skip
        if secondary:
            sec = ~person & (h % 2 == 1)
            for name in ("reg_no", "org_code", "tax_no", "inst_cert_no", "social_org_no"):
                out[name] = pl.when(sec).then(C(name))
            out["legal_rep"] = pl.when(~person).then(C("legal_rep"))
            rep_id = ~person & ((h // 2) % 2 == 1)
            out["legal_rep_id_type"] = pl.when(rep_id).then(_s("身份证"))
            out["legal_rep_id_no"] = pl.when(rep_id).then(C("legal_rep_id"))
        return out

    def _authority(self) -> pl.Expr:
        """The county market regulator, or the city's for its districts."""
        return (pl.when(C("county").str.starts_with("德州")).then(_s(BY_CODE["SCJG"].name))
                .otherwise(pl.concat_str(C("prefix"), _s("市场监督管理局"))))  # fmt: skip

    # ---- registration ---------------------------------------------------------------------------

    def _registrations(self, subj: pl.DataFrame) -> pl.DataFrame:
        h = (mix(self.seed, 10, C("index")) // 2).cast(pl.Int64)
        dept = C("category").replace_strict(REGISTRAR, default="", return_dtype=pl.String)
        dept_name = dept.replace_strict({d: BY_CODE[d].name for d in set(REGISTRAR.values())}, default="")
        city_prefix = pl.when(C("prefix").str.starts_with(N.CITY)).then(_s("")).otherwise(_s(N.CITY))
        return subj.filter(C("category") != "P").with_columns(row=C("index")).select(
            "row", dept=dept, subject_name=C("name"), uscc=C("uscc"), reg_no=C("reg_no"), legal_rep=C("legal_rep"),
            legal_rep_id_no=C("legal_rep_id"),
            entity_type=C("entity_type"), established=C("founded"),
            registered_capital=pl.when(C("category").is_in(["91", "93"]))
            .then(pl.concat_str(_txt((h % 200 + 1) * 50), _s("万元人民币"))),
            address=pl.concat_str(_s("山东省"), city_prefix, C("prefix"), pick(ROADS, (h // 2**24) % len(ROADS)),
                                  _txt((h // 2**32) % 999 + 1), _s("号")),
            registration_authority=pl.when((dept == "SCJG") & ~C("county").str.starts_with("德州"))
            .then(pl.concat_str(C("prefix"), _s("市场监督管理局"))).otherwise(dept_name),
            business_status=pl.when(h % 50 == 0).then(_s("吊销，未注销")).otherwise(_s("存续")),
            approval_date=pl.min_horizontal(pl.lit(self.today), C("founded") + pl.duration(days=(h // 4096) % 2000)),
            business_scope=pl.when(C("category").str.starts_with("9"))
            .then(C("sector").replace_strict(SCOPES, default=DEFAULT_SCOPE, return_dtype=pl.String)),
        )  # fmt: skip

    # ---- records --------------------------------------------------------------------------------

    def _records(self, subj: pl.DataFrame, r0: int, r1: int) -> Iterator[tuple[str, pl.DataFrame]]:
        weights = [(code, w) for code, w in ITEM_MIX if code in self.items]
        if not weights or r1 <= r0:
            return
        lookup = [code for code, w in weights for _ in range(w)]
        rows = pl.DataFrame({"row": pl.int_range(r0, r1, dtype=pl.Int64, eager=True)}).with_columns(
            item=pick(lookup, mix(self.seed, 4, C("row")) % len(lookup)))
        for code, _ in weights:
            mine = rows.filter(C("item") == code)
            eligible = subj.with_row_index("pos").filter(C("category").is_in(ITEM_CATEGORIES[code]))["pos"]
            if mine.is_empty() or eligible.is_empty():
                continue
            # Rows in subject order: gathering sorted positions is several times faster than random ones.
            mine = mine.with_columns(pos=pl.lit(eligible).gather(mix(self.seed, 5, C("row")) % len(eligible))).sort(
                "pos", "row")
            df = subj[mine["pos"]].hstack(mine.select("row"))
            yield code, getattr(self, "_" + code)(df)

    def _admin_penalty(self, df: pl.DataFrame) -> pl.DataFrame:
        tpl = _fitting(T.PENALTIES, self._h(21))
        ts = T.PENALTIES
        h = self._h(22)
        df = df.with_columns(t=tpl, day=self._day(self._h(23)))
        t = C("t")
        lo, span = pick_int([x.fine[0] if x.fine else 0 for x in ts], t), pick_int(
            [(x.fine[1] - x.fine[0]) // 100 + 1 if x.fine else 0 for x in ts], t)
        fine = lo + (h % span.clip(1)) * 100
        gain = ((h // 2**20) % 400 + 1) * 50
        types = pick([x.types for x in ts], t)
        confiscate = pick_int([int(x.confiscate) for x in ts], t) == 1
        seized = pick([x.seized for x in ts], t)
        content = pl.concat_str(
            _s("责令改正"),
            pl.when(span > 0).then(pl.concat_str(_s("，处罚款人民币"), _txt(fine), _s("元")))
            .when(types.str.contains("警告")).then(_s("，给予警告")).otherwise(_s("")),
            pl.when(confiscate).then(pl.concat_str(_s("，没收违法所得"), _txt(gain), _s("元"))).otherwise(_s("")),
            _s("。"),
        )  # fmt: skip
        dept = pick([x.dept for x in ts], t)
        df = df.with_columns(dept=dept, prefix=pick([BY_CODE[x.dept].doc_prefix for x in ts], t),
                             year=C("day").dt.year())
        df = self._number(df, "prefix", "year")
        return df.select(
            "row", "dept", subject_name=self._name_on("day"), **self._ids(self._h(24)),
            fine_amount=pl.when(span > 0).then(_wan(fine)), confiscated_amount=pl.when(confiscate).then(_wan(gain)),
            licence_seized=pl.when(seized != "").then(pl.concat_str(
                seized, _s("（编号"), C("region"), _txt(C("index") % 100_000).str.zfill(5), _s("）"))),
            decision_no=self._doc(C("prefix"), C("year")), violation_type=pick([x.violation for x in ts], t),
            violation_facts=pick([f"经查，{x.facts}。" for x in ts], t), penalty_basis=pick([x.basis for x in ts], t),
            penalty_type=types, penalty_content=content, decision_date=C("day"),
            authority=_dept_attr(C("dept"), "name"), authority_uscc=_dept_attr(C("dept"), "uscc"),
            source_dept=_dept_attr(C("dept"), "name"), source_dept_uscc=_dept_attr(C("dept"), "uscc"),
            publish_until=pl.when((h // 2**40) % 3 == 0).then(C("day") + pl.duration(days=365)),
        )  # fmt: skip

    def _admin_license(self, df: pl.DataFrame) -> pl.DataFrame:
        ls = T.LICENCES
        df = df.with_columns(t=_fitting(ls, self._h(31)), day=self._day(self._h(32)))
        t = C("t")
        years = pick_int([x.years or 0 for x in ls], t)
        valid_to = (pl.when(years == 0).then(pl.lit(LONG_TERM))
                    .otherwise(C("day").dt.offset_by(pl.concat_str(_txt(years), _s("y"))) - pl.duration(days=1)))  # fmt: skip
        df = df.with_columns(dept=pick([x.dept for x in ls], t), year=C("day").dt.year(), valid_to=valid_to)
        df = df.with_columns(prefix=_dept_attr(C("dept"), "licence_prefix"))
        df = self._number(df, "prefix", "year")
        return df.select(
            "row", "dept", subject_name=self._name_on("day"), **self._ids(self._h(33)),
            document_name=pick([x.document for x in ls], t), decision_no=self._doc(C("prefix"), C("year")),
            license_category=pick([x.category for x in ls], t), certificate_name=pick([x.certificate for x in ls], t),
            license_no=pl.concat_str(pick([x.number_prefix for x in ls], t), _txt(C("year")),
                                     _txt(self._h(34) % 1_000_000).str.zfill(6)),
            content=pick([x.content for x in ls], t), decision_date=C("day"), valid_from=C("day"),
            valid_to=C("valid_to"), authority=_dept_attr(C("dept"), "name"),
            authority_uscc=_dept_attr(C("dept"), "uscc"),
            status=pl.when(C("valid_to") >= self.today).then(_s("有效")).otherwise(_s("无效")),
            source_dept=_dept_attr(C("dept"), "name"), source_dept_uscc=_dept_attr(C("dept"), "uscc"),
            region_code=C("region"),
        )  # fmt: skip

    def _admin_inspection(self, df: pl.DataFrame) -> pl.DataFrame:
        ins = T.INSPECTIONS
        k = self._h(41) % len(ins)
        fire = pick_int([int("消防" in x[1]) for x in ins], k) == 1
        df = df.with_columns(k=k, day=self._day(self._h(42)), dept=pl.when(fire).then(_s("XF")).otherwise(_s("SCJG")),
                             prefix=pl.when(fire).then(_s("德消检字")).otherwise(_s("德市监检")))
        df = self._number(df.with_columns(year=C("day").dt.year()), "prefix", "year")
        result = pick([x[2] for x in ins], C("k"))
        return df.select(
            "row", "dept", subject_name=self._name_on("day"), uscc=C("uscc"), reg_no=C("reg_no"),
            inspection_no=self._doc(C("prefix"), C("year")), inspection_type=pick([x[0] for x in ins], C("k")),
            inspection_items=pick([x[1] for x in ins], C("k")), inspection_date=C("day"), result=result,
            follow_up=pl.when(result.str.contains("整改")).then(_s("已责令限期整改")),
            authority=_dept_attr(C("dept"), "name"), authority_uscc=_dept_attr(C("dept"), "uscc"),
        )  # fmt: skip

    def _business_abnormal(self, df: pl.DataFrame) -> pl.DataFrame:
        h = self._h(51)
        df = df.with_columns(day=self._day(self._h(52)), dept=_s("SCJG"), prefix=_s("德市监异列"))
        df = self._number(df.with_columns(year=C("day").dt.year()), "prefix", "year")
        removed = C("day") + pl.duration(days=30 + (h // 2**20) % 400)
        gone = ((h // 2**30) % 5 < 2) & (removed <= self.today)
        return df.select(
            "row", "dept", subject_name=self._name_on("day"), uscc=C("uscc"), reg_no=C("reg_no"),
            legal_rep=C("legal_rep"), decision_no=self._doc(C("prefix"), C("year")), list_date=C("day"),
            list_reason=pick(T.ABNORMAL_REASONS, h % len(T.ABNORMAL_REASONS)), authority=self._authority(),
            removal_date=pl.when(gone).then(removed),
            removal_reason=pl.when(gone).then(pick(T.REMOVAL_REASONS, (h // 2**34) % len(T.REMOVAL_REASONS))),
            removal_authority=pl.when(gone).then(self._authority()),
        )  # fmt: skip

    def _credit_commitment(self, df: pl.DataFrame) -> pl.DataFrame:
        cs = T.COMMITMENTS
        k = self._h(61) % len(cs)
        df = df.with_columns(k=k, day=self._day(self._h(62)))
        # No key field: ingestion deduplicates by content, so a repeat would not be a new record.
        df = df.unique(subset=["index", "k", "day"], keep="first", maintain_order=True)
        dept = pick([x[3] for x in cs], C("k"))
        return df.select(
            "row", dept=dept, subject_name=self._name_on("day"),
            subject_kind=C("kind").replace_strict(KIND_LABEL, return_dtype=pl.String), uscc=C("uscc"),
            legal_rep=C("legal_rep"), commitment_type=pick([x[0] for x in cs], C("k")),
            commitment_reason=pick([x[1] for x in cs], C("k")), content=pick([x[2] for x in cs], C("k")),
            commitment_date=C("day"), acceptor=_dept_attr(dept, "name"), acceptor_uscc=_dept_attr(dept, "uscc"),
            performance=pl.when(self._h(63) % 10 == 0).then(_s("未履约")).otherwise(_s("履约")),
        )  # fmt: skip

    def _honour(self, df: pl.DataFrame) -> pl.DataFrame:
        person = [x for x in T.HONOURS if x[3]]
        org = [x for x in T.HONOURS if not x[3]]
        is_p = C("kind") == "natural_person"
        h = self._h(71)
        k = pl.when(is_p).then(h % len(person)).otherwise(len(person) + h % len(org))
        hs = person + org
        df = df.with_columns(k=k, day=self._day(self._h(72)), dept=pick([x[2] for x in hs], k))
        df = df.with_columns(prefix=C("dept").replace_strict(HONOUR_PREFIX, default="德政发"), year=C("day").dt.year())
        df = self._number(df, "prefix", "year")
        return df.select(
            "row", "dept", subject_name=self._name_on("day"), honour_name=pick([x[0] for x in hs], C("k")),
            level=pick([x[1] for x in hs], C("k")), awarding_unit=_dept_attr(C("dept"), "name"),
            decision_no=self._doc(C("prefix"), C("year")), award_date=C("day"),
            **self._ids(h, secondary=False),
            valid_to=pl.when(self._h(73) % 2 == 1).then(C("day").dt.offset_by("3y")),
        )  # fmt: skip

    def _dishonest_judgment_debtor(self, df: pl.DataFrame) -> pl.DataFrame:
        h = self._h(81)
        df = df.with_columns(day=self._day(self._h(82), 2 * 365), court_code=C("region").str.slice(2))
        df = df.with_columns(filed=C("day") - pl.duration(days=30 + (h // 2**24) % 200),
                             case=pl.concat_str(_s("case"), C("court_code")))
        df = self._number(df.with_columns(year=C("filed").dt.year()), "case", "year")
        court = (pl.when(C("county").str.starts_with("德州")).then(_s("德州市中级人民法院"))
                 .otherwise(pl.concat_str(C("prefix"), _s("人民法院"))))  # fmt: skip
        k = h % len(T.DISHONEST_CASES)
        person = C("kind") == "natural_person"
        return df.select(
            "row", dept=_s("ZY"), subject_name=self._name_on("day"), court=court, province=_s("山东"),
            case_no=pl.concat_str(_s("（"), _txt(C("year")), _s("）鲁"), C("court_code"), _s("执"), _txt(C("n")),
                                  _s("号")),
            basis_doc_no=pl.concat_str(_s("（"), _txt(C("year") - 1), _s("）鲁"), C("court_code"), _s("民初"),
                                       _txt((h // 256) % 9000 + 100), _s("号")),
            filing_date=C("filed"), basis_unit=court,
            obligation=pl.concat_str(pick([x[1] for x in T.DISHONEST_CASES], k), _s("共计"),
                                     _txt((h // 4096) % 900 + 10), _s("万元")),
            performance=_s("全部未履行"), circumstances=pick([x[0] for x in T.DISHONEST_CASES], k),
            publish_date=C("day"), subject_kind=C("kind").replace_strict(KIND_LABEL, return_dtype=pl.String),
            id_type=pl.when(person).then(_s("身份证")), id_no=pl.when(person).then(C("id_no")),
            uscc=pl.when(~person).then(C("uscc")), org_code=pl.when(~person).then(C("org_code")),
            legal_rep=pl.when(~person).then(C("legal_rep")),
        )  # fmt: skip

    def _tax_credit_rating(self, df: pl.DataFrame) -> pl.DataFrame:
        h = self._h(91)
        year = self.today.year - 1 - h % 4
        rated = pl.date(year + 1, 4, 1 + (h // 16) % 25)
        late = rated > self.today
        df = df.with_columns(year=pl.when(late).then(year - 1).otherwise(year),
                             rated=pl.when(late).then(rated.dt.offset_by("-1y")).otherwise(rated))
        df = df.filter(C("rated") >= C("founded") + pl.duration(days=365))
        df = df.unique(subset=["index", "year"], keep="first", maintain_order=True)
        county = C("prefix").str.strip_prefix(N.CITY)
        return df.select(
            "row", dept=_s("SW"), subject_name=self._name_on("rated"), uscc=C("uscc"), rating_year=_txt(C("year")),
            rating=pick(list("AABBBBMMCD"), (h // 1024) % 10), rating_date=C("rated"),
            authority=pl.concat_str(_s("国家税务总局"), pl.when(C("county").str.starts_with("德州"))
                                    .then(_s(N.CITY)).otherwise(_s("")), county, _s("税务局")),
        )  # fmt: skip


def _fitting(templates: Sequence[T.PenaltyTemplate | T.LicenceTemplate], h: pl.Expr) -> pl.Expr:
    """A template index fitting the subject's sector: fitting templates three times, then the general ones."""
    flat: list[int] = []
    offsets: dict[str, int] = {}
    lengths: dict[str, int] = {}
    for sector in SECTORS:
        fit = [i for i, t in enumerate(templates) if sector in t.sectors] * 3
        if sector != "person":
            fit += [i for i, t in enumerate(templates) if "any" in t.sectors]
        fit = fit or [i for i, t in enumerate(templates) if "any" in t.sectors] or [0]
        offsets[sector], lengths[sector] = len(flat), len(fit)
        flat += fit
    off = C("sector").replace_strict(offsets, return_dtype=pl.Int64)
    n = C("sector").replace_strict(lengths, return_dtype=pl.Int64)
    return pick_int(flat, off + h % n)


def _licence_prefix(code: str) -> str:
    p = BY_CODE[code].doc_prefix
    for old, new in (("处罚", "许可"), ("罚决字", "许字"), ("罚字", "许字"), ("罚", "许")):
        if old in p:
            return p.replace(old, new)
    return p + "许"


def _dept_attr(code: pl.Expr, attr: str) -> pl.Expr:
    values = {c: (_licence_prefix(c) if attr == "licence_prefix" else getattr(d, attr)) for c, d in BY_CODE.items()}
    return code.replace_strict(values, return_dtype=pl.String)


def _wan(yuan: pl.Expr) -> pl.Expr:
    """元 -> 万元 as the national format asks, without trailing zeros: 1600 -> '0.16'."""
    frac = _txt(yuan % 10_000).str.zfill(4).str.strip_chars_end("0")
    whole = _txt(yuan // 10_000)
    return pl.when(frac == "").then(whole).otherwise(pl.concat_str(whole, _s("."), frac))
