"""Credit commitments: the state machine (signed → fulfilled | breached), who records the outcome, and the
rendering of a template's text. Pure functions, no database."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from string import Formatter

from xinyong.core.errors import Forbidden, Refused, RuleViolation


class State(StrEnum):
    SIGNED = "signed"
    FULFILLED = "fulfilled"
    BREACHED = "breached"


STATE_LABELS: dict[str, str] = {State.SIGNED: "已承诺", State.FULFILLED: "已履约", State.BREACHED: "违诺"}

TRANSITIONS: dict[State, frozenset[State]] = {
    State.SIGNED: frozenset({State.FULFILLED, State.BREACHED}),
    State.FULFILLED: frozenset(),
    State.BREACHED: frozenset(),
}

# The 履约情况 value a breach carries into the credit record (catalog item credit_commitment).
BREACH_PERFORMANCE = "违诺"


def check_transition(current: State, to: State) -> None:
    if to not in TRANSITIONS[current]:
        raise RuleViolation(f"承诺当前为“{STATE_LABELS[current]}”，不能再登记为“{STATE_LABELS[to]}”；"
                            "履约或违诺只能对尚未登记结果的承诺登记一次", rule="commitment_transition")


def check_recorder(is_office: bool, is_acceptor: bool, has_acceptor: bool) -> None:
    """The accepting department records the outcome; the credit office does so for commitments without one."""
    if is_acceptor or (is_office and not has_acceptor):
        return
    if has_acceptor:
        raise Forbidden("只有受理该承诺的部门可以登记履约或违诺情况", rule="commitment_recorder")
    raise Forbidden("该承诺没有受理部门，由信用办登记履约或违诺情况", rule="commitment_recorder")


def placeholders(template: str) -> list[str]:
    return [name for _, name, _, _ in Formatter().parse(template) if name]


def render(template: str, values: dict[str, str]) -> str:
    """The commitment text with every placeholder filled; a missing or empty value is refused."""
    missing = [p for p in placeholders(template) if not str(values.get(p, "")).strip()]
    if missing:
        raise Refused(f"承诺书缺少以下内容：{'、'.join(missing)}，请补充后重新签署")
    return template.format(**{p: str(values[p]).strip() for p in placeholders(template)})


def text_hash(text: str) -> str:
    """SHA-256 of the signed text: later changes to a template never alter what was signed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
