"""The OpenAPI document (/openapi.json) as clients and fuzzers read it.

FastAPI derives paths, parameters and bodies from the routes and their pydantic schemas. Two things it cannot
know are added here, in one place, so that the document states what the API really answers:

- every error is an RFC 9457 Problem Details object (``application/problem+json``), not FastAPI's default
  validation shape: each API operation documents the error statuses the shared handlers produce;
- creating operations link (OpenAPI ``links``) to the operations that read or act on what they created, so a
  client generator, or a fuzzer's stateful phase, can follow a case number from the answer that issued it.

Links name their source and target by method and path; operation ids are looked up in the generated document,
so renaming a route function does not break them, and a link to an operation that no longer exists fails
loudly at start-up instead of silently disappearing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from xinyong.core.api_types import COMMITMENT_NO_PATTERN, USCC_PATTERN, case_no_pattern

PROBLEM_MEDIA_TYPE = "application/problem+json"
API_PREFIX = "/api/v1"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 Problem Details；detail 为中文，说明原因与下一步怎么做",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "问题类型（about:blank）"},
        "title": {"type": "string", "description": "简短标题，如“未找到”“不符合规则”"},
        "status": {"type": "integer", "description": "HTTP 状态码"},
        "detail": {"type": "string", "description": "中文说明：哪里不对、如何处理"},
        "rule": {"type": "string", "description": "被违反的规则代码（如有）"},
        "errors": {
            "type": "array",
            "description": "请求参数校验失败时，逐项列出字段和原因",
            "items": {"type": "object", "properties": {"field": {"type": "string"}, "reason": {"type": "string"}}},
        },
    },
    "additionalProperties": True,
}

# The statuses the shared handlers (web/app.py: domain errors, validation, HTTP errors) may give any operation.
ERROR_STATUSES: dict[str, str] = {
    "400": "请求无法处理（说明见 detail）",
    "401": "未认证：缺少或无效的 API 密钥",
    "403": "无权操作该对象",
    "404": "对象不存在，或无权查看",
    "405": "该地址不支持此请求方法",
    "409": "不符合业务规则或当前状态（如未告知不得公示）",
    "413": "请求或文件过大",
    "422": "请求参数或内容不符合要求（errors 逐项说明）",
    "429": "请求过于频繁，请稍后重试",
}


@dataclass(frozen=True)
class Link:
    """``source`` (method, path, status) answers with something ``target`` (method, path) can use."""

    name: str
    source: tuple[str, str, str]
    target: tuple[str, str]
    parameters: dict[str, str]
    description: str


def _p(path: str) -> str:
    return API_PREFIX + path


_BATCH = ("post", _p("/batches"), "201")
_CHECK_BATCH = ("post", _p("/checks/batch"), "200")
_ENTRY = ("post", _p("/list-entries"), "201")
_OBJECTION = ("post", _p("/objections"), "201")
_REPAIR = ("post", _p("/repair-applications"), "201")
_COMMITMENT = ("post", _p("/commitments"), "201")
_COMPLAINT = ("post", _p("/complaints"), "201")
_WEBHOOK = ("post", _p("/webhooks"), "201")
_TASKS = ("get", _p("/tasks"), "200")
_SEARCH = ("get", _p("/search"), "200")
_PERSON_REPORT = ("post", _p("/reports/person"), "200")

_CASE = {"path.case_no": "$response.body#/case_no"}
_CASE_WITH_CODE = {"path.case_no": "$response.body#/case_no", "query.code": "$response.body#/query_code"}
_CASE_WITH_HEADER = {"path.case_no": "$response.body#/case_no", "header.X-Query-Code": "$response.body#/query_code"}
_ENTRY_ID = {"path.entry_id": "$response.body#/id"}

LINKS: tuple[Link, ...] = (
    Link("ReadBatch", _BATCH, ("get", _p("/batches/{batch_id}")), {"path.batch_id": "$response.body#/batch_id"},
         "读取刚报送的批次结果"),
    Link("ReadRejects", _BATCH, ("get", _p("/batches/{batch_id}/rejects.xlsx")),
         {"path.batch_id": "$response.body#/batch_id"}, "下载刚报送批次的退回数据"),
    Link("DownloadBatchCheck", _CHECK_BATCH, ("get", _p("/checks/batch/{batch_id}.xlsx")),
         {"path.batch_id": "$response.body#/batch_check_id"}, "下载刚完成的批量核查结果"),
    Link("ReadEntry", _ENTRY, ("get", _p("/list-entries/{entry_id}")), _ENTRY_ID, "读取刚提出的名单信息"),
    Link("NotifyEntry", _ENTRY, ("post", _p("/list-entries/{entry_id}/notify")), _ENTRY_ID, "登记告知当事人"),
    Link("PublishEntry", _ENTRY, ("post", _p("/list-entries/{entry_id}/publish")), _ENTRY_ID, "公示（须先告知）"),
    Link("ExitEntry", _ENTRY, ("post", _p("/list-entries/{entry_id}/exit")), _ENTRY_ID, "移出名单"),
    Link("ReadObjection", _OBJECTION, ("get", _p("/objections/{case_no}")), _CASE_WITH_CODE,
         "申请人凭查询码查看刚提出的异议"),
    Link("WithdrawObjection", _OBJECTION, ("post", _p("/objections/{case_no}/withdraw")), _CASE_WITH_HEADER,
         "申请人撤回异议"),
    Link("AcceptObjection", _OBJECTION, ("post", _p("/objections/{case_no}/accept")), _CASE, "信用办受理"),
    Link("RejectObjection", _OBJECTION, ("post", _p("/objections/{case_no}/reject")), _CASE, "信用办不予受理"),
    Link("ForwardObjection", _OBJECTION, ("post", _p("/objections/{case_no}/forward")), _CASE, "转数据提供部门核实"),
    Link("AnswerObjection", _OBJECTION, ("post", _p("/objections/{case_no}/answer")), _CASE, "数据提供部门答复"),
    Link("DecideObjection", _OBJECTION, ("post", _p("/objections/{case_no}/decide")), _CASE, "信用办决定"),
    Link("ReadRepair", _REPAIR, ("get", _p("/repair-applications/{case_no}")), _CASE_WITH_CODE,
         "申请人凭查询码查看刚提出的修复申请"),
    Link("ApproveRepair", _REPAIR, ("post", _p("/repair-applications/{case_no}/approve")), _CASE, "认定部门准予修复"),
    Link("RefuseRepair", _REPAIR, ("post", _p("/repair-applications/{case_no}/refuse")), _CASE, "认定部门不予修复"),
    Link("WithdrawRepair", _REPAIR, ("post", _p("/repair-applications/{case_no}/withdraw")), _CASE_WITH_HEADER,
         "申请人撤回修复申请"),
    Link("ReadCommitment", _COMMITMENT, ("get", _p("/commitments/{commitment_no}")),
         {"path.commitment_no": "$response.body#/commitment_no"}, "读取刚签署的承诺书"),
    Link("CommitmentOutcome", _COMMITMENT, ("post", _p("/commitments/{commitment_no}/outcome")),
         {"path.commitment_no": "$response.body#/commitment_no"}, "受理部门登记履约或违诺"),
    Link("ReadComplaint", _COMPLAINT, ("get", _p("/complaints/{case_no}")), _CASE_WITH_CODE,
         "举报人凭查询码查看办理进度"),
    Link("AssignComplaint", _COMPLAINT, ("post", _p("/complaints/{case_no}/assign")), _CASE, "信用办分办"),
    Link("ActOnComplaint", _COMPLAINT, ("post", _p("/complaints/{case_no}/{action}")), _CASE,
         "受理、退回、办结或不予受理"),
    Link("DeleteWebhook", _WEBHOOK, ("delete", _p("/webhooks/{webhook_id}")), {"path.webhook_id": "$response.body#/id"},
         "停用刚登记的接收地址"),
    Link("ReadTask", _TASKS, ("get", _p("/tasks/{task_id}")), {"path.task_id": "$response.body#/0/id"},
         "读取列表中的第一个任务"),
    Link("FeedbackTask", _TASKS, ("post", _p("/tasks/{task_id}/feedback")), {"path.task_id": "$response.body#/0/id"},
         "反馈列表中第一个任务的实施情况"),
    Link("ReadSubject", _SEARCH, ("get", _p("/subjects/{uscc}")), {"path.uscc": "$response.body#/items/0/uscc"},
         "查看查询结果中第一个主体的公开信用记录"),
    Link("VerifyReport", _PERSON_REPORT, ("get", _p("/reports/{report_no}")),
         {"path.report_no": "$response.header.X-Report-No"}, "验证刚出具的报告"),
)


# Submissions that take an Idempotency-Key: a repeated submission (same key, same content) answers 200 with the
# case it created the first time, and the header Idempotent-Replayed: true.
IDEMPOTENT: tuple[str, ...] = (_p("/objections"), _p("/repair-applications"), _p("/complaints"))


def add_idempotent_replays(schema: dict[str, Any]) -> None:
    for path in IDEMPOTENT:
        operation = schema.get("paths", {}).get(path, {}).get("post")
        if operation is None:
            raise LookupError(f"POST {path} is not an operation of the API")
        created = operation["responses"]["201"]
        operation["responses"]["200"] = {
            "description": "重复提交（相同 Idempotency-Key 与相同内容）：返回首次提交时的案件，不重复立案",
            "content": created.get("content", {}),
            "headers": {"Idempotent-Replayed": {"description": "true：本次为重复提交", "schema": {"type": "string"}}},
        }


# Path parameters that name a case or a subject: the shape of the identifiers the API hands out. Anything else
# names nothing, and is answered 404.
PATH_IDENTIFIERS: dict[tuple[str, str], dict[str, Any]] = {
    (_p("/objections/"), "case_no"): {"pattern": case_no_pattern("YY"), "description": "异议案号，如 YY20260305000012"},
    (_p("/repair-applications/"), "case_no"): {"pattern": case_no_pattern("XF"),
                                                "description": "修复申请案号，如 XF20260305000012"},
    (_p("/complaints/"), "case_no"): {"pattern": case_no_pattern("TS"),
                                      "description": "投诉举报案号，如 TS20260305000012"},
    (_p("/commitments/"), "commitment_no"): {"pattern": COMMITMENT_NO_PATTERN,
                                             "description": "承诺编号，如 CN20260305000012"},
    (_p("/subjects/"), "uscc"): {"pattern": USCC_PATTERN, "format": "uscc", "description": "统一社会信用代码"},
}


def add_path_identifiers(schema: dict[str, Any]) -> None:
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "path":
                    continue
                for (prefix, name), rule in PATH_IDENTIFIERS.items():
                    if path.startswith(prefix) and parameter["name"] == name:
                        parameter["schema"] = {**parameter.get("schema", {}), **rule}
                        parameter.setdefault("description", rule["description"])


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def add_problem_responses(schema: dict[str, Any]) -> None:
    """Every API operation documents the Problem Details answers; FastAPI's own 422 shape is not what we send."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                responses[status] = _problem_response(description)


def _operation_id(schema: dict[str, Any], method: str, path: str) -> str:
    operation = schema.get("paths", {}).get(path, {}).get(method)
    if operation is None:
        raise LookupError(f"OpenAPI link target {method.upper()} {path} is not an operation of the API")
    return str(operation["operationId"])


def add_links(schema: dict[str, Any], links: tuple[Link, ...] = LINKS) -> None:
    for link in links:
        method, path, status = link.source
        operation = schema.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            raise LookupError(f"OpenAPI link source {method.upper()} {path} is not an operation of the API")
        response = operation.setdefault("responses", {}).setdefault(status, {"description": "成功"})
        spec: dict[str, Any] = {"operationId": _operation_id(schema, *link.target), "parameters": link.parameters,
                                "description": link.description}
        response.setdefault("links", {})[link.name] = spec


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        add_problem_responses(schema)
        add_idempotent_replays(schema)
        add_path_identifiers(schema)
        add_links(schema)
        app.openapi_schema = schema
    return app.openapi_schema


def install(app: FastAPI) -> None:
    """Serve the document built here at /openapi.json (and to /docs)."""

    def openapi() -> dict[str, Any]:
        return build_openapi(app)

    app.openapi = openapi  # type: ignore[method-assign]
