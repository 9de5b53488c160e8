"""What a partner may read, and when its key is good. Pure functions."""

from __future__ import annotations

import re
from datetime import date

LEVELS: tuple[str, ...] = ("public", "shared", "authorised")
LEVEL_LABELS = {"public": "公开", "shared": "共享", "authorised": "授权查询"}
ID_NUMBERS: tuple[str, ...] = ("none", "masked", "clear")
ID_LABELS = {"none": "不提供", "masked": "脱敏", "clear": "明文"}
KINDS: tuple[str, ...] = ("department", "bank", "utility", "platform", "upstream")
KIND_LABELS = {"department": "政府部门", "bank": "金融机构", "utility": "公用事业单位", "platform": "其他信用平台",
               "upstream": "上级平台"}
VISIBLE_STATES = frozenset({"active", "objection"})
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
MAX_LIMIT = 10_000


def level_allows(level: str, disclosure: str) -> bool:
    """A scope at `level` reads items of this disclosure level or a lower one."""
    if level not in LEVELS or disclosure not in LEVELS:
        return False
    return LEVELS.index(disclosure) <= LEVELS.index(level)


def shareable(state: str, publish_from: date | None, publish_until: date | None, level: str, today: date) -> bool:
    """Whether a record of an item inside the partner's scope is part of the partner's copy today: in force
    (not revoked, repaired, superseded, expired) and inside its window (`publish_until` exclusive). A record
    that was never published (no window start, e.g. 轻微) is shared only with a scope above `public`."""
    if state not in VISIBLE_STATES:
        return False
    if publish_until is not None and today >= publish_until:
        return False
    if publish_from is None:
        return level != "public"
    return True


def key_refusal(*, partner_revoked: bool, key_revoked: bool, expires_on: date | None, today: date) -> str | None:
    """Why a partner key is not good today, in Chinese; None when it is."""
    if partner_revoked or key_revoked:
        return "共享密钥已吊销：请联系信用办重新签发（xinyong partner add）"
    if expires_on is not None and today > expires_on:
        return f"共享密钥已于 {expires_on.isoformat()} 到期：请联系信用办续期或重新签发"
    return None


def check_code(code: str) -> str:
    code = code.strip()
    if not _CODE.match(code):
        raise ValueError(f"合作方代码“{code}”无效：须以字母开头，只含字母、数字、下划线或连字符，最长 64 位")
    return code


def split_items(text: str) -> list[str]:
    """ITEM,ITEM… as given on the command line or a form: commas (either width), spaces; order kept, no repeats."""
    out: list[str] = []
    for part in re.split(r"[,，;；\s]+", text):
        part = part.strip()
        if part and part not in out:
            out.append(part)
    return out


def clamp_limit(limit: int | None, default: int = 1000) -> int:
    if limit is None:
        return default
    if limit < 1 or limit > MAX_LIMIT:
        raise ValueError(f"limit 须在 1 到 {MAX_LIMIT} 之间（收到 {limit}）")
    return limit


# A change-feed position: the last record id, record event id and list entry event id the partner has been given.
Position = tuple[int, int, int]
_POSITION = re.compile(r"^(\d{1,19})\.(\d{1,19})\.(\d{1,19})$")


def format_position(pos: Position) -> str:
    return f"{pos[0]}.{pos[1]}.{pos[2]}"


def parse_position(text: str) -> Position | None:
    """The position a cursor's body names; None when it is not one."""
    m = _POSITION.match(text)
    if m is None:
        return None
    a, b, c = (int(g) for g in m.groups())
    if max(a, b, c) >= 2**63:
        return None
    return a, b, c
