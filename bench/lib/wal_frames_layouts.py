#!/usr/bin/env python3
"""WAL frames a group of appends costs for a few layouts of the finance store's two largest
writers, idempotency_record and posting_chain (issue 16, bench/README.md session 26).

Stand-alone (Python's sqlite3, no server): each layout's table on its own database in WAL mode
with 4 KiB pages, 200k rows appended first in transactions of 14 rows, then 3,000 more
transactions whose WAL growth is counted (frames of 24 + 4,096 bytes; page 1 included, as the
file grows). The rows are shaped like the bench's: request ids `walframes-<increasing number>`
(or random UUIDs), one principal, the request hash as 64 hex characters or 32 bytes.
  python3 bench/lib/wal_frames_layouts.py [directory for the scratch databases, default /dev/shm]
"""
import hashlib
import os
import sqlite3
import sys
import uuid

DIR = sys.argv[1] if len(sys.argv) > 1 else "/dev/shm"
GROUP, FIRST, COUNTED = 14, 200_000, 3_000


def frames_a_group(name, ddl, insert, row):
    path = os.path.join(DIR, f"wal_frames_{name}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")  # frame counts do not depend on syncs
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.executescript(ddl)
    seq = 1796384293068011

    def group():
        nonlocal seq
        db.execute("BEGIN")
        for _ in range(GROUP):
            db.execute(insert, row(seq))
            seq += 1
        db.execute("COMMIT")

    for _ in range(FIRST // GROUP):
        group()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for _ in range(COUNTED):
        group()
    frames = (os.path.getsize(path + "-wal") - 32) / (24 + 4096) / COUNTED
    print(f"{name:40} {frames:6.2f} frames a group of {GROUP}")
    db.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


def hex_hash(s):
    return hashlib.sha256(str(s).encode()).hexdigest()


def raw_hash(s):
    return hashlib.sha256(str(s).encode()).digest()


RECORD = ("CREATE TABLE r(request_id TEXT PRIMARY KEY, method TEXT NOT NULL, principal TEXT NOT NULL,"
          " request_hash {hash} NOT NULL, reply BLOB NOT NULL, create_micros INTEGER NOT NULL)")
CHAIN = ("CREATE TABLE c(posting_id INTEGER PRIMARY KEY, year INTEGER NOT NULL,"
         " prev_hash {hash} NOT NULL, hash {hash} NOT NULL)")
YEAR = "; CREATE INDEX cy ON c(year, posting_id)"
RECORD_INSERT = "INSERT INTO r VALUES (?, ?, ?, ?, ?, ?)"
CHAIN_INSERT = "INSERT INTO c VALUES (?, ?, ?, ?)"


def record(key, digest):
    return lambda s: (key(s), "CreatePostings", "anonymous", digest(1), b"215933:1", s)


def sequential(s):
    return f"walframes-{s}"


def random_id(_):
    return str(uuid.uuid4())


frames_a_group("record_without_rowid_hex", RECORD.format(hash="TEXT") + " WITHOUT ROWID",
               RECORD_INSERT, record(sequential, hex_hash))
frames_a_group("record_without_rowid_bytes", RECORD.format(hash="BLOB") + " WITHOUT ROWID",
               RECORD_INSERT, record(sequential, raw_hash))
frames_a_group("record_rowid_unique_index",
               RECORD.format(hash="TEXT").replace("TEXT PRIMARY KEY", "TEXT NOT NULL UNIQUE"),
               RECORD_INSERT, record(sequential, hex_hash))
frames_a_group("record_without_rowid_hex_uuid_ids", RECORD.format(hash="TEXT") + " WITHOUT ROWID",
               RECORD_INSERT, record(random_id, hex_hash))
frames_a_group("chain_hex", CHAIN.format(hash="TEXT") + YEAR, CHAIN_INSERT,
               lambda s: (s, 2020, hex_hash(s - 1), hex_hash(s)))
frames_a_group("chain_bytes", CHAIN.format(hash="BLOB") + YEAR, CHAIN_INSERT,
               lambda s: (s, 2020, raw_hash(s - 1), raw_hash(s)))
frames_a_group("chain_hex_without_year_index", CHAIN.format(hash="TEXT"), CHAIN_INSERT,
               lambda s: (s, 2020, hex_hash(s - 1), hex_hash(s)))
