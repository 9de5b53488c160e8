"""Helpers of the exchange tests: the receiving platform process, target specs, waiting."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

RECEIVER = Path(__file__).with_name("receiver.py")
SECRET = "province-shared-secret-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    def __init__(self, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.port, self.proc = port, proc
        self.url = f"http://127.0.0.1:{port}/exchange"

    def mode(self, mode: str, **kw: Any) -> None:
        httpx.post(f"http://127.0.0.1:{self.port}/_mode", json={"mode": mode, **kw}, timeout=5).raise_for_status()

    def state(self) -> dict[str, Any]:
        return dict(httpx.get(f"http://127.0.0.1:{self.port}/_state", timeout=10).json())

    def reset(self) -> None:
        httpx.post(f"http://127.0.0.1:{self.port}/_reset", timeout=5).raise_for_status()


def start_receiver() -> Receiver:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(RECEIVER), str(port), SECRET], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    return Receiver(port, proc)


def service_target(receiver: Receiver, code: str = "provincial", **kw: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"code": code, "adapter": "service",
                            "service": {"url": receiver.url, "secret": SECRET, "timeout_seconds": 2},
                            "backoff_seconds": 1, "backoff_max_seconds": 4, "dead_after_hours": 1}
    spec.update(kw)
    return spec


def wait_for(fn: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


