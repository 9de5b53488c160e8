"""The monthly report (月报) for the joint meeting: XLSX (one sheet per section, native Excel charts, no
formulas) and PDF (ReportLab, embedded Chinese font, charts drawn with reportlab.graphics), from snapshots only.

Other modules add sections (e.g. 问题数据 by department) with `register_section`.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy.orm import Session

from xinyong.core import exports
from xinyong.reports.pdf import register_font
from xinyong.stats.rules import Month, format_value


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    header: list[str]
    rows: list[list[Any]]


SectionProvider = Callable[[Session, Month], Section | None]
_sections: list[SectionProvider] = []
# Trend charts: the ratio indicators with a target (share of subjects, of rows, of tasks …), city level.
TREND_LIMIT = 6
LEAGUE_CHARTS = 4


def register_section(provider: SectionProvider) -> None:
    """A further section of the report (its own sheet and PDF chapter); the provider returns None to skip."""
    _sections.append(provider)


def _met(flag: bool | None) -> str:
    return "达标" if flag is True else "未达标" if flag is False else "—"


def report_data(session: Session, month: Month) -> dict[str, Any]:
    from xinyong.stats import service  # service imports the sources that register sections here

    board = service.board(session, month)
    leagues = [lg for lg in service.leagues(session, month) if lg["rows"]]
    extra = [s for s in (p(session, month) for p in _sections) if s is not None]
    return {"month": month.label, "board": board, "leagues": leagues, "extra": extra}


def _overview_rows(data: dict[str, Any]) -> list[list[Any]]:
    return [[r["section_label"], r["name"], r["unit"], r["target"], _num(r["value"]), _num(r["previous"]),
             _num(r["change"]), _met(r["meets"])] for r in data["board"]["indicators"]]


def _num(value: float | None) -> float | str:
    return round(value, 4) if value is not None else "—"


OVERVIEW_HEADER = ["栏目", "指标", "单位", "目标", "本月", "上月", "较上月", "是否达标"]


def _trend_indicators(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in data["board"]["indicators"] if r["has_target"]][:TREND_LIMIT]


def to_xlsx(data: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    book = exports.workbook(buf)
    bold = book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    title = book.add_format({"bold": True, "font_size": 14})
    red = book.add_format({"font_color": "#B22222"})
    green = book.add_format({"font_color": "#2E7D32"})

    ws = book.add_worksheet("指标与目标")
    ws.write(0, 0, f"社会信用体系建设监测月报 · {data['month']}", title)
    ws.write_row(2, 0, OVERVIEW_HEADER, bold)
    rows = _overview_rows(data)
    for i, line in enumerate(rows, start=3):
        ws.write_row(i, 0, line)
        ws.write(i, 7, line[7], green if line[7] == "达标" else red if line[7] == "未达标" else None)
    ws.set_column(0, 1, 22)
    ws.set_column(2, 7, 11)
    met = sum(1 for r in rows if r[7] == "达标")
    missed = sum(1 for r in rows if r[7] == "未达标")
    ws.write_row(len(rows) + 4, 0, ["达标", met], bold)
    ws.write_row(len(rows) + 5, 0, ["未达标", missed], bold)
    pie = book.add_chart({"type": "pie"})
    pie.add_series({"name": "达标情况", "categories": ["指标与目标", len(rows) + 4, 0, len(rows) + 5, 0],
                    "values": ["指标与目标", len(rows) + 4, 1, len(rows) + 5, 1],
                    "points": [{"fill": {"color": "#2E7D32"}}, {"fill": {"color": "#B22222"}}]})
    pie.set_title({"name": "有目标的指标达标情况"})
    ws.insert_chart(2, 9, pie)

    ws = book.add_worksheet("趋势")
    months = data["board"]["months"]
    trend = _trend_indicators(data)
    ws.write_row(0, 0, ["月份", *[f"{r['name']}（{r['unit']}）" for r in trend]], bold)
    for i, m in enumerate(months, start=1):
        ws.write(i, 0, m)
        for j, r in enumerate(trend, start=1):
            v = r["trend"][i - 1]
            ws.write(i, j, round(v, 4) if v is not None else "")
    ws.set_column(0, len(trend), 18)
    for j, r in enumerate(trend, start=1):
        chart = book.add_chart({"type": "line"})
        chart.add_series({"name": r["name"], "categories": ["趋势", 1, 0, len(months), 0],
                          "values": ["趋势", 1, j, len(months), j], "marker": {"type": "circle"}})
        chart.set_title({"name": f"{r['name']}（目标 {r['target']}）"})
        chart.set_legend({"none": True})
        ws.insert_chart(len(months) + 3 + (j - 1) // 2 * 16, ((j - 1) % 2) * 8, chart)

    ws = book.add_worksheet("部门排名")
    row = 0
    for n, lg in enumerate(data["leagues"]):
        ind = lg["indicator"]
        ws.write(row, 0, f"{ind['name']}（{ind['unit']}，目标 {ind['target']}）", title)
        ws.write_row(row + 1, 0, ["名次", "部门", "分子", "分母", "数值", "是否达标"], bold)
        first = row + 2
        for i, r in enumerate(lg["rows"]):
            ws.write_row(first + i, 0, [i + 1, r["label"], r["numerator"], r["denominator"] if r["denominator"]
                                        is not None else "—", _num(r["value"]), _met(r["meets"])])
        last = first + len(lg["rows"]) - 1
        if n < LEAGUE_CHARTS:
            bar = book.add_chart({"type": "bar"})
            bar.add_series({"name": ind["name"], "categories": ["部门排名", first, 1, last, 1],
                            "values": ["部门排名", first, 4, last, 4]})
            bar.set_title({"name": ind["name"]})
            bar.set_legend({"none": True})
            ws.insert_chart(row, 7, bar, {"y_scale": max(1.0, len(lg["rows"]) / 12)})
        row = max(last + 3, row + (18 if n < LEAGUE_CHARTS else 0))
    ws.set_column(1, 1, 28)
    ws.set_column(2, 5, 12)

    ws = book.add_worksheet("较上月变化")
    ws.write_row(0, 0, ["指标", "单位", "上月", "本月", "变化"], bold)
    for i, r in enumerate(data["board"]["indicators"], start=1):
        ws.write_row(i, 0, [r["name"], r["unit"], _num(r["previous"]), _num(r["value"]), _num(r["change"])])
    ws.set_column(0, 0, 24)

    for s in data["extra"]:
        ws = book.add_worksheet(s.title[:31])
        ws.write_row(0, 0, s.header, bold)
        for i, r in enumerate(s.rows, start=1):
            ws.write_row(i, 0, r)
        ws.set_column(0, len(s.header) - 1, 16)

    ws = book.add_worksheet("口径说明")
    ws.write_row(0, 0, ["指标", "分子", "分母", "统计窗口", "单位", "目标"], bold)
    for i, r in enumerate(data["board"]["indicators"], start=1):
        d = r["definition"]
        ws.write_row(i, 0, [r["name"], d["numerator"], d["denominator"] or "—", d["window"], r["unit"], r["target"]])
    ws.set_column(0, 3, 30)
    book.close()
    return buf.getvalue()


# ---------------------------------------------------------------- PDF


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=13, wordWrap="CJK")
    return {"title": ParagraphStyle("title", parent=base, fontSize=18, leading=26, alignment=TA_CENTER),
            "h2": ParagraphStyle("h2", parent=base, fontSize=12, leading=18, spaceBefore=8, spaceAfter=4,
                                 textColor=colors.HexColor("#b22222")),
            "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=11), "body": base}


def _table(rows: list[list[Any]], widths: list[float], style: ParagraphStyle) -> Table:
    cells = [[Paragraph(escape(str(c)), style) for c in row] for row in rows]
    t = Table(cells, colWidths=widths, repeatRows=1)
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#c9ced4")),
                           ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f3f5")),
                           ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return t


def _line_chart(r: dict[str, Any], months: list[str], font: str) -> Drawing:
    d = Drawing(170 * mm, 55 * mm)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 30, 20, 170 * mm - 50, 55 * mm - 45
    chart.data = [[v if v is not None else 0 for v in r["trend"]] or [0]]
    chart.categoryAxis.categoryNames = [m[2:] for m in months] or [""]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.labels.fontSize = 7
    chart.lines[0].strokeColor = colors.HexColor("#1f6fb2")
    d.add(chart)
    d.add(String(30, 55 * mm - 12, f"{r['name']}（{r['unit']}，目标 {r['target']}）", fontName=font, fontSize=9))
    return d


def _bar_chart(lg: dict[str, Any], font: str) -> Drawing:
    rows = lg["rows"][:15]
    height = max(40 * mm, (len(rows) * 9 + 40))
    d = Drawing(170 * mm, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 110, 10, 170 * mm - 130, height - 30
    chart.data = [[(r["value"] or 0) for r in reversed(rows)] or [0]]
    chart.categoryAxis.categoryNames = [r["label"][:14] for r in reversed(rows)] or [""]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#1f6fb2")
    d.add(chart)
    d.add(String(10, height - 12, f"{lg['indicator']['name']}（{lg['indicator']['unit']}）", fontName=font, fontSize=9))
    return d


def to_pdf(data: dict[str, Any]) -> bytes:
    font = register_font()
    st = _styles(font)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=f"监测月报 {data['month']}")
    story: list[Any] = [Paragraph(f"社会信用体系建设监测月报（{data['month']}）", st["title"]), Spacer(1, 6 * mm)]
    story.append(Paragraph("一、指标与目标", st["h2"]))
    widths = [22 * mm, 38 * mm, 14 * mm, 18 * mm, 18 * mm, 18 * mm, 18 * mm, 16 * mm]
    story.append(_table([OVERVIEW_HEADER, *[[c if not isinstance(c, float) else f"{c:,.2f}" for c in row]
                                            for row in _overview_rows(data)]], widths, st["cell"]))
    story.append(Paragraph("二、趋势（全市，近24个月）", st["h2"]))
    for r in _trend_indicators(data):
        story.append(_line_chart(r, data["board"]["months"], font))
    story.append(PageBreak())
    story.append(Paragraph("三、部门排名", st["h2"]))
    for n, lg in enumerate(data["leagues"]):
        if n < LEAGUE_CHARTS:
            story.append(_bar_chart(lg, font))
        unit = lg["indicator"]["unit"]
        rows = [["名次", "部门", "数值", "是否达标"]] + [[i + 1, r["label"], format_value(r["value"], unit), _met(r["meets"])]
                                                  for i, r in enumerate(lg["rows"])]
        story.append(Paragraph(f"{lg['indicator']['name']}（{unit}，目标 {lg['indicator']['target']}）", st["body"]))
        story.append(_table(rows, [14 * mm, 80 * mm, 30 * mm, 24 * mm], st["cell"]))
        story.append(Spacer(1, 3 * mm))
    story.append(Paragraph("四、较上月变化", st["h2"]))
    rows = [["指标", "单位", "上月", "本月", "变化"]] + [
        [r["name"], r["unit"], format_value(r["previous"], r["unit"]), format_value(r["value"], r["unit"]),
         format_value(r["change"], r["unit"])] for r in data["board"]["indicators"]]
    story.append(_table(rows, [60 * mm, 20 * mm, 28 * mm, 28 * mm, 28 * mm], st["cell"]))
    for k, s in enumerate(data["extra"], start=5):
        story.append(Paragraph(f"{_CN[k] if k < len(_CN) else k}、{s.title}", st["h2"]))
        width = 170 * mm / max(1, len(s.header))
        story.append(_table([s.header, *s.rows], [width] * len(s.header), st["cell"]))
    doc.build(story)
    return buf.getvalue()


_CN = "零一二三四五六七八九十"
