"""The README's install path on the machine's system Python (/usr/bin/python3: on Debian 12 and
Ubuntu 24.04 "externally managed", PEP 668, so `pip install` into it is refused): `./run` makes
its own virtual environment, installs the runtime requirements only, and the README's crawl
command works in it, with the embedded PostgreSQL, as root and as a normal user.

One virtual environment is made for the module, by the path Debian takes without its
python3-venv package (no ensurepip: the system's pip fills the venv); the ordinary path (`python3
-m venv` with ensurepip) is made here with a one-package requirements file, and is also what
`bash .ci/run` itself goes through for the whole suite."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from outsourcing.mirror import Mirror
from outsourcing.mirror.site import serve_recorded_site
from tests.conftest import REPO

pytestmark = pytest.mark.install

SYSTEM_PYTHON = Path("/usr/bin/python3")
RUN = REPO / "run"
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NOBODY = 65534
ROOT_NOTICE = "running as root: PostgreSQL refuses to run as root"
#: What requirements.txt must leave out (requirements-browser.txt, -scrapyd.txt, -dev.txt bring them).
NOT_RUNTIME = ("playwright", "scrapy_playwright", "pytest", "_pytest", "hypothesis", "scrapyd", "scrapyd_client")


@dataclass
class SystemVenv:
    path: Path
    made: subprocess.CompletedProcess[str]


def system_python_or_skip() -> Path:
    if not SYSTEM_PYTHON.exists():
        pytest.skip(f"no system Python at {SYSTEM_PYTHON} on this machine")
    return SYSTEM_PYTHON


def base_environment(**extra: str) -> dict[str, str]:
    """The environment of a newcomer's shell: no DATABASE_URL, no XDG_RUNTIME_DIR (as under su,
    cron or a container), no venv or project variables of the test run."""
    dropped = ("DATABASE_URL", "XDG_RUNTIME_DIR", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "OUTSOURCING_HOME",
               "OUTSOURCING_RUN", "OUTSOURCING_VENV", "OUTSOURCING_VENV_PIP", "SCRAPY_SETTINGS_MODULE", "PYTHON")
    environment = {key: value for key, value in os.environ.items() if key not in dropped}
    # The test process may itself run inside .venv: take its bin off the PATH.
    venv_bin = str(Path(os.environ["VIRTUAL_ENV"]) / "bin") if os.environ.get("VIRTUAL_ENV") else None
    environment["PATH"] = os.pathsep.join(p for p in environment.get("PATH", "").split(os.pathsep) if p != venv_bin)
    environment.update(extra)
    return environment


def run_script(*command: str, env: dict[str, str], cwd: Path = REPO, user: int | None = None,
               timeout: float = 600) -> subprocess.CompletedProcess[str]:
    prefix = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] if user is not None else []
    return subprocess.run([*prefix, str(RUN), *command], cwd=cwd, env=env, capture_output=True, text=True, check=False,
                          timeout=timeout)


@pytest.fixture(scope="module")
def workspace() -> Iterator[Path]:
    """Outside pytest's private temporary folder, readable by others: a normal user runs the
    venv made here, and the embedded PostgreSQL (another user, when started by root) must reach
    its data directory."""
    folder = Path(tempfile.mkdtemp(prefix="outsourcing-install-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def system_venv(workspace: Path) -> SystemVenv:
    python = system_python_or_skip()
    path = workspace / "venv"
    made = run_script("python", "-c", "import json, sys; print(json.dumps([sys.prefix, sys.base_prefix]))",
                      env=base_environment(PYTHON=str(python), OUTSOURCING_VENV=str(path), OUTSOURCING_VENV_PIP="system"))
    assert made.returncode == 0, made.stderr[-4000:]
    return SystemVenv(path, made)


@pytest.fixture
def recorded_site() -> Iterator[Mirror]:
    with Mirror() as mirror:
        yield serve_recorded_site(mirror)


def feed_rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_system_python_refuses_pip_install() -> None:
    """The premise of item 1: where the marker is present, pip into the system Python fails."""
    python = system_python_or_skip()
    stdlib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    if not (Path(stdlib) / "EXTERNALLY-MANAGED").exists():
        pytest.skip(f"{python} is not marked externally managed here")
    refused = subprocess.run([str(python), "-m", "pip", "install", "--dry-run", "lzstring==1.0.4"],
                             capture_output=True, text=True, env=base_environment(), check=False)
    assert refused.returncode != 0 and "externally-managed-environment" in refused.stdout + refused.stderr


def test_readme_crawl_command_on_the_system_python(system_venv: SystemVenv, recorded_site: Mirror,
                                                   workspace: Path) -> None:
    # The venv was made with the system's interpreter, pip from the system's pip, runtime only.
    prefix, base_prefix = json.loads(system_venv.made.stdout.strip().splitlines()[-1])
    system_prefix = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sys; print(sys.prefix)"],
                                   capture_output=True, text=True, check=True).stdout.strip()
    assert (Path(prefix), base_prefix) == (system_venv.path, system_prefix)
    assert "pip came from the system's pip" in system_venv.made.stderr
    assert "Installing requirements.txt" in system_venv.made.stderr
    site_packages = next((system_venv.path / "lib").glob("python3*/site-packages"))
    assert (system_venv.path / "bin" / "pip").exists()
    assert not [name for name in NOT_RUNTIME if (site_packages / name).exists()]

    # The README's command, with the mirror instead of the live site, and no database at all.
    home = workspace / "root-home"
    feed = workspace / "remoteok.jsonl"
    crawl = run_script("scrapy", "crawl", "remoteok", "-O", str(feed), "-a", f"base_url={recorded_site.url}",
                       "-s", "DOWNLOAD_DELAY=0",
                       env=base_environment(PYTHON=str(SYSTEM_PYTHON), OUTSOURCING_VENV=str(system_venv.path),
                                            OUTSOURCING_HOME=str(home)))
    log = crawl.stdout + crawl.stderr
    assert crawl.returncode == 0, log[-4000:]
    assert "Installing" not in crawl.stderr, "nothing changed: nothing to install again"
    assert [row["external_id"] for row in feed_rows(feed)] == ["2000001", "2000002", "2000003"]
    assert "XDG_RUNTIME_DIR" not in log
    assert (ROOT_NOTICE in log) == ROOT

    # Kmong's browser path is not in requirements.txt: a clear message, not an ImportError.
    browser = run_script("scrapy", "crawl", "kmong", "-a", "browser=1", "-a", f"base_url={recorded_site.url}",
                         env=base_environment(OUTSOURCING_VENV=str(system_venv.path), OUTSOURCING_HOME=str(home)))
    assert browser.returncode == 1
    assert "-a browser=1 needs scrapy-playwright" in browser.stderr and "requirements-browser.txt" in browser.stderr


def test_readme_crawl_command_as_a_normal_user(system_venv: SystemVenv, recorded_site: Mirror, workspace: Path) -> None:
    if not ROOT:
        pytest.skip("the suite runs as a normal user: the test above already ran the command as one")
    home = workspace / "user-home"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    feed = home / "weworkremotely.jsonl"
    crawl = run_script("scrapy", "crawl", "weworkremotely", "-O", str(feed), "-a", f"base_url={recorded_site.url}",
                       "-s", "DOWNLOAD_DELAY=0", user=NOBODY,
                       env=base_environment(HOME=str(home), OUTSOURCING_VENV=str(system_venv.path),
                                            OUTSOURCING_HOME=str(home / "outsourcing")))
    log = crawl.stdout + crawl.stderr
    assert crawl.returncode == 0, log[-4000:]
    assert len(feed_rows(feed)) == 3
    # PostgreSQL ran as the user: no other OS user, no notice, the data directory is the user's.
    assert ROOT_NOTICE not in log and "XDG_RUNTIME_DIR" not in log
    assert (home / "outsourcing" / "pgdata").stat().st_uid == NOBODY


def test_run_makes_an_ordinary_venv_where_ensurepip_exists(workspace: Path) -> None:
    python = system_python_or_skip()
    stdlib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                                 capture_output=True, text=True, check=True).stdout.strip())
    if not (stdlib / "ensurepip" / "__main__.py").exists():
        pytest.skip(f"{python} has no ensurepip here (Debian's python3-venv): the test above covers that path")
    requirements = workspace / "one-package.txt"
    requirements.write_text("lzstring==1.0.4\n", encoding="utf-8")
    venv = workspace / "ordinary-venv"
    made = run_script("-r", str(requirements), "python", "-c", "import lzstring, sys; print(sys.prefix)",
                      env=base_environment(PYTHON=str(python), OUTSOURCING_VENV=str(venv)))
    assert made.returncode == 0, made.stderr[-4000:]
    assert made.stdout.strip() == str(venv)
    assert "pip came from the system's pip" not in made.stderr and (venv / "bin" / "pip").exists()


def test_run_says_what_is_missing() -> None:
    missing = run_script("python", "-c", "pass", env=base_environment(PYTHON="/nonexistent/python3",
                                                                     OUTSOURCING_VENV="/nonexistent/venv"))
    assert missing.returncode == 1
    assert "/nonexistent/python3 not found: install Python 3.11 or newer" in missing.stderr
    unknown = run_script("-r", "no-such-requirements.txt", "true", env=base_environment())
    assert unknown.returncode == 1 and "no requirements file no-such-requirements.txt" in unknown.stderr
