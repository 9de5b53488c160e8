"""The demo city's files: deterministic, valid codes, manifest counts, the fast penalty writer, the CLI."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from datetime import date
from pathlib import Path
from unittest.mock import patch

import openpyxl
import pytest
from typer.testing import CliRunner

from xinyong.catalog.service import get_catalog
from xinyong.core.identifiers import check_citizen_id, check_uscc
from xinyong.demo import write_penalty_csv
from xinyong.demo.departments import DEPARTMENTS
from xinyong.demo.files import demo_items, write_files
from xinyong.demo.generator import City
from xinyong.demo.subjects import Subject, make_subject
from xinyong.demo.vsubjects import subject_frame

TODAY = date(2025, 6, 30)
ENCODINGS = {"csv": "utf-8", "csv-bom": "utf-8-sig", "csv-gbk": "gbk"}


SHIPPED = {"registration", "admin_license", "admin_penalty", "dishonest_judgment_debtor", "business_abnormal",
           "honour", "credit_commitment"}


def generated_items() -> set[str]:
    items = demo_items()
    assert items >= SHIPPED
    return items


def _digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def read_rows(directory: Path, entry: dict[str, object]) -> list[dict[str, object]]:
    path = directory / str(entry["file"])
    if entry["format"] == "xlsx":
        sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        header = [str(h) for h in rows[1]]  # row 1 is the merged title
        return [dict(zip(header, r, strict=True)) for r in rows[2:]]
    with open(path, encoding=ENCODINGS[str(entry["format"])], newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def clean_city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    directory = tmp_path_factory.mktemp("clean")
    return directory, write_files(directory, subjects=400, seed=11, today=TODAY, dirty=0.0)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        write_files(tmp_path / name, subjects=300, seed=seed, today=TODAY, dirty=0.1)
    a, b, c = (_digest(tmp_path / n) for n in "abc")
    assert a == b
    assert a != c
    assert any(name.endswith(".xlsx") for name in a)


def test_every_code_valid_and_every_item_and_kind_present(clean_city: tuple[Path, dict[str, object]]) -> None:
    directory, manifest = clean_city
    catalog = get_catalog()
    files = manifest["files"]
    assert isinstance(files, list)
    assert {f["item"] for f in files} == generated_items()
    assert {f["format"] for f in files} >= {"csv", "csv-bom", "csv-gbk", "xlsx"}
    categories: Counter[str] = Counter()
    ids = 0
    for entry in files:
        item = catalog.get(entry["item"])
        labels = {f.role: f.label for f in item.fields if f.role}
        rows = read_rows(directory, entry)
        assert len(rows) == entry["rows"] and entry["expected_rejected"] == 0
        for row in rows:
            uscc = row.get(labels.get("uscc", "-"))
            if uscc:
                assert check_uscc(str(uscc)).ok, uscc
                categories[str(uscc)[:2]] += 1
            for role in ("id_no", "legal_rep_id_no"):
                value = row.get(labels.get(role, "-"))
                if value:
                    assert check_citizen_id(str(value), today=TODAY).ok
                    ids += 1
            assert row[labels["subject_name"]]
    assert set(categories) >= {"91", "92", "93", "11", "12", "51", "52", "N2"}
    assert ids > 0


def test_subject_codes_unique_and_valid() -> None:
    subjects = [make_subject(3, i, TODAY) for i in range(5000)]
    usccs = [s.uscc for s in subjects if s.uscc]
    people = [s.id_no for s in subjects if s.id_no]
    assert len(set(usccs)) == len(usccs) and len({u[8:16] for u in usccs}) == len(usccs)
    assert len(set(people)) == len(people) > 0
    assert all(check_uscc(u).ok for u in usccs)
    assert all(check_citizen_id(p, today=TODAY).ok for p in people)
    assert all(check_citizen_id(s.legal_rep_id, today=TODAY).ok for s in subjects[:500] if s.legal_rep)
    assert any(s.former_name for s in subjects) and any(s.reg_no for s in subjects)
    assert {s.kind for s in subjects} == {"legal_person", "individual_business", "other_org", "natural_person"}


def test_vectorised_subjects_agree_with_make_subject() -> None:
    frame = subject_frame(3, 1000, 3000, TODAY)
    fields = [f for f in frame.columns if f in Subject.__slots__]
    for row in frame.iter_rows(named=True):
        s = make_subject(3, row["index"], TODAY)
        assert {f: row[f] for f in fields} == {f: getattr(s, f) for f in fields}, row["index"]
        assert row["legal_rep_id"] == s.legal_rep_id


def test_records_dated_within_five_years_and_decision_numbers_unique() -> None:
    date_fields = ("decision_date", "inspection_date", "list_date", "commitment_date", "award_date", "publish_date",
                   "rating_date")  # fmt: skip
    seen = set()
    # Several windows (records chunked), so numbering must continue across them.
    city = City(subjects=600, seed=2, today=TODAY, records=2_400)
    with patch("xinyong.demo.generator.RECORD_CHUNK", 500):
        frames = list(city.frames())
    assert sum(1 for item, _ in frames if item == "registration") > 1
    for item, frame in frames:
        if item == "registration":
            continue
        day = next(c for c in date_fields if c in frame.columns)
        assert frame[day].max() <= TODAY and (TODAY - frame[day].min()).days <= 5 * 366  # type: ignore[operator]
        key = next((c for c in ("decision_no", "case_no", "inspection_no") if c in frame.columns), None)
        if key:
            for dept, value in frame.select("dept", key).iter_rows():
                assert (dept, value) not in seen
                seen.add((dept, value))
    assert any("〔" in str(k[1]) and str(k[1]).endswith("号") for k in seen)


def test_dirty_share_and_manifest(tmp_path: Path) -> None:
    manifest = write_files(tmp_path, subjects=1000, seed=4, today=TODAY, dirty=0.2)
    files = manifest["files"]
    rows = sum(f["rows"] for f in files)
    dirty = sum(f["dirty_rows"] for f in files)
    assert 0.15 * rows < dirty < 0.25 * rows
    kinds: Counter[str] = Counter()
    for f in files:
        kinds.update(f["dirty_kinds"])
        assert f["dirty_rows"] == f["fixable_rows"] + f["expected_rejected"] == sum(f["dirty_kinds"].values())
    assert set(kinds) == {"uscc_fullwidth", "uscc_lower_spaced", "date_form", "amount_thousands", "id_spaced",
                          "name_padded", "uscc_check", "date_impossible", "date_future", "missing_required",
                          "amount_negative", "enum_unknown", "id_check"}  # fmt: skip
    on_disk = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk["expected_rejected"] == sum(f["expected_rejected"] for f in files) > 0


def test_write_penalty_csv(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    stats: dict[str, int] = {}
    assert write_penalty_csv(a, 3000, seed=1) == 3000
    assert write_penalty_csv(b, 3000, seed=1) == 3000
    write_penalty_csv(c, 3000, seed=1, dirty=0.1, encoding="gbk", stats=stats)
    assert a.read_bytes() == b.read_bytes()
    assert 100 < stats["expected_rejected"] < 300
    with open(a, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    labels = [f.label for f in get_catalog().get("admin_penalty").fields]
    assert list(rows[0]) == labels and len(rows) == 3000
    assert len({r["行政处罚决定书文号"] for r in rows}) == 3000
    for r in rows:
        code = r["行政相对人代码_1(统一社会信用代码)"]
        assert (check_uscc(code).ok if code else check_citizen_id(r["证件号码"], today=date.today()).ok)
    assert 300 < a.stat().st_size / 3000 < 700
    with open(c, encoding="gbk", newline="") as fh:
        assert sum(1 for r in csv.DictReader(fh) if r["处罚决定日期"].endswith("-02-30")) == stats["expected_rejected"]


def test_cli_files(tmp_path: Path) -> None:
    from xinyong.cli import app

    out = tmp_path / "files"
    result = CliRunner().invoke(app, ["demo", "--subjects", "200", "--seed", "9", "--files", str(out),
                                      "--dirty", "0.05"])  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["subjects"] == 200 and manifest["files"]
    assert all((out / f["file"]).exists() for f in manifest["files"])
    assert {f["dept"] for f in manifest["files"]} <= {d.code for d in DEPARTMENTS}


def test_cli_today_pins_the_files_and_the_legal_clock_for_the_command(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from xinyong.cli import app
    from xinyong.core import clock
    from xinyong.demo import cli as demo_cli

    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = CliRunner().invoke(app, ["demo", "--subjects", "60", "--seed", "9", "--files", str(out),
                                          "--today", "2025-06-30"])  # fmt: skip
        assert result.exit_code == 0, result.output
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        runs.append({f["file"]: hashlib.sha256((out / f["file"]).read_bytes()).hexdigest()
                     for f in manifest["files"] if f["format"] != "xlsx"})  # a sheet stores its creation time
        assert manifest["today"] == "2025-06-30"
    assert runs[0] == runs[1] and runs[0]

    seen: dict[str, date] = {}

    def record(_console: object, **kwargs: object) -> dict[str, object]:
        seen.update(given=kwargs["today"], legal=clock.today())
        return {}

    monkeypatch.setattr(demo_cli, "_run", record)
    result = CliRunner().invoke(app, ["demo", "--subjects", "5", "--files", str(tmp_path / "c"), "--today", "2025-06-30"])
    assert result.exit_code == 0, result.output
    assert seen == {"given": date(2025, 6, 30), "legal": date(2025, 6, 30)}
    assert clock.today() == date.today()  # only for the command


def test_cli_refuses_a_today_that_is_not_a_date(tmp_path: Path) -> None:
    from xinyong.cli import app

    result = CliRunner().invoke(app, ["demo", "--files", str(tmp_path / "out"), "--today", "2025-02-30"])
    assert result.exit_code == 2
    assert "--today 不是有效日期" in result.output and "2025-06-30 格式" in result.output
    assert not (tmp_path / "out").exists()


def test_large_city_sends_csv_instead_of_sheets(tmp_path: Path) -> None:
    with patch("xinyong.demo.files.XLSX_MAX_ROWS", 100):
        manifest = write_files(tmp_path, subjects=200, seed=9, today=TODAY, dirty=0.1)
    formats = {f["format"] for f in manifest["files"]}
    assert "xlsx" not in formats and "csv-bom" in formats
    assert not list(tmp_path.glob("*.xlsx"))
