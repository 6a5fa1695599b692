"""Packaging: the egg `scrapyd-deploy` uploads to scrapyd, and `pip install .`.

scrapyd runs a job from the egg alone (the repository is not on the node), so the egg must
carry everything the project reads at run time:

- every module of the `outsourcing` package (tests, benchmarks and docs stay out);
- every data file inside the package (JSON, SQL, text, ...), found by walking the package, so a
  platform that adds e.g. `platforms/kmong/categories.json` needs no change here;
- `schema.sql`: the repository's top-level file stays the one source; the build copies it into
  the package as `outsourcing/schema.sql`, where `outsourcing.storage.database.schema_sql()`
  looks first. No second copy is committed.

Code in the package must read its data files with `importlib.resources`, not `Path(__file__)`:
scrapyd imports the egg as a zip file.
"""

from __future__ import annotations

import re
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PACKAGE = "outsourcing"
SCHEMA = HERE / "schema.sql"
#: Never shipped: byte code and editor or OS litter.
_NOT_DATA = {".py", ".pyc", ".pyo", ".swp", ".orig", ".rej"}
_NOT_DATA_NAMES = {".DS_Store", "schema.sql"}  # schema.sql is added by BuildPyWithSchema


def version() -> str:
    """The package's __version__, read without importing it (a build needs no Scrapy)."""
    text = (HERE / PACKAGE / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no __version__ in {PACKAGE}/__init__.py")
    return match.group(1)


def package_data() -> list[str]:
    """Every non-Python file under the package, relative to it."""
    root = HERE / PACKAGE
    files: list[str] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        if path.suffix in _NOT_DATA or path.name in _NOT_DATA_NAMES:
            continue
        files.append(path.relative_to(root).as_posix())
    return files


class BuildPyWithSchema(build_py):
    """build_py that also places the top-level schema.sql into the built package."""

    def run(self) -> None:
        super().run()
        if not SCHEMA.is_file():
            raise RuntimeError(f"{SCHEMA} is missing: the egg would have no database schema")
        target = Path(self.build_lib) / PACKAGE / "schema.sql"
        target.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(SCHEMA), str(target))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        # Listed so that install/record steps (wheels, `pip install .`) know about the file.
        return [*super().get_outputs(include_bytecode), str(Path(self.build_lib) / PACKAGE / "schema.sql")]


setup(
    name=PACKAGE,
    version=version(),
    description="Project postings from freelance and outsourcing platforms, in one PostgreSQL schema",
    python_requires=">=3.11",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    package_data={PACKAGE: package_data()},
    # Runtime dependencies are pinned in requirements.txt and installed on every node with it;
    # scrapyd does not resolve an egg's requirements anyway.
    install_requires=[],
    # scrapyd finds the project's settings module through this entry point.
    entry_points={"scrapy": [f"settings = {PACKAGE}.settings"]},
    # scrapyd puts the egg itself (a zip) on sys.path; the package reads its data through
    # importlib.resources, which works from a zip.
    zip_safe=True,
    cmdclass={"build_py": BuildPyWithSchema},
)
