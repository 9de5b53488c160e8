"""Set-based subject matching for a chunk: unified code, then older codes, then a person's keyed hash.

One query per key kind per chunk finds the subjects that existed before the batch; the missing ones are
created in bulk with their name history and secondary identifiers. ID numbers are hashed for lookup and
encrypted for storage; only the masked form is ever stored in clear.

The loader's reads see only what was committed before the batch (its writes run behind, on another
thread), so the matcher remembers what the batch itself resolved: every subject found or created
(`_known`, by identity, with its current name) and every older code it linked (`_links`). A later chunk
asks the database only about identities the batch has not met yet. Past SUBJECT_MEMORY identities the
matcher forgets and asks the batch's own connection instead (exact, but it waits for the writer).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl

from xinyong.catalog.schemas import CatalogItem
from xinyong.core import crypto
from xinyong.core.identifiers import secondary_valid_expr
from xinyong.ingest.loader import Loader
from xinyong.ingest.payload import mask_column
from xinyong.subjects.grams import grams_frame
from xinyong.subjects.service import ID_HASH_PURPOSE, id_aad

SECONDARY_SCHEMES = ("reg_no", "org_code", "tax_no", "inst_cert_no", "social_org_no")
_KNOWN_SCHEMA = {"_ident": pl.String, "_subject_id": pl.Int64, "_old_name": pl.String,
                 "_key_uscc": pl.String, "_key_hash": pl.String}
_LINK_SCHEMA = {"scheme": pl.String, "value": pl.String, "subject_id": pl.Int64}
# Identities a batch remembers (~150 bytes each); past this, every lookup reads the batch's own
# connection, which sees its writes but waits for them: memory stays flat however large the file.
SUBJECT_MEMORY = 500_000


@dataclass
class SubjectMatcher:
    item: CatalogItem
    loader: Loader
    batch_id: int
    today: date
    now: datetime

    def __post_init__(self) -> None:
        self.hash_id = crypto.hasher(ID_HASH_PURPOSE)
        self.schemes = [(s, f.name) for s in SECONDARY_SCHEMES if (f := self.item.field_by_role(s)) is not None]
        name_field = self.item.field_by_role("subject_name")
        rep = self.item.field_by_role("legal_rep")
        self.name_col = name_field.name if name_field else None
        self.rep_col = rep.name if rep else None
        self.created = 0
        self._known = pl.DataFrame(schema=_KNOWN_SCHEMA)
        self._links = pl.DataFrame(schema=_LINK_SCHEMA)
        self._overflow = False

    def match(self, good: pl.DataFrame, counters: Counter[str]) -> pl.DataFrame:
        """_row, _subject_id and _subject_key (records.service.subject_key of the subject) of every good row."""
        cols = set(good.columns)
        name = pl.col(self.name_col) if self.name_col in cols else pl.lit("", pl.String)
        rep = pl.col(self.rep_col) if self.rep_col in cols else pl.lit(None, pl.String)
        frame = good.select("_row", "_kind", "_uscc", "_pid", name.alias("_name"), rep.alias("_rep"),
                            *[pl.col(c).alias(f"_s_{s}") for s, c in self.schemes if c in cols])
        frame = self._check_secondary(frame, counters)
        pid = frame.get_column("_pid")
        distinct_pid = pid.drop_nulls().unique()
        hashes = dict(zip(distinct_pid.to_list(), (self.hash_id(v) for v in distinct_pid.to_list()), strict=True))
        frame = frame.with_columns(pid.replace_strict(hashes, default=None, return_dtype=pl.String).alias("_hash")
                                   if hashes else pl.lit(None, pl.String).alias("_hash"))
        # Each row's identity: its unified code, else its first older code, else its person hash.
        sec_cols = [c for c in frame.columns if c.startswith("_s_")]
        first_sec = pl.coalesce([pl.when(pl.col(c).is_not_null()).then(pl.lit(c[3:] + ":") + pl.col(c))
                                 for c in sec_cols]) if sec_cols else pl.lit(None, pl.String)
        frame = frame.with_columns(
            pl.when(pl.col("_kind") == "natural_person").then(pl.lit("h:") + pl.col("_hash"))
            .when(pl.col("_uscc").is_not_null()).then(pl.lit("u:") + pl.col("_uscc"))
            .otherwise(first_sec).alias("_ident"))
        found = self._existing(frame)
        frame = frame.join(found, on="_ident", how="left")
        frame = self._create_missing(frame)
        learned = self._link_secondary(frame)
        renamed = self._renames(frame)
        self._remember(frame, learned, renamed)
        key = pl.coalesce(pl.col("_key_uscc"), pl.col("_key_hash"), pl.col("_subject_id").cast(pl.String))
        return frame.select("_row", "_subject_id", key.alias("_subject_key"))

    def _check_secondary(self, frame: pl.DataFrame, counters: Counter[str]) -> pl.DataFrame:
        """Older codes that fail their check are kept in the record but not used to identify a subject."""
        present = [(scheme, f"_s_{scheme}") for scheme, _ in self.schemes if f"_s_{scheme}" in frame.columns]
        if not present:
            return frame
        bad = frame.select([(pl.col(col).is_not_null() & ~secondary_valid_expr(scheme, col)).alias(col)
                            for scheme, col in present])
        fixes = []
        for scheme, col in present:
            n = int(bad.get_column(col).sum())
            if n:
                label = self.item.field_by_role(scheme).label  # type: ignore[union-attr]
                counters[f"「{label}」格式或校验位不正确，已接收但未用于识别主体，请核对"] += n
                fixes.append(pl.when(bad.get_column(col)).then(None).otherwise(pl.col(col)).alias(col))
        return frame.with_columns(fixes) if fixes else frame

    def _lookup(self, sql_head: str, column: str, values: list[str]) -> list[tuple[Any, ...]]:
        """What was stored before the batch; once the matcher has forgotten, the batch's own rows too."""
        return (self.loader.lookup_mine if self._overflow else self.loader.lookup)(sql_head, column, values)

    def _existing(self, frame: pl.DataFrame) -> pl.DataFrame:
        """_ident → subject of the chunk's identities: met earlier in the batch, else in the database."""
        known = self._known.join(frame.select("_ident").unique(), on="_ident", how="semi")
        fresh = frame.join(known.select("_ident"), on="_ident", how="anti")
        rows: list[tuple[object, ...]] = []
        head = "SELECT id, name, uscc, id_hash FROM subjects"
        usccs = fresh.get_column("_uscc").drop_nulls().unique().to_list()
        for sid, name, uscc, h in self._lookup(head, "uscc", usccs):
            rows.append(("u:" + uscc, sid, name, uscc, h))
        hashes = fresh.get_column("_hash").drop_nulls().unique().to_list()
        for sid, name, uscc, h in self._lookup(head, "id_hash", hashes):
            rows.append(("h:" + h, sid, name, uscc, h))
        # Organisations not found by code: their older codes (linked earlier in the batch, or stored).
        seen = {r[0] for r in rows}
        pending = fresh.filter(~pl.col("_ident").is_in(sorted(seen)) & (pl.col("_kind") != "natural_person"))
        wanted: dict[str, list[str]] = {}
        for scheme, _ in self.schemes:
            col = f"_s_{scheme}"
            if col in pending.columns:
                wanted[scheme] = pending.get_column(col).drop_nulls().unique().to_list()
        values = sorted({v for vs in wanted.values() for v in vs})
        sec_found: dict[str, tuple[int, str, str | None]] = {}
        if values and self._links.height:
            mine = (self._links.filter(pl.col("value").is_in(values))
                    .join(self._known.unique("_subject_id", keep="last"), left_on="subject_id",
                          right_on="_subject_id", how="inner"))
            for scheme, value, sid, name, uscc in mine.select("scheme", "value", "subject_id", "_old_name",
                                                              "_key_uscc").iter_rows():
                if value in wanted.get(scheme, ()):
                    sec_found[f"{scheme}:{value}"] = (sid, name, uscc)
        values = [v for v in values if not any(f"{s}:{v}" in sec_found for s in wanted)]
        if values:
            q = ("SELECT i.scheme, i.value, s.id, s.name, s.uscc FROM subject_identifiers i "
                 "JOIN subjects s ON s.id = i.subject_id")
            for scheme, value, sid, name, uscc in self._lookup(q, "i.value", values):
                if value in wanted.get(scheme, ()):
                    sec_found.setdefault(f"{scheme}:{value}", (sid, name, uscc))
        if sec_found:
            extra = pending.select("_ident", *[c for c in pending.columns if c.startswith("_s_")])
            for row in extra.iter_rows(named=True):
                for scheme, _ in self.schemes:
                    v = row.get(f"_s_{scheme}")
                    hit = sec_found.get(f"{scheme}:{v}") if v else None
                    if hit and row["_ident"] not in seen:
                        rows.append((row["_ident"], hit[0], hit[1], hit[2], None))
                        seen.add(row["_ident"])
                        break
        found = pl.DataFrame(rows, schema=_KNOWN_SCHEMA, orient="row").unique("_ident", keep="first")
        return pl.concat([known, found])

    def _create_missing(self, frame: pl.DataFrame) -> pl.DataFrame:
        new = (frame.filter(pl.col("_subject_id").is_null() & pl.col("_ident").is_not_null())
               .group_by("_ident", maintain_order=True).last())
        if new.height:
            ids = self.loader.reserve_ids("subjects", new.height)
            new = new.with_columns(ids.alias("_new_id"))
            people = new.filter(pl.col("_kind") == "natural_person").select("_pid", "_hash").drop_nulls()
            enc = {v: crypto.encrypt(v, id_aad(h)) for v, h in people.iter_rows()}
            masked = mask_column(new, "_pid")
            person = pl.col("_kind") == "natural_person"
            region = pl.when(person).then(
                pl.when(pl.col("_pid").str.contains(r"^\d{17}[\dX]$")).then(pl.col("_pid").str.slice(0, 6))
            ).otherwise(pl.col("_uscc").str.slice(2, 6))
            subjects = new.select(
                pl.col("_new_id").alias("id"), pl.col("_kind").alias("kind"),
                pl.col("_name").fill_null("").str.slice(0, 300).alias("name"),
                pl.when(~person).then(pl.col("_uscc")).alias("uscc"),
                pl.when(person).then(pl.col("_hash")).alias("id_hash"),
                pl.when(person).then(pl.col("_pid").replace_strict(enc, default=None, return_dtype=pl.String)
                                     if enc else pl.lit(None, pl.String)).alias("id_enc"),
                pl.when(person).then(pl.lit(masked)).alias("id_masked"),
                region.alias("region_code"), pl.lit("存续").alias("status"),
                pl.when(~person).then(pl.col("_rep").str.slice(0, 100)).alias("legal_rep"),
                pl.lit(self.now).alias("created_at"), pl.lit(self.now).alias("updated_at"),
            )
            self.loader.insert("subjects", subjects)
            orgs = subjects.filter(pl.col("kind") != "natural_person")
            self.loader.insert("subject_grams", grams_frame(orgs.get_column("id"), orgs.get_column("name")))
            names = new.select(pl.col("_new_id").alias("subject_id"),
                               pl.col("_name").fill_null("").str.slice(0, 300).alias("name"),
                               pl.lit(self.today).alias("first_seen"),
                               pl.lit(self.batch_id).alias("source_batch_id"))
            self.loader.insert("subject_names", names.with_columns(
                self.loader.reserve_ids("subject_names", names.height).alias("id")))
            self.created += new.height
            created = new.select("_ident", "_new_id", pl.col("_uscc").alias("_new_uscc"),
                                 pl.col("_hash").alias("_new_hash"))
            frame = frame.join(created, on="_ident", how="left").with_columns(
                pl.coalesce("_subject_id", "_new_id").alias("_subject_id"),
                pl.when(pl.col("_new_id").is_not_null()).then(pl.col("_new_uscc")).otherwise(pl.col("_key_uscc"))
                .alias("_key_uscc"),
                pl.when(pl.col("_new_id").is_not_null()).then(pl.col("_new_hash")).otherwise(pl.col("_key_hash"))
                .alias("_key_hash"),
            )
        else:
            frame = frame.with_columns(pl.lit(None, pl.Int64).alias("_new_id"))
        return frame

    def _link_secondary(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Older codes on a row with a known subject become its secondary identifiers (first owner wins).

        Returns the subjects that learned their unified code (_subject_id, _uscc)."""
        parts = [frame.filter(pl.col(f"_s_{s}").is_not_null()).select(
            pl.col("_subject_id").alias("subject_id"), pl.lit(s).alias("scheme"), pl.col(f"_s_{s}").alias("value"))
            for s, _ in self.schemes if f"_s_{s}" in frame.columns]
        learned = pl.DataFrame(schema={"_subject_id": pl.Int64, "_uscc": pl.String})
        if not parts:
            return learned
        links = pl.concat(parts).unique(["scheme", "value"], keep="first", maintain_order=True)
        links = links.join(self._links.select("scheme", "value"), on=["scheme", "value"], how="anti")
        if links.height == 0:
            return self._learn(frame)
        taken = {(s, v) for s, v in self._lookup("SELECT scheme, value FROM subject_identifiers", "value",
                                                 links.get_column("value").unique().to_list())}
        links = links.filter(~pl.struct("scheme", "value").map_elements(
            lambda r: (r["scheme"], r["value"]) in taken, return_dtype=pl.Boolean)) if taken else links
        if links.height:
            self.loader.insert("subject_identifiers", links.with_columns(
                self.loader.reserve_ids("subject_identifiers", links.height).alias("id")))
            if not self._overflow:
                self._links = pl.concat([self._links, links.select(_LINK_SCHEMA.keys())])
        return self._learn(frame)

    def _learn(self, frame: pl.DataFrame) -> pl.DataFrame:
        """A subject found by an older code learns its unified code from the row."""
        learn = frame.filter(pl.col("_key_uscc").is_null() & pl.col("_uscc").is_not_null()
                             & pl.col("_new_id").is_null() & pl.col("_subject_id").is_not_null())
        learn = learn.unique("_subject_id", keep="first", maintain_order=True).select("_subject_id", "_uscc")
        if learn.height:
            pairs = learn.select("_uscc", "_subject_id").rows()
            self.loader.execute_many("UPDATE subjects SET uscc = %s WHERE id = %s AND uscc IS NULL", pairs)
        return learn

    def _renames(self, frame: pl.DataFrame) -> pl.DataFrame:
        """A known subject appearing under a new name: the name changes, the old one stays in the history.
        Only the registration authority renames (the registration item, whose providers the batch was checked
        against); another item's row under another name keeps the subject's current name and writes no history.

        Returns the new names (_subject_id, _name)."""
        if not self.item.renames_subjects:
            return pl.DataFrame(schema={"_subject_id": pl.Int64, "_name": pl.String})
        changed = (frame.filter(pl.col("_new_id").is_null() & pl.col("_subject_id").is_not_null()
                                & pl.col("_name").is_not_null() & (pl.col("_name") != pl.col("_old_name")))
                   .group_by("_subject_id", maintain_order=True).last())
        if changed.height == 0:
            return changed.select("_subject_id", "_name")
        pairs = changed.select("_name", "_subject_id").rows()
        self.loader.execute_many("UPDATE subjects SET name = %s, updated_at = %s WHERE id = %s",
                                 [(name, self.now, sid) for name, sid in pairs])
        self.loader.execute_many("UPDATE subject_names SET last_seen = %s WHERE subject_id = %s AND last_seen IS NULL",
                                 [(self.today, sid) for _, sid in pairs])
        # The search side table follows the name (subjects.grams): the old name's runs go, the new one's come.
        self.loader.update_in("DELETE FROM subject_grams", "subject_id", [sid for _, sid in pairs])
        orgs = changed.filter(pl.col("_kind") != "natural_person")
        self.loader.insert("subject_grams", grams_frame(orgs.get_column("_subject_id"), orgs.get_column("_name")))
        names = changed.select(pl.col("_subject_id").alias("subject_id"), pl.col("_name").alias("name"),
                               pl.lit(self.today).alias("first_seen"), pl.lit(self.batch_id).alias("source_batch_id"))
        self.loader.insert("subject_names", names.with_columns(
            self.loader.reserve_ids("subject_names", names.height).alias("id")))
        return changed.select("_subject_id", "_name")

    def _remember(self, frame: pl.DataFrame, learned: pl.DataFrame, renamed: pl.DataFrame) -> None:
        """The chunk's identities join what the batch knows, with the names and codes they now have."""
        if self._overflow:
            return
        name = pl.when(pl.col("_new_id").is_not_null()).then(pl.col("_name").fill_null("").str.slice(0, 300)) \
            .otherwise(pl.col("_old_name"))
        met = (frame.filter(pl.col("_ident").is_not_null() & pl.col("_subject_id").is_not_null())
               .select("_ident", "_subject_id", name.alias("_old_name"), "_key_uscc", "_key_hash")
               .unique("_ident", keep="last", maintain_order=True))
        known = pl.concat([self._known.join(met.select("_ident"), on="_ident", how="anti"), met])
        # Per subject (it may be met under several identities): its new name, its learned unified code.
        if renamed.height:
            known = known.join(renamed, on="_subject_id", how="left").with_columns(
                pl.coalesce("_name", "_old_name").alias("_old_name")).drop("_name")
        if learned.height:
            known = known.join(learned, on="_subject_id", how="left").with_columns(
                pl.coalesce("_key_uscc", "_uscc").alias("_key_uscc")).drop("_uscc")
        if known.height + self._links.height > SUBJECT_MEMORY:
            self._overflow = True
            self._known, self._links = self._known.clear(), self._links.clear()
            return
        self._known = known.rechunk() if known.n_chunks() > 16 else known
