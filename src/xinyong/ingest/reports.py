"""The reject report: the rejected rows as the department sent them, with the reasons, ready to fix.

One sheet row per rejected file row: the original columns under the file's own headers (sensitive
values masked), then 退回原因 (every reason of the row) and 原行号. The department corrects the cells and
sends the sheet back as is; the two extra columns are ignored on the next ingest.
"""

from __future__ import annotations

import io
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.core import exports
from xinyong.ingest.models import Batch, BatchReject

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REASON_HEADER = "退回原因"
ROW_HEADER = "原行号"


def reject_report(session: Session, batch: Batch) -> bytes:
    headers: list[str] = json.loads(batch.columns or "[]")
    out = io.BytesIO()
    book = exports.workbook(out, constant_memory=True)
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    reason_head = book.add_format({"bold": True, "bg_color": "#F8CBAD", "border": 1})
    reason_cell = book.add_format({"font_color": "#C00000", "text_wrap": True})
    sheet = book.add_worksheet("退回数据")
    for col, h in enumerate(headers):
        sheet.write_string(0, col, h, head)
        sheet.set_column(col, col, max(10, min(40, len(h) * 2)))
    sheet.write_string(0, len(headers), REASON_HEADER, reason_head)
    sheet.write_string(0, len(headers) + 1, ROW_HEADER, reason_head)
    sheet.set_column(len(headers), len(headers), 60)
    sheet.freeze_panes(1, 0)
    rows = session.execute(
        select(BatchReject.row, BatchReject.field, BatchReject.reason, BatchReject.raw)
        .where(BatchReject.batch_id == batch.id).order_by(BatchReject.row, BatchReject.id)
    )
    line = 0
    current: int | None = None
    reasons: list[str] = []
    raw: dict[str, str | None] = {}

    def emit() -> None:
        nonlocal line
        line += 1
        for col, h in enumerate(headers):
            value = raw.get(h)
            if value is not None:
                sheet.write_string(line, col, value)
        sheet.write_string(line, len(headers), "；".join(reasons), reason_cell)
        sheet.write_number(line, len(headers) + 1, current or 0)

    for row, _field, reason, raw_json in rows:
        if row != current:
            if current is not None:
                emit()
            current, reasons, raw = row, [], {}
        reasons.append(reason)
        if raw_json and not raw:
            raw = json.loads(raw_json)
    if current is not None:
        emit()
    info = book.add_worksheet("说明")
    for i, (k, v) in enumerate([
        ("批次", str(batch.id)), ("文件", batch.file_name), ("信息项", batch.item_code),
        ("数据行数", str(batch.rows)), ("入库", str(batch.accepted)), ("退回行数", str(batch.rejected)),
        ("使用方法", "按“退回原因”逐行改正“退回数据”表中的内容后，将该表另存为 XLSX 或 CSV 重新报送；"
                     "“退回原因”“原行号”两列会被自动忽略。证件号码等敏感信息已脱敏，请重新填写完整号码。"),
    ]):
        info.write_string(i, 0, k, head)
        info.write_string(i, 1, v)
    info.set_column(0, 0, 12)
    info.set_column(1, 1, 90)
    book.close()
    return out.getvalue()
