"""The OpenAPI document states how errors look, what requests must look like, and how operations link."""

from __future__ import annotations

from typing import Any

import pytest

from xinyong.web.openapi import ERROR_STATUSES, LINKS, PROBLEM_MEDIA_TYPE


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from xinyong.web.app import create_app

    return create_app().openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_every_api_operation_documents_problem_details_for_its_errors(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for method, path, op in _operations(document):
        for status in ERROR_STATUSES:
            content = op["responses"][status]["content"]
            assert list(content) == [PROBLEM_MEDIA_TYPE], (method, path, status)


@pytest.mark.parametrize("source,target", [
    ("POST /api/v1/batches", "GET /api/v1/batches/{batch_id}"),
    ("POST /api/v1/list-entries", "GET /api/v1/list-entries/{entry_id}"),
    ("POST /api/v1/list-entries", "POST /api/v1/list-entries/{entry_id}/notify"),
    ("POST /api/v1/list-entries", "POST /api/v1/list-entries/{entry_id}/publish"),
    ("POST /api/v1/objections", "GET /api/v1/objections/{case_no}"),
    ("POST /api/v1/complaints", "GET /api/v1/complaints/{case_no}"),
    ("POST /api/v1/commitments", "GET /api/v1/commitments/{commitment_no}"),
    ("POST /api/v1/repair-applications", "GET /api/v1/repair-applications/{case_no}"),
])
def test_creating_operations_link_to_the_operations_that_read_what_they_created(
        document: dict[str, Any], source: str, target: str) -> None:
    method, path = source.split(" ")
    target_method, target_path = target.split(" ")
    target_id = document["paths"][target_path][target_method.lower()]["operationId"]
    responses = document["paths"][path][method.lower()]["responses"]
    created = next(r for status, r in responses.items() if status in ("200", "201") and r.get("links"))
    assert target_id in {link["operationId"] for link in created["links"].values()}


def test_links_carry_the_case_number_and_query_code_to_the_applicants_read(document: dict[str, Any]) -> None:
    links = document["paths"]["/api/v1/objections"]["post"]["responses"]["201"]["links"]
    assert links["ReadObjection"]["parameters"] == {"path.case_no": "$response.body#/case_no",
                                                    "query.code": "$response.body#/query_code"}


def test_a_link_to_an_operation_that_does_not_exist_fails_at_start_up(document: dict[str, Any]) -> None:
    from xinyong.web.openapi import Link, add_links

    broken = (Link("Nowhere", LINKS[0].source, ("get", "/api/v1/nowhere/{id}"), {}, "不存在的操作"),)
    with pytest.raises(LookupError, match="/api/v1/nowhere"):
        add_links(document, broken)


def _schema(document: dict[str, Any], title: str) -> dict[str, Any]:
    """A request schema by name: in components, or inline in a request body (the checks hot path)."""
    if title in document["components"]["schemas"]:
        return dict(document["components"]["schemas"][title])
    for _method, _path, op in _operations(document):
        for media in op.get("requestBody", {}).get("content", {}).values():
            if media.get("schema", {}).get("title") == title:
                return dict(media["schema"])
    raise LookupError(title)


@pytest.mark.parametrize("schema,field,rule", [
    ("CheckIn", "matter_type", "enum"),
    ("CheckIn", "subject", "pattern"),
    ("ObjectionIn", "subject_code", "format"),
    ("ComplaintIn", "category", "enum"),
    ("ListEntryIn", "list_type", "enum"),
    ("WebhookIn", "url", "pattern"),
    ("RepairIn", "record_id", "maximum"),
])
def test_request_schemas_state_the_rules_the_services_enforce(document: dict[str, Any], schema: str, field: str,
                                                              rule: str) -> None:
    prop = _schema(document, schema)["properties"][field]
    assert rule in prop or any(rule in alt for alt in prop.get("anyOf", []))


def test_enums_read_from_configuration_list_what_the_configuration_holds(document: dict[str, Any]) -> None:
    from xinyong.cases.config import get_config
    from xinyong.lists.config import get_list_types

    schemas = document["components"]["schemas"]
    assert schemas["ListEntryIn"]["properties"]["list_type"]["enum"] == [t.code for t in get_list_types().list()]
    assert schemas["ComplaintIn"]["properties"]["category"]["enum"] == list(get_config().complaints.categories)


@pytest.mark.parametrize("path,prefix", [("/api/v1/objections/{case_no}", "YY"),
                                         ("/api/v1/repair-applications/{case_no}", "XF"),
                                         ("/api/v1/complaints/{case_no}", "TS")])
def test_case_numbers_in_paths_have_the_shape_the_api_hands_out(document: dict[str, Any], path: str,
                                                                prefix: str) -> None:
    import re

    (param,) = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == "case_no"]
    assert re.match(param["schema"]["pattern"], f"{prefix}20260305000012")
    assert not re.match(param["schema"]["pattern"], "YY2026" if prefix != "YY" else "TS20260305000012")
