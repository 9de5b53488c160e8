"""The list entry state machine, term limits and who may act. Pure functions, no database.

proposed → notified → published → exited, with suspended (while an objection is verified) and revoked.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from xinyong.core.errors import Forbidden, RuleViolation


class State(StrEnum):
    PROPOSED = "proposed"
    NOTIFIED = "notified"
    PUBLISHED = "published"
    SUSPENDED = "suspended"
    EXITED = "exited"
    REVOKED = "revoked"


STATE_LABELS: dict[str, str] = {
    State.PROPOSED: "拟列入",
    State.NOTIFIED: "已告知",
    State.PUBLISHED: "已公示",
    State.SUSPENDED: "异议中暂停",
    State.EXITED: "已移出",
    State.REVOKED: "已撤销",
}

TRANSITIONS: dict[State, frozenset[State]] = {
    State.PROPOSED: frozenset({State.NOTIFIED, State.REVOKED}),
    State.NOTIFIED: frozenset({State.PUBLISHED, State.REVOKED}),
    State.PUBLISHED: frozenset({State.SUSPENDED, State.EXITED, State.REVOKED}),
    State.SUSPENDED: frozenset({State.PUBLISHED, State.EXITED, State.REVOKED}),
    # An entry that has left the list can still turn out to rest on a decision that is later revoked.
    State.EXITED: frozenset({State.REVOKED}),
    State.REVOKED: frozenset(),
}

# States in which the entry binds implementing departments (measures in force or suspended).
ACTIVE = frozenset({State.PUBLISHED, State.SUSPENDED})

_VERBS: dict[State, str] = {
    State.NOTIFIED: "登记告知",
    State.PUBLISHED: "公示",
    State.SUSPENDED: "暂停",
    State.EXITED: "移出",
    State.REVOKED: "撤销",
}


@dataclass(frozen=True)
class EntryFacts:
    state: State
    notified_at: date | None = None
    notify_channel: str | None = None


def check_transition(entry: EntryFacts, to: State, today: date) -> None:
    """Raise RuleViolation (with a Chinese reason and the rule's name) unless entry may move to `to`."""
    if to == State.PUBLISHED and entry.state == State.PROPOSED:
        raise RuleViolation("未告知当事人，不得公示：请先登记告知日期和告知方式（notify），再公示",
                            rule="notify_before_publish")
    if to not in TRANSITIONS[entry.state]:
        if to == State.PUBLISHED and entry.state == State.PUBLISHED:
            detail = "该名单信息已公示，无需重复公示"
        elif to == State.PUBLISHED and entry.state in (State.EXITED, State.REVOKED):
            detail = f"该名单信息已{STATE_LABELS[entry.state][1:]}，不能再公示；如需重新列入，请另行提出"
        elif entry.state == State.REVOKED:
            detail = "该名单信息已撤销，不能再变更状态"
        else:
            detail = (f"名单信息当前状态为“{STATE_LABELS[entry.state]}”，不能{_VERBS.get(to, '转为' + STATE_LABELS[to])}"
                      f"（允许的下一步：{'、'.join(STATE_LABELS[s] for s in sorted(TRANSITIONS[entry.state])) or '无'}）")
        raise RuleViolation(detail, rule="entry_transition")
    if to == State.PUBLISHED and entry.state == State.NOTIFIED:
        if entry.notified_at is None or not entry.notify_channel:
            raise RuleViolation("未告知当事人，不得公示：告知日期或告知方式缺失", rule="notify_before_publish")
        if entry.notified_at > today:
            raise RuleViolation(f"告知日期 {entry.notified_at} 晚于今天，告知完成后才能公示", rule="notify_before_publish")


def check_notice(notified_at: date, channel: str, today: date) -> None:
    if not channel.strip():
        raise RuleViolation("请填写告知方式（如直接送达、邮寄送达、电子送达、公告送达）", rule="notice_channel")
    if notified_at > today:
        raise RuleViolation(f"告知日期 {notified_at} 不能晚于今天 {today}", rule="notice_date")


def add_months(start: date, months: int) -> date:
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def default_term_end(decision_date: date, default_months: int) -> date:
    return add_months(decision_date, default_months)


def check_term(decision_date: date, term_end: date, max_months: int, list_name: str) -> None:
    """The term runs from the decision date and may not exceed the list type's maximum."""
    if term_end <= decision_date:
        raise RuleViolation(f"期限截止日 {term_end} 应晚于认定日期 {decision_date}", rule="term_order")
    latest = add_months(decision_date, max_months)
    if term_end > latest:
        raise RuleViolation(
            f"期限超过“{list_name}”规定的最长期限 {max_months} 个月：自认定日期 {decision_date} 起最迟至 {latest}"
            f"（收到 {term_end}），请缩短期限", rule="term_max")


def check_initiator(dept_code: str, initiators: list[str], list_name: str) -> None:
    if dept_code not in initiators:
        raise Forbidden(f"本部门（{dept_code}）不是“{list_name}”的认定部门，无权提出列入；"
                        f"可提出列入的部门：{'、'.join(initiators)}", rule="initiator")


def check_persons_allowed(allowed: bool, count: int, list_name: str) -> None:
    if count and not allowed:
        raise RuleViolation(f"“{list_name}”不关联法定代表人、主要负责人等责任人员，请去掉 persons",
                            rule="responsible_persons")


def publicly_listed(state: str, list_public: bool, term_end: date, today: date) -> bool:
    """Shown on the portal: published, of a public list type, inside its term (the last day included)."""
    return state == State.PUBLISHED and list_public and today <= term_end


def expired(state: str, term_end: date, today: date) -> bool:
    """The daily job moves an entry out the day after its term ends."""
    return state in ACTIVE and today > term_end


def outcome_for_record(state: State, record_revoked: bool) -> State | None:
    """What an entry becomes when the record it rests on is repaired (False) or revoked (True)."""
    if state in (State.PROPOSED, State.NOTIFIED):
        return State.REVOKED
    if state in ACTIVE:
        return State.REVOKED if record_revoked else State.EXITED
    if state == State.EXITED and record_revoked:
        return State.REVOKED
    return None
