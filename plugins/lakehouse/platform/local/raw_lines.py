"""Reading a raw JSON-lines file as numbered lines, in bounded memory, without parsing the JSON.

The local raw tables store every non-blank physical line of a landed file with its line number,
as Parquet that DuckDB reads pruned by partition. This module turns one landed file (plain or
gzip) into those rows, block by block: memory follows the block size, not the file size.

A line is the text between two LF bytes (CRs before the LF are dropped, so CRLF files number
their lines the same way), a UTF-8 byte-order mark at the start of the file is dropped, and a line made
only of spaces, tabs, CR, FF or VT is blank and skipped. Bytes that are not UTF-8 become U+FFFD,
as Athena reads them, so the line is kept and the dbt checks quarantine it (reason
invalid_encoding) instead of one byte failing the file. Gzip data that is cut off or corrupt
raises RawFileError naming the file: what follows the damage cannot be read at all.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

GZIP_SUFFIX = ".gz"
BLANK_CHARS = " \t\r\f\v"
BOM = "\ufeff"
_BLOCK_BYTES = 32 << 20
_NEWLINE = 10
_RERUN_HINT = "then rerun the date"


class RawFileError(Exception):
    """A landed file cannot be read; the message names it."""


@dataclass
class LineBlock:
    """The non-blank lines of one block of a file: 1-based physical line numbers and the text."""

    line_numbers: pa.Array
    records: pa.Array

    def __len__(self) -> int:
        return len(self.records)


def is_gzip(path: Path) -> bool:
    return path.suffix.lower() == GZIP_SUFFIX


def read_lines(path: Path, block_bytes: int = _BLOCK_BYTES) -> Iterator[LineBlock]:
    """The file's non-blank lines, a block at a time."""
    reader = _Reader(path, block_bytes)
    try:
        yield from reader.blocks()
    except OSError as exc:
        raise RawFileError(f"cannot read {path}: {exc}") from None


def _corrupt_gzip(path: Path, problem: str) -> RawFileError:
    return RawFileError(
        f"{path} is a truncated or corrupt gzip file ({problem}); replace it with a complete "
        f"copy from the producer, {_RERUN_HINT}"
    )


class _Reader:
    """Reads into one reusable buffer: the partial line at the end of a read moves to the front,
    and the next read fills in behind it, so no block is copied to be joined to the next."""

    def __init__(self, path: Path, block_bytes: int):
        self.path = path
        self.buffer = bytearray(block_bytes)
        self.newlines = np.empty(block_bytes, dtype=bool)
        self.lines_before = 0

    def blocks(self) -> Iterator[LineBlock]:
        with self._open() as handle:
            filled, first = 0, True
            while True:
                if filled == len(self.buffer):
                    # One line longer than the buffer: a buffer twice the size holds more of it.
                    grown = bytearray(2 * len(self.buffer))
                    grown[:filled] = self.buffer
                    self.buffer = grown
                    self.newlines = np.empty(len(grown), dtype=bool)
                read = self._read_into(handle, memoryview(self.buffer)[filled:])
                total = filled + read
                at_end = read == 0
                cut = total if at_end else self.buffer.rfind(b"\n", 0, total) + 1
                if cut > 0:
                    yield self._split(memoryview(self.buffer)[:cut], strip_bom=first, terminated=not at_end)
                    first = False
                if at_end:
                    return
                self.buffer[: total - cut] = self.buffer[cut:total]
                filled = total - cut

    def _open(self):
        if not is_gzip(self.path):
            return open(self.path, "rb")
        # An empty .gz file is an upload cut off before its header; gzip itself reads it as empty.
        if self.path.stat().st_size == 0:
            raise _corrupt_gzip(self.path, "the file is empty")
        return gzip.open(self.path, "rb")

    def _read_into(self, handle, target: memoryview) -> int:
        try:
            return handle.readinto(target)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise _corrupt_gzip(self.path, str(exc)) from None

    def _split(self, data: memoryview, *, strip_bom: bool, terminated: bool) -> LineBlock:
        size = len(data)
        buffer = np.frombuffer(data, dtype=np.uint8)
        mask = self.newlines[:size]
        np.equal(buffer, _NEWLINE, out=mask)
        ends = np.flatnonzero(mask)
        if not terminated and (len(ends) == 0 or ends[-1] != size - 1):
            ends = np.append(ends, size)
        offsets = np.empty(len(ends) + 1, dtype=np.int64)
        offsets[0] = 0
        np.minimum(ends + 1, size, out=offsets[1:])
        lines = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data))
        if not _valid_utf8(lines):
            # Rare, so the slow way: no invalid sequence spans an LF, so each line's replacement
            # characters stay in that line.
            text = bytes(data).decode("utf-8", errors="replace")
            lines = pa.array(text.split("\n")[: len(ends)], pa.large_string())
        # Each line still carries its LF; CRs before it go too, as a CRLF file's lines end in both.
        # The trimmed array is a copy, so the next read may reuse the buffer while it is written.
        lines = pc.ascii_rtrim(lines, "\r\n")
        if strip_bom and len(lines) and lines[0].as_py().startswith(BOM):
            lines = pa.concat_arrays([pa.array([lines[0].as_py()[1:]], pa.large_string()), lines[1:]])
        numbers = pa.array(np.arange(self.lines_before + 1, self.lines_before + 1 + len(ends), dtype=np.int64))
        self.lines_before += len(ends)
        keep = pc.not_equal(pc.ascii_trim(lines, BLANK_CHARS), "")
        return LineBlock(line_numbers=numbers.filter(keep), records=lines.filter(keep))


def _valid_utf8(lines: pa.Array) -> bool:
    try:
        lines.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True
