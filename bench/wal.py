"""WAL written during a benchmark: the cluster-wide LSN difference, and the part of it that
belongs to the benchmark's own database.

`pg_current_wal_lsn()` before and after counts every database on the server: tests that run
concurrently (each creating a database of its own, ~8 MB of WAL apiece) land in the same
figure. So, when the server is local and its pg_wal is readable, the same LSN range is read
with pg_waldump and only records touching the benchmark's database (by its OID), plus the
commit records of those transactions, are summed. A temporary physical replication slot,
held by the meter's session and dropped with it, keeps the range's segments from being
recycled by a checkpoint before they are read.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import asyncpg

_LINE = re.compile(r"^rmgr: (\S+)\s+len \(rec/tot\):\s*\d+/\s*(\d+), tx:\s*(\d+)")
_REL = re.compile(r"rel \d+/(\d+)/\d+")


@dataclass
class WalReading:
    cluster_bytes: int
    own_bytes: int | None  # None when pg_waldump could not read the range


class WalMeter:
    """`async with WalMeter(url) as meter: ...; reading = await meter.stop()`"""

    def __init__(self, url: str, *, attribute: bool = True) -> None:
        self.url = url
        self.attribute = attribute
        self.connection: asyncpg.Connection | None = None
        self.start_lsn: str | None = None
        self.database_oid: int | None = None
        self.wal_dir: Path | None = None
        self.waldump: str | None = None

    async def __aenter__(self) -> WalMeter:
        self.connection = await asyncpg.connect(self.url)
        self.database_oid = await self.connection.fetchval(
            "SELECT oid FROM pg_database WHERE datname = current_database()")
        if self.attribute:
            await self._prepare_attribution()
        self.start_lsn = await self.connection.fetchval("SELECT pg_current_wal_lsn()::text")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.connection is not None:
            await self.connection.close()  # drops the temporary slot

    async def _prepare_attribution(self) -> None:
        assert self.connection is not None
        try:
            data_dir = Path(await self.connection.fetchval("SELECT current_setting('data_directory')"))
            major = int(await self.connection.fetchval("SELECT current_setting('server_version_num')")) // 10000
            wal_dir = data_dir / "pg_wal"
            tool = shutil.which("pg_waldump") or f"/usr/lib/postgresql/{major}/bin/pg_waldump"
            if not (os.access(wal_dir, os.R_OK | os.X_OK) and os.access(tool, os.X_OK)):
                return
            slot = f"bench_wal_{os.getpid()}"
            await self.connection.execute(
                "SELECT pg_create_physical_replication_slot($1, true, true)", slot)
            self.wal_dir, self.waldump = wal_dir, tool
        except (asyncpg.PostgresError, OSError, ValueError):
            self.wal_dir = self.waldump = None

    async def stop(self) -> WalReading:
        assert self.connection is not None and self.start_lsn is not None
        end_lsn = await self.connection.fetchval("SELECT pg_current_wal_lsn()::text")
        cluster = int(await self.connection.fetchval(
            "SELECT pg_wal_lsn_diff($1::text::pg_lsn, $2::text::pg_lsn)", end_lsn, self.start_lsn))
        own = None
        if self.wal_dir is not None and self.waldump is not None and cluster > 0:
            own = own_database_bytes(self.waldump, self.wal_dir, self.start_lsn, end_lsn, self.database_oid or 0)
        return WalReading(cluster, own)


def own_database_bytes(tool: str, wal_dir: Path, start: str, end: str, oid: int) -> int | None:
    """Total length of the WAL records in [start, end) that touch database `oid`, plus the
    transaction records (commits) of the transactions that wrote them."""
    process = subprocess.Popen(
        [tool, "-p", str(wal_dir), "--start", start, "--end", end],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1 << 20,
    )
    assert process.stdout is not None
    wanted = str(oid)
    ours: set[str] = set()
    total = 0
    for line in process.stdout:
        match = _LINE.match(line)
        if match is None:
            continue
        rmgr, length, xid = match.groups()
        databases = _REL.findall(line)
        if wanted in databases:
            total += int(length)
            if xid != "0":
                ours.add(xid)
        elif rmgr == "Transaction" and xid in ours:
            total += int(length)
    process.wait()
    if process.returncode not in (0, 1):  # 1: pg_waldump stops at the end of written WAL
        return None
    return total
