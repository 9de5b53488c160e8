"""Graded supervision: API (rosters, plans, draws and their verification, results, 诚信约谈), the portal's
抽查结果公示, /admin/inspections and /admin/interviews, and the interviews section of a subject's admin view."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xinyong.access.deps import AllowDept, AllowUser, DbSession, IdPath, declare
from xinyong.accounts.models import Department, User
from xinyong.catalog.service import get_catalog
from xinyong.core.clock import today as _today
from xinyong.core.errors import DomainError, Forbidden, Refused
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Subject
from xinyong.supervision import rules, service
from xinyong.supervision.config import get_schemes
from xinyong.supervision.schemas import (
    DrawIn,
    HoldIn,
    InspectorIn,
    InspectorOut,
    InspectorPatch,
    InterviewIn,
    InterviewOut,
    PlanIn,
    PlanOut,
    RectifiedIn,
    ResultIn,
)
from xinyong.ui.sections import SubjectSection, register_admin_link, register_subject_section
from xinyong.ui.templating import admin_context, render

router = APIRouter(tags=["分级分类监管"])
pages = APIRouter(include_in_schema=False)

PAGE_ROWS = 500


def _scheme_out(code: str) -> dict[str, Any]:
    s = get_schemes().get(code)
    return {"code": s.code, "name": s.name, "model": s.model, "departments": s.departments,
            "legal_basis": s.basis_text(),
            "grades": [{"grade": g.grade, "ratio": g.ratio, "ratio_text": g.ratio_text, "frequency": g.frequency,
                        "measures": [{"text": m.text, "legal_basis": m.basis_text()} for m in g.measures]}
                       for g in s.grades]}


@router.get("/inspection-schemes", summary="本部门适用的分级分类监管方案（各等级抽查比例、频次和措施）")
def list_schemes(dept: Annotated[Department, AllowDept("inspection.read")]) -> list[dict[str, Any]]:
    return [_scheme_out(s.code) for s in get_schemes().for_dept(dept.code, office=dept.is_credit_office)]


# ---------------------------------------------------------------- roster

@router.get("/inspectors", response_model=list[InspectorOut], summary="本部门执法检查人员名录")
def list_inspectors(db: DbSession, dept: Annotated[Department, AllowDept("inspection.read")]) -> list[dict[str, Any]]:
    return [service.inspector_out(i) for i in service.roster(db, dept.id)]


@router.post("/inspectors", status_code=201, response_model=InspectorOut, summary="添加执法检查人员")
def add_inspector(body: InspectorIn, db: DbSession,
                  dept: Annotated[Department, AllowDept("inspection.act")]) -> dict[str, Any]:
    return service.inspector_out(service.add_inspector(db, dept, actor=f"dept:{dept.code}", **body.model_dump()))


@router.patch("/inspectors/{inspector_id}", response_model=InspectorOut, summary="修改检查人员（在岗、回避设置）")
def update_inspector(inspector_id: IdPath, body: InspectorPatch, db: DbSession,
                     dept: Annotated[Department, AllowDept("inspection.act")]) -> dict[str, Any]:
    return service.inspector_out(service.update_inspector(db, dept, inspector_id, actor=f"dept:{dept.code}",
                                                          **body.model_dump()))


# ---------------------------------------------------------------- plans

@router.get("/inspections", response_model=list[PlanOut], summary="本部门的抽查计划")
def list_plans(db: DbSession, dept: Annotated[Department, AllowDept("inspection.read")],
               state: Annotated[str | None, Query(max_length=16)] = None) -> list[dict[str, Any]]:
    return [service.plan_out(db, p) for p in service.plans(db, dept, state=state)]


@router.post("/inspections", status_code=201, response_model=PlanOut, summary="制定抽查计划（草拟）")
def create_plan(body: PlanIn, db: DbSession, dept: Annotated[Department, AllowDept("inspection.act")]) -> dict[str, Any]:
    return service.plan_out(db, service.create_plan(db, dept, actor=f"dept:{dept.code}", **body.model_dump()))


@router.get("/inspections/{plan_no}", response_model=PlanOut, summary="抽查计划")
def read_plan(plan_no: str, db: DbSession, dept: Annotated[Department, AllowDept("inspection.read")]) -> dict[str, Any]:
    return service.plan_out(db, service.plan_for(db, dept, plan_no))


@router.post("/inspections/{plan_no}/draw", summary="按等级分层随机抽取检查对象并随机选派两名检查人员")
def draw(plan_no: str, body: DrawIn, db: DbSession,
         dept: Annotated[Department, AllowDept("inspection.act")]) -> dict[str, Any]:
    plan = service.plan_for(db, dept, plan_no)
    service.draw_plan(db, plan, actor=f"dept:{dept.code}", seed=body.seed)
    return service.draw_out(db, plan, check=False)


@router.get("/inspections/{plan_no}/draw", summary="抽取结果及复核（按保存的种子和输入重新计算）")
def read_draw(plan_no: str, db: DbSession, dept: Annotated[Department, AllowDept("inspection.read")]) -> dict[str, Any]:
    return service.draw_out(db, service.plan_for(db, dept, plan_no))


@router.post("/inspections/{plan_no}/results", response_model=PlanOut, summary="登记抽中对象的检查结果")
def record_result(plan_no: str, body: ResultIn, db: DbSession,
                  dept: Annotated[Department, AllowDept("inspection.act")]) -> dict[str, Any]:
    plan = service.plan_for(db, dept, plan_no)
    today = _today()
    service.record_result(db, plan, uscc=body.uscc, outcome=body.outcome, note=body.note, on=body.on or today,
                          today=today, actor=f"dept:{dept.code}")
    return service.plan_out(db, plan)


@router.post("/inspections/{plan_no}/publish", response_model=PlanOut,
             summary="公示检查结果（每条结果形成“行政检查结果信息”记录）")
def publish(plan_no: str, db: DbSession, dept: Annotated[Department, AllowDept("inspection.act")]) -> dict[str, Any]:
    plan = service.plan_for(db, dept, plan_no)
    return service.plan_out(db, service.publish(db, plan, today=_today(), actor=f"dept:{dept.code}"))


@router.post("/inspections/{plan_no}/close", response_model=PlanOut, summary="结束抽查计划")
def close(plan_no: str, db: DbSession, dept: Annotated[Department, AllowDept("inspection.act")]) -> dict[str, Any]:
    plan = service.plan_for(db, dept, plan_no)
    return service.plan_out(db, service.close(db, plan, today=_today(), actor=f"dept:{dept.code}"))


@router.get("/public/inspections", summary="抽查结果公示：已公示的抽查计划")
@declare("public.read")
def public_plans(db: DbSession) -> list[dict[str, Any]]:
    return [service.plan_out(db, p) for p in service.published_plans(db)]


@router.get("/public/inspections/{plan_no}", summary="抽查结果公示：一项计划的检查结果")
@declare("public.read")
def public_results(plan_no: str, db: DbSession) -> dict[str, Any]:
    plan, rows = service.public_results(db, plan_no)
    return {"plan": service.plan_out(db, plan), "results": rows}


# ---------------------------------------------------------------- 诚信约谈

@router.get("/interviews", response_model=list[InterviewOut], summary="本部门的诚信约谈")
def list_interviews(db: DbSession, dept: Annotated[Department, AllowDept("interview.read")],
                    state: Annotated[str | None, Query(max_length=16)] = None) -> list[dict[str, Any]]:
    return [service.interview_out(db, i) for i in service.interviews(db, dept, state=state)]


@router.post("/interviews", status_code=201, response_model=InterviewOut, summary="安排诚信约谈（较低等级或失信名单主体）")
def schedule(body: InterviewIn, db: DbSession, dept: Annotated[Department, AllowDept("interview.act")]) -> dict[str, Any]:
    iv = service.schedule_interview(db, dept, actor=f"dept:{dept.code}", today=_today(), **body.model_dump())
    return service.interview_out(db, iv)


@router.get("/interviews/{interview_no}", response_model=InterviewOut, summary="诚信约谈")
def read_interview(interview_no: str, db: DbSession,
                   dept: Annotated[Department, AllowDept("interview.read")]) -> dict[str, Any]:
    return service.interview_out(db, service.get_interview(db, dept, interview_no))


@router.post("/interviews/{interview_no}/hold", response_model=InterviewOut, summary="登记约谈情况和整改承诺")
def hold(interview_no: str, body: HoldIn, db: DbSession,
         dept: Annotated[Department, AllowDept("interview.act")]) -> dict[str, Any]:
    iv = service.get_interview(db, dept, interview_no)
    today = _today()
    service.hold_interview(db, iv, outcome=body.outcome, held_on=body.held_on or today, today=today,
                           rectification=body.rectification, deadline=body.deadline, actor=f"dept:{dept.code}")
    return service.interview_out(db, iv)


@router.post("/interviews/{interview_no}/rectified", response_model=InterviewOut, summary="确认整改完成")
def rectified(interview_no: str, body: RectifiedIn, db: DbSession,
              dept: Annotated[Department, AllowDept("interview.act")]) -> dict[str, Any]:
    iv = service.get_interview(db, dept, interview_no)
    today = _today()
    service.mark_rectified(db, iv, on=body.on or today, today=today, actor=f"dept:{dept.code}")
    return service.interview_out(db, iv)


@router.post("/interviews/{interview_no}/cancel", response_model=InterviewOut, summary="取消约谈")
def cancel(interview_no: str, db: DbSession, dept: Annotated[Department, AllowDept("interview.act")]) -> dict[str, Any]:
    iv = service.get_interview(db, dept, interview_no)
    service.cancel_interview(db, iv, actor=f"dept:{dept.code}")
    return service.interview_out(db, iv)


# ---------------------------------------------------------------- portal: 抽查结果公示

@pages.get("/inspections", response_class=HTMLResponse)
@declare("public.read")
def portal_plans(request: Request, db: DbSession) -> Response:
    return render(request, "supervision/public.html",
                  {"plans": [service.plan_out(db, p) for p in service.published_plans(db)]})


@pages.get("/inspections/{plan_no}", response_class=HTMLResponse)
@declare("public.read")
def portal_results(request: Request, plan_no: str, db: DbSession) -> Response:
    plan, rows = service.public_results(db, plan_no)
    return render(request, "supervision/public_plan.html", {"plan": service.plan_out(db, plan), "rows": rows})


# ---------------------------------------------------------------- subject's admin view

def _section(session: Session, subject: Subject, audience: str, today: date) -> SubjectSection | None:
    if audience == "public":
        return None  # interviews are a department's supervision matter, not public
    rows = [{"cells": {"约谈编号": x["interview_no"], "部门": x["department"], "事由": x["reason"],
                       "约谈时间": x["scheduled_at"], "整改期限": x["deadline"] or "—"},
             "badge": x["state_label"]}
            for x in (service.interview_out(session, i) for i in service.interviews(session, None, subject_id=subject.id))]
    return SubjectSection(key="interviews", title="诚信约谈", rows=rows,
                          columns=["约谈编号", "部门", "事由", "约谈时间", "整改期限"], empty_text="暂无诚信约谈")


register_subject_section(70, "interviews", _section)


# ---------------------------------------------------------------- /admin/inspections

register_admin_link(50, "/admin/inspections", "双随机抽查", action="admin.inspections.read")
register_admin_link(51, "/admin/interviews", "诚信约谈", action="admin.interviews.read")


def _dept(db: Session, user: User) -> Department:
    dept = db.get(Department, user.dept_id) if user.dept_id else None
    if dept is None:
        raise Forbidden("您的账号未关联部门；请联系信用办")
    return dept


def _actor(user: User) -> str:
    return f"user:{user.username}"


def _split(text: str) -> list[str]:
    return [p for p in text.replace("，", ",").replace("、", ",").replace(" ", ",").split(",") if p.strip()]


def _plans_page(request: Request, db: Session, user: User, *, error: str | None = None, status: int = 200,
                form: dict[str, str] | None = None) -> Response:
    dept = _dept(db, user)
    ctx = admin_context(request, user, dept=dept, error=error, form=form or {},
                        plans=[service.plan_out(db, p) for p in service.plans(db, dept)],
                        inspectors=[service.inspector_out(i) for i in service.roster(db, dept.id)],
                        schemes=get_schemes().for_dept(dept.code, office=dept.is_credit_office),
                        items=sorted(get_catalog().items))
    return render(request, "supervision/admin.html", ctx, status_code=status)


@pages.get("/admin/inspections", response_class=HTMLResponse)
def admin_plans(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.inspections.read")]) -> Response:
    return _plans_page(request, db, user)


def _date(value: str, label: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Refused(f"{label}“{value[:20]}”不是有效日期，格式如 2026-03-05") from None


@pages.post("/admin/inspections", response_class=HTMLResponse)
def admin_create_plan(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.inspections.act")],
                      name: Annotated[str, Form(max_length=200)], scheme: Annotated[str, Form(max_length=64)],
                      period_start: Annotated[str, Form(max_length=20)], period_end: Annotated[str, Form(max_length=20)],
                      items: Annotated[str, Form(max_length=2000)] = "", regions: Annotated[str, Form(max_length=500)] = "",
                      size: Annotated[str, Form(max_length=10)] = "") -> Response:
    form = {"name": name, "scheme": scheme, "period_start": period_start, "period_end": period_end, "items": items,
            "regions": regions, "size": size}
    try:
        if size.strip() and not size.strip().isdigit():
            raise Refused("抽取数量应为正整数；不填则按方案各等级比例抽取")
        with db.begin_nested():
            plan = service.create_plan(db, _dept(db, user), name=name, scheme=scheme,
                                       period_start=_date(period_start, "开始日期"), period_end=_date(period_end, "结束日期"),
                                       items=_split(items), regions=_split(regions),
                                       size=int(size) if size.strip() else None, actor=_actor(user))
    except DomainError as exc:
        return _plans_page(request, db, user, error=exc.detail, status=exc.status, form=form)
    return RedirectResponse(f"/admin/inspections/{plan.plan_no}", status_code=303)


@pages.post("/admin/inspections/inspectors", response_class=HTMLResponse)
def admin_add_inspector(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.inspections.act")],
                        name: Annotated[str, Form(max_length=100)], badge_no: Annotated[str, Form(max_length=64)],
                        conflict_usccs: Annotated[str, Form(max_length=4000)] = "",
                        conflict_regions: Annotated[str, Form(max_length=500)] = "") -> Response:
    try:
        with db.begin_nested():
            service.add_inspector(db, _dept(db, user), name=name, badge_no=badge_no,
                                  conflict_usccs=_split(conflict_usccs), conflict_regions=_split(conflict_regions),
                                  actor=_actor(user))
    except DomainError as exc:
        return _plans_page(request, db, user, error=exc.detail, status=exc.status)
    return RedirectResponse("/admin/inspections#roster", status_code=303)


@pages.post("/admin/inspections/inspectors/{inspector_id}", response_class=HTMLResponse)
def admin_update_inspector(request: Request, inspector_id: IdPath, db: DbSession,
                           user: Annotated[User, AllowUser("admin.inspections.act")],
                           active: Annotated[str, Form(max_length=5)] = "",
                           conflict_usccs: Annotated[str, Form(max_length=4000)] = "",
                           conflict_regions: Annotated[str, Form(max_length=500)] = "") -> Response:
    try:
        with db.begin_nested():
            service.update_inspector(db, _dept(db, user), inspector_id, active=active == "yes",
                                     conflict_usccs=_split(conflict_usccs), conflict_regions=_split(conflict_regions),
                                     actor=_actor(user))
    except DomainError as exc:
        return _plans_page(request, db, user, error=exc.detail, status=exc.status)
    return RedirectResponse("/admin/inspections#roster", status_code=303)


def _plan_page(request: Request, db: Session, user: User, plan_no: str, *, error: str | None = None,
               status: int = 200) -> Response:
    dept = _dept(db, user)
    plan = service.plan_for(db, dept, plan_no)
    draw = service.draw_out(db, plan) if plan.state != rules.PlanState.DRAFT.value else None
    ctx = admin_context(request, user, dept=dept, plan=service.plan_out(db, plan), draw=draw, error=error,
                        outcomes=rules.OUTCOMES, page_rows=PAGE_ROWS,
                        scheme=_scheme_out(plan.scheme) if plan.scheme in get_schemes().items else None)
    return render(request, "supervision/plan.html", ctx, status_code=status)


@pages.get("/admin/inspections/{plan_no}", response_class=HTMLResponse)
def admin_plan(request: Request, plan_no: str, db: DbSession,
               user: Annotated[User, AllowUser("admin.inspections.read")]) -> Response:
    return _plan_page(request, db, user, plan_no)


@pages.post("/admin/inspections/{plan_no}/{action}", response_class=HTMLResponse)
def admin_plan_action(request: Request, plan_no: str, action: str, db: DbSession,
                      user: Annotated[User, AllowUser("admin.inspections.act")],
                      uscc: Annotated[str, Form(max_length=40)] = "", outcome: Annotated[str, Form(max_length=16)] = "",
                      note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    dept = _dept(db, user)
    today = _today()
    try:
        with db.begin_nested():
            plan = service.plan_for(db, dept, plan_no)
            if action == "draw":
                service.draw_plan(db, plan, actor=_actor(user))
            elif action == "results":
                service.record_result(db, plan, uscc=uscc, outcome=outcome, note=note, on=today, today=today,
                                      actor=_actor(user))
            elif action == "publish":
                service.publish(db, plan, today=today, actor=_actor(user))
            elif action == "close":
                service.close(db, plan, today=today, actor=_actor(user))
            else:
                raise Refused(f"不支持的操作“{action[:20]}”")
    except DomainError as exc:
        return _plan_page(request, db, user, plan_no, error=exc.detail, status=exc.status)
    return RedirectResponse(f"/admin/inspections/{plan.plan_no}", status_code=303)


# ---------------------------------------------------------------- /admin/interviews

def _interviews_page(request: Request, db: Session, user: User, *, uscc: str = "", error: str | None = None,
                     status: int = 200, form: dict[str, str] | None = None) -> Response:
    dept = _dept(db, user)
    subject = subjects.find_by_uscc(db, uscc.strip().upper()) if uscc.strip() else None
    rows = [service.interview_out(db, i) for i in service.interviews(
        db, dept, subject_id=subject.id if subject else (-1 if uscc.strip() else None))]
    ctx = admin_context(request, user, dept=dept, rows=rows, error=error, form=form or {"uscc": uscc}, uscc=uscc,
                        subject=subject, labels=rules.INTERVIEW_LABELS)
    return render(request, "supervision/interviews.html", ctx, status_code=status)


@pages.get("/admin/interviews", response_class=HTMLResponse)
def admin_interviews(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.interviews.read")],
                     uscc: Annotated[str, Query(max_length=40)] = "") -> Response:
    return _interviews_page(request, db, user, uscc=uscc)


@pages.post("/admin/interviews", response_class=HTMLResponse)
def admin_schedule(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.interviews.act")],
                   uscc: Annotated[str, Form(max_length=40)], reason: Annotated[str, Form(max_length=2000)],
                   legal_basis: Annotated[str, Form(max_length=2000)], day: Annotated[str, Form(max_length=20)],
                   hour: Annotated[int, Form(ge=0, le=23)], place: Annotated[str, Form(max_length=200)]) -> Response:
    form = {"uscc": uscc, "reason": reason, "legal_basis": legal_basis, "day": day, "place": place}
    try:
        when = datetime.combine(_date(day, "约谈日期"), time(hour))
        with db.begin_nested():
            service.schedule_interview(db, _dept(db, user), uscc=uscc, reason=reason, legal_basis=legal_basis,
                                       scheduled_at=when, place=place, today=_today(), actor=_actor(user))
    except DomainError as exc:
        return _interviews_page(request, db, user, error=exc.detail, status=exc.status, form=form)
    return RedirectResponse("/admin/interviews", status_code=303)


@pages.post("/admin/interviews/{interview_no}/{action}", response_class=HTMLResponse)
def admin_interview_action(request: Request, interview_no: str, action: str, db: DbSession,
                           user: Annotated[User, AllowUser("admin.interviews.act")],
                           outcome: Annotated[str, Form(max_length=4000)] = "",
                           rectification: Annotated[str, Form(max_length=4000)] = "",
                           deadline: Annotated[str, Form(max_length=20)] = "") -> Response:
    today = _today()
    try:
        with db.begin_nested():
            iv = service.get_interview(db, _dept(db, user), interview_no)
            if action == "hold":
                service.hold_interview(db, iv, outcome=outcome, held_on=today, today=today,
                                       rectification=rectification,
                                       deadline=_date(deadline, "整改期限") if deadline.strip() else None,
                                       actor=_actor(user))
            elif action == "rectified":
                service.mark_rectified(db, iv, on=today, today=today, actor=_actor(user))
            elif action == "cancel":
                service.cancel_interview(db, iv, actor=_actor(user))
            else:
                raise Refused(f"不支持的操作“{action[:20]}”")
    except DomainError as exc:
        return _interviews_page(request, db, user, error=exc.detail, status=exc.status)
    return RedirectResponse("/admin/interviews", status_code=303)


