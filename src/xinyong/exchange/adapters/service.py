"""Service adapter: HTTP POST of a JSON batch, signed with HMAC-SHA256 over "timestamp." + body (the receiver
refuses timestamps outside its replay window) and/or with a client certificate. The receiver answers 2xx with
`{"results": [{"key": …, "status": "accepted"|"rejected", "reason": …}]}` (keys not named were accepted);
anything else (an error status, a timeout, a body that is not such an answer) is retried with back-off."""

from __future__ import annotations

import json
import time

import httpx

from xinyong.exchange import rules
from xinyong.exchange.adapters.base import Adapter, DeliveryError, Outcomes, WireEvent


class ServiceAdapter(Adapter):
    _client: httpx.Client | None = None

    def _http(self) -> httpx.Client:
        spec = self.target.service
        assert spec is not None
        if self._client is None:
            self._client = httpx.Client(timeout=spec.timeout_seconds, cert=spec.client_cert, verify=spec.verify,
                                        follow_redirects=False)
        return self._client

    def deliver(self, batch_id: str, events: list[WireEvent]) -> Outcomes:
        spec = self.target.service
        assert spec is not None
        body = (f'{{"batch":{json.dumps(batch_id)},"source":"xinyong","target":{json.dumps(self.target.code)},'
                f'"events":[{",".join(e.to_json() for e in events)}]}}').encode()
        headers = {"Content-Type": "application/json", rules.BATCH_HEADER: batch_id}
        secret = spec.resolved_secret()
        if secret:
            ts = int(time.time())
            headers[rules.TIMESTAMP_HEADER] = str(ts)
            headers[rules.SIGNATURE_HEADER] = rules.sign(secret, ts, body)
        elif not spec.client_cert:
            raise DeliveryError("服务接口既无签名密钥也无客户端证书：请配置 secret_env 或 client_cert")
        try:
            response = self._http().post(spec.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"连接接收方失败：{type(exc).__name__} {exc}"[:500]) from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"接收方返回 HTTP {response.status_code}：{response.text[:200]}")
        try:
            return rules.parse_feedback(response.json())
        except (ValueError, json.JSONDecodeError) as exc:
            raise DeliveryError(f"接收方回执无法解析（{exc}）：{response.text[:120]!r}") from exc

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
