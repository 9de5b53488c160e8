"""The demo city's sharing partners (开封 has more than 20): departments, banks, utilities, another platform and the
provincial platform; in every state (active, expired, revoked), with logged feed and export reads, and one list
batch sent down by the province through the normal ingest path (its entries published and dispatched)."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import xinyong.joint.service  # noqa: F401  (its list listener dispatches the entries the province sends down)
from xinyong.accounts import service as accounts
from xinyong.exchange.sharing import feed, inbound, service
from xinyong.exchange.sharing.service import ScopeIn
from xinyong.subjects.models import Subject

PENALTY = "admin_penalty"
LICENCE = "admin_license"
COURT = "dishonest_judgment_debtor"
COURT_LIST = "zy_dishonest_judgment_debtor"

# code, name, kind, items, purpose
PARTNERS: list[tuple[str, str, str, tuple[str, ...], str]] = [
    ("FGW_GX", "德州市发展和改革委员会（共享）", "department", (PENALTY, LICENCE), "项目审批信用核查"),
    ("ZJ_GX", "德州市住房和城乡建设局（共享）", "department", (PENALTY, LICENCE, COURT_LIST), "招投标信用核查"),
    ("RS_GX", "德州市人力资源和社会保障局（共享）", "department", (PENALTY,), "劳动保障监察"),
    ("GGZY", "德州市公共资源交易中心", "department", (PENALTY, COURT_LIST), "公共资源交易主体核查"),
    ("SW_GX", "国家税务总局德州市税务局（共享）", "department", (PENALTY, COURT_LIST), "纳税信用评价"),
    ("ICBC_DZ", "中国工商银行德州分行", "bank", (PENALTY, COURT_LIST), "信贷审批与贷后管理"),
    ("CCB_DZ", "中国建设银行德州分行", "bank", (PENALTY, COURT_LIST), "信贷审批与贷后管理"),
    ("ABC_DZ", "中国农业银行德州分行", "bank", (PENALTY, COURT_LIST), "涉农信贷审批"),
    ("BOC_DZ", "中国银行德州分行", "bank", (PENALTY,), "信贷审批"),
    ("BOCOM_DZ", "交通银行德州分行", "bank", (PENALTY,), "信贷审批"),
    ("DZBANK", "德州银行", "bank", (PENALTY, LICENCE, COURT_LIST), "小微企业信易贷"),
    ("DZRCB", "德州农村商业银行", "bank", (PENALTY, COURT_LIST), "涉农信易贷"),
    ("PSBC_DZ", "中国邮政储蓄银行德州分行", "bank", (PENALTY,), "普惠金融"),
    ("DZDB", "德州市融资担保有限公司", "bank", (PENALTY, COURT_LIST), "融资担保审查"),
    ("SGCC_DZ", "国网德州供电公司", "utility", (COURT_LIST,), "供电服务信用分级"),
    ("DZWATER", "德州市供水公司", "utility", (COURT_LIST,), "供水服务信用分级"),
    ("DZGAS", "德州市燃气公司", "utility", (COURT_LIST,), "燃气服务信用分级"),
    ("CMCC_DZ", "中国移动德州分公司", "utility", (COURT_LIST,), "通信服务信用分级"),
    ("XYD_PT", "德州市信易贷平台", "platform", (PENALTY, LICENCE, COURT_LIST), "融资信用服务"),
    ("QZ_PT", "齐河县信用平台", "platform", (PENALTY, LICENCE), "县级信用平台数据共享"),
    ("OLD_BANK", "某村镇银行（合作已终止）", "bank", (PENALTY,), "信贷审批"),
    ("PILOT_2025", "2025 年试点数据共享（已到期）", "platform", (PENALTY,), "试点期数据共享"),
]
EXPIRED = {"PILOT_2025"}
REVOKED = {"OLD_BANK"}
PROVINCE = "SHENG_PT"


def _province_file(session: Session, directory: Path, today: date) -> Path | None:
    firms = session.execute(select(Subject.name, Subject.uscc).where(Subject.uscc.is_not(None), Subject.kind != "natural_person")
                            .order_by(Subject.id).limit(8)).all()
    if not firms:
        return None
    lines = ["被执行人姓名/名称,统一社会信用代码,案号,执行法院,发布时间,失信被执行人行为具体情形"]
    for n, (name, uscc) in enumerate(firms, 1):
        lines.append(f"{name},{uscc},（{today.year}）鲁14执{900 + n}号,德州市中级人民法院,"
                     f"{(today - timedelta(days=n)).isoformat()},有履行能力而拒不履行生效法律文书确定义务")
    lines.append("德州某失联公司,91371400BAD0CODE1X,（2026）鲁14执999号,德州市中级人民法院,2026-01-01,拒不履行")
    path = directory / f"{COURT}__{today:%Y%m%d}_001.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def setup_sharing(session: Session, *, today: date) -> dict[str, Any]:
    """Partners, reads and one inbound batch; idempotent enough to be skipped when partners already exist."""
    if service.list_partners(session):
        return {"partners": len(service.list_partners(session))}
    accounts.add_department(session, "SHENG", "省公共信用信息平台", actor="demo")
    for code, name, kind, items, purpose in PARTNERS:
        scopes = [ScopeIn(i, "shared", "none" if kind != "department" else "masked") for i in items]
        partner, _key = service.add_partner(session, code, name, scopes, kind=kind, purpose=purpose,
                                            expires_on=today + timedelta(days=365 * 2), actor="demo")
        if code in EXPIRED:
            partner.expires_on = today - timedelta(days=30)
        if code in REVOKED:
            service.revoke_partner(session, code, actor="demo")
    province, _ = service.add_partner(session, PROVINCE, "省公共信用信息平台", [ScopeIn(COURT), ScopeIn(PENALTY)],
                                      kind="upstream", purpose="上报双公示与名单，下发国家和省级名单",
                                      dept_code="SHENG", actor="demo")
    # one list batch from the province, through the normal ingest path
    received: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="xinyong-inbound-") as tmp:
        path = _province_file(session, Path(tmp), today)
        if path is not None:
            received = inbound.receive(session, province, path, COURT, today=today)
    # partners reading: a few feed pages and one export each, logged with rows and purpose
    read = 0
    for code, *_ in PARTNERS[:8]:
        partner = service.get_partner(session, code)
        page = feed.read_page(session, partner, (0, 0, 0), 500, today)
        service.log_read(session, partner, "feed", "feed 0.0.0", len(page.changes))
        read += len(page.changes)
    session.flush()
    return {"partners": len(PARTNERS) + 1, "feed_changes": read, "inbound": received}
