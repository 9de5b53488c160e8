"""Search organisations by name or unified code: find candidates in SQL, rank them here.

Ranking: exact code > exact name > prefix (name or code) > substring > near matches (one edit, or a long
shared run: a transposition, two wrong characters), these by rapidfuzz partial_ratio, the benchmark oracle's
measure. A page the better tiers do not fill is filled with near matches scoring MIN_NEAR_SCORE or more.
The SQL side returns at most CANDIDATES + 1 rows per question, so a very common query ("有限公司")
costs the same as a rare one; such result sets are ranked and paged within their first CANDIDATES
matches and reported as capped ("超过 1000 条，请输入更完整的名称").
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.core.regions import lookup_region
from xinyong.search.query import (
    MAX_FUZZY_CHARS,
    Query,
    fold,
    highlight_spans,
    loose_pattern,
    neighbour_windows,
    normalise_query,
)
from xinyong.search.sql import Row, SearchSQL, backend
from xinyong.subjects.models import KIND_LABELS, Subject

log = logging.getLogger("xinyong.search")

CANDIDATES = 1000
TYPO_CANDIDATES = 300
NEIGHBOUR_CANDIDATES = 100
# partial_ratio below this is a coincidence (three shared characters of a 7-character query): not shown.
MIN_NEAR_SCORE = 65.0
MAX_LIMIT = 100

EXACT_CODE, EXACT_NAME, PREFIX, SUBSTRING, TYPO = range(5)
TIER_LABELS = {
    EXACT_CODE: "代码完全一致",
    EXACT_NAME: "名称完全一致",
    PREFIX: "开头一致",
    SUBSTRING: "包含查询内容",
    TYPO: "近似（可能有错别字）",
}


@dataclass
class SearchItem:
    id: int
    uscc: str | None
    name: str
    kind: str
    kind_label: str
    region: str | None
    region_code: str | None
    tier: int
    match: str
    spans: list[tuple[str, bool]]

    def out(self) -> dict[str, Any]:
        return {"uscc": self.uscc, "name": self.name, "kind": self.kind, "region": self.region}


@dataclass
class SearchResult:
    total: int
    items: list[SearchItem]
    query: str = ""
    capped: bool = False                 # more than CANDIDATES matches: total is a floor
    notices: list[str] = field(default_factory=list)
    problem: str | None = None           # nothing searched, and why
    suggestion: str | None = None        # "您是不是要找" — the corrected query when only typos matched
    took_ms: float = 0.0


@dataclass
class _Hit:
    row: Row
    tier: int
    score: float
    position: int
    needle: str


def _rank(row: Row, q: Query, folded_variants: list[str]) -> _Hit | None:
    _, name, uscc, _, _ = row
    folded = fold(name)
    code = q.code
    if code and uscc == code:
        return _Hit(row, EXACT_CODE, 0, 0, "")
    if folded in folded_variants:
        return _Hit(row, EXACT_NAME, 0, 0, name)
    best: _Hit | None = None
    for v in folded_variants:
        at = folded.find(v)
        if at >= 0:
            hit = _Hit(row, PREFIX if at == 0 else SUBSTRING, 0, at, v)
            if best is None or (hit.tier, hit.position) < (best.tier, best.position):
                best = hit
    if code and uscc and code in uscc:
        hit = _Hit(row, PREFIX if uscc.startswith(code) else SUBSTRING, 0, 0, "")
        if best is None or hit.tier < best.tier:
            best = hit
    return best


def _typo_hits(session: Session, sql: SearchSQL, q: Query, seen: set[int], wanted: int) -> list[_Hit]:
    """Names one edit away from the query (a wrong, a missing or an extra character).

    Patterns that leave two or more characters outside the index (a wrong character next to a short end:
    "市陵城区_法小") make the index return every name with the long run ("市陵城区", tens of thousands) for a
    check row by row; they are asked only when the others have not filled the page.
    """
    patterns = q.typo_patterns()
    strong = [p for p in patterns if sum(len(part) for part in p.parts if len(part) < 3) < 2]
    weak = [p for p in patterns if p not in strong]
    needle = fold(q.primary)
    out: list[_Hit] = []
    for group in (strong, weak):
        if not group or len(out) >= wanted:
            continue
        regexes = [p.regex() for p in group]
        for row in sql.name_rows(session, group, TYPO_CANDIDATES):
            if row[0] in seen:
                continue
            folded = fold(row[1])
            m = next((m for rx in regexes if (m := rx.search(folded))), None)
            if m is not None:
                seen.add(row[0])
                score = fuzz.partial_ratio(needle, folded)  # the oracle's measure, on ≤300 rows
                out.append(_Hit(row, TYPO, score, m.start(), row[1][m.start():m.end()]))
    return out


def _short_typo_hits(session: Session, sql: SearchSQL, q: Query) -> list[_Hit]:
    """A wrong character inside a 4–5 character query leaves no 3-character run for the index.

    Asked only when nothing else matched: two-character runs are answered by the side table of such runs
    (subjects.grams); patterns with none scan, stopping at TYPO_CANDIDATES matches.
    """
    patterns = [p for p in q.typo_patterns(index_only=False) if not p.runs()]
    if not patterns:
        return []
    needle = fold(q.primary)
    regexes = [p.regex() for p in patterns]
    out: list[_Hit] = []
    for row in sql.name_rows(session, patterns, TYPO_CANDIDATES):
        folded = fold(row[1])
        m = next((m for rx in regexes if (m := rx.search(folded))), None)
        if m is not None:
            out.append(_Hit(row, TYPO, fuzz.partial_ratio(needle, folded), m.start(), row[1][m.start():m.end()]))
    return out


def _neighbour_hits(session: Session, sql: SearchSQL, q: Query, seen: set[int]) -> list[_Hit]:
    """Names sharing a run of three or more characters with the query, ranked by partial_ratio.

    For when exact and one-edit matches fill less than a page: two edits (a transposition, two wrong
    characters, a wrong character next to a short end) still leave a shared run. Runs are tried longest
    first, so the closest names are all found before a common run ("有限公司") fills NEIGHBOUR_CANDIDATES
    with an arbitrary page; the first level that fills it is the last one asked (shorter runs would only
    bring more arbitrary, weaker names, and cost the most: their index entries are the longest).
    """
    text = q.primary
    if not 4 <= len(text) <= MAX_FUZZY_CHARS:
        return []
    needle = fold(text)
    out: list[_Hit] = []
    # Runs of n-1 characters are one-edit matches, already asked for.
    for windows in neighbour_windows(text)[1 if len(text) >= 5 else 0:]:
        patterns = [p for w in windows if (p := loose_pattern(w)).runs()]
        if not patterns:
            continue
        rows = sql.name_rows(session, patterns, NEIGHBOUR_CANDIDATES)
        for row in rows:
            if row[0] in seen:
                continue
            seen.add(row[0])
            folded = fold(row[1])
            align = fuzz.partial_ratio_alignment(needle, folded)
            if align is not None and align.score >= MIN_NEAR_SCORE:
                out.append(_Hit(row, TYPO, align.score, align.dest_start, row[1][align.dest_start:align.dest_end]))
        if len(rows) >= NEIGHBOUR_CANDIDATES:
            break
    return out


def _exact_code(session: Session, code: str) -> Row | None:
    r = session.execute(select(Subject.id, Subject.name, Subject.uscc, Subject.kind, Subject.region_code)
                        .where(Subject.uscc == code, Subject.kind != "natural_person")).first()
    return (r[0], r[1], r[2], r[3], r[4]) if r is not None else None


def _code_prefix_rows(session: Session, fragment: str, limit: int) -> list[Row]:
    """Codes starting with the fragment: a range on the unique index, cheap on both databases."""
    upper = fragment[:-1] + chr(ord(fragment[-1]) + 1)
    rows = session.execute(select(Subject.id, Subject.name, Subject.uscc, Subject.kind, Subject.region_code)
                           .where(Subject.uscc >= fragment, Subject.uscc < upper, Subject.kind != "natural_person")
                           .limit(limit))
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def _sort_key(hit: _Hit) -> tuple[int, float, int, int, str]:
    return (hit.tier, -hit.score, hit.position, len(hit.row[1]), hit.row[1])


def search_subjects(session: Session, q: str | None, limit: int = 10, offset: int = 0) -> SearchResult:
    """Organisations matching q, best first; natural persons are never searched."""
    started = time.perf_counter()
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    query = normalise_query(q)
    if query.notices:
        log.info("search query shortened: %d characters received", query.raw_length)
    if not query.searchable:
        log.info("search refused (%d characters): %s", query.raw_length, query.problem)
        return SearchResult(0, [], query=query.text, notices=query.notices, problem=query.problem)

    sql = backend(session)
    folded_variants = list(dict.fromkeys(fold(v) for v in query.variants))
    rows: dict[int, Row] = {}
    capped = False
    exact_code = _exact_code(session, query.code) if query.code and len(query.code) == 18 else None
    looks_like_code = True
    if exact_code is not None:  # a whole, known code: that subject is the answer
        name_rows: list[Row] = []
        code_rows = [exact_code]
    else:
        # A fragment with digits is a code: organisation names do not carry them, and on SQLite the shared
        # FTS table would read the code trigrams' long posting lists for nothing.
        looks_like_code = query.code is not None and any(ch.isdigit() for ch in query.code)
        name_rows = [] if looks_like_code else sql.name_rows(session, query.substring_patterns(), CANDIDATES + 1)
        code_rows = _code_prefix_rows(session, query.code, CANDIDATES + 1) if query.code else []
        if query.code and len(code_rows) <= CANDIDATES:  # the fragment may sit inside codes, not only start them
            seen = {r[0] for r in code_rows}
            code_rows += [r for r in sql.code_rows(session, query.code, CANDIDATES + 1) if r[0] not in seen]
    if len(name_rows) > CANDIDATES or len(code_rows) > CANDIDATES:
        # The first CANDIDATES substring matches are arbitrary: fetch the better tiers on their own.
        capped = True
        for r in sql.name_rows(session, query.exact_patterns(), 50):
            rows[r[0]] = r
        for r in sql.name_rows(session, query.prefix_patterns(), CANDIDATES):
            rows[r[0]] = r
    for r in (*code_rows[:CANDIDATES], *name_rows[:CANDIDATES]):
        rows.setdefault(r[0], r)

    hits = [h for r in rows.values() if (h := _rank(r, query, folded_variants)) is not None]
    suggestion = None
    if len(hits) < offset + limit and not capped and not looks_like_code:
        typo_hits = _typo_hits(session, sql, query, {h.row[0] for h in hits}, offset + limit - len(hits))
        if typo_hits:
            if not hits:
                best = min(typo_hits, key=_sort_key)
                suggestion = best.needle
            hits.extend(typo_hits)
        if len(hits) < offset + limit:
            hits.extend(_neighbour_hits(session, sql, query, {h.row[0] for h in hits}))
        if not hits and len(query.primary) <= 5:
            hits.extend(_short_typo_hits(session, sql, query))
            if hits:
                suggestion = min(hits, key=_sort_key).needle
    hits.sort(key=_sort_key)
    total = len(hits)
    if capped:
        total = max(total, CANDIDATES)
    page = hits[offset:offset + limit]
    items = [_item(h, query) for h in page]
    took = (time.perf_counter() - started) * 1000
    log.debug("search %d chars: %d hits%s in %.1f ms", len(query.text), total, " (capped)" if capped else "", took)
    return SearchResult(total, items, query=query.text, capped=capped, notices=query.notices,
                        suggestion=suggestion, took_ms=took)


def _item(hit: _Hit, query: Query) -> SearchItem:
    sid, name, uscc, kind, region_code = hit.row
    region = lookup_region(region_code) if region_code else None
    needles = [hit.needle] if hit.needle else []
    if hit.tier != TYPO:
        needles = list(query.variants)
    return SearchItem(
        id=sid, uscc=uscc, name=name, kind=kind, kind_label=KIND_LABELS.get(kind, kind),
        region=region.full_name if region else None, region_code=region_code, tier=hit.tier,
        match=TIER_LABELS[hit.tier], spans=highlight_spans(name, needles),
    )
