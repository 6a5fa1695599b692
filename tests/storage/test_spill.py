"""The spill file on a real file system: its format, what happens to unreadable lines, and the
locks that say who may replay a file (real processes holding and dying with them)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from outsourcing.storage import spill

POSTING = {"platform": "remoteok", "external_id": "1", "title": "Job \ud83d", "description": "C:\\u0000 and \x00"}

# A process that takes a spill file's lock, says so, and holds it until killed.
HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(600)
"""


def spill_file(tmp_path: Path, records: list[dict], kind: str = "posting") -> Path:
    own = spill.SpillFile(tmp_path, "remoteok")
    own.append([(kind, record) for record in records])
    own.close()
    assert own.path is not None
    return own.path


def test_format_is_versioned_ascii_and_round_trips_any_text(tmp_path: Path) -> None:
    path = spill_file(tmp_path, [POSTING])
    data = path.read_bytes()
    data.decode("ascii")  # a lone surrogate cannot make the write fail: it is written escaped
    header = json.loads(data.splitlines()[0])
    assert header["outsourcing_spill"] == spill.FORMAT_VERSION == 2 and header["spider"] == "remoteok"
    contents = spill.parse(data, path.name)
    assert contents.version == 2 and contents.postings == [POSTING] and not contents.unreadable


def test_a_record_json_cannot_hold_becomes_a_rejected_item(tmp_path: Path) -> None:
    cyclic: dict = {"platform": "remoteok", "external_id": "2"}
    cyclic["self"] = cyclic
    path = spill_file(tmp_path, [POSTING, cyclic, {("tuple", "key"): 1}])
    contents = spill.parse(path.read_bytes(), path.name)
    assert contents.postings == [POSTING]
    assert [entry["reason"] for entry in contents.rejected] == ["spill:unserializable"] * 2
    assert "'external_id': '2'" in contents.rejected[0]["item"]["repr"]


def test_unreadable_lines_are_kept_aside_never_dropped(tmp_path: Path) -> None:
    path = spill_file(tmp_path, [dict(POSTING, external_id=str(n)) for n in range(3)])
    lines = path.read_bytes().splitlines()
    torn = lines[2][: len(lines[2]) // 2]  # a torn line in the middle of the file
    odd = b'{"record": {"external_id": "9"}}'  # a line in no known shape
    path.write_bytes(b"\n".join([lines[0], lines[1], torn, odd, lines[3]]) + b"\n")
    contents = spill.parse(path.read_bytes(), path.name)
    assert [r["external_id"] for r in contents.postings] == ["0", "2"]
    assert contents.unreadable == [torn, odd]
    with spill.claim(path) as claim:
        assert claim is not None
        aside = claim.done(contents)
    assert not path.exists()
    assert aside == path.with_name(path.name + ".unreadable")
    assert aside.read_bytes() == torn + b"\n" + odd + b"\n"
    assert spill.pending_files(tmp_path) == []  # the lines kept aside are not replayed


def test_version_1_files_are_read_and_newer_versions_left_alone(tmp_path: Path) -> None:
    old = b"\n".join(json.dumps({"kind": kind, "record": {"external_id": n}}).encode() for kind, n in
                     [("posting", "1"), ("rejected", "2")])
    contents = spill.parse(old, "old.jsonl")
    assert contents.version == 1 and contents.postings == [{"external_id": "1"}] and contents.rejected == [{"external_id": "2"}]
    newer = json.dumps({"outsourcing_spill": 3}).encode() + b"\n" + old
    with pytest.raises(spill.NewerSpillFormat):
        spill.parse(newer, "newer.jsonl")


# Appends 100 records to a spill file in a process whose files may not grow past 8 KB (the
# kernel refuses the write part-way with EFBIG, as a full disk does with ENOSPC).
APPEND_OVER_LIMIT = """
import resource, sys
from pathlib import Path
from outsourcing.storage import spill
own = spill.SpillFile(Path(sys.argv[1]), "remoteok")
own.append([("posting", {"external_id": "first"})])
resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))
try:
    own.append([("posting", {"external_id": str(n), "text": "x" * 200}) for n in range(100)])
except OSError as error:
    print("refused", error.errno, own.path)
"""


def test_a_failed_append_is_cut_back_leaving_no_torn_lines(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", APPEND_OVER_LIMIT, str(tmp_path)], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.startswith("refused"), done.stdout + done.stderr
    path = Path(done.stdout.split()[-1])
    contents = spill.parse(path.read_bytes(), path.name)
    assert contents.postings == [{"external_id": "first"}] and not contents.unreadable


def test_a_file_is_claimed_by_a_lock_that_dies_with_its_process(tmp_path: Path) -> None:
    path = spill_file(tmp_path, [POSTING])
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with spill.claim(path) as claim:
            assert claim is None  # a live process holds it (replaying it, or still writing it)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    with spill.claim(path) as claim:  # its holder died: the file is free, whatever pid it had
        assert claim is not None
        assert claim.read().postings == [POSTING]


def test_the_writing_run_holds_its_own_file(tmp_path: Path) -> None:
    own = spill.SpillFile(tmp_path, "remoteok")
    own.append([("posting", POSTING)])
    assert own.path in spill.pending_files(tmp_path)
    with spill.claim(own.path) as claim:
        assert claim is None  # another run (or crawler) must not replay a file still being written
    own.close()
    with spill.claim(own.path) as claim:
        assert claim is not None


def test_files_claimed_by_renaming_are_pending_again(tmp_path: Path) -> None:
    # Format 1 crawlers claimed a file by renaming it to .replaying-<pid>; pid 1 is alive in any
    # container, which made such a file wait forever. With locks, it is simply pending.
    legacy = tmp_path / "remoteok-20261101T000000Z-77.jsonl.replaying-1"
    legacy.write_text(json.dumps({"kind": "posting", "record": POSTING}) + "\n")
    assert spill.pending_files(tmp_path) == [legacy]
    with spill.claim(legacy) as claim:
        assert claim is not None and claim.read().postings == [POSTING]
