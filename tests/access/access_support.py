"""Real actors on a clean database (SQLite, then PostgreSQL): the credit office and two departments with keys, a
department user, an operator, an auditor, and an organisation's active account; one HTTP client per actor kind."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from due_process_support import World, org, world
from xinyong.access.actors import ActorKind
from xinyong.access.deps import DbSession, declare
from xinyong.accounts import service as accounts
from xinyong.accounts.models import SubjectAccount, User
from xinyong.accounts.sessions import start_session
from xinyong.subjects.models import Subject
from xinyong.web.app import create_app

PASSWORD = "correct horse 1"
LOGIN_HELPER = "/_test/session"


@dataclass
class Actors:
    w: World
    app: FastAPI
    subject: Subject
    account: SubjectAccount
    clerk: User
    operator: User
    auditor: User
    clients: dict[ActorKind, TestClient]


def _with_session_helper(app: FastAPI) -> FastAPI:
    """Starts a session for a user or account through accounts.sessions.start_session, the one way every login
    path takes (the organisation accounts' own login page is not part of this package)."""

    @app.post(LOGIN_HELPER, include_in_schema=False)
    @declare("session.login")
    def start(request: Request, db: DbSession, user_id: int = 0, account_id: int = 0) -> dict[str, Any]:
        start_session(db, request, user=db.get(User, user_id) if user_id else None,
                      account=db.get(SubjectAccount, account_id) if account_id else None)
        return {"ok": True}

    return app


def make_actors(db: Session) -> Iterator[Actors]:
    w = world(db)
    subject = org(db, "德州市主体账户测试有限公司")
    account = SubjectAccount(subject_id=subject.id, uscc=subject.uscc or "", password_hash="-",
                             legal_rep_name="张三", legal_rep_id_hash="0" * 64, status="active")
    db.add(account)
    clerk = accounts.create_user(db, "clerk", PASSWORD, dept_code="SCJG", role="dept")
    operator = accounts.create_user(db, "office", PASSWORD, dept_code="XYB", role="operator")
    auditor = accounts.create_user(db, "auditor", PASSWORD, role="auditor")
    db.commit()
    app = _with_session_helper(create_app())
    clients: dict[ActorKind, TestClient] = {}
    for kind in (ActorKind.ANONYMOUS, ActorKind.SUBJECT, ActorKind.DEPT_KEY, ActorKind.DEPT_USER,
                 ActorKind.OPERATOR, ActorKind.AUDITOR):
        c = TestClient(app)
        if kind is ActorKind.DEPT_KEY:
            c.headers["Authorization"] = "Bearer " + w.scjg_key
        login = {ActorKind.SUBJECT: {"account_id": account.id}, ActorKind.DEPT_USER: {"user_id": clerk.id},
                 ActorKind.OPERATOR: {"user_id": operator.id}, ActorKind.AUDITOR: {"user_id": auditor.id}}.get(kind)
        if login is not None:
            assert c.post(LOGIN_HELPER, params=login).status_code == 200
        clients[kind] = c
    yield Actors(w, app, subject, account, clerk, operator, auditor, clients)
    for c in clients.values():
        c.close()
