"""The demo's two years of history: every case domain in every state of its life cycle, the /admin pages filled."""

from __future__ import annotations

from datetime import date
from typing import Any

from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.commitments.models import Commitment
from xinyong.commitments.rules import State as CommitmentState
from xinyong.complaints.models import Complaint
from xinyong.complaints.rules import State as ComplaintState
from xinyong.demo.cli import run_demo
from xinyong.joint.models import JointTask
from xinyong.joint.rules import TaskState
from xinyong.lists.models import ListEntry
from xinyong.lists.rules import State as EntryState
from xinyong.objections.models import Objection
from xinyong.objections.rules import State as ObjectionState
from xinyong.repair.models import RepairApplication
from xinyong.repair.rules import State as RepairState
from xinyong.stats.quality_models import QualityIssue
from xinyong.stats.quality_rules import STATES as QUALITY_STATES

TODAY = date(2026, 12, 4)


def states(db: Session, model: Any) -> set[str]:
    return set(db.scalars(select(model.state).distinct()))


def test_history_leaves_every_domain_in_every_state_and_the_admin_pages_alive(db: Session, client: Any) -> None:
    result = run_demo(subjects=400, seed=3, console=Console(stderr=True, quiet=True), today=TODAY)
    assert result["loaded"]["accepted"] > 0
    expected = {ListEntry: {s.value for s in EntryState}, JointTask: {s.value for s in TaskState},
                Objection: {s.value for s in ObjectionState}, RepairApplication: {s.value for s in RepairState},
                Complaint: {s.value for s in ComplaintState}, Commitment: {s.value for s in CommitmentState},
                QualityIssue: set(QUALITY_STATES)}
    for model, wanted in expected.items():
        assert wanted <= states(db, model), (model.__tablename__, wanted - states(db, model))
    # two years of dates: entries decided in the first and in the last months
    days = list(db.scalars(select(ListEntry.decision_date)))
    assert min(days) <= date(2025, 2, 1) and max(days) >= date(2026, 11, 1)
    # joint feedback on time, late and missing
    late = set(db.scalars(select(JointTask.feedback_late).where(JointTask.feedback_at.is_not(None)).distinct()))
    assert late == {True, False}
    assert db.scalars(select(JointTask.id).where(JointTask.state == "overdue")).first() is not None
    # /admin: the office sees every queue filled
    r = client.post("/admin/login", data={"username": "admin", "password": "admin12345"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    for page in ("/admin/quality", "/admin/joint", "/admin/objections", "/admin/repair", "/admin/complaints",
                 "/admin/commitments"):
        body = client.get(page)
        assert body.status_code == 200, page
        assert "暂无" not in body.text, page
    # a second run adds no second history
    before = len(list(db.scalars(select(ListEntry.id))))
    db.rollback()
    run_demo(subjects=400, seed=3, console=Console(stderr=True, quiet=True), today=TODAY)
    assert len(list(db.scalars(select(ListEntry.id)))) == before
