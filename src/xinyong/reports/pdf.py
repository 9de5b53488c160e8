"""The report as PDF (ReportLab): embedded Chinese font, page numbers 第 X 页 共 Y 页, QR code to /verify."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from xinyong.core.errors import DomainError

FONT = "XYZenHei"
KNOWN_FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/local/share/fonts/wqy-zenhei.ttc",
)
_lock = threading.Lock()


class FontMissing(DomainError):
    status = 503
    title = "缺少中文字体"


def find_font() -> Path:
    """XINYONG_REPORT_FONT, else fontconfig's file for WenQuanYi Zen Hei, else the Debian paths."""
    env = os.environ.get("XINYONG_REPORT_FONT")
    if env and Path(env).is_file():
        return Path(env)
    if shutil.which("fc-match"):
        try:
            found = subprocess.run(["fc-match", "-f", "%{file}", "WenQuanYi Zen Hei"], capture_output=True, text=True,
                                   timeout=5, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            found = ""
        if found and "zenhei" in found.lower() and Path(found).is_file():
            return Path(found)
    for path in KNOWN_FONT_PATHS:
        if Path(path).is_file():
            return Path(path)
    raise FontMissing("生成 PDF 报告需要中文字体“文泉驿正黑”，服务器上未找到：请安装 Debian 软件包 fonts-wqy-zenhei"
                      "（apt-get install fonts-wqy-zenhei，或运行 make system-deps），"
                      "或用环境变量 XINYONG_REPORT_FONT 指定 TrueType 字体文件")


@lru_cache(maxsize=1)
def register_font() -> str:
    with _lock:
        if FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(FONT, str(find_font()), subfontIndex=0))
    return FONT


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=13, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=20, leading=28, alignment=TA_CENTER, spaceAfter=4),
        "sub": ParagraphStyle("sub", parent=base, fontSize=11, leading=16, alignment=TA_CENTER),
        "h2": ParagraphStyle("h2", parent=base, fontSize=12, leading=18, spaceBefore=10, spaceAfter=4,
                             textColor=colors.HexColor("#b22222")),
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=11),
        "head": ParagraphStyle("head", parent=base, fontSize=8, leading=11, textColor=colors.HexColor("#333333")),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=12, textColor=colors.HexColor("#555555")),
    }


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text if text not in (None, "") else "—")).replace("\n", "<br/>"), style)


def _qr(url: str) -> Image:
    import qrcode

    img = qrcode.make(url, box_size=4, border=1)
    buf = BytesIO()
    img.save(buf, format="PNG")
    buf.seek(0)
    return Image(buf, width=30 * mm, height=30 * mm)


def _grid(rows: list[list[Any]], widths: list[float], header: bool = True) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#c9ced4")), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3)]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f3f5")))
    table.setStyle(TableStyle(style))
    return table


class _NumberedCanvas(Canvas):  # type: ignore[misc]
    """Two passes over the pages so each can say 第 X 页 共 Y 页."""

    footer_left = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont(FONT, 8)
            self.setFillColor(colors.HexColor("#666666"))
            self.drawString(18 * mm, 10 * mm, self.footer_left)
            self.drawRightString(A4[0] - 18 * mm, 10 * mm, f"第 {self._pageNumber} 页 共 {total} 页")
            super().showPage()
        super().save()


def render(data: dict[str, Any]) -> bytes:
    register_font()
    st = _styles()
    width = A4[0] - 36 * mm
    subject = data["subject"]
    story: list[Any] = [_p(data["title"], st["title"]), _p(data["issuer"], st["sub"]), Spacer(1, 6 * mm)]
    meta = [[_p("报告编号", st["head"]), _p(data["report_no"], st["cell"])],
            [_p("出具机构", st["head"]), _p(data["issuer"], st["cell"])],
            [_p("出具时间", st["head"]), _p(f"{data['issued_at']:%Y年%m月%d日 %H:%M}", st["cell"])],
            [_p("有效期", st["head"]), _p(f"{data['validity_days']} 日（至 {data['valid_until']:%Y年%m月%d日}）", st["cell"])],
            [_p("验证码", st["head"]), _p(data["verify_code"], st["cell"])],
            [_p("核验地址", st["head"]), _p(data["verify_url"], st["cell"])]]
    head = Table([[_grid(meta, [22 * mm, width - 60 * mm], header=False), _qr(data["verify_url"])]],
                 colWidths=[width - 34 * mm, 34 * mm])
    head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [head, _p("一、基本信息", st["h2"])]
    basic = [("名称", subject["name"]), ("统一社会信用代码", subject.get("uscc")), ("公民身份号码", subject.get("id_masked")),
             ("主体类别", subject.get("kind_label")), ("所在地区", subject.get("region")), ("登记状态", subject.get("status")),
             ("法定代表人（负责人）", subject.get("legal_rep")), ("成立日期", subject.get("established")),
             ("曾用名", "；".join(subject.get("former_names") or []))]
    story.append(_grid([[_p(k, st["head"]), _p(v, st["cell"])] for k, v in basic if v], [40 * mm, width - 40 * mm],
                       header=False))
    numerals = "二三四五六七八九十"
    for i, section in enumerate(data["sections"]):
        number = numerals[i] if i < len(numerals) else str(i + 2)
        story.append(_p(f"{number}、{section.title}（{len(section.rows)} 条）", st["h2"]))
        if not section.rows:
            story.append(_p(section.empty_text, st["small"]))
            continue
        cols = list(section.columns) + (["状态"] if any(r.get("badge") for r in section.rows) else [])
        rows = [[_p(c, st["head"]) for c in cols]]
        for row in section.rows:
            cells = [row["cells"].get(c, "") for c in section.columns]
            if len(cols) > len(section.columns):
                cells.append(row.get("badge") or "")
            rows.append([_p(c, st["cell"]) for c in cells])
        story.append(_grid(rows, [width / len(cols)] * len(cols)))
    story.append(_p("报告说明", st["h2"]))
    story += [_p(f"{i}. {line}", st["small"]) for i, line in enumerate(data["statement"], start=1)]

    buf = BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=18 * mm, title=f"公共信用信息报告 {data['report_no']}", author=data["issuer"],
                            subject=subject["name"], creator="xinyong")

    class Numbered(_NumberedCanvas):
        footer_left = f"报告编号 {data['report_no']} · 验证码 {data['verify_code']}"

    doc.build(story, canvasmaker=Numbered)
    return buf.getvalue()
