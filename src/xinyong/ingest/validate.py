"""Row checks of one chunk, vectorised: each check is a boolean expression plus a Chinese reason.

Detection runs over the whole chunk in Polars; only the (few) failing values are explained in Python,
e.g. which check character of a unified code is wrong. A row fails as a whole when any check fails;
each failing (row, field) pair becomes one reject entry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import polars as pl

from xinyong.catalog import rules as catalog_rules
from xinyong.catalog.schemas import SUBJECT_KIND_LABELS, CatalogItem, FieldDef
from xinyong.core.identifiers import (
    check_citizen_id,
    check_uscc,
    citizen_id_check_char,
    citizen_id_valid_expr,
    mask_id_numbers,
    uscc_valid_expr,
)
from xinyong.ingest import normalise as nz
from xinyong.ingest.columns import ColumnMap, shown_value
from xinyong.ingest.identity import ORG, code_warnings, kind_lookup, national_kind_label, uscc_kind_expr
from xinyong.ingest.readers import FORMULA_PREFIX, TOO_LONG_PREFIX

# Shared by all checkers: cleaning is CPU work on two cores at most, whoever asks.
_CLEANERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="xinyong-clean")
_SECONDARY_ROLES = ("reg_no", "org_code", "tax_no", "inst_cert_no", "social_org_no")
Reason = str | Callable[[str | None], str]
REJECT_SCHEMA = {"_row": pl.Int64, "field": pl.String, "reason": pl.String, "value": pl.String}


@dataclass
class Checked:
    rows: int  # non-empty data rows in the chunk
    good: pl.DataFrame  # accepted rows: _row, canonical field values, _d_<date field>, _kind, _uscc, _pid
    rejects: pl.DataFrame  # one row per (row, field): _row, field, reason, value (masked)
    rejected_raw: pl.DataFrame  # original columns of the rejected rows, with _row
    counters: Counter[str]


@dataclass
class _Check:
    f: FieldDef
    bad: pl.Expr
    reason: Reason  # fixed text, or a function of the value (cleaned, or raw when raw_value is set)


class _RawReason:
    """A reason computed from the cell as the file had it (only failing rows are ever explained)."""

    def __init__(self, fn: Callable[[str], str]) -> None:
        self.fn = fn

    def __call__(self, value: str | None) -> str:
        return self.fn(value or "")


def _raw(fn: Callable[[str], str]) -> _RawReason:
    return _RawReason(fn)


def _too_long(q: str, limit: int) -> Callable[[str | None], str]:
    def reason(value: str | None) -> str:
        return q + f"超过 {limit} 个字符（收到 {len(value or '')} 个），请精简后重新报送"

    return reason


def _cut(value: str, n: int = 40) -> str:
    return value if len(value) <= n else value[:n] + "…"


def _q(label: str) -> str:
    return f"「{label}」"


class ChunkChecker:
    def __init__(self, item: CatalogItem, cmap: ColumnMap, today: date) -> None:
        self.item = item
        self.cmap = cmap
        self.today = today
        self.fields = [f for f in item.fields if f.name in cmap.columns]
        self.names = {f.name for f in self.fields}
        self.kind_field = item.field_by_role("subject_kind")
        self.uscc_field = item.field_by_role("uscc")
        self.id_field = item.field_by_role("id_no")
        self.id_type_field = item.field_by_role("id_type")
        self.label_field = self.kind_field or item.field_by_role("subject_name") or item.fields[0]
        self.not_future = {
            f.name for f in self.fields if f.type == "date" and (f.role == "decision_date" or f.name == item.date_field)
        }

    def _has(self, f: FieldDef | None) -> bool:
        return f is not None and f.name in self.names

    # ---- cleaning -------------------------------------------------------------------------------

    def _clean(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Raw (_r_<name>) and cleaned (<name>) columns; parsed dates (_d_) and amounts (_a_, _m_, _n_, _y_).

        Columns are cleaned on two threads: each is a string of eager Polars calls, which release the GIL,
        and one column's calls run on one core."""
        cols: dict[str, pl.Series] = {"_row": frame.get_column("_row")}
        for part in _CLEANERS.map(lambda f: self._clean_field(frame, f), self.fields):
            cols.update(part)
        return pl.DataFrame(list(cols.values()))

    def _clean_field(self, frame: pl.DataFrame, f: FieldDef) -> dict[str, pl.Series]:
        cols: dict[str, pl.Series] = {}
        raw = frame.get_column(self.cmap.columns[f.name]).cast(pl.String)
        cols[f"_r_{f.name}"] = raw.alias(f"_r_{f.name}")
        if raw.str.starts_with("\x00").any():  # reader markers: the value itself is not usable
            raw = pl.select(pl.when(~pl.lit(raw).str.starts_with("\x00")).then(pl.lit(raw))).to_series()
        cleaned = nz.clean_series(raw, code=f.type in ("code", "uscc", "citizen_id")).alias(f.name)
        cols[f.name] = cleaned
        if f.type == "date":
            cols[f"_d_{f.name}"] = nz.parse_dates(cleaned).alias(f"_d_{f.name}")
        elif f.type == "decimal":
            parsed = nz.parse_amounts(cleaned)
            for src, dst in (("value", "_a_"), ("malformed", "_m_"), ("negative", "_n_"), ("yuan", "_y_")):
                cols[dst + f.name] = parsed.get_column(src).alias(dst + f.name)
        return cols

    def _mapped(self, work: pl.DataFrame, name: str, fn: Callable[[str], str | None]) -> pl.Series:
        """fn over the distinct values of a column (enumerations, classes, kinds: few distinct values)."""
        col = work.get_column(name)
        distinct = col.drop_nulls().unique().to_list()
        table = {v: fn(v) for v in distinct}
        return col.replace_strict(table, default=None, return_dtype=pl.String) if table else col.clear(len(col))

    # ---- checks ---------------------------------------------------------------------------------

    def check(self, frame: pl.DataFrame, rows: pl.Series) -> Checked:
        # The readers have dropped blank rows already.
        originals = list(frame.columns)
        frame = frame.with_columns(rows.cast(pl.Int64).alias("_row"))
        counters: Counter[str] = Counter()
        work = self._clean(frame)
        checks: list[_Check] = []
        extra: list[pl.Expr] = []
        for f in self.fields:
            checks += self._field_checks(f, work, extra, counters)
        if extra:
            work = work.with_columns(extra)
        work = self._resolve_kind(work, checks)
        flags = work.select([c.bad.fill_null(False).alias(f"_b{i}") for i, c in enumerate(checks)])
        rejects = self._collect(work, flags, checks)
        bad_rows = rejects.get_column("_row").unique()
        good = work.filter(~pl.col("_row").is_in(bad_rows.implode()))
        for f in self.fields:
            if f.type == "decimal":
                counters.update({f"{_q(f.label)}以“元”填写，已换算为万元": int(good.get_column(f"_y_{f.name}").sum())})
        counters.update(code_warnings(good, self.uscc_field, self.id_field))
        keep = ["_row", *self.names, *(f"_d_{f.name}" for f in self.fields if f.type == "date"), "_kind", "_uscc", "_pid"]
        return Checked(
            rows=frame.height,
            good=good.select(keep),
            rejects=rejects,
            rejected_raw=frame.filter(pl.col("_row").is_in(bad_rows.implode())).select("_row", *originals),
            counters=counters,
        )

    def _field_checks(self, f: FieldDef, work: pl.DataFrame, extra: list[pl.Expr],
                      counters: Counter[str]) -> list[_Check]:
        q = _q(f.label)
        r = pl.col(f"_r_{f.name}")
        v = pl.col(f.name)
        out = [
            _Check(f, r.str.starts_with(FORMULA_PREFIX), q + "是公式，请将单元格复制后“粘贴为数值”，再重新报送"),
            _Check(f, r.str.starts_with(TOO_LONG_PREFIX),
                   _raw(lambda x: q + f"内容过长（{x[len(TOO_LONG_PREFIX):]} 个字符），请精简后重新报送")),
        ]
        if f.required:
            out.append(_Check(f, v.is_null(), q + "为必填项，请填写后重新报送"))
        if f.type == "date":
            d = pl.col(f"_d_{f.name}")
            out.append(_Check(f, v.is_not_null() & d.is_null(),
                              _raw(lambda x: q + f"不是有效日期（收到“{_cut(x)}”），请按 2026-03-05 格式填写")))
            if f.name in self.not_future:
                out.append(_Check(f, d > pl.lit(self.today),
                                  q + f"晚于今天（{self.today.isoformat()}），不能填写将来的日期，请核对"))
            extra.append(pl.when(d.is_not_null()).then(d.cast(pl.String)).otherwise(v).alias(f.name))
        elif f.type == "decimal":
            out.append(_Check(f, pl.col(f"_m_{f.name}"),
                              _raw(lambda x: q + f"不是有效金额（收到“{_cut(x)}”），请填写数字，单位为万元，如 1.5")))
            out.append(_Check(f, pl.col(f"_n_{f.name}"), q + "不能为负数，请核对金额"))
            extra.append(pl.coalesce(pl.col(f"_a_{f.name}"), v).alias(f.name))
        elif f.type == "uscc" and f.role != "uscc":
            out.append(_Check(f, v.is_not_null() & ~uscc_valid_expr(f.name), _uscc_reason(q)))
        elif f.type == "enum" and f.enum:
            allowed = "、".join(f.enum)
            canon = self._mapped(work, f.name, _enum_canonical(f))
            out.append(_Check(f, v.is_not_null() & pl.lit(canon).is_null(),
                              _raw(lambda x: q + f"的取值“{_cut(x)}”不在可选范围内，可选：{allowed}")))
            extra.append(pl.coalesce(pl.lit(canon), v).alias(f.name))
        elif f.role == "severity":
            canon = self._mapped(work, f.name, catalog_rules.parse_class)
            out.append(_Check(f, v.is_not_null() & pl.lit(canon).is_null(),
                              _raw(lambda x: q + f"应填写“轻微”“一般”或“严重”（收到“{_cut(x)}”）")))
            extra.append(pl.coalesce(pl.lit(canon), v).alias(f.name))
        if f.max_length and f.type not in ("date", "decimal"):
            out.append(_Check(f, v.str.len_chars() > f.max_length,
                              _too_long(q, f.max_length)))
        return out

    def _resolve_kind(self, work: pl.DataFrame, checks: list[_Check]) -> pl.DataFrame:
        """_kind, _uscc and _pid (a person's normalised ID number, or 'type:number' for other documents)."""
        kf, label = self.kind_field, self.label_field
        has_uscc, has_id = self._has(self.uscc_field), self._has(self.id_field)
        uscc = pl.col(self.uscc_field.name) if has_uscc and self.uscc_field else pl.lit(None, pl.String)
        idno = pl.col(self.id_field.name) if has_id and self.id_field else pl.lit(None, pl.String)
        stated = self._mapped(work, kf.name, kind_lookup) if kf is not None and self._has(kf) else None
        stated_expr = pl.lit(stated) if stated is not None else pl.lit(None, pl.String)
        inferred = (pl.when(uscc.is_not_null()).then(pl.lit(ORG))
                    .when(idno.is_not_null()).then(pl.lit("natural_person")))
        kind0 = pl.coalesce(stated_expr, inferred)
        kind = pl.when(kind0 == ORG).then(uscc_kind_expr(uscc)).otherwise(kind0)
        work = work.with_columns(kind.alias("_kind"))
        k = pl.col("_kind")
        q = _q(label.label)
        if kf is not None and self._has(kf):
            checks.append(_Check(kf, pl.col(kf.name).is_not_null() & pl.lit(stated).is_null(),
                                 _raw(lambda x: q + f"的取值“{_cut(x)}”无效，可选：法人及非法人组织、个体工商户、自然人")))
        checks.append(_Check(label, k.is_null(), "无法确定行政相对人类别：请填写" + q
                             + "，或填写统一社会信用代码（组织）、证件号码（自然人）"))
        allowed = self.item.subject_kinds
        refused = "、".join(SUBJECT_KIND_LABELS[x] for x in SUBJECT_KIND_LABELS if x not in allowed)
        if refused:
            checks.append(_Check(label, k.is_not_null() & ~k.is_in(allowed),
                                 f"信息项「{self.item.name}」不接收{refused}类主体，请核对{q}"))
        for f in self.item.fields:
            if f.required_for:
                kinds = "、".join(SUBJECT_KIND_LABELS[x] for x in f.required_for)
                if f.name in self.names:
                    checks.append(_Check(f, pl.col(f.name).is_null() & k.is_in(f.required_for),
                                         f"{kinds}的{_q(f.label)}为必填项，请填写后重新报送"))
                else:
                    checks.append(_Check(f, k.is_in(f.required_for),
                                         f"文件中没有{_q(f.label)}列，而{kinds}必须填写该项，请增加此列后重新报送"))
        # Organisations: the subject's unified code must be valid; without one, an older code identifies it.
        org = k.is_not_null() & (k != "natural_person")
        older = [pl.col(f.name) for f in self.fields if f.role in _SECONDARY_ROLES]
        no_code = uscc.is_null() & (pl.all_horizontal([c.is_null() for c in older]) if older else pl.lit(True))
        checks.append(_Check(self.uscc_field or label, org & no_code,
                             "无法识别主体：请填写统一社会信用代码（或工商注册号、组织机构代码等原有代码）"))
        if has_uscc and self.uscc_field is not None:
            checks.append(_Check(self.uscc_field, org & uscc.is_not_null() & ~uscc_valid_expr(self.uscc_field.name),
                                 _uscc_reason(_q(self.uscc_field.label))))
        work = work.with_columns(pl.when(org).then(uscc).alias("_uscc"))
        # Natural persons: a citizen ID unless another document type is named.
        person = k == "natural_person"
        if has_id and self.id_field is not None:
            id18 = self._mapped(work, self.id_field.name, _id18)
            id_type = pl.col(self.id_type_field.name) if self._has(self.id_type_field) and self.id_type_field \
                else pl.lit(None, pl.String)
            citizen = id_type.is_null() | id_type.str.contains("身份")
            work = work.with_columns(pl.lit(id18).alias("_id18"))
            checks.append(_Check(self.id_field, person & idno.is_not_null() & citizen
                                 & ~citizen_id_valid_expr("_id18", today=self.today), _id_reason(self.id_field)))
            pid = pl.when(person & citizen).then(pl.col("_id18")).when(person & idno.is_not_null()).then(
                pl.concat_str([id_type, pl.lit(":"), idno]))
            work = work.with_columns(pid.alias("_pid"))
        else:
            work = work.with_columns(pl.lit(None, pl.String).alias("_pid"))
        if kf is not None and self._has(kf):
            work = work.with_columns(pl.when(k.is_not_null()).then(
                k.replace_strict(_NATIONAL_LABELS, default=None, return_dtype=pl.String)).otherwise(
                pl.col(kf.name)).alias(kf.name))
        rule = self.item.publication
        if rule.rule == "validity" and rule.end_field in self.names:
            start = rule.start_field if rule.start_field in self.names else self.item.date_field
            end_f = self.item.field(rule.end_field)
            if start in self.names and end_f is not None:
                start_label = self.item.field(start).label  # type: ignore[union-attr]
                checks.append(_Check(end_f, pl.col(f"_d_{end_f.name}") < pl.col(f"_d_{start}"),
                                     f"{_q(end_f.label)}早于{_q(start_label)}，请核对有效期"))
        return work

    def _collect(self, work: pl.DataFrame, flags: pl.DataFrame, checks: list[_Check]) -> pl.DataFrame:
        parts: list[pl.DataFrame] = []
        for i, c in enumerate(checks):
            mask = flags.get_column(f"_b{i}")
            if not mask.any():
                continue
            failing = work.filter(mask)
            raw = failing.get_column(f"_r_{c.f.name}") if f"_r_{c.f.name}" in failing.columns \
                else pl.Series([None] * failing.height, dtype=pl.String)
            if isinstance(c.reason, str):
                reasons = pl.Series([c.reason] * failing.height, dtype=pl.String)
            else:
                use_raw = isinstance(c.reason, _RawReason) or c.f.name not in failing.columns
                source = raw if use_raw else failing.get_column(c.f.name)
                # a reason may quote the cell: an ID number typed into a date or amount column shows masked
                reasons = pl.Series([mask_id_numbers(c.reason(x)) for x in source.to_list()], dtype=pl.String)
            values = pl.Series([_shown(x, c.f.sensitive) for x in raw.to_list()], dtype=pl.String)
            parts.append(pl.DataFrame({"_row": failing.get_column("_row"), "field": [c.f.label] * failing.height,
                                       "reason": reasons, "value": values}, schema=REJECT_SCHEMA))
        if not parts:
            return pl.DataFrame(schema=REJECT_SCHEMA)
        out = pl.concat(parts).unique(subset=["_row", "field"], keep="first", maintain_order=True)
        return out.sort("_row", maintain_order=True)


