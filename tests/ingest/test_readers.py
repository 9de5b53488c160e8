"""File readers: CSV/XLSX/JSON in, string chunks with the row numbers a clerk sees out. No database needed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xinyong.core.errors import Refused
from xinyong.ingest import readers_csv
from xinyong.ingest.readers import (
    FORMULA_PREFIX,
    TOO_LONG_PREFIX,
    formula_text,
    open_source,
    too_long_length,
)

KNOWN = {"行政相对人名称", "统一社会信用代码", "行政处罚决定书文号", "处罚决定日期", "证件号码", "罚款金额"}
HEAD = ["行政相对人名称", "统一社会信用代码", "行政处罚决定书文号"]


def score(values: list[str]) -> int:
    return sum(1 for v in values if v.strip() in KNOWN)


def read(path: Path, **kw: object) -> tuple[object, list[dict[str, str | None]], list[int]]:
    with open_source(path, header_score=score, **kw) as src:  # type: ignore[arg-type]
        frames = list(src.chunks())
    for f in frames:
        assert all(dtype == pl.String for dtype in f.frame.dtypes)
        assert f.rows.dtype == pl.Int64
    rows = [r for f in frames for r in f.frame.to_dicts()]
    numbers = [n for f in frames for n in f.rows.to_list()]
    return src, rows, numbers


def write(tmp_path: Path, data: bytes | str, name: str = "f.csv", encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode(encoding) if isinstance(data, str) else data)
    return p


def refused(path: Path, **kw: object) -> str:
    with pytest.raises(Refused) as err:
        with open_source(path, header_score=score, **kw) as src:  # type: ignore[arg-type]
            list(src.chunks())
    return err.value.detail


# --- CSV ---------------------------------------------------------------------------------------------


def test_utf8_csv_rows_start_at_two(tmp_path: Path) -> None:
    src, rows, numbers = read(
        write(tmp_path, "行政相对人名称,统一社会信用代码,行政处罚决定书文号\n甲公司,91X,罚1\n乙公司,,罚2\n")
    )
    assert src.kind == "csv" and src.encoding == "utf-8" and src.header_row == 1  # type: ignore[attr-defined]
    assert src.headers == HEAD  # type: ignore[attr-defined]
    assert rows == [
        dict(zip(HEAD, ["甲公司", "91X", "罚1"], strict=True)),
        dict(zip(HEAD, ["乙公司", None, "罚2"], strict=True)),
    ]
    assert numbers == [2, 3]


def test_utf8_bom_is_detected_and_not_part_of_the_header(tmp_path: Path) -> None:
    src, rows, _ = read(write(tmp_path, "\ufeff行政相对人名称,统一社会信用代码\r\n甲,91X\r\n"))
    assert src.encoding == "utf-8-sig"  # type: ignore[attr-defined]
    assert src.headers == ["行政相对人名称", "统一社会信用代码"]  # type: ignore[attr-defined]
    assert rows == [{"行政相对人名称": "甲", "统一社会信用代码": "91X"}]


def test_gbk_csv_is_transcoded(tmp_path: Path) -> None:
    text = "行政相对人名称,统一社会信用代码\n张三餐饮店,92X\n李四,\n"
    src, rows, numbers = read(write(tmp_path, text, encoding="gbk"))
    assert src.encoding == "gb18030"  # type: ignore[attr-defined]
    assert rows[0] == {"行政相对人名称": "张三餐饮店", "统一社会信用代码": "92X"}
    assert numbers == [2, 3]


def test_gb18030_rare_characters_survive(tmp_path: Path) -> None:
    text = "行政相对人名称,统一社会信用代码\n𠀀䶮有限公司,91X\n"
    src, rows, _ = read(write(tmp_path, text, encoding="gb18030"))
    assert src.encoding == "gb18030"  # type: ignore[attr-defined]
    assert rows[0]["行政相对人名称"] == "𠀀䶮有限公司"


def test_title_rows_above_header_are_skipped(tmp_path: Path) -> None:
    text = "2024年行政处罚信息公示表,,\n填报单位：市场监管局,,\n\n行政相对人名称,统一社会信用代码,行政处罚决定书文号\n甲,91X,罚1\n"
    src, rows, numbers = read(write(tmp_path, text))
    assert src.header_row == 4  # type: ignore[attr-defined]
    assert numbers == [5] and rows[0]["行政处罚决定书文号"] == "罚1"


def test_best_header_row_wins_over_a_title_mentioning_one_header(tmp_path: Path) -> None:
    text = "行政相对人名称,统一社会信用代码\n说明：行政相对人名称必填,\n行政相对人名称,统一社会信用代码,行政处罚决定书文号\n甲,91X,罚1\n"
    src, _, numbers = read(write(tmp_path, text))
    assert src.header_row == 3 and numbers == [4]  # type: ignore[attr-defined]


def test_no_matching_header_is_refused(tmp_path: Path) -> None:
    detail = refused(write(tmp_path, "姓名,年龄\n张三,30\n"))
    assert detail.startswith("未找到与信息项匹配的表头行")
    # one known header is below min_score=2
    assert refused(write(tmp_path, "行政相对人名称,年龄\n张三,30\n")).startswith("未找到")
    _, rows, _ = read(write(tmp_path, "行政相对人名称,年龄\n张三,30\n"), min_score=1)
    assert rows == [{"行政相对人名称": "张三", "年龄": "30"}]


def test_blank_rows_in_the_middle_and_at_the_end_keep_row_numbers(tmp_path: Path) -> None:
    text = "行政相对人名称,统一社会信用代码\n甲,1\n\n,\n  ,\u3000\n乙,2\n\n\n,,\n"
    _, rows, numbers = read(write(tmp_path, text))
    assert [r["行政相对人名称"] for r in rows] == ["甲", "乙"]
    assert numbers == [2, 6]


def test_quoted_newline_is_one_row(tmp_path: Path) -> None:
    text = '行政相对人名称,统一社会信用代码\n"甲\n公司",1\n乙,"2\r\n3"\n丙,4\n'
    _, rows, numbers = read(write(tmp_path, text))
    assert rows[0]["行政相对人名称"] == "甲\n公司"
    assert rows[1]["统一社会信用代码"] == "2\r\n3"
    assert numbers == [2, 3, 4]


def test_short_and_long_rows(tmp_path: Path) -> None:
    text = "行政相对人名称,统一社会信用代码,行政处罚决定书文号\n甲\n乙,2,3,4,5\n"
    _, rows, _ = read(write(tmp_path, text))
    assert rows == [
        {"行政相对人名称": "甲", "统一社会信用代码": None, "行政处罚决定书文号": None},
        {"行政相对人名称": "乙", "统一社会信用代码": "2", "行政处罚决定书文号": "3"},
    ]


@pytest.mark.parametrize("sep", ["\t", ";"])
def test_tab_and_semicolon_delimiters(tmp_path: Path, sep: str) -> None:
    src, rows, _ = read(write(tmp_path, f"行政相对人名称{sep}统一社会信用代码\n甲,有限{sep}91X\n"))
    assert src.delimiter == sep  # type: ignore[attr-defined]
    assert rows == [{"行政相对人名称": "甲,有限", "统一社会信用代码": "91X"}]


def test_utf16_tab_text_from_excel(tmp_path: Path) -> None:
    src, rows, _ = read(
        write(tmp_path, "\ufeff行政相对人名称\t统一社会信用代码\r\n甲\t91X\r\n", encoding="utf-16-le")
    )
    assert src.encoding == "utf-16" and rows == [{"行政相对人名称": "甲", "统一社会信用代码": "91X"}]  # type: ignore[attr-defined]


def test_headers_keep_their_original_text_and_empty_header_columns_are_dropped(tmp_path: Path) -> None:
    text = "行政相对人名称 ,,统一社会信用代码,,\n甲,x,91X,,\n"
    src, rows, _ = read(write(tmp_path, text))
    assert src.headers == ["行政相对人名称 ", "统一社会信用代码"]  # type: ignore[attr-defined]
    assert rows == [{"行政相对人名称 ": "甲", "统一社会信用代码": "91X"}]
    assert src.warnings == ["第 2 列没有表头，该列内容已忽略"]  # type: ignore[attr-defined]


def test_duplicate_headers_are_refused(tmp_path: Path) -> None:
    detail = refused(write(tmp_path, "行政相对人名称,统一社会信用代码,行政相对人名称 \n甲,1,乙\n"))
    assert detail == "表头重复：「行政相对人名称」出现了 2 次（第 1 列和第 3 列），请删除或改名后重新报送"


def test_header_only_file_yields_no_chunks(tmp_path: Path) -> None:
    src, rows, _ = read(write(tmp_path, "行政相对人名称,统一社会信用代码\n\n"))
    assert rows == [] and src.headers == ["行政相对人名称", "统一社会信用代码"]  # type: ignore[attr-defined]
    _, rows, _ = read(write(tmp_path, "行政相对人名称,统一社会信用代码"))
    assert rows == []


def test_empty_and_blank_files_are_refused(tmp_path: Path) -> None:
    assert refused(write(tmp_path, b"")).startswith("文件为空")
    assert refused(write(tmp_path, b"\n \r\n")).startswith("文件为空")


def test_binary_garbage_and_png_are_refused(tmp_path: Path) -> None:
    garbage = bytes(range(256)) * 10
    assert refused(write(tmp_path, garbage)).startswith("文件不是可识别的 CSV、XLSX 或 JSON 格式")
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100
    detail = refused(write(tmp_path, png, "photo.csv"), original_name="photo.csv")
    assert detail.startswith("文件不是可识别的") and "PNG" in detail and "photo.csv" in detail
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    assert ".xls" in refused(write(tmp_path, ole, "old.xls"))


def test_undecodable_text_is_refused(tmp_path: Path) -> None:
    data = "行政相对人名称,统一社会信用代码\n".encode() + b"\x81\xff\xfe\x80 \xff\xff\n" * 50
    assert refused(write(tmp_path, data)).startswith("文件不是可识别的")


def test_encoding_error_after_the_sample_is_refused_while_reading(tmp_path: Path) -> None:
    head = "行政相对人名称,统一社会信用代码\n" + "某某有限公司,91X\n" * 80_000
    utf8 = head.encode() + "坏,行\n".encode("gbk")
    with open_source(write(tmp_path, utf8, "u.csv"), header_score=score) as src:
        assert src.encoding == "utf-8"
        with pytest.raises(Refused, match="UTF-8"):
            list(src.chunks())
    gbk = head.encode("gbk") + b"\xff\xff,x\n"
    with open_source(write(tmp_path, gbk, "g.csv"), header_score=score) as src:
        assert src.encoding == "gb18030"
        with pytest.raises(Refused, match="第 80002 行附近"):
            list(src.chunks())


def test_long_cells_are_replaced_by_a_marker(tmp_path: Path) -> None:
    long = "长" * 100_000
    _, rows, _ = read(write(tmp_path, f"行政相对人名称,统一社会信用代码\n{long},91X\n短,1\n"))
    assert rows[0]["行政相对人名称"] == f"{TOO_LONG_PREFIX}100000"
    assert too_long_length(rows[0]["行政相对人名称"]) == 100_000
    assert too_long_length(rows[1]["行政相对人名称"]) is None and too_long_length(None) is None
    _, rows, _ = read(write(tmp_path, f"行政相对人名称,统一社会信用代码\n{'x' * 30},1\n"), max_cell_chars=10)
    assert too_long_length(rows[0]["行政相对人名称"]) == 30


def test_chunks_respect_chunk_rows_and_pieces_split_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers_csv, "PIECE_BYTES", 50)
    lines = ["2024年公示表", "行政相对人名称,统一社会信用代码"]
    for i in range(40):
        lines.append(f'"公司\n{i}",{i}' if i % 7 == 0 else ("" if i % 5 == 0 else f"公司{i},{i}"))
    path = write(tmp_path, "\n".join(lines) + "\n", encoding="gb18030")
    with open_source(path, header_score=score, chunk_rows=4) as src:
        chunks = list(src.chunks())
    assert all(c.frame.height <= 4 for c in chunks)
    numbers = [n for c in chunks for n in c.rows.to_list()]
    expected = [i + 3 for i in range(40) if i % 7 == 0 or i % 5 != 0]
    assert numbers == expected
    names = [v for c in chunks for v in c.frame.get_column("行政相对人名称").to_list()]
    assert names[0] == "公司\n0" and names[1] == "公司1"


cells = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
) | st.sampled_from(["", " ", "a,b", '"q"', "𠀀䶮", "行\n换", "0012", "\u3000"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.lists(st.lists(cells, min_size=3, max_size=3), max_size=12),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
)
def test_any_cells_written_by_the_csv_module_read_back(
    tmp_path: Path, data: list[list[str]], encoding: str
) -> None:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(HEAD)
    w.writerows(data)
    path = tmp_path / "p.csv"
    path.write_bytes(buf.getvalue().encode(encoding))
    _, rows, numbers = read(path)
    expected = [
        (i + 2, {h: (v or None) for h, v in zip(HEAD, row, strict=True)})
        for i, row in enumerate(data)
        if any(v.strip() for v in row)
    ]
    assert list(zip(numbers, rows, strict=True)) == expected


# --- XLSX --------------------------------------------------------------------------------------------


def test_xlsx_title_row_dates_numbers_and_sheet_row_numbers(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "处罚"
    ws.append(["2024年行政处罚信息公示表"])
    ws.merge_cells("A1:E1")
    ws.append(["行政相对人名称", "证件号码", "处罚决定日期", "罚款金额", "统一社会信用代码"])
    ws.append(["甲", 110101199003071234, dt.date(2024, 3, 5), 1.5, 45356])
    ws.cell(row=3, column=3).number_format = "yyyy-mm-dd"
    ws.append([None, None, None, None, None])
    ws.append(["乙", "0012", dt.datetime(2024, 3, 6, 9, 30), 3.0, 1e20])
    ws.cell(row=5, column=3).number_format = "yyyy-mm-dd hh:mm"
    ws.cell(row=9, column=1, value="丙")
    ws.cell(row=9, column=2, value=110101199003071234)
    saved = tmp_path / "saved.xlsx"
    wb.save(saved)
    # openpyxl and Excel store long numbers as floats ("1.101011990030712e+17"); other tools write every
    # digit: both must come back as plain digits
    path = tmp_path / "a.xlsx"
    with zipfile.ZipFile(saved) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            body = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b"<v>1.101011990030712e+17</v>", b"<v>110101199003071234</v>", 1)
            zout.writestr(item, body)
    src, rows, numbers = read(path)
    assert src.kind == "xlsx" and src.sheet == "处罚" and src.header_row == 2  # type: ignore[attr-defined]
    assert numbers == [3, 5, 9]
    assert rows[0] == {
        "行政相对人名称": "甲",
        "证件号码": "110101199003071234",
        "处罚决定日期": "2024-03-05",
        "罚款金额": "1.5",
        "统一社会信用代码": "45356",
    }
    assert rows[1] == {
        "行政相对人名称": "乙",
        "证件号码": "0012",
        "处罚决定日期": "2024-03-06 09:30:00",
        "罚款金额": "3",
        "统一社会信用代码": "100000000000000000000",
    }
    assert rows[2]["证件号码"] == "110101199003071200"


def test_xlsx_first_sheet_with_a_matching_header_is_used(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["本表用于报送行政处罚信息"])
    data = wb.create_sheet("数据")
    data.append(HEAD)
    data.append(["甲", "91X", "罚1"])
    other = wb.create_sheet("备用")
    other.append(HEAD)
    other.append(["乙", "91Y", "罚2"])
    path = tmp_path / "b.xlsx"
    wb.save(path)
    src, rows, numbers = read(path)
    assert src.sheet == "数据" and numbers == [2] and rows[0]["行政相对人名称"] == "甲"  # type: ignore[attr-defined]
    assert "工作表「说明」没有匹配的表头，已跳过" in src.warnings  # type: ignore[attr-defined]
    assert any("「备用」" in w for w in src.warnings)  # type: ignore[attr-defined]


def test_xlsx_without_a_matching_sheet_is_refused(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["姓名", "年龄"])
    path = tmp_path / "c.xlsx"
    wb.save(path)
    assert refused(path).startswith("未找到与信息项匹配的表头行")


def test_xlsx_formulas_with_and_without_cached_values(tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEAD)
    sheet.write_row(1, 0, ["甲", "91X"])
    sheet.write_formula(1, 2, '="罚"&"1"', None, "罚1")  # cached value, as Excel saves it
    book.close()
    _, rows, _ = read(path)
    assert rows[0]["行政处罚决定书文号"] == "罚1"

    wb = openpyxl.Workbook()
    wb.active.append(HEAD)
    wb.active.append(["甲", "91X", "=A2&B2"])  # openpyxl writes no cached value
    path2 = tmp_path / "g.xlsx"
    wb.save(path2)
    _, rows, _ = read(path2)
    value = rows[0]["行政处罚决定书文号"]
    assert value == FORMULA_PREFIX + "=A2&B2" and formula_text(value) == "=A2&B2"
    assert formula_text("罚1") is None


def test_xlsx_duplicate_headers_and_long_cells(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["行政相对人名称", "统一社会信用代码", "x", "统一社会信用代码"])
    path = tmp_path / "d.xlsx"
    wb.save(path)
    assert "第 2 列和第 4 列" in refused(path)
    wb = openpyxl.Workbook()
    wb.active.append(HEAD)
    wb.active.append(["长" * 30_000, "91X", "罚1"])
    wb.save(path)
    _, rows, _ = read(path, max_cell_chars=20_000)
    assert too_long_length(rows[0]["行政相对人名称"]) == 30_000


def test_zip_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.xls"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert refused(path).startswith("文件是压缩包，但不是 XLSX 工作簿")
    path.write_bytes(b"PK\x03\x04" + b"\x01" * 500)
    assert refused(path).startswith("XLSX 文件已损坏")


def test_zip_bomb_is_refused_before_openpyxl(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    zero = b"\x00" * (1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", "spreadsheetml.sheet.main")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(300):
                member.write(zero)
    assert path.stat().st_size < 3 << 20
    assert refused(path).startswith("XLSX 文件解压后体积异常（疑似压缩炸弹），已拒收")


# --- JSON --------------------------------------------------------------------------------------------


def test_json_array(tmp_path: Path) -> None:
    data = (
        '[{"行政相对人名称": "甲", "统一社会信用代码": "91X", "罚款金额": 1.50, "证件号码": 110101199003071234},\n'
        ' {"行政相对人名称": "乙", "统一社会信用代码": null, "罚款金额": true, "其他": {"a": [1, 2.50, "x"]}},\n'
        ' {"行政相对人名称": "", "统一社会信用代码": " "}]'
    )
    src, rows, numbers = read(write(tmp_path, data, "a.json"))
    assert src.kind == "json" and src.headers == [
        "行政相对人名称",
        "统一社会信用代码",
        "罚款金额",
        "证件号码",
        "其他",
    ]  # type: ignore[attr-defined]
    assert numbers == [1, 2]
    assert rows[0]["罚款金额"] == "1.50" and rows[0]["证件号码"] == "110101199003071234"
    assert rows[1] == {
        "行政相对人名称": "乙",
        "统一社会信用代码": None,
        "罚款金额": "true",
        "证件号码": None,
        "其他": '{"a": [1, 2.50, "x"]}',
    }


def test_json_array_streams_across_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xinyong.ingest import readers_json

    monkeypatch.setattr(readers_json, "READ_PIECE", 7)
    items = [{"行政相对人名称": f"公司{i}", "统一社会信用代码": "9" * i} for i in range(30)]
    _, rows, numbers = read(
        write(tmp_path, json.dumps(items, ensure_ascii=False, indent=1), "s.json"), chunk_rows=4
    )
    assert numbers == list(range(1, 31))
    assert rows[29]["行政相对人名称"] == "公司29" and rows[0]["统一社会信用代码"] is None


def test_json_lines_use_line_numbers_and_warn_about_new_keys(tmp_path: Path) -> None:
    lines = [json.dumps({"行政相对人名称": n, "统一社会信用代码": "91X"}, ensure_ascii=False) for n in "甲乙"]
    lines[1:1] = [""]
    lines.append(
        json.dumps({"行政相对人名称": "丙", "统一社会信用代码": "91Y", "新字段": 1}, ensure_ascii=False)
    )
    # chunk_rows=1: the headers come from the first two records (the first chunk reads at least two)
    src, rows, numbers = read(write(tmp_path, "\n".join(lines) + "\n", "a.jsonl"), chunk_rows=1)
    assert src.kind == "jsonl" and numbers == [1, 3, 4]  # type: ignore[attr-defined]
    assert rows[2] == {"行政相对人名称": "丙", "统一社会信用代码": "91Y"}
    assert any("新字段" in w for w in src.warnings)  # type: ignore[attr-defined]


def test_single_json_object_is_refused(tmp_path: Path) -> None:
    one = {"data": [{"行政相对人名称": "甲", "统一社会信用代码": "91X"}]}
    assert refused(write(tmp_path, json.dumps(one, ensure_ascii=False, indent=2), "o.json")).startswith(
        "JSON 文件只有一个对象"
    )
    assert refused(write(tmp_path, json.dumps(one, ensure_ascii=False), "p.json")).startswith(
        "JSON 文件只有一个对象"
    )


@pytest.mark.parametrize(
    "text",
    [
        '[{"行政相对人名称": "甲", "统一社会信用代码": "91X"}, {"行政相对人名称": "乙" ',
        '[{"行政相对人名称": "甲", "统一社会信用代码": "91X"} {"a": 1}]',
        '[{"行政相对人名称": "甲", "统一社会信用代码": "91X"}, 3]',
        '{"行政相对人名称": "甲", "统一社会信用代码": "91X"}\n{"行政相对人名称": 乙}\n',
    ],
)
def test_malformed_json_is_refused(tmp_path: Path, text: str) -> None:
    assert refused(write(tmp_path, text, "m.json")).startswith("JSON 格式")


def test_json_without_known_keys_is_refused(tmp_path: Path) -> None:
    assert refused(write(tmp_path, '[{"a": 1}, {"b": 2}]', "k.json")).startswith("未找到与信息项匹配的字段")
