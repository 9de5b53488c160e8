"""Extension points for pages that several domains contribute to.

A domain registers a section provider for the subject page (portal) and the credit report:
    register_subject_section(order, provider)
where provider(session, subject, audience, today) returns None or a SubjectSection.
This keeps dependencies one way: neither web nor the domains that show sections (reports) import the domains
that contribute them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from xinyong.subjects.models import Subject


@dataclass
class SubjectSection:
    key: str                 # e.g. "lists", "commitments"
    title: str               # Chinese heading
    rows: list[dict[str, Any]] = field(default_factory=list)   # each row: {"cells": {label: value}, "badge": str|None}
    columns: list[str] = field(default_factory=list)            # labels in order
    empty_text: str = "暂无"


Provider = Callable[[Session, "Subject", str, date], "SubjectSection | None"]
_providers: list[tuple[int, str, Provider]] = []


def register_subject_section(order: int, key: str, provider: Provider) -> None:
    global _providers
    _providers = [p for p in _providers if p[1] != key]
    _providers.append((order, key, provider))
    _providers.sort(key=lambda p: p[0])


def subject_sections(session: Session, subject: Subject, audience: str, today: date) -> list[SubjectSection]:
    out = []
    for _, _, provider in _providers:
        section = provider(session, subject, audience, today)
        if section is not None:
            out.append(section)
    return out


# Admin menu entries contributed by domains: (order, href, label, roles)
_admin_menu: list[tuple[int, str, str, tuple[str, ...]]] = []


def register_admin_link(order: int, href: str, label: str, roles: tuple[str, ...] = ("operator", "dept", "auditor")) -> None:
    if all(entry[1] != href for entry in _admin_menu):
        _admin_menu.append((order, href, label, roles))
        _admin_menu.sort()


def admin_menu(role: str) -> list[tuple[str, str]]:
    return [(href, label) for _, href, label, roles in _admin_menu if role in roles]
