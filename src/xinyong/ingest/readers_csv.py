"""CSV: header and delimiter found in Python on the first 1 MB, the body streamed by Polars.

Row numbers count records the way a spreadsheet shows the file: the header is row 1 of a plain CSV, blank
lines are rows, and a quoted cell that contains line breaks is one row (a text editor would count more lines).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from xinyong.core.errors import Refused
from xinyong.ingest.readers_base import (
    HEADER_SCAN_ROWS,
    NO_HEADER,
    TOO_LONG_PREFIX,
    HeaderScore,
    Source,
    SourceChunk,
    pick_header,
    prepare_headers,
)

DELIMITERS = (",", "\t", ";", "|")
PIECE_BYTES = 8 << 20  # 4-32 MB pieces read equally fast; peak memory grows with the piece
_ROW = "__row__"
_ENCODING_LABEL = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "gb18030": "GBK/GB18030", "utf-16": "UTF-16"}


def _scan_records(text: str, delimiter: str, complete: bool) -> list[tuple[int, list[str]]]:
    """(row number, cells) of the first non-empty records; a record cut off by the sample end is dropped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    found: list[tuple[int, list[str]]] = []
    exhausted = True
    try:
        for idx, rec in enumerate(reader):
            if any(cell.strip() for cell in rec):
                found.append((idx + 1, rec))
                if len(found) >= HEADER_SCAN_ROWS + 1:
                    exhausted = False
                    break
    except csv.Error:  # e.g. a cell over the csv module's field limit: the header is above it
        exhausted = False
    if exhausted and not complete and found:
        found.pop()
    return found[:HEADER_SCAN_ROWS]


class CsvSource(Source):
    def __init__(
        self,
        path: Path,
        *,
        encoding: str,
        delimiter: str,
        header_row: int,
        header_values: list[str],
        chunk_rows: int,
        max_cell_chars: int,
    ) -> None:
        super().__init__("csv", encoding=encoding)
        self.path = path
        self.delimiter = delimiter
        self.header_row = header_row
        self._positions, self.headers, self.warnings = prepare_headers(header_values)
        self._ncols = self._positions[-1] + 1
        self._chunk_rows = chunk_rows
        self._max = max_cell_chars

    def chunks(self) -> Iterator[SourceChunk]:
        names = [f"c{i}" for i in range(self._ncols)]
        kept = [names[p] for p in self._positions]
        pending: list[pl.DataFrame] = []
        count = 0
        next_row = self.header_row + 1
        skip = self.header_row
        for piece in _prefetched(_pieces(self.path, self.encoding or "utf-8")):
            frame = self._parse(piece, names, skip)
            skip = 0
            height = frame.height
            frame = frame.select(
                (pl.int_range(next_row, next_row + height, dtype=pl.Int64)).alias(_ROW),
                *[pl.col(c).alias(h) for c, h in zip(kept, self.headers, strict=True)],
            )
            next_row += height
            frame = _drop_blank_rows(frame, self.headers)
            if not frame.height:
                continue
            pending.append(_mark_too_long(frame, self.headers, self._max))
            count += frame.height
            if count >= self._chunk_rows:
                yield from self._emit(pending, final=False)
                count = sum(f.height for f in pending)
        yield from self._emit(pending, final=True)

    def _emit(self, pending: list[pl.DataFrame], *, final: bool) -> Iterator[SourceChunk]:
        frame = pl.concat(pending) if len(pending) > 1 else pending[0] if pending else None
        pending.clear()
        if frame is None:
            return
        n = self._chunk_rows
        start = 0
        while frame.height - start >= n or (final and start < frame.height):
            part = frame.slice(start, n)
            start += part.height
            yield SourceChunk(frame=part.drop(_ROW), rows=part.get_column(_ROW).rename("row"))
        if start < frame.height:
            pending.append(frame.slice(start))

    def _parse(self, piece: bytes, names: list[str], skip: int) -> pl.DataFrame:
        try:
            return pl.scan_csv(
                piece,
                has_header=False,
                separator=self.delimiter,
                quote_char='"',
                schema=dict.fromkeys(names, pl.String),
                skip_rows=skip,
                truncate_ragged_lines=True,
                raise_if_empty=False,
                missing_columns="insert",
                extra_columns="ignore",
                encoding="utf8",
            ).collect()
        except pl.exceptions.PolarsError as exc:
            if "utf-8" in str(exc).lower() or "utf8" in str(exc).lower():
                raise _bad_encoding(None, "UTF-8") from exc
            raise Refused(
                "CSV 文件格式有误，无法读取（常见原因：引号不成对）：请在 Excel 或 WPS 中打开检查后另存为 CSV，"
                "再重新报送",
                extra={"code": "bad_csv", "error": str(exc)[:500]},
            ) from exc


