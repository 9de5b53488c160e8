"""Real parts for the exchange tests: a receiving platform process, target configuration in a directory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from exchange_support import Receiver, start_receiver

from xinyong.exchange.config import reset_targets


@pytest.fixture(scope="session")
def _receiver_process() -> Iterator[Receiver]:
    rec = start_receiver()
    yield rec
    rec.proc.kill()
    rec.proc.wait()


@pytest.fixture
def receiver(_receiver_process: Receiver) -> Receiver:
    _receiver_process.reset()
    return _receiver_process


@pytest.fixture
def targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Path]]:
    """targets(code=…, adapter=…, **spec) writes config/exchange/<code>.yaml into a fresh directory."""
    folder = tmp_path / "exchange-config"
    folder.mkdir()
    monkeypatch.setenv("XINYONG_EXCHANGE_DIR", str(folder))
    reset_targets()

    def write(**spec: Any) -> Path:
        spec.setdefault("name", f"目标 {spec['code']}")
        path = folder / f"{spec['code']}.yaml"
        path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        reset_targets()
        return folder

    yield write
    reset_targets()


