"""Every route of the app, for every actor kind, answers as the policy table says.

Allowed: anything but 401/403, a login redirect, or a server error (the request carries no body and ids that do
not exist, so an allowed call ends in 404/422 or an empty page). Refused: 401 without credentials (pages redirect
to the login), 403 with them, each with a Chinese reason. A route without a declared action fails the walk.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from access_support import LOGIN_HELPER, Actors, _page_token
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from xinyong.access import policy
from xinyong.access.actors import Actor, ActorKind
from xinyong.access.deps import resolve_actor, route_action
from xinyong.web.app import create_app

_CJK = re.compile(r"[\u4e00-\u9fff]")
_FILL = {"uscc": "91371402MA0000000X", "case_no": "YY2026000000", "commitment_no": "CN2026000000",
         "report_no": "R2026000000", "action": "accept", "path": "favicon.svg"}


def _routes() -> list[tuple[str, str, str]]:
    """(method, path, action) of every route; a route without an action is reported with action ''."""
    out = []
    for ctx in iter_route_contexts(create_app().routes):
        route = getattr(ctx, "route", ctx)
        methods = sorted((ctx.methods or {"GET"}) - {"HEAD"}) or ["GET"]
        path = ctx.path if ctx.methods else ctx.path + "/{path}"   # a mount (static files)
        for method in methods:
            out.append((method, path, route_action(route) or ""))
    # logging out (of /admin or of an organisation's account) ends the client's session: walk them last
    return sorted(out, key=lambda r: r[1] in ("/admin/logout", "/account/logout"))


ROUTES = _routes()


def _url(path: str) -> str:
    def fill(m: re.Match[str]) -> str:
        name = m.group(1).split(":")[0]
        return _FILL.get(name, "999999")
    return re.sub(r"\{([^}]+)\}", fill, path)


def _refused(resp: Any) -> bool:
    if resp.status_code in (301, 302, 303, 307):
        return "/login?next=" in resp.headers.get("location", "")
    return resp.status_code in (401, 403)


def _check(client: TestClient, kind: ActorKind, method: str, path: str, action: str) -> str | None:
    if path.endswith("/logout"):
        # the first logout ended the session: a browser would carry the token of the page it now shows
        client.headers["X-CSRF-Token"] = _page_token(client)
    resp = client.request(method, _url(path), follow_redirects=False, headers={"accept": "application/json"})
    allowed = policy.allowed(Actor(kind), action)
    where = f"{kind.value} {method} {path} ({action}) → {resp.status_code}"
    if resp.status_code >= 500:
        return f"server error: {where}"
    if allowed and _refused(resp):
        return f"allowed but refused: {where}: {resp.text[:200]}"
    if not allowed:
        if not _refused(resp):
            return f"refused by the policy but answered: {where}"
        if resp.status_code in (401, 403) and not _CJK.search(resp.json().get("detail", "")):
            return f"refusal without a Chinese reason: {where}"
    return None


def test_every_route_declares_an_action_of_the_table() -> None:
    assert len(ROUTES) >= 100
    missing = [f"{m} {p}" for m, p, a in ROUTES if not a]
    assert not missing, "routes without a declared action (access.deps.Allow/AllowDept/AllowUser/declare): " + \
        ", ".join(missing)
    unknown = [f"{m} {p}: {a}" for m, p, a in ROUTES if a not in policy.ACTIONS]
    assert not unknown


def test_every_route_answers_every_actor_kind_as_the_policy_says(actors: Actors) -> None:
    problems = []
    for method, path, action in ROUTES:
        for kind, client in actors.clients.items():
            problem = _check(client, kind, method, path, action)
            if problem:
                problems.append(problem)
    assert not problems, "\n".join(problems[:40])


@pytest.mark.parametrize("kind", [ActorKind.BANK, ActorKind.PARTNER])
def test_banks_and_partners_are_refused_everywhere_not_public(actors: Actors, kind: ActorKind) -> None:
    actor = Actor(kind, label=f"{kind.value}:test")
    actors.app.dependency_overrides[resolve_actor] = lambda: actor
    try:
        client = actors.clients[ActorKind.ANONYMOUS]
        problems = [p for method, path, action in ROUTES if path != LOGIN_HELPER
                    if (p := _check(client, kind, method, path, action))]
    finally:
        actors.app.dependency_overrides.clear()
    assert not problems, "\n".join(problems[:40])


def test_every_integer_path_id_is_bounded_by_its_columns_range() -> None:
    from annotated_types import Ge, Le

    from xinyong.access.deps import MAX_BIGINT, MAX_INT

    unbounded = []
    seen = 0
    for ctx in iter_route_contexts(create_app().routes):
        dependant = getattr(getattr(ctx, "route", ctx), "dependant", None)
        for param in dependant.path_params if dependant is not None else ():
            if param.field_info.annotation is not int:
                continue
            seen += 1
            meta = param.field_info.metadata
            if not (any(isinstance(m, Ge) and m.ge == 1 for m in meta)
                    and any(isinstance(m, Le) and m.le in (MAX_INT, MAX_BIGINT) for m in meta)):
                unbounded.append(f"{ctx.path}: {param.name}")
    assert seen >= 20
    assert not unbounded, "use access.deps.IdPath / BigIdPath for: " + ", ".join(unbounded)


def test_auditors_are_refused_every_change_of_admin_and_the_api() -> None:
    auditor = Actor(ActorKind.AUDITOR, "user:auditor")
    changes = [(m, p, a) for m, p, a in ROUTES if m in ("POST", "PUT", "PATCH", "DELETE")
               and p.startswith(("/admin", "/api/")) and a not in ("session.login", "session.password")]
    assert len(changes) >= 35
    assert not [f"{m} {p}" for m, p, a in changes if policy.allowed(auditor, a)]
