"""The README shows only commands and options that exist: every `scrapy <command> --option` in
its code blocks and inline code is checked against the command's own parser (the project's
commands, outsourcing/commands/), and nothing in it is announced as still to come."""

from __future__ import annotations

import argparse
import importlib
import re

from scrapy.settings import Settings

from tests.conftest import REPO

README = REPO / "README.md"
COMMANDS = sorted(path.stem for path in (REPO / "outsourcing" / "commands").glob("*.py") if path.stem != "__init__")


def code_lines() -> list[str]:
    """Lines of fenced and indented code blocks, and inline code spans."""
    text = README.read_text(encoding="utf-8")
    lines, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.startswith("    "):
            lines.append(line)
        else:
            lines += re.findall(r"`([^`]+)`", line)
    return lines


def options_of(command: str) -> set[str]:
    """The options `scrapy <command>` takes: its own and Scrapy's global ones."""
    parser = argparse.ArgumentParser()
    instance = importlib.import_module(f"outsourcing.commands.{command}").Command()
    instance.settings = Settings()  # what Scrapy sets before it asks for the options
    instance.add_options(parser)
    return {option for action in parser._actions for option in action.option_strings}


def test_every_scrapy_command_and_option_the_readme_shows_exists() -> None:
    used: dict[str, set[str]] = {}
    for line in code_lines():
        for command, rest in re.findall(r"\bscrapy ([a-z]+)\b([^|;&]*)", line):
            rest = rest.split(" #", 1)[0]
            used.setdefault(command, set()).update(re.findall(r"(?<![\w-])--[a-z][a-z-]*", rest))
    assert {"crawl", "crawlall", "demo", "sql", "serve", "alerts", "report"} <= set(used), sorted(used)
    for command, options in used.items():
        assert command in COMMANDS, f"README shows `scrapy {command}`, which is not a project command"
        unknown = options - options_of(command)
        assert not unknown, f"README shows `scrapy {command}` with {sorted(unknown)}, which it does not take"


def test_the_readme_links_the_architecture_and_announces_nothing() -> None:
    text = README.read_text(encoding="utf-8")
    assert "(docs/architecture.md)" in text
    for wording in ("being built", "coming soon", "TODO", "will list", "<!--"):
        assert wording not in text, f"README still says {wording!r}"
