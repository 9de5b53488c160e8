"""A small receiving platform (the province) run as its own process by the tests and the benchmark.

    python tests/exchange/receiver.py PORT SECRET [SQLITE_FILE]

With SQLITE_FILE, what arrives is stored in that database (one row per key, INSERT OR IGNORE), as a real
platform would; without it, in memory (the tests' checks of order and duplicates).

POST /exchange   a signed batch (HMAC-SHA256 over "timestamp." + body, 300 s window); keeps one copy per key
POST /_mode      {"mode": "ok" | "fail" | "slow" | "reject" | "garbage", "seconds": …, "reject_keys": [...]}
GET  /_state     what arrived: keys in arrival order (first copy), per record the seqs, duplicates, posts
POST /_ingest    {"path": FILE}: ingest a pre-built JSON-lines file of the same events (the benchmark's yardstick)
POST /_reset
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOCK = threading.Lock()
STATE: dict[str, Any] = {}


SECRET = b""
DB: Any = None


GENERATION = [0]  # bumped by /_reset: a slow request of an earlier test stores nothing into the new state


def reset() -> None:
    GENERATION[0] += 1
    STATE.clear()
    STATE.update({"mode": "ok", "seconds": 0.0, "reject_keys": set(), "store": {}, "order": [], "duplicates": 0,
                  "posts": 0, "refused": 0, "per_record": {}, "stored": 0})
    if DB is not None:
        DB.execute("DROP TABLE IF EXISTS received")
        DB.execute("CREATE TABLE received (key TEXT PRIMARY KEY, seq INTEGER, type TEXT, record_key TEXT, data TEXT)")
        DB.commit()


reset()


def store(events: list[dict[str, Any]], generation: int | None = None) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    if generation is not None and generation != GENERATION[0]:
        return results
    if DB is not None:
        rows = [(e["key"], e["seq"], e["type"], e.get("record_key"), json.dumps(e["data"], ensure_ascii=False))
                for e in events]
        with LOCK:
            DB.executemany("INSERT OR IGNORE INTO received VALUES (?, ?, ?, ?, ?)", rows)
            DB.commit()
            STATE["stored"] += len(rows)
        return results
    with LOCK:
        for ev in events:
            key = ev["key"]
            if key in STATE["reject_keys"]:
                results.append({"key": key, "status": "rejected", "reason": "统一社会信用代码校验位错误"})
                continue
            if key in STATE["store"]:
                STATE["duplicates"] += 1
                continue
            STATE["store"][key] = ev
            STATE["order"].append(key)
            if ev.get("record_key"):
                STATE["per_record"].setdefault(ev["record_key"], []).append(ev["seq"])
    return results


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode())

    def do_GET(self) -> None:
        if self.path == "/_state":
            with LOCK:
                count = DB.execute("SELECT count(*) FROM received").fetchone()[0] if DB is not None else len(STATE["store"])
                self._json(200, {"order": STATE["order"], "count": count,
                                 "duplicates": STATE["duplicates"], "posts": STATE["posts"],
                                 "refused": STATE["refused"], "per_record": STATE["per_record"]})
            return
        self._json(404, {})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/_mode":
            cmd = json.loads(body)
            with LOCK:
                STATE["mode"] = cmd.get("mode", "ok")
                STATE["seconds"] = float(cmd.get("seconds", 0))
                STATE["reject_keys"] = set(cmd.get("reject_keys", []))
            self._json(200, {"ok": True})
            return
        if self.path == "/_reset":
            with LOCK:
                reset()
            self._json(200, {"ok": True})
            return
        if self.path == "/_ingest":
            path = json.loads(body)["path"]
            started = time.perf_counter()
            n = 0
            chunk: list[dict[str, Any]] = []
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    chunk.append(json.loads(line))
                    if len(chunk) == 2000:
                        n += len(chunk)
                        store(chunk)
                        chunk = []
            n += len(chunk)
            store(chunk)
            self._json(200, {"count": n, "seconds": time.perf_counter() - started})
            return
        if self.path != "/exchange":
            self._json(404, {})
            return
        ts = self.headers.get("X-Xinyong-Timestamp", "")
        sig = self.headers.get("X-Xinyong-Signature", "")
        expected = "sha256=" + hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not ts.isdigit() or abs(time.time() - int(ts)) > 300 or not hmac.compare_digest(sig, expected):
            with LOCK:
                STATE["refused"] += 1
            self._json(401, {"error": "bad signature or outside the replay window"})
            return
        with LOCK:
            STATE["posts"] += 1
            mode, seconds, generation = STATE["mode"], STATE["seconds"], GENERATION[0]
        if mode == "fail":
            self._json(500, {"error": "省平台内部错误"})
            return
        if mode == "garbage":
            self._send(200, b"<html>not json</html>", "text/html")
            return
        if mode == "slow":
            time.sleep(seconds)
        batch = json.loads(body)
        results = store(batch["events"], generation)
        self._json(200, {"batch": batch["batch"], "results": results})


def main() -> None:
    global SECRET, DB
    port, SECRET = int(sys.argv[1]), sys.argv[2].encode()
    if len(sys.argv) > 3:
        import sqlite3

        DB = sqlite3.connect(sys.argv[3], check_same_thread=False)
        DB.execute("PRAGMA journal_mode=WAL")
        DB.execute("PRAGMA synchronous=NORMAL")
        reset()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