def _bad_encoding(line: int | None, label: str) -> Refused:
    where = f"第 {line} 行附近" if line else ""
    return Refused(
        f"文件{where}有无法按 {label} 编码解读的内容（文件可能混用了多种编码）："
        "请在 Excel 或 WPS 中另存为「CSV UTF-8（逗号分隔）」后重新报送",
        extra={"code": "bad_encoding"},
    )


def _drop_blank_rows(frame: pl.DataFrame, cols: list[str]) -> pl.DataFrame:
    """Drops rows whose cells are all empty or whitespace; one column at a time, since nearly every row is
    proven non-blank by its first cell (a full strip of every cell costs more than parsing)."""
    undecided = frame.select(_ROW, *cols)
    for c in cols:
        if not undecided.height:
            return frame
        has_text = undecided.get_column(c).str.contains(r"\S").fill_null(False)
        undecided = undecided.filter(~has_text)
    if not undecided.height:
        return frame
    return frame.filter(~pl.col(_ROW).is_in(undecided.get_column(_ROW).implode()))


def _mark_too_long(frame: pl.DataFrame, cols: list[str], limit: int) -> pl.DataFrame:
    exprs = []
    for c in cols:
        # a character takes at least one byte: the byte length rules out nearly every column cheaply
        if (frame.get_column(c).str.len_bytes().max() or 0) > limit:  # type: ignore[operator]
            n = pl.col(c).str.len_chars()
            exprs.append(
                pl.when(n > limit)
                .then(pl.lit(TOO_LONG_PREFIX) + n.cast(pl.String))
                .otherwise(pl.col(c))
                .alias(c)
            )
    return frame.with_columns(exprs) if exprs else frame


def _prefetched(pieces: Generator[bytes, None, None]) -> Iterator[bytes]:
    """Reads the next piece in a thread while Polars parses this one (both release the GIL)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="xinyong-csv") as pool:
        ahead = pool.submit(next, pieces, None)
        try:
            while (piece := ahead.result()) is not None:
                ahead = pool.submit(next, pieces, None)
                yield piece
        finally:
            if not ahead.cancel():
                ahead.exception()  # let a running read finish before closing its file
            pieces.close()


def _cut(buf: bytes) -> int:
    """Offset just after the last line break outside quotes (buf starts at a record boundary); after a
    stray quote no break looks outside, so fall back to the last break rather than buffer the whole file."""
    pos = buf.rfind(b"\n")
    fallback = pos + 1
    total = buf.count(b'"')
    after = 0
    end = len(buf)
    while pos >= 0:
        after += buf.count(b'"', pos + 1, end)
        if (total - after) % 2 == 0:
            return pos + 1
        end = pos
        pos = buf.rfind(b"\n", 0, pos)
    return fallback


def _pieces(path: Path, encoding: str) -> Generator[bytes, None, None]:
    """The file as UTF-8 in pieces of whole records. Legacy encodings are transcoded piece by piece with an
    incremental decoder (a character split across two reads is completed by the next one)."""
    decoder = None if encoding in ("utf-8", "utf-8-sig") else codecs.getincrementaldecoder(encoding)("strict")
    carry = b""
    line = 1
    with path.open("rb") as src:
        while True:
            data = src.read(PIECE_BYTES)
            if decoder is not None:
                try:
                    text = decoder.decode(data, final=not data)
                except UnicodeDecodeError as exc:
                    line += data.count(b"\n", 0, max(exc.start, 0))
                    raise _bad_encoding(line, _ENCODING_LABEL.get(encoding, encoding)) from exc
                line += data.count(b"\n")
                data_utf8 = text.encode("utf-8")
            else:
                data_utf8 = data
            buf = carry + data_utf8 if carry else data_utf8
            if not data:
                if buf:
                    yield buf
                return
            cut = _cut(buf)
            if cut <= 0:  # no line break yet: one record longer than a piece
                carry = buf
                continue
            carry = buf[cut:]
            yield buf[:cut]


def open_csv(
    path: Path,
    candidates: list[tuple[str, str]],
    complete: bool,
    *,
    header_score: HeaderScore,
    min_score: int,
    chunk_rows: int,
    max_cell_chars: int,
) -> CsvSource:
    """Picks the encoding and delimiter under which a header row matches best."""
    best: tuple[int, str, str, int, list[str]] | None = None
    for encoding, text in candidates:
        for delimiter in DELIMITERS:
            if delimiter != "," and delimiter not in text[:65536]:
                continue
            found = pick_header(_scan_records(text, delimiter, complete), header_score, min_score)
            if found is not None and (best is None or found[2] > best[0]):
                best = (found[2], encoding, delimiter, found[0], found[1])
    if best is None:
        raise Refused(NO_HEADER, extra={"code": "no_header"})
    _, encoding, delimiter, header_row, values = best
    return CsvSource(
        path,
        encoding=encoding,
        delimiter=delimiter,
        header_row=header_row,
        header_values=values,
        chunk_rows=chunk_rows,
        max_cell_chars=max_cell_chars,
    )
