"""List files through the ingest pipeline: entries created, list rules turned into rejects of the batch."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from lists_support import add_departments
from xinyong.core.identifiers import make_uscc
from xinyong.ingest.models import Batch, BatchReject
from xinyong.joint.models import JointTask
from xinyong.lists.imports import import_list_file
from xinyong.lists.models import ListEntry
from xinyong.records.models import Record

TODAY = date(2026, 3, 12)
HEADER = "主体名称,统一社会信用代码,名单类型,列入决定书文号,认定日期,失信事实,列入依据,期限截止日,告知日期,告知方式\n"


def _uscc(n: int) -> str:
    return make_uscc("91", "371402", f"MD{n:06d}")


def test_department_list_file_creates_entries_and_rejects_rule_breaches(db: Session, tmp_path: Path) -> None:
    add_departments(db, ["SCJG", "ZJ"])
    rows = [
        f"德州甲食品有限公司,{_uscc(1)},scjg_serious_illegal,德市监严失〔2026〕1号,2026-02-10,销售有毒有害食品,第九条,2029-02-10,2026-02-05,直接送达",
        f"德州乙商贸有限公司,{_uscc(2)},市场监督管理严重违法失信名单,德市监严失〔2026〕2号,2026-02-11,虚假宣传,第九条,,,",
        f"德州丙有限公司,{_uscc(3)},scjg_serious_illegal,德市监严失〔2026〕3号,2026-02-12,事实,第九条,2030-01-01,2026-02-05,邮寄送达",
        f"德州丁有限公司,{_uscc(4)},no_such_list,德市监严失〔2026〕4号,2026-02-12,事实,第九条,,2026-02-05,邮寄送达",
    ]
    path = tmp_path / "严重违法失信名单2026年2月.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    result = import_list_file(db, path, dept_code="SCJG", today=TODAY)
    db.commit()
    assert result["entries"] == 2 and result["published"] == 1 and result["proposed"] == 1
    assert result["rejected"] == 2
    batch = db.get(Batch, result["batch"].batch_id)
    assert batch.accepted == 2 and batch.rejected == 2
    reasons = {r.row: r.reason for r in db.scalars(select(BatchReject).where(BatchReject.batch_id == batch.id))}
    assert "最长期限" in reasons[4] and "名单类型" in reasons[5]
    entries = {e.decision_no: e for e in db.scalars(select(ListEntry))}
    first = entries["德市监严失〔2026〕1号"]
    assert first.state == "published" and first.notify_channel == "直接送达" and first.record_id is not None
    assert entries["德市监严失〔2026〕2号"].state == "proposed"
    assert db.scalar(select(Record.id).where(Record.decision_no == "德市监严失〔2026〕3号")) is None
    assert db.scalars(select(JointTask).where(JointTask.entry_id == first.id)).first() is not None


def test_court_list_is_published_on_import(db: Session, tmp_path: Path) -> None:
    add_departments(db, ["ZY", "JT", "WL", "ZRZY", "SCJG"])
    header = "被执行人姓名/名称,统一社会信用代码,案号,执行法院,发布时间,失信被执行人行为具体情形\n"
    path = tmp_path / "失信被执行人.csv"
    path.write_text(header + f"德州戊有限公司,{_uscc(9)},（2026）鲁1402执100号,德州市德城区人民法院,2026-03-01,"
                    "有履行能力而拒不履行生效法律文书确定义务\n", encoding="utf-8")
    result = import_list_file(db, path, dept_code="ZY", item_code="dishonest_judgment_debtor", today=TODAY,
                              list_type="zy_dishonest_judgment_debtor")
    assert result["published"] == 1
    entry = db.scalars(select(ListEntry)).one()
    assert entry.state == "published" and entry.term_end == date(2028, 3, 1) and entry.source == "import"
    assert "德州市德城区人民法院" in (entry.notify_channel or "")
    assert {t.measure_code for t in db.scalars(select(JointTask))} >= {"p1_high_consumption", "p1_company_officer"}
