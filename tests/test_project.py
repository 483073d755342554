"""Files echelon-seed writes (snapshots, golden files) are replaced whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from echelon_seed import project


def test_replaced_file_changes_only_when_the_block_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "golden.jsonl"
    target.write_bytes(b"old\n")

    with pytest.raises(RuntimeError), project.replaced(target) as out:
        out.write(b"half")
        raise RuntimeError("snapshot failed")
    assert target.read_bytes() == b"old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["golden.jsonl"]  # no .tmp left behind

    with project.replaced(target) as out:
        out.write(b"new\n")
    assert target.read_bytes() == b"new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["golden.jsonl"]


def test_a_fifo_is_written_in_place_not_replaced_by_a_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with project.replaced(fifo) as out:
            out.write(b"line\n")
        assert os.read(reader, 100) == b"line\n"
    finally:
        os.close(reader)
    assert fifo.is_fifo()
