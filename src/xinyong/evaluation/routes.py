"""公共信用综合评价: the models and a subject's evaluation (API), /admin/evaluation (runs, distributions,
migrations, a subject's explanation), and the evaluation section of the subject page and the credit report."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xinyong.access.actors import Actor, ActorKind
from xinyong.access.deps import Allow, AllowUser, DbSession
from xinyong.accounts.models import User
from xinyong.checks import service as checks_service
from xinyong.core.errors import Forbidden, NotFound
from xinyong.evaluation import grades, service
from xinyong.evaluation.config import get_model, get_models
from xinyong.evaluation.schemas import EvaluationOut, ModelOut
from xinyong.subjects.models import Subject
from xinyong.subjects.service import find_by_uscc, get_by_uscc
from xinyong.ui.sections import SubjectSection, register_admin_link, register_subject_section
from xinyong.ui.templating import admin_context, render

router = APIRouter(tags=["公共信用综合评价"])
pages = APIRouter(include_in_schema=False)

ModelQuery = Annotated[str, Query(max_length=64, description="评价模型代码")]


@router.get("/evaluation/models", response_model=list[ModelOut], summary="评价模型")
def list_models(_actor: Annotated[Actor, Allow("evaluation.models")]) -> list[ModelOut]:
    return service.model_list()


@router.get("/subjects/{uscc}/evaluation", response_model=EvaluationOut,
            summary="主体的当前评价结果（部门密钥或本单位账户）")
def subject_evaluation(uscc: str, db: DbSession, actor: Annotated[Actor, Allow("evaluation.subject")],
                       model: ModelQuery = grades.COMPREHENSIVE) -> dict[str, Any]:
    get_model(model)
    subject = find_by_uscc(db, uscc.strip().upper())
    if subject is None:
        raise NotFound(f"未找到统一社会信用代码为 {uscc[:18]} 的主体，请核对代码")
    if actor.kind == ActorKind.SUBJECT and actor.subject_id != subject.id:
        raise Forbidden("只能查看本单位的评价结果")
    expl = service.explanation(db, subject.id, model)
    if expl is None:
        raise NotFound("该主体尚未参加此模型的评价（不在评价范围内，或评价尚未运行）",
                       rule="evaluation.not_evaluated")
    return {"uscc": subject.uscc, "model": expl["model"], "model_name": expl["model_name"],
            "version": expl["version"], "grade": expl["grade"], "score": expl["score"], "as_of": expl["as_of"],
            "run_id": expl["run_id"], "override": expl["override_name"], "measures": expl["measures"],
            "contributions": [{k: r[k] for k in ("indicator", "name", "path", "direction", "points", "facts")}
                              for r in expl["contributions"]]}


# ---------------------------------------------------------------- /admin/evaluation

register_admin_link(47, "/admin/evaluation", "综合评价", action="admin.evaluation.read")


@pages.get("/admin/evaluation", response_class=HTMLResponse)
def admin_page(request: Request, db: DbSession, user: Annotated[User, AllowUser("admin.evaluation.read")],
               model: ModelQuery = grades.COMPREHENSIVE) -> Response:
    models = service.model_list()
    chosen = get_model(model).model
    history = service.runs(db, model)
    last = next((r for r in history if r.state == "done"), None)
    migrations = json.loads(last.migrations) if last else []
    return render(request, "evaluation/admin.html", admin_context(
        request, user, models=models, model=chosen, runs=history, last=last,
        run_grades={r.id: json.loads(r.grades or "{}") for r in history},
        migrations=[m for m in migrations if m[0] != m[1]], order=chosen.grade_order,
        by_region=service.distribution(db, model, "region"), by_kind=service.distribution(db, model, "kind")))


@pages.get("/admin/evaluation/subject", response_class=HTMLResponse)
def admin_subject_lookup(db: DbSession, user: Annotated[User, AllowUser("admin.evaluation.read")],
                         uscc: Annotated[str, Query(max_length=18)]) -> Response:
    subject = get_by_uscc(db, uscc.strip().upper())
    return RedirectResponse(f"/admin/evaluation/subjects/{subject.uscc}", status_code=303)


@pages.get("/admin/evaluation/subjects/{uscc}", response_class=HTMLResponse)
def admin_subject(request: Request, uscc: str, db: DbSession,
                  user: Annotated[User, AllowUser("admin.evaluation.read")]) -> Response:
    subject = get_by_uscc(db, uscc.strip().upper())
    results = [(lm.model, service.explanation(db, subject.id, mid)) for mid, lm in sorted(get_models().items())]
    return render(request, "evaluation/subject.html", admin_context(request, user, subject=subject, results=results))


# ---------------------------------------------------------------- subject page and credit report


def _section(session: Session, subject: Subject, audience: str, today: date) -> SubjectSection | None:
    if subject.kind == "natural_person":
        return None
    rows = []
    for mid, lm in sorted(get_models().items()):
        if audience == "public" and not lm.model.public:
            continue  # grades go to departments and the subject itself unless the model says otherwise
        expl = service.explanation(session, subject.id, mid)
        if expl is None:
            continue
        rows.append({"cells": {"评价模型": f"{expl['model_name']}（{expl['version']}）", "等级": expl["grade"],
                               "得分": f"{expl['score']:g}", "评价基准日": expl["as_of"],
                               "主要影响因素": "；".join(service.top_movers(expl)) or (
                                   f"直接判级：{expl['override_name']}" if expl["override_name"] else "无加减分事项")},
                     "badge": expl["grade"]})
    if not rows:
        return None
    return SubjectSection(key="evaluation", title="公共信用综合评价", rows=rows,
                          columns=["评价模型", "等级", "得分", "评价基准日", "主要影响因素"], empty_text="暂无评价结果")


register_subject_section(35, "evaluation", _section)


# ---------------------------------------------------------------- credit checks carry the grade


def _grade_sql(ref: str) -> str:
    model = grades.COMPREHENSIVE
    return ("(SELECT c.grade || '|' || CAST(c.score AS VARCHAR(32)) || '|' || CAST(c.as_of AS VARCHAR(10)) || '|' || "
            "r.model_version FROM evaluation_current c JOIN evaluation_runs r ON r.id = c.run_id "
            f"WHERE c.model_id = '{model}' AND c.subject_id = {ref})")


def _grade_answer(grade: str, score: float, as_of: str, version: str) -> dict[str, Any] | None:
    lm = get_models().get(grades.COMPREHENSIVE)
    if lm is None:
        return None
    return {"model": lm.model.id, "model_name": lm.model.name, "version": version, "grade": grade,
            "score": float(score), "as_of": str(as_of)[:10], "measures": list(lm.model.measures.get(grade, []))}


def _grade_render(value: Any) -> dict[str, Any] | None:
    grade, score, as_of, version = str(value).split("|", 3)
    return _grade_answer(grade, float(score), as_of, version)


def _grade_bulk(session: Session, subject_ids: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for sid, g in grades.current_grades(session, subject_ids).items():
        ans = _grade_answer(g.grade, g.score, g.as_of.isoformat(), g.model_version)
        if ans is not None:
            out[sid] = ans
    return out


checks_service.register_grade_provider(
    checks_service.GradeProvider(sql=_grade_sql, render=_grade_render, bulk=_grade_bulk))
