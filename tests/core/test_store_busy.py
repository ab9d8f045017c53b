"""A library another process is writing: a write waits, then says plainly that the library is busy
(never a half-done write, never a raw SQLite error)."""

from __future__ import annotations

import pytest

from photoface.core.errors import StoreError
from photoface.core.library.store import Library


def test_write_while_another_connection_writes_says_busy(tmp_path):
    holder = Library(tmp_path / "lib")
    other = Library(tmp_path / "lib")
    other.con.execute("PRAGMA busy_timeout = 200")  # instead of 30 s: the test need not wait
    with holder.transaction():
        holder.con.execute("INSERT INTO excludes(pattern) VALUES ('held')")
        with pytest.raises(StoreError, match="busy"):
            other.add_exclude("*.tmp")
        assert other.excludes() == []  # WAL: reading works meanwhile
    other.add_exclude("*.tmp")  # once the holder is done, the write goes through
    assert holder.excludes() == ["*.tmp", "held"]
    holder.close()
    other.close()
