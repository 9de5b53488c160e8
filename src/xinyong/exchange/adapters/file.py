"""File adapter (前置机 drop): each batch is a data file (JSON lines or CSV) and a manifest with the count
and SHA-256 of the data file, written atomically (temporary name, then rename; the manifest last, so a
manifest means a complete batch). Names sort in delivery order and are the same for the same events, so a
batch written twice (after a crash) overwrites itself and the receiver can de-duplicate by name and key.

The receiver answers with feedback files in `<directory>/feedback/*.json`:
`{"batch": NAME, "results": [{"key": …, "status": "accepted"|"rejected", "reason": …}]}`. Read files move
to `feedback/done/`; files that cannot be read or name unknown events move to `feedback/error/` with a
`.txt` saying why (shown on /admin/exchange)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from xinyong.core.settings import get_settings
from xinyong.exchange import rules
from xinyong.exchange.adapters.base import Adapter, DeliveryError, Outcomes, WireEvent

CSV_COLUMNS = ["key", "seq", "type", "record_key", "data"]


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class FileAdapter(Adapter):
    @property
    def directory(self) -> Path:
        assert self.target.file is not None
        path = Path(self.target.file.directory)
        return path if path.is_absolute() else get_settings().var_dir / path

    def deliver(self, batch_id: str, events: list[WireEvent]) -> Outcomes:
        assert self.target.file is not None
        fmt = self.target.file.format
        if fmt == "json":
            data = "".join(e.to_json() + "\n" for e in events).encode("utf-8")
        else:
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            writer.writerow(CSV_COLUMNS)
            for e in events:
                writer.writerow([e.key, e.seq, e.type, e.record_key or "", e.data])
            data = buf.getvalue().encode("utf-8")
        data_file = f"{batch_id}.{'jsonl' if fmt == 'json' else 'csv'}"
        manifest = {"batch": batch_id, "target": self.target.code, "format": fmt, "count": len(events),
                    "first_seq": events[0].seq, "last_seq": events[-1].seq,
                    "data_file": data_file, "sha256": rules.sha256_hex(data)}
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _write_atomic(self.directory / data_file, data)
            _write_atomic(self.directory / f"{batch_id}.manifest.json",
                          json.dumps(manifest, ensure_ascii=False, indent=1).encode())
        except OSError as exc:
            raise DeliveryError(f"无法写入前置机目录 {self.directory}：{exc.strerror or exc}；请检查目录与权限") from exc
        return {}

    def collect_feedback(self) -> tuple[Outcomes, list[str]]:
        folder = self.directory / "feedback"
        if not folder.is_dir():
            return {}, []
        outcomes: Outcomes = {}
        problems: list[str] = []
        for path in sorted(folder.glob("*.json")):
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                found = rules.parse_feedback(raw)
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
                problems.append(self.park(path, f"回执文件无法读取：{exc}"))
                continue
            outcomes.update(found)
            (folder / "done").mkdir(exist_ok=True)
            os.replace(path, folder / "done" / path.name)
        return outcomes, problems

    def park(self, path: Path, why: str) -> str:
        """Move a feedback file aside with the reason beside it; returns the message."""
        err = path.parent / "error"
        err.mkdir(exist_ok=True)
        if path.exists():
            os.replace(path, err / path.name)
        (err / (path.name + ".txt")).write_text(why, encoding="utf-8")
        return f"{path.name}：{why}"
