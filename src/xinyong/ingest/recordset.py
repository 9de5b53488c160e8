"""Turning a chunk of matched rows into records: payload, hashes, duplicates and version chains, secrets.

Versions: rows are compared with the newest non-superseded record of the same key (department + item +
decision number), which includes the rows of earlier chunks of the same batch. A row whose content
equals its predecessor's is a duplicate; otherwise it becomes a new version that supersedes the
predecessor. Content is compared by hash, except against a predecessor written under another payload
layout (before a catalog change): then by the decoded values. Inside one file, a decision number repeated
with different content is a correction in file order: the later row supersedes the earlier one, and both
stay in the history.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from xinyong.catalog.schemas import CatalogItem
from xinyong.core import crypto
from xinyong.core.db import engine_of
from xinyong.ingest.loader import Loader
from xinyong.ingest.normalise import json_escape
from xinyong.ingest.payload import (
    LAST_VALUE,
    content_hashes,
    escape_columns,
    last_value_expr,
    mask_column,
    payload_expr,
    record_keys,
)
from xinyong.records.rules import key64
from xinyong.records.service import (
    catalog_fields,
    decode_payload,
    earlier_keys,
    known_layout_fields,
    remember_layouts,
    secret_hasher,
)

RECORD_COLUMNS = ("id", "subject_id", "item_code", "dept_id", "batch_id", "source_row", "record_key", "key64",
                  "content_hash", "decision_no", "decision_date", "severity", "publish_from", "publish_until", "state", "version",
                  "supersedes_id", "report_workdays", "late", "layout_id", "payload", "created_at", "secrets",
                  "secret_hashes")


_EXISTING_SCHEMA = {"record_key": pl.String, "_e_id": pl.Int64, "_e_hash": pl.String, "_e_version": pl.Int64,
                    "_e_state": pl.String, "_e_layout": pl.Int64}


RECORD_MEMORY = 4_000_000  # records of a batch remembered for later chunks (16 bytes each)
SECRET_CACHE = 100_000  # distinct values remembered per batch (~20 MB)


def _cached(cache: dict[str, str], keys: list[str], compute: Callable[[str], str]) -> dict[str, str]:
    if len(cache) + len(keys) > SECRET_CACHE:
        cache.clear()
    get = cache.get
    out: dict[str, str] = {}
    for k in keys:
        v = get(k)
        if v is None:
            v = cache[k] = compute(k)
        out[k] = v
    return out


def _newest(rows: list[tuple[object, ...]], keys: pl.Series) -> pl.DataFrame:
    """The newest of the rows read for each of these record keys. Rows are read by key64, which another key
    may share: only those whose full key is wanted count."""
    frame = pl.DataFrame(rows, schema=_EXISTING_SCHEMA, orient="row")
    frame = frame.filter(pl.col("record_key").is_in(keys.implode()))
    return frame.sort("_e_version", descending=True).unique("record_key", keep="first")


@dataclass
class Counts:
    accepted: int = 0
    duplicates: int = 0
    superseded: int = 0
    late: int = 0
    extra: dict[str, int] = field(default_factory=dict)


@dataclass
class RecordWriter:
    item: CatalogItem
    dept_id: int
    batch_id: int
    actor: str
    loader: Loader
    now: datetime
    layout_id: int  # records.service.layout_for(session, item), got before the loader started
    counts: Counts = field(default_factory=Counts)

    def __post_init__(self) -> None:
        self.sensitive = [f.name for f in self.item.sensitive_fields()]
        self.fields = catalog_fields(self.item)
        self.hash_secret = secret_hasher()
        self._seen = pl.DataFrame(schema={"_h": pl.UInt64, "id": pl.Int64})
        self._overflow = False
        self._hashed: dict[str, str] = {}
        self._earlier: list[tuple[str, ...]] | None = None  # the item's other layouts, read when first needed

    def prepare(self, rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Everything that needs no database: masked payload, content hash; and the clear secrets aside.

        Runs while the previous chunk is still being written by the server.
        """
        present = {f.name for f in self.item.fields if f.name in rows.columns}
        sensitive = [n for n in self.sensitive if n in present]
        clear = rows.select("_row", *sensitive)
        masked = escape_columns(rows.with_columns([mask_column(rows, n) for n in sensitive]),
                                [f.name for f in self.item.fields if f.name in present])
        masked = masked.with_columns(last_value_expr(self.item, present).alias(LAST_VALUE))
        key_field = self.item.key_field if self.item.key_field in present else None
        body = masked.select(
            "_row", pl.col("_severity").alias("severity"),
            pl.col("_publish_from").alias("publish_from"), pl.col("_publish_until").alias("publish_until"),
            pl.col("_report_workdays").alias("report_workdays"), pl.col("_late").alias("late"), payload_expr(
                self.item, present).alias("payload"),
            (pl.col(key_field) if key_field else pl.lit(None, pl.String)).alias("decision_no"),
            (pl.col(f"_d_{self.item.date_field}") if f"_d_{self.item.date_field}" in rows.columns
             else pl.lit(None, pl.Date)).alias("decision_date"),
        )
        digests = content_hashes(self.item.code, body.get_column("payload"))
        return body.with_columns(digests.alias("content_hash")), clear

    def write(self, prepared: tuple[pl.DataFrame, pl.DataFrame], subjects: pl.DataFrame) -> None:
        """subjects: _row, _subject_id, _subject_key of the prepared rows (from the matcher)."""
        body, clear = prepared
        body = body.join(subjects.select("_row", "_subject_id", "_subject_key"), on="_row", how="left")
        keys = record_keys(self.dept_id, self.item.code, body.get_column("decision_no"),
                           body.get_column("_subject_key"), body.get_column("content_hash"))
        body = body.with_columns(keys.get_columns())
        new = self._versions(body)
        if new.height == 0:
            return
        new = self._secrets(new, clear, [c for c in clear.columns if c != "_row"])
        self.loader.insert("records", new.select(RECORD_COLUMNS))
        self._due(new)
        self.counts.accepted += new.height
        self.counts.late += int(new.get_column("late").sum())

    def _due(self, new: pl.DataFrame) -> None:
        """When the chunk's records in force leave publication, for the daily job (records.models.RecordDue):
        one row per end day, its ids as a JSON array. A few hundred narrow rows per chunk, no index."""
        due = (new.filter((pl.col("state") == "active") & pl.col("publish_until").is_not_null())
               .group_by("publish_until").agg(pl.col("id").sort()))
        if due.height == 0:
            return
        self.loader.insert("record_due", due.select(  # ids: the table's own default
            pl.col("publish_until").alias("due_on"),
            pl.concat_str([pl.lit("["), pl.col("id").cast(pl.List(pl.String)).list.join(","), pl.lit("]")])
            .alias("ids")))

    def _existing(self, wanted: pl.DataFrame) -> pl.DataFrame:
        """The current version of each key: written earlier in this batch, else stored before.

        The loader's reads see only what was committed before the batch, so the batch remembers what it
        wrote: 16 bytes a record (a 64-bit hash of the key and the id), up to RECORD_MEMORY records. A key
        whose hash is remembered is read back exactly, by id, from the batch's own connection (which waits
        for the writer: only keys repeated across chunks get there); past RECORD_MEMORY every lookup does.
        wanted: the distinct record_key, key64 of the chunk. Stored rows are looked up by key64 (the index).
        """
        tail = "AND state <> 'superseded'"
        head = "SELECT record_key, id, content_hash, version, state, layout_id FROM records"
        keys = wanted.get_column("record_key")
        if self._overflow:
            return _newest(self.loader.lookup_mine(head, "key64", wanted.get_column("key64").to_list(), tail), keys)
        mine = pl.DataFrame(schema=_EXISTING_SCHEMA)
        if self._seen.height:
            hashes = pl.DataFrame({"_h": keys.hash(seed=0)})
            ids = self._seen.join(hashes, on="_h", how="semi").get_column("id").to_list()
            if ids:
                mine = _newest(self.loader.lookup_mine(head, "id", ids, tail), keys)
                wanted = wanted.join(mine.select("record_key"), on="record_key", how="anti")
                keys = wanted.get_column("record_key")
        stored = _newest(self.loader.lookup(head, "key64", wanted.get_column("key64").to_list(), tail), keys)
        return pl.concat([mine, stored])

    def _remember(self, new: pl.DataFrame) -> None:
        """What this chunk wrote in force, for later chunks to find (see _existing)."""
        if self._overflow:
            return
        if self._seen.height + new.height > RECORD_MEMORY:
            self._overflow, self._seen = True, self._seen.clear()
            return
        latest = new.filter(pl.col("state") == "active").select(
            pl.col("record_key").hash(seed=0).alias("_h"), pl.col("id"))
        merged = pl.concat([self._seen, latest])
        self._seen = merged.rechunk() if merged.n_chunks() > 16 else merged

    def _versions(self, body: pl.DataFrame) -> pl.DataFrame:
        existing = self._existing(body.select("record_key", "key64").unique())
        # Sorted by key and row, a row's predecessor in its key group is simply the row above when the key
        # is the same: neighbour comparisons instead of `.over(record_key)` windows, which cost per group
        # (and nearly every key is a group of one).
        body = body.join(existing, on="record_key", how="left").sort("record_key", "_row")
        key = pl.col("record_key")
        after_same = (key == key.shift(1)).fill_null(False)
        prev = pl.when(after_same).then(pl.col("content_hash").shift(1)).otherwise(pl.col("_e_hash"))
        relaid = ~after_same & pl.col("_e_layout").is_not_null() & (pl.col("_e_layout") != self.layout_id)
        body = body.with_columns((pl.col("content_hash") == prev).fill_null(False).alias("_dup"), relaid.alias("_relaid"))
        if body.get_column("_relaid").any():
            body = self._same_values(body)
        no_number = pl.col("decision_no").is_null() | (pl.col("decision_no") == "")
        unknown = body.filter(pl.col("_e_id").is_null() & ~after_same & no_number)
        if unknown.height:
            body = self._stored_earlier(body, unknown)
        self.counts.duplicates += int(body.get_column("_dup").sum())
        new = body.filter(~pl.col("_dup"))
        if new.height == 0:
            return new
        ids = self.loader.reserve_ids("records", new.height)
        # Ids go out in file order: the n-th row of the chunk (by _row) gets the n-th reserved id.
        order = new.get_column("_row").rank("ordinal").cast(pl.Int64) - 1
        new = new.with_columns(ids.gather(order).alias("id"), after_same.alias("_after_same"),
                               (key == key.shift(-1)).fill_null(False).alias("_before_same"))
        position = pl.int_range(pl.len(), dtype=pl.Int64)
        group_start = pl.when(~pl.col("_after_same")).then(position).forward_fill()
        new = new.with_columns((position - group_start + 1).alias("_rank"))
        new = new.with_columns(
            (pl.col("_e_version").fill_null(0) + pl.col("_rank")).cast(pl.Int32).alias("version"),
            pl.when(pl.col("_after_same")).then(pl.col("id").shift(1)).otherwise(pl.col("_e_id"))
            .alias("supersedes_id"),
            pl.when(pl.col("_before_same")).then(pl.lit("superseded")).otherwise(pl.lit("active")).alias("state"),
            pl.col("_subject_id").alias("subject_id"), pl.lit(self.item.code).alias("item_code"),
            pl.lit(self.layout_id, pl.Int32).alias("layout_id"),
            pl.lit(self.dept_id).alias("dept_id"), pl.lit(self.batch_id).alias("batch_id"),
            pl.col("_row").cast(pl.Int32).alias("source_row"), pl.lit(self.now).alias("created_at"),
        ).sort("_row")
        self.counts.superseded += int(new.get_column("supersedes_id").is_not_null().sum())
        self._supersede(new)
        self._remember(new)
        return new

    def _same_values(self, body: pl.DataFrame) -> pl.DataFrame:
        """Rows whose predecessor was stored under another layout (written before a catalog change): equal
        hashes do not prove equal content there, nor unequal ones a change (a field added to the item, a
        field moved), so the decoded values decide. The predecessors' payloads are read only when their
        text differs; they were committed before the batch (this batch writes only its own layout)."""
        rows = body.filter(pl.col("_relaid")).select("_row", "payload", "content_hash", "_e_id", "_e_hash", "_e_layout")
        fields = self._layouts(rows.get_column("_e_layout").unique().to_list())
        changed = rows.filter(pl.col("content_hash") != pl.col("_e_hash")).get_column("_e_id").to_list()
        stored = dict(self.loader.lookup("SELECT id, payload FROM records", "id", changed)) if changed else {}
        mine = self.fields
        same = [row for row, text, digest, e_id, e_hash, e_layout in rows.iter_rows()
                if decode_payload(mine, text) == decode_payload(fields[e_layout], text if digest == e_hash
                                                                 else stored[e_id])]
        return body.with_columns(pl.when(pl.col("_relaid")).then(pl.col("_row").is_in(same)).otherwise(pl.col("_dup"))
                                 .alias("_dup"))

    def _stored_earlier(self, body: pl.DataFrame, unknown: pl.DataFrame) -> pl.DataFrame:
        """Rows without a decision number are identified by their content hash, which moves with the layout:
        those not found under their own key are looked for under the keys the same content had in the item's
        earlier layouts (records.service.earlier_keys); found, they are duplicates. Nothing to do until the
        item's catalog fields change."""
        if self._earlier is None:
            rows = self.loader.query("SELECT id, fields FROM payload_layouts WHERE item_code = %s AND id <> %s",
                                     [self.item.code, self.layout_id])
            self._earlier = [tuple(json.loads(text)) for _, text in sorted(rows)]
        if not self._earlier:
            return body
        wanted: dict[str, list[int]] = {}
        for row, text, subject_key in unknown.select("_row", "payload", "_subject_key").iter_rows():
            values = decode_payload(self.fields, text)
            for key in earlier_keys(self.dept_id, self.item.code, subject_key, values, self._earlier):
                wanted.setdefault(key, []).append(row)
        if not wanted:
            return body
        found = self.loader.lookup("SELECT record_key FROM records", "key64", sorted({key64(k) for k in wanted}),
                                   "AND state <> 'superseded'")
        # another decision may share a wanted key64: only full keys that are wanted count
        same = [row for (key,) in found if key in wanted for row in wanted[key]]
        return body.with_columns((pl.col("_dup") | pl.col("_row").is_in(same)).alias("_dup"))

    def _layouts(self, ids: list[int]) -> dict[int, tuple[str, ...]]:
        """Fields of committed layouts: cached, else read on the loader's connection (the session's is its own)."""
        engine = engine_of(self.loader.session)
        known = known_layout_fields(engine)
        missing = [i for i in ids if i not in known]
        if missing:
            remember_layouts(engine, self.loader.lookup("SELECT id, item_code, fields FROM payload_layouts", "id", missing))
        out: dict[int, tuple[str, ...]] = {}
        for i in ids:
            found = known.get(i)
            if found is None:
                raise RuntimeError(f"载荷布局 {i} 不存在：数据库不完整，请从备份恢复")
            out[i] = found
        return out

    def _supersede(self, new: pl.DataFrame) -> None:
        """Older versions leave the active set; each change is a RecordEvent (history stays)."""
        old = (new.filter(pl.col("_e_id").is_not_null() & (pl.col("_rank") == 1))
               .select(pl.col("_e_id").alias("record_id"), pl.col("_e_state").alias("from_state"),
                       pl.col("version"), pl.col("_row")))
        inner = new.filter(pl.col("state") == "superseded").select(
            pl.col("id").alias("record_id"), pl.lit("active").alias("from_state"),
            (pl.col("version") + 1).alias("version"), pl.col("_row"))
        if old.height:
            self.loader.update_in("UPDATE records SET state = 'superseded'", "id",
                                  old.get_column("record_id").to_list())
        events = pl.concat([old, inner])
        if events.height == 0:
            return
        self.loader.insert("record_events", events.select(
            "record_id", pl.lit(self.now).alias("at"), pl.lit(self.actor).alias("actor"),
            pl.lit("superseded").alias("action"), "from_state", pl.lit("superseded").alias("to_state"),
            pl.format("被第 {} 版取代（批次 {} 第 {} 行）", pl.col("version"), pl.lit(self.batch_id),
                      pl.col("_row")).alias("note")))

    def _secrets(self, new: pl.DataFrame, clear: pl.DataFrame, sensitive: list[str]) -> pl.DataFrame:
        """Sensitive values become two columns of the record itself (no table of their own, whose COPY and
        indexes cost more than the records): `secrets`, AES-GCM of the compact JSON {field: clear value}
        (catalog order, non-empty values; the bytes of records.service.secrets_json) for authorised reads, and
        `secret_hashes`, "field:keyed-hash …" (records.service.secret_hasher, secret_hashes_text)
        for lookup.

        Each distinct value is hashed once, remembered across the chunks of a batch (the same people recur),
        up to SECRET_CACHE entries. The JSON is sealed per row, bound to the row's key and version.
        """
        nothing = [pl.lit(None, pl.String).alias("secrets"), pl.lit(None, pl.String).alias("secret_hashes")]
        if not sensitive:
            return new.with_columns(nothing)
        values = new.select("_row").join(clear, on="_row", how="left", maintain_order="left").select(
            [pl.when(pl.col(n).str.len_bytes() > 0).then(pl.col(n)).alias(n) for n in sensitive])
        distinct = pl.concat([values.get_column(n) for n in sensitive]).drop_nulls().unique()
        if distinct.len() == 0:
            return new.with_columns(nothing)
        hashes = _cached(self._hashed, distinct.to_list(), self.hash_secret)
        # A null piece is skipped together with its separator; a row without any value gets nulls.
        some = pl.any_horizontal([pl.col(n).is_not_null() for n in sensitive])
        body = pl.concat_str([pl.concat_str([pl.lit(f'"{n}":"'), json_escape(n), pl.lit('"')]) for n in sensitive],
                             separator=",", ignore_nulls=True)
        tagged = pl.concat_str([pl.concat_str([pl.lit(f"{n}:"), pl.col(n).replace_strict(hashes, return_dtype=pl.String)])
                                for n in sensitive], separator=" ", ignore_nulls=True)
        columns = values.select(
            pl.when(some).then(pl.concat_str([pl.lit("{"), body, pl.lit("}")])).alias("_json"),
            pl.when(some).then(tagged).alias("secret_hashes"))
        # Sealed per row: the associated data is the row's own key and version (records.service.secrets_aad,
        # built here as bytes for the whole chunk), so a ciphertext copied into another record does not open
        # (equal values no longer share one). Bytes in, base64 out by Polars: no Python str per row.
        todo = pl.DataFrame({"_json": columns.get_column("_json"), "_key": new.get_column("record_key"),
                             "_version": new.get_column("version")}).with_row_index("_i").filter(
            pl.col("_json").is_not_null()).select(
            "_i", pl.col("_json").cast(pl.Binary),
            pl.concat_str([pl.lit("records.secrets|"), pl.col("_key"), pl.lit("|"), pl.col("_version").cast(pl.String)])
            .cast(pl.Binary).alias("_aad"))
        prefix, nonces, sealed = crypto.seal_many(todo.get_column("_json").to_list(), todo.get_column("_aad").to_list())
        tokens = pl.DataFrame({"n": pl.Series(nonces, dtype=pl.Binary), "s": pl.Series(sealed, dtype=pl.Binary)}).select(
            pl.concat_str([pl.lit(prefix), pl.col("n").bin.encode("base64"), pl.col("s").bin.encode("base64")])).to_series()
        secrets = pl.Series("secrets", [None] * new.height, dtype=pl.String).scatter(todo.get_column("_i"), tokens)
        return new.with_columns(secrets, columns.get_column("secret_hashes"))
