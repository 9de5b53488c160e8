"""Shared pieces of the file readers: the chunk and source types, markers, header choice, text encodings.

Import from `xinyong.ingest.readers`, not from here.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType

import polars as pl

from xinyong.core.errors import Refused

HeaderScore = Callable[[list[str]], int]

# A cell longer than max_cell_chars is replaced by TOO_LONG_PREFIX + its length in characters, so validation
# can reject the row ("内容过长（N 字）") without carrying 100K characters through the pipeline.
TOO_LONG_PREFIX = "\x00TOO_LONG:"
# An XLSX formula cell without a cached value: FORMULA_PREFIX + the formula text ("=A1*2").
FORMULA_PREFIX = "\x00FORMULA:"

HEADER_SCAN_ROWS = 30  # the header must be among the first 30 non-empty rows
SAMPLE_BYTES = 1 << 20  # encoding and header detection look at the first 1 MB
BINARY_SCAN_BYTES = 64 << 10

NO_HEADER = (
    "未找到与信息项匹配的表头行：请确认首行（或标题行下方的第一行）为表头，"
    "表头名称须与信息项规定的字段名称一致"
)
NOT_READABLE = "文件不是可识别的 CSV、XLSX 或 JSON 格式"
SAVE_AS = (
    "：请在 Excel 或 WPS 中打开后另存为「CSV UTF-8（逗号分隔）」或「Excel 工作簿（*.xlsx）」，再重新报送"
)


def too_long_length(value: object) -> int | None:
    """The original length of a cell the reader cut off, or None for an ordinary value."""
    if isinstance(value, str) and value.startswith(TOO_LONG_PREFIX):
        try:
            return int(value[len(TOO_LONG_PREFIX) :])
        except ValueError:
            return None
    return None


def too_long_marker(length: int) -> str:
    return f"{TOO_LONG_PREFIX}{length}"


def formula_text(value: object) -> str | None:
    """The formula of an XLSX cell that had no cached value, or None for an ordinary value."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIX):
        return value[len(FORMULA_PREFIX) :]
    return None


@dataclass
class SourceChunk:
    frame: pl.DataFrame  # all pl.String, columns named by the original header texts
    rows: pl.Series  # pl.Int64: the row number a person sees in the file


class Source:
    """An opened department file. Iterate `chunks()` once; `warnings` may grow while iterating."""

    kind: str
    encoding: str | None
    sheet: str | None
    headers: list[str]
    header_row: int
    warnings: list[str]

    def __init__(self, kind: str, *, encoding: str | None = None, sheet: str | None = None) -> None:
        self.kind = kind
        self.encoding = encoding
        self.sheet = sheet
        self.headers = []
        self.header_row = 0
        self.warnings = []

    def chunks(self) -> Iterator[SourceChunk]:
        raise NotImplementedError

    def close(self) -> None:
        return None

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def pick_header(
    candidates: Iterable[tuple[int, list[str]]], header_score: HeaderScore, min_score: int
) -> tuple[int, list[str], int] | None:
    """The first candidate with the highest score >= min_score, as (row number, values, score)."""
    best: tuple[int, list[str], int] | None = None
    for row_no, values in candidates:
        score = header_score(values)
        if score >= min_score and (best is None or score > best[2]):
            best = (row_no, values, score)
    return best


def _col_list(cols: list[int]) -> str:
    names = [f"第 {c} 列" for c in cols]
    return names[0] if len(names) == 1 else "、".join(names[:-1]) + "和" + names[-1]


def prepare_headers(values: list[str]) -> tuple[list[int], list[str], list[str]]:
    """Kept column positions (0-based), their header texts, and warnings. Refuses duplicate headers."""
    last = max((i for i, v in enumerate(values) if v.strip()), default=-1)
    if last < 0:
        raise Refused(NO_HEADER, extra={"code": "no_header"})
    positions: list[int] = []
    texts: list[str] = []
    empty: list[int] = []
    seen: dict[str, list[int]] = {}
    for i, text in enumerate(values[: last + 1]):
        key = text.strip()
        if not key:
            empty.append(i + 1)
            continue
        seen.setdefault(key, []).append(i + 1)
        positions.append(i)
        texts.append(text)
    dups = [(k, cols) for k, cols in seen.items() if len(cols) > 1]
    if dups:
        parts = [f"「{k}」出现了 {len(cols)} 次（{_col_list(cols)}）" for k, cols in dups]
        raise Refused(
            "表头重复：" + "；".join(parts) + "，请删除或改名后重新报送",
            extra={"code": "duplicate_headers", "headers": [k for k, _ in dups]},
        )
    warnings = [f"{_col_list(empty)}没有表头，该列内容已忽略"] if empty else []
    return positions, texts, warnings


class ColumnBuffer:
    """Collects rows column by column (XLSX, JSON) and turns them into SourceChunks."""

    def __init__(self, headers: list[str], max_cell_chars: int) -> None:
        self.headers = headers
        self.max_cell_chars = max_cell_chars
        self.columns: list[list[str | None]] = [[] for _ in headers]
        self.rows: list[int] = []

    def add(self, row_no: int, values: list[str | None]) -> None:
        """Adds one row (values in header order); rows with only empty or blank cells are dropped."""
        if all(v is None or not v.strip() for v in values):
            return
        limit = self.max_cell_chars
        for col, v in zip(self.columns, values, strict=True):
            col.append(too_long_marker(len(v)) if v is not None and len(v) > limit else v)
        self.rows.append(row_no)

    def __len__(self) -> int:
        return len(self.rows)

    def flush(self) -> SourceChunk:
        frame = pl.DataFrame(
            {h: pl.Series(h, col, dtype=pl.String) for h, col in zip(self.headers, self.columns, strict=True)}
        )
        chunk = SourceChunk(frame=frame, rows=pl.Series("row", self.rows, dtype=pl.Int64))
        self.columns = [[] for _ in self.headers]
        self.rows = []
        return chunk


def strict_decodes(data: bytes, encoding: str, complete: bool) -> str | None:
    """The text when `data` (a prefix of the file unless complete) decodes strictly, else None."""
    try:
        return codecs.getincrementaldecoder(encoding)("strict").decode(data, final=complete)
    except (UnicodeDecodeError, LookupError):
        return None


def candidate_encodings(sample: bytes, complete: bool) -> list[tuple[str, str]]:
    """Plausible (encoding, decoded sample) pairs, best first. UTF-8 wins outright when it decodes."""
    for bom, enc in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if sample.startswith(bom):
            text = strict_decodes(sample, enc, complete)
            return [(enc, text)] if text is not None else []
    text = strict_decodes(sample, "utf-8", complete)
    if text is not None:
        return [("utf-8", text)]
    found: list[tuple[str, str]] = []
    text = strict_decodes(sample, "gb18030", complete)
    if text is not None:
        found.append(("gb18030", text))
    # charset-normalizer breaks ties for other legacy encodings (Big5 decodes as GB18030 garbage); the
    # caller picks the candidate whose header row matches best.
    guess = _guess_encoding(sample[:BINARY_SCAN_BYTES])
    if guess and guess not in ("gb18030", "gbk", "gb2312", "utf-8"):
        text = strict_decodes(sample, guess, complete)
        if text is not None:
            found.append((guess, text))
    return found


def _guess_encoding(sample: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    best = from_bytes(sample).best()
    if best is None:
        return None
    try:
        return codecs.lookup(best.encoding).name
    except LookupError:
        return None
