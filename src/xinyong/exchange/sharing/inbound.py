"""Lists and records sent down by the upstream platform (§2): through the normal ingest path, as the department
named for the upstream source (e.g. SHENG 省信用平台), matched to local subjects, versioned, rejects reported back.
List files go through `lists.imports`, so their entries are published and start joint reward and punishment
like local ones.

Two ways in: `POST /api/v1/exchange/inbound` with the upstream partner's key (the answer carries the result), and
a watched drop directory, one per upstream partner, scanned by a periodic job:

    <XINYONG_INBOUND_DIR or var/inbound>/<PARTNER>/incoming/<item>[__<list type>]__<anything>.csv|xlsx|json
    → results/<file>.result.json (batch, counts, rejects with the reasons), and the file moved to done/ or failed/

A file still being written is left alone: names ending in .part or .tmp, and files changed in the last seconds.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.accounts.models import Department
from xinyong.core import clock
from xinyong.core.db import session_scope
from xinyong.core.errors import DomainError, Forbidden
from xinyong.core.jobs import register_periodic
from xinyong.core.settings import get_settings
from xinyong.exchange.sharing import service
from xinyong.exchange.sharing.models import Partner, PartnerScope
from xinyong.ingest.service import batch_summary, get_batch, ingest_file, summary_json
from xinyong.lists.config import get_list_types
from xinyong.lists.imports import import_list_file

log = logging.getLogger("xinyong.exchange.sharing")
SETTLE_SECONDS = 5.0
SCAN_SECONDS = 60.0


def inbound_dir() -> Path:
    return Path(os.environ.get("XINYONG_INBOUND_DIR") or get_settings().var_dir / "inbound")


def _list_type_for(item: str, dept_code: str, given: str | None) -> str | None:
    if given:
        return given
    found = [t.code for t in get_list_types().list() if t.catalog_item == item and dept_code in t.initiators]
    return found[0] if len(found) == 1 else None


def receive(session: Session, partner: Partner, path: Path, item: str, *, file_name: str | None = None,
            list_type: str | None = None, today: date | None = None) -> dict[str, Any]:
    """Ingest one file sent by an upstream partner; refusals (Forbidden, Refused, NotFound) write nothing."""
    today = today or clock.today()
    dept = session.get(Department, partner.dept_id) if partner.dept_id is not None else None
    if partner.kind != "upstream" or dept is None:
        raise Forbidden(f"合作方“{partner.name}”不是上级平台，不能下发数据：请信用办以 --kind upstream --dept 登记")
    allowed = set(session.scalars(select(PartnerScope.item).where(PartnerScope.partner_id == partner.id)))
    if item not in allowed:
        raise Forbidden(f"信息项“{item}”不在{partner.name}可下发的范围内：可下发 {'、'.join(sorted(allowed))}")
    name = file_name or path.name
    lt = _list_type_for(item, dept.code, list_type)
    result: dict[str, Any]
    if lt is not None:
        imported = import_list_file(session, path, dept_code=dept.code, item_code=item, list_type=lt,
                                    file_name=name, today=today)
        summary = imported.pop("batch")
        result = {**summary_json(summary), "list_type": lt, "list": imported}
    else:
        summary = ingest_file(session, path, item, dept.code, file_name=name, today=today)
        result = summary_json(batch_summary(session, get_batch(session, summary.batch_id)))
    service.log_read(session, partner, "inbound", f"{item} {name}", int(result.get("rows") or 0))
    return result


def _settled(path: Path, settle: float) -> bool:
    if path.name.startswith(".") or path.suffix in (".part", ".tmp") or not path.is_file():
        return False
    return time.time() - path.stat().st_mtime >= settle


def _parse_name(name: str) -> tuple[str, str | None]:
    parts = Path(name).stem.split("__")
    if len(parts) >= 3:
        return parts[0], parts[1]
    return parts[0], None


def scan(settle: float = SETTLE_SECONDS, today: date | None = None) -> int:
    """Take every settled file of every upstream partner's drop directory, each in its own transaction."""
    root = inbound_dir()
    if not root.is_dir():
        return 0
    with session_scope() as session:
        partners = [(p.id, p.code) for p in session.scalars(select(Partner).where(Partner.kind == "upstream",
                                                                                     Partner.revoked_at.is_(None)))]
    done = 0
    for partner_id, code in partners:
        incoming = root / code / "incoming"
        if not incoming.is_dir():
            continue
        for path in sorted(incoming.iterdir()):
            if _settled(path, settle):
                _take(partner_id, path, today)
                done += 1
    return done


def _take(partner_id: int, path: Path, today: date | None) -> None:
    base = path.parent.parent
    for sub in ("results", "done", "failed"):
        (base / sub).mkdir(exist_ok=True)
    item, lt = _parse_name(path.name)
    outcome: dict[str, Any]
    try:
        with session_scope() as session:
            partner = session.get(Partner, partner_id)
            assert partner is not None
            outcome = {"file": path.name, "ok": True, **receive(session, partner, path, item, file_name=path.name,
                                                                 list_type=lt, today=today)}
        target = base / "done" / path.name
    except DomainError as exc:
        outcome = {"file": path.name, "ok": False, "error": exc.detail}
        target = base / "failed" / path.name
    except Exception as exc:  # a broken file must not stop the job or the other files
        log.exception("inbound file %s failed", path)
        outcome = {"file": path.name, "ok": False, "error": f"处理失败：{type(exc).__name__}，已记录日志，请联系信用办"}
        target = base / "failed" / path.name
    result = base / "results" / f"{path.name}.result.json"
    tmp = result.with_suffix(".tmp")
    tmp.write_text(json.dumps(outcome, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    tmp.replace(result)
    shutil.move(str(path), target)


def _job(_session: Session) -> int:
    return scan()


register_periodic("exchange.inbound", SCAN_SECONDS, _job)
