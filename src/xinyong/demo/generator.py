"""The demo city's rows: one registration row per organisation, then records of every catalog item.

Rows are dicts keyed by catalog field name; values are str, or date for date fields (the file writers
format them). Everything derives from (seed, today, subjects, records): same inputs, same rows.
Records are generated in chunks that each draw their subjects from one window of the subject range,
so a chunk builds each of its subjects once and memory stays flat at any scale.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from xinyong.demo import names as N
from xinyong.demo import templates as T
from xinyong.demo.departments import BY_CODE, Dept
from xinyong.demo.subjects import KIND_LABEL, Subject, address, make_subject

RECORD_CHUNK = 20_000
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


@dataclass
class City:
    subjects: int
    seed: int
    today: date
    records: int | None = None
    items: tuple[str, ...] = tuple(code for code, _ in ITEM_MIX)
    _counters: dict[tuple[str, int], int] = field(default_factory=dict)
    # Items without a key field are deduplicated by content at ingest: never repeat one within a chunk.
    _seen: set[tuple[object, ...]] = field(default_factory=set)

    @property
    def record_count(self) -> int:
        return self.records if self.records is not None else 2 * self.subjects

    def subject(self, i: int) -> Subject:
        return make_subject(self.seed, i, self.today)

    def _next_no(self, prefix: str, year: int) -> int:
        n = self._counters.get((prefix, year), 0) + 1
        self._counters[(prefix, year)] = n
        return n

    def _doc_no(self, prefix: str, day: date) -> str:
        return f"{prefix}〔{day.year}〕{self._next_no(prefix, day.year)}号"

    def _day(self, s: Subject, h: int, span: int = 5 * 365) -> date:
        """A day in the last five years (never before the subject was founded, never after today)."""
        limit = max(1, min(span, (self.today - s.founded).days))
        return self.today - timedelta(days=h % limit)

    # ---- registration ---------------------------------------------------------------------------

    def registrations(self) -> Iterator[tuple[str, dict[str, object]]]:
        """(dept code, row) for every organisation, in subject order."""
        for i in range(self.subjects):
            s = self.subject(i)
            if s.category == "P":
                continue
            yield REGISTRAR[s.category], self._registration(s)

    def _registration(self, s: Subject) -> dict[str, object]:
        h = N.mix(self.seed, 10, s.index)
        dept = BY_CODE[REGISTRAR[s.category]]
        authority = dept.name
        if dept.code == "SCJG" and not s.county.startswith("德州"):
            authority = f"{N.county_prefix(s.region, s.county)}市场监督管理局"
        capital = f"{(h % 200 + 1) * 50}万元人民币" if s.category in ("91", "93") else ""
        approved = min(self.today, s.founded + timedelta(days=(h >> 12) % 2000))
        return {
            "subject_name": s.name, "uscc": s.uscc, "reg_no": s.reg_no, "legal_rep": s.legal_rep,
            "entity_type": s.entity_type, "established": s.founded, "registered_capital": capital,
            "address": address(s, h >> 24), "registration_authority": authority,
            "business_status": "存续" if h % 50 else "吊销，未注销", "approval_date": approved,
            "business_scope": SCOPES.get(s.sector, DEFAULT_SCOPE) if s.category[0] == "9" else "",
        }  # fmt: skip

    # ---- records --------------------------------------------------------------------------------

    def records_iter(self) -> Iterator[tuple[str, str, dict[str, object]]]:
        """(item code, dept code, row) for every record."""
        total = self.record_count
        weights = [(code, w) for code, w in ITEM_MIX if code in self.items]
        if not weights or self.subjects == 0:
            return
        wsum = sum(w for _, w in weights)
        window = max(min(self.subjects, 2_000), -(-self.subjects * RECORD_CHUNK // max(total, 1)))
        window = min(window, self.subjects)
        for chunk_start in range(0, total, RECORD_CHUNK):
            base = (chunk_start // RECORD_CHUNK * window) % self.subjects
            cache: dict[int, Subject] = {}
            self._seen.clear()
            for j in range(chunk_start, min(total, chunk_start + RECORD_CHUNK)):
                h = N.mix(self.seed, 4, j)
                item = _choose(weights, h % wsum)
                wanted = ITEM_CATEGORIES[item]
                s = None
                for attempt in range(12):
                    i = (base + (N.mix(self.seed, 5, j * 16 + attempt) % window)) % self.subjects
                    cand = cache.get(i)
                    if cand is None:
                        cand = cache[i] = self.subject(i)
                    if cand.category in wanted:
                        s = cand
                        break
                if s is None:
                    continue
                built = getattr(self, "_" + item)(s, h >> 16)
                if built is not None:
                    yield item, built[0], built[1]

    def _ids(self, s: Subject, row: dict[str, object], h: int) -> dict[str, object]:
        """Subject identification columns: unified code, sometimes older codes and the legal representative."""
        row["subject_kind"] = KIND_LABEL[s.kind]
        if s.kind == "natural_person":
            row["id_type"] = "身份证"
            row["id_no"] = s.id_no
            return row
        row["uscc"] = s.uscc
        if h % 2:
            row.update(reg_no=s.reg_no, org_code=s.org_code, tax_no=s.tax_no, inst_cert_no=s.inst_cert_no,
                       social_org_no=s.social_org_no)
        row["legal_rep"] = s.legal_rep
        if (h >> 1) % 2:
            row["legal_rep_id_type"] = "身份证"
            row["legal_rep_id_no"] = s.legal_rep_id
        return row

    def _pick(self, options: list[int], h: int) -> int:
        return options[h % len(options)]

    def _admin_penalty(self, s: Subject, h: int) -> tuple[str, dict[str, object]]:
        fit = _fitting(T.PENALTIES, s.sector)
        t = T.PENALTIES[self._pick(fit, h)]
        h >>= 8
        dept = BY_CODE[t.dept]
        day = self._day(s, h)
        h >>= 12
        row: dict[str, object] = {"subject_name": s.name_on(day)}
        self._ids(s, row, h)
        h >>= 4
        content = "责令改正"
        if t.fine:
            fine = t.fine[0] + (h % ((t.fine[1] - t.fine[0]) // 100 + 1)) * 100
            row["fine_amount"] = _wan(fine)
            content += f"，处罚款人民币{fine}元"
        elif "警告" in t.types:
            content += "，给予警告"
        h >>= 12
        if t.confiscate:
            gain = (h % 400 + 1) * 50
            row["confiscated_amount"] = _wan(gain)
            content += f"，没收违法所得{gain}元"
        if t.seized:
            row["licence_seized"] = f"{t.seized}（编号{s.region}{s.index % 100_000:05d}）"
        row.update(
            decision_no=self._doc_no(dept.doc_prefix, day), violation_type=t.violation, violation_facts=f"经查，{t.facts}。",
            penalty_basis=t.basis, penalty_type=t.types, penalty_content=content + "。", decision_date=day,
            authority=dept.name, authority_uscc=dept.uscc, source_dept=dept.name, source_dept_uscc=dept.uscc,
        )  # fmt: skip
        if (h >> 10) % 3 == 0:
            row["publish_until"] = day + timedelta(days=365)
        return dept.code, row

    def _admin_license(self, s: Subject, h: int) -> tuple[str, dict[str, object]]:
        fit = _fitting(T.LICENCES, s.sector)
        t = T.LICENCES[self._pick(fit, h)]
        h >>= 8
        dept = BY_CODE[t.dept]
        day = self._day(s, h)
        h >>= 12
        row: dict[str, object] = {"subject_name": s.name_on(day)}
        self._ids(s, row, h)
        h >>= 4
        valid_to = LONG_TERM if t.years is None else _add_years(day, t.years) - timedelta(days=1)
        row.update(
            document_name=t.document, decision_no=self._doc_no(_licence_prefix(dept), day),
            license_category=t.category, certificate_name=t.certificate,
            license_no=f"{t.number_prefix}{day.year}{h % 1_000_000:06d}", content=t.content, decision_date=day,
            valid_from=day, valid_to=valid_to, authority=dept.name, authority_uscc=dept.uscc,
            status="有效" if valid_to >= self.today else "无效", source_dept=dept.name, source_dept_uscc=dept.uscc,
            region_code=s.region,
        )  # fmt: skip
        return dept.code, row

    def _admin_inspection(self, s: Subject, h: int) -> tuple[str, dict[str, object]]:
        kind, items, result = T.INSPECTIONS[h % len(T.INSPECTIONS)]
        dept = BY_CODE["XF" if "消防" in items else "SCJG"]
        day = self._day(s, h >> 8)
        return dept.code, {
            "subject_name": s.name_on(day), "uscc": s.uscc, "reg_no": s.reg_no,
            "inspection_no": self._doc_no("德市监检" if dept.code == "SCJG" else "德消检字", day),
            "inspection_type": kind, "inspection_items": items, "inspection_date": day, "result": result,
            "follow_up": "已责令限期整改" if "整改" in result else "", "authority": dept.name,
            "authority_uscc": dept.uscc,
        }  # fmt: skip

    def _business_abnormal(self, s: Subject, h: int) -> tuple[str, dict[str, object]]:
        dept = BY_CODE["SCJG"]
        day = self._day(s, h >> 4)
        authority = dept.name if s.county.startswith("德州") else f"{N.county_prefix(s.region, s.county)}市场监督管理局"
        row: dict[str, object] = {
            "subject_name": s.name_on(day), "uscc": s.uscc, "reg_no": s.reg_no, "legal_rep": s.legal_rep,
            "decision_no": self._doc_no("德市监异列", day), "list_date": day,
            "list_reason": T.ABNORMAL_REASONS[h % len(T.ABNORMAL_REASONS)], "authority": authority,
        }  # fmt: skip
        removed = day + timedelta(days=30 + (h >> 20) % 400)
        if (h >> 30) % 5 < 2 and removed <= self.today:
            row.update(removal_date=removed, removal_reason=T.REMOVAL_REASONS[(h >> 34) % len(T.REMOVAL_REASONS)],
                       removal_authority=authority)
        return dept.code, row

    def _credit_commitment(self, s: Subject, h: int) -> tuple[str, dict[str, object]] | None:
        kind, reason, content, code = T.COMMITMENTS[h % len(T.COMMITMENTS)]
        dept = BY_CODE[code]
        day = self._day(s, h >> 4)
        if _repeat(self._seen, ("commitment", s.index, kind, day)):
            return None
        return dept.code, {
            "subject_name": s.name_on(day), "subject_kind": KIND_LABEL[s.kind], "uscc": s.uscc,
            "legal_rep": s.legal_rep, "commitment_type": kind, "commitment_reason": reason, "content": content,
            "commitment_date": day, "acceptor": dept.name, "acceptor_uscc": dept.uscc,
            "performance": "履约" if (h >> 30) % 10 else "未履约",
        }  # fmt: skip

    def _honour(self, s: Subject, h: int) -> tuple[str, dict[str, object]] | None:
        person = s.kind == "natural_person"
        options = [x for x in T.HONOURS if x[3] == person]
        name, level, code, _ = options[h % len(options)]
        dept = BY_CODE[code]
        day = self._day(s, h >> 4)
        row: dict[str, object] = {
            "subject_name": s.name_on(day), "honour_name": name, "level": level, "awarding_unit": dept.name,
            "decision_no": self._doc_no(HONOUR_PREFIX.get(code, "德政发"), day),
            "award_date": day,
        }  # fmt: skip
        self._ids(s, row, 0)
        for key in ("legal_rep", "reg_no", "org_code", "tax_no", "inst_cert_no", "social_org_no"):
            row.pop(key, None)
        if (h >> 30) % 2:
            row["valid_to"] = _add_years(day, 3)
        return dept.code, row

    def _dishonest_judgment_debtor(self, s: Subject, h: int) -> tuple[str, dict[str, object]]:
        dept = BY_CODE["ZY"]
        day = self._day(s, h >> 4, 2 * 365)
        court_code = s.region[2:]
        court = "德州市中级人民法院" if s.county.startswith("德州") else f"{N.county_prefix(s.region, s.county)}人民法院"
        circumstance, obligation = T.DISHONEST_CASES[h % len(T.DISHONEST_CASES)]
        filed = day - timedelta(days=30 + (h >> 24) % 200)
        row: dict[str, object] = {
            "subject_name": s.name_on(day), "court": court, "province": "山东",
            "case_no": f"（{filed.year}）鲁{court_code}执{self._next_no('case' + court_code, filed.year)}号",
            "basis_doc_no": f"（{filed.year - 1}）鲁{court_code}民初{(h >> 8) % 9000 + 100}号", "filing_date": filed,
            "basis_unit": court, "obligation": f"{obligation}共计{(h >> 12) % 900 + 10}万元",
            "performance": "全部未履行", "circumstances": circumstance, "publish_date": day,
        }  # fmt: skip
        row["subject_kind"] = KIND_LABEL[s.kind]
        if s.kind == "natural_person":
            row.update(id_type="身份证", id_no=s.id_no)
        else:
            row.update(uscc=s.uscc, org_code=s.org_code, legal_rep=s.legal_rep)
        return dept.code, row

    def _tax_credit_rating(self, s: Subject, h: int) -> tuple[str, dict[str, object]] | None:
        year = self.today.year - 1 - (h % 4)
        rated = date(year + 1, 4, 1 + (h >> 4) % 25)
        if rated > self.today:
            year, rated = year - 1, rated.replace(year=rated.year - 1)
        if rated < s.founded + timedelta(days=365) or _repeat(self._seen, ("tax", s.index, year)):
            return None
        rating = "AABBBBMMCD"[(h >> 10) % 10]
        county = N.county_prefix(s.region, s.county).removeprefix(N.CITY)
        return "SW", {
            "subject_name": s.name_on(rated), "uscc": s.uscc, "rating_year": str(year), "rating": rating,
            "rating_date": rated, "authority": f"国家税务总局{N.CITY if s.county.startswith('德州') else ''}{county}税务局",
        }  # fmt: skip


def _fitting(templates: tuple[T.PenaltyTemplate, ...] | tuple[T.LicenceTemplate, ...], sector: str) -> list[int]:
    key = (id(templates), sector)
    fit = _FIT_CACHE.get(key)
    if fit is None:
        fit = _FIT_CACHE[key] = _compute_fit(templates, sector)
    return fit


def _compute_fit(templates: tuple[T.PenaltyTemplate, ...] | tuple[T.LicenceTemplate, ...], sector: str) -> list[int]:
    fit = [i for i, t in enumerate(templates) if sector in t.sectors] * 3  # fitting templates first
    if sector != "person":
        fit += [i for i, t in enumerate(templates) if "any" in t.sectors]
    return fit or [i for i, t in enumerate(templates) if "any" in t.sectors] or [0]


_FIT_CACHE: dict[tuple[int, str], list[int]] = {}


def _choose(weights: list[tuple[str, int]], roll: int) -> str:
    for code, w in weights:
        if roll < w:
            return code
        roll -= w
    return weights[-1][0]


def _repeat(seen: set[tuple[object, ...]], key: tuple[object, ...]) -> bool:
    if key in seen:
        return True
    seen.add(key)
    return False


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return date(day.year + years, 2, 28)


def _wan(yuan: int) -> str:
    """元 -> 万元 as the national format asks, without trailing zeros: 1600 -> '0.16'."""
    return f"{yuan / 10_000:.4f}".rstrip("0").rstrip(".")


def _licence_prefix(dept: Dept) -> str:
    p = dept.doc_prefix
    for old, new in (("处罚", "许可"), ("罚决字", "许字"), ("罚字", "许字"), ("罚", "许")):
        if old in p:
            return p.replace(old, new)
    return p + "许"
