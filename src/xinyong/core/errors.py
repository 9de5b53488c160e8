"""Domain errors. One handler in web/ turns them into Problem Details (RFC 9457) with a Chinese detail."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    title = "请求无法处理"

    def __init__(self, detail: str, *, rule: str | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.rule = rule
        self.extra = extra or {}


class NotFound(DomainError):
    status = 404
    title = "未找到"


class Unauthorized(DomainError):
    status = 401
    title = "未认证"


class Forbidden(DomainError):
    status = 403
    title = "无权操作"


class Refused(DomainError):
    """Input that cannot be accepted as a whole (a file, a request body)."""

    status = 422
    title = "内容不符合要求"


class RuleViolation(DomainError):
    """A legal rule or a state machine refuses the change."""

    status = 409
    title = "不符合规则"


class TooLarge(DomainError):
    status = 413
    title = "内容过大"