_NATIONAL_LABELS = {k: national_kind_label(k) for k in SUBJECT_KIND_LABELS}


def _shown(value: str | None, sensitive: bool) -> str | None:
    shown = shown_value(_unmark(value), sensitive=sensitive)
    return mask_id_numbers(shown) if shown else shown


def _unmark(value: str | None) -> str | None:
    if value is None:
        return None
    if value.startswith(FORMULA_PREFIX):
        return value[len(FORMULA_PREFIX):]
    if value.startswith(TOO_LONG_PREFIX):
        return f"（内容过长，共 {value[len(TOO_LONG_PREFIX):]} 个字符，未保留）"
    return value


def _uscc_reason(q: str) -> Callable[[str | None], str]:
    def reason(value: str | None) -> str:
        check = check_uscc(value or "")
        return q + "：" + (check.error or "不是有效的统一社会信用代码，请核对后重新填写")

    return reason


def _id_reason(f: FieldDef) -> Callable[[str | None], str]:
    def reason(value: str | None) -> str:
        check = check_citizen_id(value or "")
        return _q(f.label) + "：" + (check.error or "不是有效的公民身份号码，请核对后重新填写")

    return reason


def _id18(value: str) -> str | None:
    if len(value) == 15 and value.isdigit():
        first17 = value[:6] + "19" + value[6:]
        return first17 + citizen_id_check_char(first17)
    return value


def _enum_canonical(f: FieldDef) -> Callable[[str], str | None]:
    allowed = {"".join(x.split()): x for x in (f.enum or [])}

    def canonical(value: str) -> str | None:
        parts = catalog_rules.split_penalty_types(value) if f.multiple else [value]
        out = [allowed.get("".join(p.split())) for p in parts]
        if not out or any(p is None for p in out):
            return None
        return "；".join(dict.fromkeys(p for p in out if p))

    return canonical


__all__ = ["REJECT_SCHEMA", "Checked", "ChunkChecker"]
