"""Subjects of the demo city: subject i is a pure function of (seed, i, today), so any chunk can be rebuilt alone.

Codes are built to be unique: organisation-code bodies come from an affine permutation of the subject
index (old numeric bodies for subjects founded before the 2015 reform, “MA…” bodies after), ID numbers
from a permutation over (county, birth date, sequence).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from itertools import accumulate

from xinyong.core.identifiers import USCC_ALPHABET, make_citizen_id, make_uscc, org_code_check_char
from xinyong.demo import names as N

REFORM = date(2015, 10, 1)  # 三证合一: later subjects only ever had a unified code
# Category mix per 1000 subjects; "P" is a natural person.
MIX: tuple[tuple[str, int], ...] = (
    ("91", 520), ("92", 250), ("93", 40), ("11", 8), ("12", 25), ("51", 15), ("52", 15), ("53", 2),
    ("31", 5), ("Y1", 5), ("N2", 35), ("P", 80),
)  # fmt: skip
# (cumulative weight, category): a roll below the limit picks the category
_CUM: tuple[tuple[int, str], ...] = tuple(zip(accumulate(w for _, w in MIX), (c for c, _ in MIX), strict=True))
KIND_OF = {"92": "individual_business", "31": "other_org", "Y1": "other_org", "P": "natural_person"}
KIND_LABEL = {"legal_person": "法人及非法人组织", "other_org": "法人及非法人组织", "individual_business": "个体工商户",
              "natural_person": "自然人"}  # fmt: skip
ENTITY_TYPES = {
    "91": ("有限责任公司（自然人投资或控股）", "有限责任公司（自然人独资）", "股份有限公司（非上市、自然人投资或控股）"),
    "92": ("个体工商户",), "93": ("农民专业合作社",), "11": ("机关",), "12": ("事业单位",), "51": ("社会团体",),
    "52": ("民办非企业单位",), "53": ("基金会",), "31": ("律师事务所",), "Y1": ("其他组织",), "N2": ("村级集体经济组织",),
}  # fmt: skip
ROADS = ("东风路", "湖滨大道", "新湖大街", "天衢路", "三八路", "解放大道", "德兴大道", "长河大道", "大学路", "广川大道", "文化路", "建设街")
_DIGIT_SPACE = 90_000_000
_MA_SPACE = 31**6
_ID_DAYS = 19_000  # birth dates 1950-01-01 … about 2002


def _coprime_multiplier(space: int, start: int) -> int:
    m = start % space
    while math.gcd(m, space) != 1:
        m += 1
    return m


_DIGIT_MUL = _coprime_multiplier(_DIGIT_SPACE, 2_654_435_761)
_MA_MUL = _coprime_multiplier(_MA_SPACE, 1_640_531_527)


@dataclass(frozen=True, slots=True)
class Subject:
    index: int
    category: str  # USCC positions 1-2, or "P" for a natural person
    kind: str
    name: str
    former_name: str | None
    renamed_on: date | None
    uscc: str
    reg_no: str
    org_code: str
    tax_no: str
    inst_cert_no: str
    social_org_no: str
    legal_rep: str
    seed: int
    id_no: str
    region: str
    county: str
    sector: str
    founded: date
    entity_type: str

    @property
    def legal_rep_id(self) -> str:
        """The legal representative's ID number, built on demand (most rows never need it)."""
        return citizen_id(self.seed, 1, self.index) if self.legal_rep else ""


@cache
def counties() -> tuple[tuple[str, str], ...]:
    from xinyong.core.regions import county_codes, lookup_region

    found = []
    for code in county_codes("3714"):
        region = lookup_region(code)
        if region is not None and region.county:
            found.append((code, region.county))
    return tuple(found) if found else tuple(N.FALLBACK_COUNTIES.items())


