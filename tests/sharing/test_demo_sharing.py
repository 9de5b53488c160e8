"""The demo's sharing: ≥ 20 partners in every state, logged reads, one inbound list batch from the province."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lists_support import add_departments, new_org
from xinyong.demo.sharing import setup_sharing
from xinyong.exchange.sharing import service
from xinyong.exchange.sharing.models import PartnerRead
from xinyong.lists.models import ListEntry

TODAY = date(2026, 3, 12)


def test_demo_partners_reads_and_province_batch(db: Session, clock: object) -> None:
    add_departments(db, ["ZY", "SCJG"])
    for _ in range(3):
        new_org(db)
    db.commit()
    result = setup_sharing(db, today=TODAY)
    db.commit()
    partners = service.list_partners(db)
    assert len(partners) >= 20
    states = {service.status_of(p, TODAY) for p in partners}
    assert states == {"有效", "已到期", "已吊销"}
    assert db.scalar(select(func.count()).select_from(PartnerRead).where(PartnerRead.action == "feed")) >= 8
    assert result["inbound"]["accepted"] == 3 and result["inbound"]["rejected"] == 1
    assert db.scalar(select(func.count()).select_from(ListEntry).where(ListEntry.state == "published")) == 3
