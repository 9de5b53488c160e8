"""Login throttling of subject accounts: failures counted per account and per address (the `limits` library).

Counted in this process's memory (moving windows); a restart forgets them, which only gives an attacker a few
more tries per restart. Only failures are counted, so a firm that logs in correctly is never slowed down.
"""

from __future__ import annotations

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from xinyong.core.errors import DomainError

# Wrong passwords (or activation codes) tolerated before the account, or the address, must wait.
PER_ACCOUNT: RateLimitItem = parse("5/15 minutes")
PER_ADDRESS: RateLimitItem = parse("20/15 minutes")

_storage = MemoryStorage()
_limiter = MovingWindowRateLimiter(_storage)


class Throttled(DomainError):
    status = 429
    title = "尝试次数过多"


def check(account_key: str, address: str) -> None:
    """Refuse before the password is even compared when either the account or the address has failed too often."""
    if not _limiter.test(PER_ACCOUNT, "account", account_key):
        raise Throttled("该账户连续登录失败次数过多，已暂停登录 15 分钟；忘记密码请联系信用办重置",
                        rule="account.throttled")
    if not _limiter.test(PER_ADDRESS, "address", address):
        raise Throttled("本机登录失败次数过多，请 15 分钟后再试", rule="account.throttled")


def failed(account_key: str, address: str) -> None:
    _limiter.hit(PER_ACCOUNT, "account", account_key)
    _limiter.hit(PER_ADDRESS, "address", address)


def reset() -> None:
    """Forget every count (tests; an operator's restart does the same)."""
    _storage.reset()
