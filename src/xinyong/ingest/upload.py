"""Streaming a multipart upload to a temporary file, stopping as soon as it passes the size limit.

Starlette's form parsing would spool the whole body before the route sees it; a department posting a
2 GB file by mistake must get 413 after max_upload_mb, not after the whole transfer.

The temporary file belongs to the caller once `receive_upload` returns (`discard()` it in a `finally`); until
then every path that leaves (refusal, a second file part, a broken form, a client gone) removes it here.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from fastapi import Request, UploadFile
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from xinyong.core.errors import Refused, TooLarge


@dataclass
class Upload:
    path: Path | None = None
    file_name: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    size: int = 0

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class _PartState:
    def __init__(self) -> None:
        self.headers: dict[bytes, bytes] = {}
        self.name: str | None = None
        self.fh: BinaryIO | None = None
        self.buf = bytearray()
        self.hname = b""
        self.hval = b""

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


def _too_large(limit_mb: int) -> TooLarge:
    return TooLarge(f"文件超过 {limit_mb} MB 的上传限制：请拆分为多个文件后分批报送", rule="ingest.max_upload")


async def receive_upload(request: Request, *, file_field: str, limit_mb: int, tmp_dir: Path | None = None) -> Upload:
    limit = limit_mb * 1024 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise _too_large(limit_mb)
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Refused(f"请以 multipart/form-data 方式上传：文件放在「{file_field}」字段，信息项代码放在「item」字段")
    upload = Upload()
    st = _PartState()

    def on_part_begin() -> None:
        st.headers, st.name, st.fh, st.buf = {}, None, None, bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        st.hname += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        st.hval += data[start:end]

    def on_header_end() -> None:
        st.headers[st.hname.lower()] = st.hval
        st.hname, st.hval = b"", b""

    def on_headers_finished() -> None:
        _, disp = parse_options_header(st.headers.get(b"content-disposition", b""))
        st.name = disp.get(b"name", b"").decode("utf-8", "replace")
        if st.name == file_field and b"filename" in disp:
            if upload.path is not None:
                raise Refused(f"表单中有多个「{file_field}」文件：一次只能上传一个文件，请分开提交",
                              rule="upload.one_file")
            fd, tmp = tempfile.mkstemp(prefix="xinyong-upload-", dir=tmp_dir)
            upload.path = Path(tmp)
            upload.file_name = base_name(disp[b"filename"].decode("utf-8", "replace"))
            st.fh = os.fdopen(fd, "wb")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if st.fh is not None:
            upload.size += end - start
            if upload.size > limit:
                raise _too_large(limit_mb)
            st.fh.write(data[start:end])
        else:
            if len(st.buf) + end - start > 64 * 1024:
                raise Refused("表单字段过长，请检查上传参数")
            st.buf += data[start:end]

    def on_part_end() -> None:
        if st.fh is not None:
            st.close()
        elif st.name:
            upload.fields[st.name] = st.buf.decode("utf-8", "replace")

    callbacks = {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data, "on_part_end": on_part_end,
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        st.close()
        upload.discard()
        raise Refused("上传内容不是完整的 multipart/form-data 表单，请重新上传") from None
    except BaseException:
        st.close()
        upload.discard()
        raise
    if upload.path is None:
        st.close()
        raise Refused(f"未收到文件：请把要报送的文件放在表单字段「{file_field}」中上传")
    return upload



def base_name(name: str | None) -> str | None:
    """The file's own name, without any directory a browser or client sent along."""
    if not name:
        return None
    return name.replace("\\", "/").rsplit("/", 1)[-1] or None


async def spool_upload(file: UploadFile, *, limit_mb: int, tmp_dir: Path | None = None) -> Upload:
    """An UploadFile FastAPI already parsed, copied to a temporary file for the readers (which take a path).

    The copy is removed here on any failure; after return the caller discards it in a `finally`.
    """
    limit = limit_mb * 1024 * 1024
    fd, tmp = tempfile.mkstemp(prefix="xinyong-upload-", dir=tmp_dir)
    upload = Upload(path=Path(tmp), file_name=base_name(file.filename))
    try:
        with os.fdopen(fd, "wb") as fh:
            while chunk := await file.read(1 << 20):
                upload.size += len(chunk)
                if upload.size > limit:
                    raise _too_large(limit_mb)
                fh.write(chunk)
    except BaseException:
        upload.discard()
        raise
    return upload
