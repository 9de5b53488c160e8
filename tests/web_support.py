"""Test clients that behave like a browser (imported by tests/conftest.py and by tests that need a second one)."""

from __future__ import annotations


def browser_like_client(app: object) -> object:
    """A TestClient that posts page forms as a browser does after loading the form: with the CSRF token the
    page carries. The token is read from a page (/verify holds a form), like a browser would have it."""
    import re

    from fastapi.testclient import TestClient

    class BrowserLikeClient(TestClient):
        def request(self, method: str, url: object, **kwargs: object) -> object:  # type: ignore[override]
            headers = {k.lower() for k in (kwargs.get("headers") or {})}  # type: ignore[union-attr]
            data = kwargs.get("data")
            if (method.upper() not in ("GET", "HEAD", "OPTIONS") and not str(url).startswith("/api/")
                    and (data is None or (isinstance(data, dict) and "csrf_token" not in data))
                    and "x-csrf-token" not in headers and kwargs.get("json") is None):
                page = super().request("GET", "/verify")
                found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                if found:
                    kwargs["data"] = {**(data or {}), "csrf_token": found.group(1)}  # type: ignore[dict-item]
            elif (method.upper() not in ("GET", "HEAD", "OPTIONS") and str(url).startswith("/api/")
                  and "authorization" not in headers and "x-csrf-token" not in headers
                  and self.cookies.get("xinyong_session")):
                # a page's script calling the API with the login cookie sends the session's token in the header
                page = super().request("GET", "/verify")
                found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                if found:
                    kwargs["headers"] = {**dict(kwargs.get("headers") or {}),  # type: ignore[call-overload]
                                         "X-CSRF-Token": found.group(1)}
            return super().request(method, url, **kwargs)  # type: ignore[arg-type]

    return BrowserLikeClient(app)  # type: ignore[arg-type]
