"""The dependency rules of docs/architecture.md, checked on the imports of outsourcing/ (read with
`ast`, so imports inside functions and under TYPE_CHECKING count too): a module that starts
importing against the direction fails here, and so does a path or name the page cites that no
longer exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "outsourcing"
ARCHITECTURE = REPO / "docs" / "architecture.md"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports (absolute names; `from x import y` counts as x and x.y, since y
    may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def project_imports() -> dict[str, set[str]]:
    """{module: the project's modules it imports} for every module of outsourcing/."""
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        graph[module_name(path)] = {name for name in imports_of(path) if name.split(".")[0] == "outsourcing"}
    assert len(graph) > 50, "outsourcing/ not found"
    return graph


def within(module: str, *packages: str) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def violations(importer: tuple[str, ...], forbidden: tuple[str, ...], allowed_modules: tuple[str, ...] = ()) -> list[str]:
    found = []
    for module, imported in project_imports().items():
        if not within(module, *importer) or within(module, *allowed_modules):
            continue
        found += [f"{module} imports {name}" for name in sorted(imported) if within(name, *forbidden)]
    return found


SERVING = ("outsourcing.api", "outsourcing.alerts", "outsourcing.report")
CRAWLING = ("outsourcing.platforms", "outsourcing.pipelines", "outsourcing.storage", "outsourcing.incremental",
            "outsourcing.middlewares", "outsourcing.extensions", "outsourcing.feeds", "outsourcing.proxies")


def test_normalize_is_pure_and_imports_only_itself() -> None:
    for path in sorted((PACKAGE / "normalize").rglob("*.py")):
        imported = imports_of(path)
        project = {name for name in imported if name.split(".")[0] == "outsourcing"}
        assert all(within(name, "outsourcing.normalize") for name in project), (path, project)
        # No Scrapy, no database: functions of values, testable on their own.
        assert not {name for name in imported if name.split(".")[0] in ("scrapy", "asyncpg", "twisted")}, path


def test_items_import_only_normalize_and_the_stats_keys() -> None:
    imported = project_imports()["outsourcing.items"]
    assert all(within(name, "outsourcing.normalize", "outsourcing.stats") or name == "outsourcing"
               for name in imported), imported


def test_platforms_never_import_storage_pipelines_or_the_serving_side() -> None:
    assert violations(("outsourcing.platforms",),
                      ("outsourcing.storage", "outsourcing.pipelines", "outsourcing.query", *SERVING,
                       "outsourcing.commands")) == []


def test_platforms_reach_the_database_only_through_the_incremental_component() -> None:
    """The one seam: PlatformSpider.read_listing and .watermark (platforms/base.py) ask the
    IncrementalCrawl extension, which asks storage. Parsers never import it."""
    seam = violations(("outsourcing.platforms",), ("outsourcing.incremental",))
    assert seam and all(line.startswith("outsourcing.platforms.base imports") for line in seam), seam


def test_storage_knows_nothing_above_it() -> None:
    assert violations(("outsourcing.storage",),
                      ("outsourcing.platforms", "outsourcing.pipelines", "outsourcing.incremental", "outsourcing.query",
                       *SERVING, "outsourcing.commands")) == []


def test_the_query_layer_is_below_the_serving_side_and_reaches_storage_in_one_place() -> None:
    assert violations(("outsourcing.query",),
                      (*SERVING, "outsourcing.platforms", "outsourcing.pipelines", "outsourcing.commands")) == []
    into_storage = violations(("outsourcing.query",), ("outsourcing.storage",))
    assert into_storage and all(line.startswith("outsourcing.query.connection imports outsourcing.storage.database")
                                for line in into_storage), into_storage


@pytest.mark.parametrize("part", SERVING)
def test_the_serving_side_reads_through_the_query_layer_only(part: str) -> None:
    others = tuple(name for name in SERVING if name != part)
    assert violations((part,), ("outsourcing.storage", *CRAWLING, "outsourcing.commands", *others)) == []


def test_only_commands_import_commands() -> None:
    assert violations(("outsourcing",), ("outsourcing.commands",), allowed_modules=("outsourcing.commands",)) == []


def test_every_path_the_page_names_exists() -> None:
    """Files (`outsourcing/...py`, `docs/...md`, `schema.sql` ...) and folders (`.../`) in
    backticks, with an optional `:name` (a function, class or constant defined in that file).
    Stats keys look like paths (`outsourcing/exit_code`) and are not checked here."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    cited = re.findall(r"`((?:outsourcing|docs|tests|bench)/[\w./<>-]*(?:\.\w+|/)|schema\.sql)(?::([\w.]+))?`", text)
    assert len(cited) > 30, "docs/architecture.md cites no paths"
    for path, name in cited:
        if "<" in path:  # outsourcing/platforms/<name>/parser.py: every platform has one
            matches = sorted(REPO.glob(path.replace("<name>", "*")))
            assert len(matches) == 9, path
        else:
            matches = [REPO / path.rstrip("/")]
            assert matches[0].exists(), f"docs/architecture.md names {path}, which does not exist"
        if name:
            for match in matches:
                source = match.read_text(encoding="utf-8")
                head = name.split(".")[0]
                assert re.search(rf"^\s*(?:async def|def|class) {head}\b|^{head}\b.*=", source, re.MULTILINE), \
                    f"{path} defines no {head}"
                if "." in name:
                    assert re.search(rf"^\s+(?:async def|def) {name.split('.')[1]}\b", source, re.MULTILINE), \
                        f"{path}: {name}"
