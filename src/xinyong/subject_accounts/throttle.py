"""Login throttling of subject accounts: the platform's one login throttle (`core/throttle.py`, on `limits`),
with failures counted per account ("account:<uscc>") and per address, like the staff login's.

Only failures are counted, so a firm that logs in correctly is never slowed down.
"""

from __future__ import annotations

from xinyong.core.throttle import LOGIN_BY_ACCOUNT, LOGIN_BY_ADDRESS, TooManyRequests, reset_throttles

Throttled = TooManyRequests
reset = reset_throttles
PER_ACCOUNT = LOGIN_BY_ACCOUNT.item  # failures tolerated per account in the window
PER_ADDRESS = LOGIN_BY_ADDRESS.item


def check(account_key: str, address: str) -> None:
    """Refuse (429) before the password is even compared when the account or the address failed too often."""
    LOGIN_BY_ACCOUNT.check(f"account:{account_key}")
    LOGIN_BY_ADDRESS.check(address)


def failed(account_key: str, address: str) -> None:
    LOGIN_BY_ACCOUNT.count(f"account:{account_key}")
    LOGIN_BY_ADDRESS.count(address)
