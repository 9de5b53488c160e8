"""Pure rules of the exchange: back-off, dead letters, push deadlines, signatures, batch names, feedback."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, datetime, timedelta
from typing import Any

from xinyong.core.calendar import add_workdays

PUSH_WORKDAYS = 7  # 双公示: within 7 working days of the decision
SIGNATURE_HEADER = "X-Xinyong-Signature"
TIMESTAMP_HEADER = "X-Xinyong-Timestamp"
BATCH_HEADER = "X-Xinyong-Batch"
REPLAY_WINDOW_SECONDS = 300
STATES = ("queued", "delivered", "rejected", "dead")
STATE_LABELS = {"queued": "待发送", "delivered": "已送达", "rejected": "被退回", "dead": "已放弃（死信）"}


def retry_delay(attempts: int, base_seconds: float, max_seconds: float) -> timedelta:
    """Exponential back-off: base, 2·base, 4·base … capped at max (attempts counts failures so far, ≥ 1)."""
    exponent = min(max(attempts - 1, 0), 30)
    return timedelta(seconds=min(base_seconds * (2 ** exponent), max_seconds))


def gives_up(created_at: datetime, now: datetime, dead_after_hours: float) -> bool:
    return now - created_at >= timedelta(hours=dead_after_hours)


def push_deadline(decision_date: date, workdays: int = PUSH_WORKDAYS) -> date:
    return add_workdays(decision_date, workdays)


def is_late(deadline: date | None, delivered_on: date) -> bool:
    return deadline is not None and delivered_on > deadline


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over "timestamp." + body, hex, prefixed like the joint webhooks' signature."""
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp_header: str | None, signature: str | None, body: bytes, now: int,
           window: int = REPLAY_WINDOW_SECONDS) -> str | None:
    """None when the request is signed correctly and within the replay window; else why not (Chinese)."""
    if not timestamp_header or not signature:
        return "缺少签名或时间戳"
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        return "时间戳格式错误"
    if abs(now - timestamp) > window:
        return f"请求时间戳超出 {window} 秒的有效窗口（疑似重放），请校准时钟后重发"
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        return "签名不符"
    return None


def batch_name(target: str, first_id: int, last_id: int, digest: str) -> str:
    """Sortable and de-duplicable: the same events (digest of their keys) give the same name, later batches
    sort later (by the first outbox id)."""
    return f"{target}_{first_id:012d}_{last_id:012d}_{digest}"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_feedback(raw: Any) -> dict[str, tuple[str, str]]:
    """A receiver's answer → {idempotency key: (accepted|rejected, reason)}. Accepted forms:
    {"results": [{"key": …, "status": "accepted"|"rejected", "reason": …}, …]}; keys missing from the results
    are taken as accepted only when {"status": "accepted"} is given for the whole batch. Raises ValueError
    with a Chinese message on anything else."""
    if not isinstance(raw, dict):
        raise ValueError("接收方回执不是 JSON 对象")
    results = raw.get("results", [])
    if not isinstance(results, list):
        raise ValueError("接收方回执的 results 不是数组")
    out: dict[str, tuple[str, str]] = {}
    for item in results:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise ValueError("接收方回执的 results 项缺少 key")
        status = item.get("status")
        if status not in ("accepted", "rejected"):
            raise ValueError(f"接收方回执的状态 {status!r} 无法识别（应为 accepted 或 rejected）")
        reason = item.get("reason")
        out[item["key"]] = (str(status), str(reason) if reason is not None else "")
    return out


def feedback_json(results: dict[str, tuple[str, str]]) -> str:
    return json.dumps({"results": [{"key": k, "status": s, "reason": r} for k, (s, r) in results.items()]},
                      ensure_ascii=False)
