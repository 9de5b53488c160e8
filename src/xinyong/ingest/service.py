"""Ingesting one department file: read in chunks, check, match subjects, write records, report rejects.

The caller owns the transaction (CLI: session_scope; HTTP: the request session). Nothing is written
before the file has passed the whole-file checks (readable, known item and department, required
columns, at least one data row); after that, every write goes into the caller's transaction, so a
failure anywhere leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from itertools import chain
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.access.actors import actor_for_dept
from xinyong.access.policy import may_read_batch
from xinyong.accounts.models import Department
from xinyong.accounts.service import get_department
from xinyong.catalog.schemas import CatalogItem
from xinyong.catalog.service import get_catalog
from xinyong.core import audit
from xinyong.core.clock import today as legal_today
from xinyong.core.db import utcnow
from xinyong.core.errors import Forbidden, NotFound, Refused
from xinyong.core.gcpause import gc_paused
from xinyong.ingest.columns import header_scorer, map_headers
from xinyong.ingest.loader import loader_for
from xinyong.ingest.matching import SubjectMatcher
from xinyong.ingest.models import Batch, BatchReject
from xinyong.ingest.publication import severity_overrides, window_columns
from xinyong.ingest.readers import open_source
from xinyong.ingest.recordset import RecordWriter
from xinyong.ingest.rejects import RejectSink
from xinyong.ingest.schemas import MAX_REJECTS_SHOWN, BatchSummary, RejectOut
from xinyong.ingest.validate import ChunkChecker
from xinyong.records.service import layout_for, require_provider

log = logging.getLogger("xinyong.ingest")
Progress = Callable[[int, int | None], None]
# 25,000 rows a chunk: up to four chunks are alive at once (being checked, queued, encoded, written);
# measured on a 1M-row, 31-column penalty file, peak RSS 685 MB at the same speed as 50,000-row chunks,
# which reached 998 MB on SQLite (bench/bench_ingest.py).
CHUNK_ROWS = 25_000
HEADER_ONLY = "文件只有表头，没有数据行：请在表头下方填写数据后重新报送"


class _FileHash:
    """SHA-256 of the file on a side thread (hashlib releases the GIL on large reads)."""

    def __init__(self, path: Path) -> None:
        self.digest = ""
        self._thread = threading.Thread(target=self._run, args=(path,), daemon=True)
        self._thread.start()

    def _run(self, path: Path) -> None:
        try:
            with path.open("rb") as fh:
                self.digest = hashlib.file_digest(fh, "sha256").hexdigest()
        except OSError:
            # A refused file is removed by the caller (an upload's temporary copy) while this may still be
            # reading it; nobody asks for the digest of a refused file.
            self.digest = ""

    def result(self) -> str:
        self._thread.join()
        return self.digest


def staged(chunks: Iterator[Any], stage: Callable[[Any], Any], timings: dict[str, float]) -> Iterator[Any]:
    """stage(chunk) for every chunk, one chunk ahead of the caller, on a thread of its own: the checks and
    payloads of chunk N+1 (Polars, which releases the GIL, and hashing) run while the caller matches and
    writes chunk N. Reading the file happens on that thread too. An error there is raised here, in order;
    when the caller stops early, at most the one chunk being staged is finished and thrown away."""
    it = iter(chunks)

    def ahead() -> Any:
        started = time.perf_counter()
        chunk = next(it, None)
        _lap(timings, "read", started)
        return None if chunk is None else (stage(chunk),)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="xinyong-stage") as pool:
        future = pool.submit(ahead)
        while (result := future.result()) is not None:
            future = pool.submit(ahead)
            yield result[0]


def _lap(timings: dict[str, float], phase: str, since: float) -> float:
    now = time.perf_counter()
    timings[phase] += now - since
    return now


def ingest_file(session: Session, path: Path, item_code: str, dept_code: str, *, file_name: str | None = None,
                progress: Progress | None = None, today: date | None = None) -> BatchSummary:
    """Ingest one file for a department; refusals (NotFound, Refused) write nothing."""
    item = get_catalog().get(item_code)
    dept = get_department(session, dept_code)
    return ingest_for(session, Path(path), item, dept, file_name=file_name, progress=progress, today=today)


@gc_paused()
def ingest_for(session: Session, path: Path, item: CatalogItem, dept: Department, *, file_name: str | None = None,
               progress: Progress | None = None, today: date | None = None) -> BatchSummary:
    started = time.perf_counter()
    require_provider(session, item, dept)  # before the file is even opened: a refused upload writes nothing
    today = today or legal_today()
    name = file_name or path.name
    if not path.is_file() or path.stat().st_size == 0:
        raise Refused("文件为空（0 字节）：请检查导出的文件后重新报送", rule="ingest.empty_file")
    file_hash = _FileHash(path)
    with open_source(path, header_score=header_scorer(item), original_name=name, chunk_rows=CHUNK_ROWS) as source:
        cmap = map_headers(item, list(source.headers))
        chunks = source.chunks()
        first = next(chunks, None)
        if first is None:
            raise Refused(HEADER_ONLY, rule="ingest.header_only")
        now = utcnow()
        batch = Batch(dept_id=dept.id, item_code=item.code, file_name=name[:300], file_sha256="",
                      file_size=path.stat().st_size, state="processing", started_at=now,
                      columns=json.dumps(list(source.headers), ensure_ascii=False))
        session.add(batch)
        session.flush()
        actor = f"dept:{dept.code}"
        # on the session before the loader's threads take over its connection
        layout_id = layout_for(session, item)
        loader = loader_for(session)
        counters: Counter[str] = Counter()
        timings: dict[str, float] = defaultdict(float)
        rows = 0
        try:
            loader.lock_batch(f"{dept.id}:{item.code}")
            checker = ChunkChecker(item, cmap, today)
            matcher = SubjectMatcher(item, loader, batch.id, today, now)
            writer = RecordWriter(item, dept.id, batch.id, actor, loader, now, layout_id)
            sink = RejectSink(loader, batch.id, item, cmap)
            overrides = severity_overrides(item, dept.code, dept.name)
            def stage(chunk: Any) -> tuple[Any, Any]:
                """What needs no database (read, check, windows, payloads, hashes), on the stage thread."""
                clock = time.perf_counter()
                checked = checker.check(chunk.frame, chunk.rows)
                clock = _lap(timings, "check", clock)
                if not checked.good.height:
                    return checked, None
                windowed = window_columns(item, checked.good, overrides=overrides, today=today)
                clock = _lap(timings, "window", clock)
                prepared = writer.prepare(windowed)
                _lap(timings, "prepare", clock)
                return checked, prepared

            clock = time.perf_counter()
            for checked, prepared in staged(chain([first], chunks), stage, timings):
                clock = _lap(timings, "wait_stage", clock)
                rows += checked.rows
                counters.update(checked.counters)
                sink.add(checked.rejects, checked.rejected_raw)
                if prepared is not None:
                    # The loader writes the previous chunk meanwhile; its reads do not wait for that.
                    subjects = matcher.match(checked.good, counters)
                    clock = _lap(timings, "match", clock)
                    writer.write(prepared, subjects)
                    clock = _lap(timings, "write", clock)
                if progress is not None:
                    progress(rows, None)
            loader.close()
            _lap(timings, "close", clock)
            timings.update(getattr(loader, "timings", {}))
            log.debug("ingest timings: %s", {k: round(v, 2) for k, v in timings.items()})
        except BaseException:
            loader.abort()
            raise
        warnings = list(source.warnings) + list(cmap.warnings)
    if rows == 0:
        raise Refused(HEADER_ONLY, rule="ingest.header_only")
    warnings += [f"{msg}（{n} 行）" for msg, n in counters.items() if n]
    counts = writer.counts
    seconds = round(time.perf_counter() - started, 3)
    batch.file_sha256 = file_hash.result()
    batch.state = "done"
    batch.rows = rows
    batch.accepted = counts.accepted
    batch.rejected = sink.rejected_rows
    batch.duplicates = counts.duplicates
    batch.superseded = counts.superseded
    batch.late = counts.late
    batch.warnings = json.dumps(warnings, ensure_ascii=False)
    batch.finished_at = utcnow()
    batch.seconds = seconds
    session.flush()
    audit.record(session, actor=actor, action="batch.ingest", entity="batch", entity_id=batch.id,
                 after={"item": item.code, "file": name, "rows": rows, "accepted": counts.accepted,
                        "rejected": sink.rejected_rows, "duplicates": counts.duplicates,
                        "superseded": counts.superseded, "subjects_created": matcher.created})
    return BatchSummary(batch_id=batch.id, item=item.code, dept=dept.code, file_name=name, state=batch.state,
                        rows=rows, accepted=counts.accepted, rejected=sink.rejected_rows,
                        duplicates=counts.duplicates, superseded=counts.superseded, late=counts.late,
                        seconds=seconds, rejects=sink.shown, warnings=warnings)


# ---- reading batches back ----------------------------------------------------------------------------


def get_batch(session: Session, batch_id: int, *, viewer: Department | None = None) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound(f"批次 {batch_id} 不存在，请核对批次编号")
    if viewer is not None and not may_read_batch(actor_for_dept(viewer), dept_id=batch.dept_id):
        raise Forbidden("只有报送该批次的部门或信用办可以查看此批次")
    return batch


def batch_summary(session: Session, batch: Batch) -> BatchSummary:
    dept = session.get(Department, batch.dept_id)
    shown = session.execute(
        select(BatchReject.row, BatchReject.field, BatchReject.reason, BatchReject.value)
        .where(BatchReject.batch_id == batch.id).order_by(BatchReject.row, BatchReject.id).limit(MAX_REJECTS_SHOWN)
    ).all()
    return BatchSummary(
        batch_id=batch.id, item=batch.item_code, dept=dept.code if dept else str(batch.dept_id),
        file_name=batch.file_name, state=batch.state, rows=batch.rows, accepted=batch.accepted,
        rejected=batch.rejected, duplicates=batch.duplicates, superseded=batch.superseded, late=batch.late,
        seconds=batch.seconds or 0.0, warnings=json.loads(batch.warnings or "[]"),
        rejects=[RejectOut(row=r, field=f, reason=why, value=v) for r, f, why, v in shown],
    )


def summary_json(summary: BatchSummary) -> dict[str, Any]:
    """The CLI's --json object."""
    return summary.model_dump(mode="json", include={"batch_id", "rows", "accepted", "rejected", "duplicates",
                                                    "superseded", "late", "seconds", "rejects", "warnings",
                                                    "item", "dept"})