def person_name(h: int) -> str:
    surname = N.SURNAMES[h % len(N.SURNAMES)]
    h //= len(N.SURNAMES)
    given = N.GIVEN[h % len(N.GIVEN)]
    h //= len(N.GIVEN)
    if h % 10 < 7:  # most given names have two characters
        given += N.GIVEN[(h // 10) % len(N.GIVEN)]
    return surname + given


@cache
def _id_space(seed: int) -> tuple[int, int, int]:
    space = len(counties()) * _ID_DAYS * 1000
    return space, _coprime_multiplier(space, 2_246_822_519), N.mix(seed, 90, 0)


def citizen_id(seed: int, stream: int, i: int) -> str:
    """A valid, injective ID number for (stream, i): region 3714xx, born 1950-2002."""
    regions = counties()
    space, mul, offset = _id_space(seed)
    p = (mul * (i + stream * 7_919_993) + offset) % space
    region_idx, rest = divmod(p, _ID_DAYS * 1000)
    day, seq = divmod(rest, 1000)
    return make_citizen_id(regions[region_idx][0], date(1950, 1, 1) + timedelta(days=day), seq)


def _trade(h: int) -> str:
    a = N.TRADE[2 * (h % (len(N.TRADE) // 2)) : 2 * (h % (len(N.TRADE) // 2)) + 2]
    return a


def _org_name(cat: str, prefix: str, h: int) -> tuple[str, str]:
    """(name, sector) for an organisation of the category."""
    trade = _trade(h)
    h2 = h >> 20
    if cat == "91":
        industry, sector = N.INDUSTRIES[h2 % len(N.INDUSTRIES)]
        form = ("有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司")[(h2 >> 8) % 5]
        head = ("山东" if (h2 >> 12) % 10 == 0 else prefix)
        return f"{head}{trade}{industry}{form}", sector
    if cat == "92":
        shop, sector = N.SHOPS[h2 % len(N.SHOPS)]
        if shop in ("小吃店", "水饺馆", "饭店") and (h2 >> 8) % 2:
            return f"{prefix}{N.SURNAMES[(h2 >> 9) % len(N.SURNAMES)]}记{shop}", sector
        return f"{prefix}{trade}{shop}", sector
    town = N.TOWNS[h2 % len(N.TOWNS)]
    if cat == "93":
        return f"{prefix}{trade}{N.COOP_WORDS[(h2 >> 6) % len(N.COOP_WORDS)]}专业合作社", "agri"
    if cat == "11":
        return f"{prefix}{town}{'办事处' if town.endswith('街道') else '人民政府'}", "gov"
    if cat == "12":
        kind = N.SCHOOL_KINDS[(h2 >> 6) % len(N.SCHOOL_KINDS)]
        if kind.endswith("中学"):
            ordinal = "一二三四五六七八九十"[(h2 >> 10) % 10]
            return f"{prefix}第{ordinal}{kind}", "education"
        if kind in ("中心小学", "卫生院"):
            return f"{prefix}{town}{kind}", "education" if kind == "中心小学" else "medical"
        return f"{prefix}{trade}{kind}" if kind == "图书馆" else f"{prefix}{kind}", "medical" if "医" in kind else "culture"
    if cat == "51":
        word = N.ASSOC_WORDS[(h2 >> 6) % len(N.ASSOC_WORDS)]
        return f"{prefix}{word}{'行业协会' if (h2 >> 11) % 2 else '协会'}", "service"
    if cat == "52":
        kind = N.PRIVATE_NONPROFIT[(h2 >> 6) % len(N.PRIVATE_NONPROFIT)]
        return f"{prefix}{trade}{kind}", "education" if "校" in kind or "幼儿园" in kind else "service"
    if cat == "53":
        return f"{N.CITY}{trade}慈善基金会", "service"
    if cat == "31":
        return f"山东{trade}律师事务所", "service"
    if cat == "Y1":
        return f"{prefix}{trade}小区业主委员会", "service"
    village = N.SURNAMES[(h2 >> 6) % len(N.SURNAMES)] + N.VILLAGE_SUFFIX[(h2 >> 14) % len(N.VILLAGE_SUFFIX)]
    return f"{prefix}{town}{village}股份经济合作社", "agri"


def _ma_body(i: int) -> str:
    p = (_MA_MUL * i + 12_345) % _MA_SPACE
    chars = []
    for _ in range(6):
        p, r = divmod(p, 31)
        chars.append(USCC_ALPHABET[r])
    return "MA" + "".join(reversed(chars))


def _reg_no(region: str, i: int) -> str:
    # 15-digit 工商注册号: region, 8-digit sequence, ISO 7064 MOD 11,10 check digit.
    body = f"{region}{(_DIGIT_MUL * i + 777) % 100_000_000:08d}"
    p = 10
    for ch in body:
        s = (p + int(ch)) % 10 or 10
        p = (2 * s) % 11
    return body + str((11 - p) % 10)


def make_subject(seed: int, i: int, today: date) -> Subject:
    h = N.mix(seed, 1, i)
    roll = h % 1000
    cat = next(c for limit, c in _CUM if roll < limit)
    h >>= 10
    regions = counties()
    region, county = regions[h % len(regions)]
    h >>= 4
    prefix = N.county_prefix(region, county)
    # Founded between 30 years and 30 days ago, newer more likely (cities grow).
    age = int(((h % 10_000) / 10_000) ** 1.2 * 30 * 365) + 30
    founded = today - timedelta(days=age)
    h2 = N.mix(seed, 2, i)
    if cat == "P":
        id_no = citizen_id(seed, 0, i)
        return Subject(i, cat, "natural_person", person_name(h2), None, None, "", "", "", "", "", "", "", seed, id_no,
                       region, county, "person", founded, "")  # fmt: skip
    name, sector = _org_name(cat, prefix, h2)
    old = founded < REFORM and cat not in ("92",)
    digits = f"{10_000_000 + (_DIGIT_MUL * i + 4_321) % _DIGIT_SPACE:08d}"
    body = digits if old or cat[0] in "135NY" else _ma_body(i)
    uscc = make_uscc(cat, region, body)
    org_code = body + org_code_check_char(body) if body.isdigit() else ""
    reg_no = _reg_no(region, i) if old and cat in ("91", "93") else ""
    tax_no = region + org_code if org_code and cat in ("91", "93") else ""
    inst_cert = f"1{region[:4]}{i % 10_000_000:07d}" if cat == "12" else ""
    social = f"鲁德民证字第{i % 1_000_000:06d}号" if cat in ("51", "52", "53") else ""
    former, renamed = None, None
    h3 = N.mix(seed, 3, i)
    if cat == "91" and h3 % 10 == 0 and age > 400:
        former, _ = _org_name(cat, prefix, h3 >> 4)
        if former != name:
            renamed = founded + timedelta(days=int((h3 >> 8) % (age - 200)) + 100)
        else:
            former = None
    etypes = ENTITY_TYPES[cat]
    rep = person_name(h3 >> 20)
    return Subject(
        i, cat, KIND_OF.get(cat, "legal_person"), name, former, renamed, uscc, reg_no, org_code, tax_no, inst_cert,
        social, rep, seed, "", region, county, sector, founded, etypes[(h3 >> 40) % len(etypes)],
    )  # fmt: skip


def address(s: Subject, h: int) -> str:
    prefix = N.county_prefix(s.region, s.county)
    return f"山东省{'' if prefix.startswith(N.CITY) else N.CITY}{prefix}{ROADS[h % len(ROADS)]}{(h >> 8) % 999 + 1}号"
