"""Landed files read as numbered lines (lakehouse.platform.local.raw_lines), in blocks, against a reference that
reads the whole file at once the obvious way."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse.platform.local.raw_lines import BLANK_CHARS, read_lines


def reference(content: bytes) -> list[tuple[int, str]]:
    """Split on LF, drop the CRs that end a line and a leading byte-order mark, skip blank lines;
    bytes that are not UTF-8 read as U+FFFD."""
    text = content.decode("utf-8", errors="replace").removeprefix("\ufeff")
    return [
        (number, line.rstrip("\r"))
        for number, line in enumerate(text.split("\n"), start=1)
        if line.strip(BLANK_CHARS)
    ]


def lines_of(path: Path, block_bytes: int | None = None) -> list[tuple[int, str]]:
    blocks = read_lines(path) if block_bytes is None else read_lines(path, block_bytes=block_bytes)
    return [pair for block in blocks for pair in zip(block.line_numbers.to_pylist(), block.records.to_pylist())]


# Lines built from the characters that matter to the splitter, and any other text.
_pieces = st.sampled_from(["\n", "\r", "\r\n", " ", "\t", "\f", "\v", "\ufeff", "\u2028", "{", "}", '"', "é", "𝄞"])
_text = st.lists(st.one_of(_pieces, st.text(max_size=12)), max_size=60).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_text, block_bytes=st.integers(min_value=1, max_value=64), compressed=st.booleans())
def test_any_text_reads_as_the_reference_lines_whatever_the_block_size(tmp_path, text, block_bytes, compressed):
    content = text.encode("utf-8")
    path = tmp_path / ("file.json.gz" if compressed else "file.json")
    path.write_bytes(gzip.compress(content) if compressed else content)

    assert lines_of(path, block_bytes) == reference(content)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=200), block_bytes=st.integers(min_value=1, max_value=64))
def test_any_bytes_read_as_the_reference_with_invalid_ones_replaced(tmp_path, content, block_bytes):
    """No byte sequence fails a file or moves a line: what is not UTF-8 becomes U+FFFD in its line."""
    path = tmp_path / "file.json"
    path.write_bytes(content)
    assert lines_of(path, block_bytes) == reference(content)


def test_invalid_bytes_stay_in_their_line(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"a": 1}\n{"page": "caf\xe9"}\r\n\xff\xfe\n{"b": 2}')
    assert lines_of(path) == [(1, '{"a": 1}'), (2, '{"page": "caf\ufffd"}'), (3, "\ufffd\ufffd"), (4, '{"b": 2}')]


def test_a_line_longer_than_the_block_is_read_whole(tmp_path):
    long_line = '{"payload": "' + "x" * 5000 + '"}'
    path = tmp_path / "big.json"
    path.write_text(f"{long_line}\n\nshort\n{long_line}", encoding="utf-8")

    assert lines_of(path, block_bytes=64) == [(1, long_line), (3, "short"), (4, long_line)]


def test_blocks_are_bounded_by_the_block_size_not_the_file(tmp_path):
    path = tmp_path / "many.json"
    path.write_text("".join(f'{{"n": {n}}}\n' for n in range(20_000)), encoding="utf-8")

    blocks = list(read_lines(path, block_bytes=4096))

    assert len(blocks) > 50
    assert max(len(block) for block in blocks) <= 4096 // len('{"n": 0}\n') + 1
    assert sum(len(block) for block in blocks) == 20_000
