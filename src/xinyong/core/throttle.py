"""Rate limits on the `limits` library (moving window): logins, anonymous report downloads, and the like.

One `Throttle` per concern, keyed by whatever identifies the caller (an account name, an address).
Counts live in the storage named by `XINYONG_RATE_LIMIT_STORAGE` (a `limits` storage URI). The default,
`memory://`, counts per process: right for the single `xinyong serve` process; several processes behind a
load balancer need a shared storage (e.g. `redis://host:6379`), or each process counts on its own.
"""

from __future__ import annotations

import math
import threading
import time
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from xinyong.core.errors import DomainError
from xinyong.core.settings import get_settings


class TooManyRequests(DomainError):
    status = 429
    title = "操作过于频繁"

    @property
    def retry_after(self) -> int:
        return int(self.extra.get("retry_after", 60))


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _limiter() -> MovingWindowRateLimiter:
    storage = storage_from_string(get_settings().rate_limit_storage)
    if not isinstance(storage, Storage):
        raise ValueError("XINYONG_RATE_LIMIT_STORAGE 应为同步存储（如 memory:// 或 redis://），不能用 async+ 开头的地址")
    return MovingWindowRateLimiter(storage)


def reset_throttles() -> None:
    """Forget every count (tests, and after the storage setting changes)."""
    with _lock:
        limiter = _limiter()
        limiter.storage.reset()
        _limiter.cache_clear()


def _wait_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} 秒"
    return f"{math.ceil(seconds / 60)} 分钟"


class Throttle:
    """`limit` is a `limits` expression such as "5 per 15 minutes"; `message` is the Chinese refusal, with
    `{wait}` where the time to wait goes."""

    def __init__(self, name: str, limit: str, message: str) -> None:
        self.name = name
        self.item: RateLimitItem = parse(limit)
        self.message = message

    def _ids(self, key: str) -> tuple[str, str]:
        return self.name, key

    def retry_after(self, key: str) -> int:
        stats = _limiter().get_window_stats(self.item, *self._ids(key))
        return max(1, math.ceil(stats.reset_time - time.time()))

    def allowed(self, key: str) -> bool:
        """Whether one more attempt fits, without counting it."""
        return _limiter().test(self.item, *self._ids(key))

    def check(self, *keys: str) -> None:
        """Refuse (429) when any key has used up its window; counts nothing."""
        for key in keys:
            if not self.allowed(key):
                self._refuse(key)

    def hit(self, *keys: str) -> None:
        """Count one attempt against every key; refuse (429) when one of them is over the limit."""
        over = [key for key in keys if not _limiter().hit(self.item, *self._ids(key))]
        if over:
            self._refuse(over[0])

    def count(self, *keys: str) -> None:
        """Count one attempt (e.g. a failed login) without refusing this one."""
        for key in keys:
            _limiter().hit(self.item, *self._ids(key))

    def clear(self, key: str) -> None:
        _limiter().clear(self.item, *self._ids(key))

    def _refuse(self, key: str) -> None:
        seconds = self.retry_after(key)
        raise TooManyRequests(self.message.format(wait=_wait_text(seconds)),
                              extra={"retry_after": seconds})


# Logins (staff of /admin and subject accounts): failures count per account name and per address; a
# success clears the account's count. Keys: "staff:<username>", "account:<uscc>", and the client address.
LOGIN_BY_ACCOUNT = Throttle("login-account", "5 per 15 minutes",
                            "该账号登录失败次数过多，已暂停登录：请在 {wait}后再试；忘记密码请联系信用办重置")
LOGIN_BY_ADDRESS = Throttle("login-address", "20 per 15 minutes",
                            "本机登录失败次数过多，已暂停登录：请在 {wait}后再试")
