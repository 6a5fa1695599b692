"""Text normalisers: HTML to plain text, entities, mojibake, whitespace, text a database can hold.

The contract's rules: titles have entities decoded, mojibake repaired and whitespace collapsed;
descriptions are plain text with paragraphs kept as blank-line-separated blocks. Nothing else is
altered: quotes stay curly, full-width characters stay full-width, emoji and mixed scripts pass
through.

The order matters and is the same everywhere: first what no database can hold goes (NUL is
dropped, a lone UTF-16 surrogate becomes U+FFFD: `storable`), then mojibake is repaired on the
text as the platform sent it (ftfy needs the original bytes' characters: `Â\\xa0` and `Ñ\\x85`
cannot be repaired once white space is folded or `<br>` turned into a break), and only then is the
text cleaned (markup, entities, white space). Personal data is removed after that, on the width-
and markup-normalised text (`outsourcing.normalize.pii`), by the item builder.
"""

from __future__ import annotations

import html
import re
from typing import Any

import ftfy
import lxml.html
from ftfy.badness import is_bad
from lxml import etree

# Kept importable from here: parsers and tests have always found the personal-data helpers in
# this module.
from outsourcing.normalize.pii import (  # noqa: F401
    EMAIL_MASK,
    EMAIL_RE,
    PHONE_MASK,
    PHONE_RE,
    client_name,
    contains_pii,
    scrub_pii,
    scrub_pii_deep,
    scrubbed,
)

# ftfy repairs mojibake ("cafÃ©" -> "café"); every option that would change correct text
# (straightening quotes, folding widths or ligatures, dropping control characters) is off.
_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    remove_control_chars=False,
    explain=False,
)

_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_INLINE_WS = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")

# Elements that start a new paragraph (blank line) or a new line in the plain text.
_PARAGRAPH_TAGS = frozenset(
    {"p", "div", "section", "article", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
     "blockquote", "pre", "header", "footer", "dl", "figure", "hr"}
)
_LINE_TAGS = frozenset({"li", "tr", "dt", "dd", "br"})
_DROP_TAGS = ("script", "style", "noscript", "template", "head")
# Break placeholders that survive white-space folding. They are Unicode noncharacters (reserved
# for a program's internal use), so no text, repaired or not, contains them, and ftfy never reads
# them as part of a mojibake sequence (U+0085, used before, is the second byte of "х" in UTF-8).
_PARA = "\ufdd0"  # paragraph
_LINE = "\ufdd1"  # soft line break (li, tr): consecutive ones are one break
_BR = "\ufdd2"    # <br>: two in a row make a blank line
_MARKERS = re.compile("[\ufdd0-\ufdd2]")
_MARKER_RUN = re.compile("[ \t]*[\ufdd0-\ufdd2][\ufdd0-\ufdd2 \t]*")

# --- text a database can hold ------------------------------------------------------------------

# NUL (PostgreSQL's text and jsonb refuse it) and UTF-16 surrogates (not characters: a JSON
# "\ud83d" without its pair decodes to one, and UTF-8 cannot encode it).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATES = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(text: str) -> tuple[str, int, int]:
    """`text` as PostgreSQL and UTF-8 can hold it, and what was changed: NUL characters are
    dropped; a surrogate pair becomes the character it encodes, a lone surrogate U+FFFD.
    Returns (text, NULs dropped, surrogates repaired)."""
    if not _UNSTORABLE.search(text):
        return text, 0, 0
    nul = text.count("\x00")
    if nul:
        text = text.replace("\x00", "")
    repaired = 0

    def repair(match: re.Match[str]) -> str:
        nonlocal repaired
        repaired += 1
        pair = match.group(0)
        if len(pair) == 2:
            return chr(0x10000 + ((ord(pair[0]) - 0xD800) << 10) + (ord(pair[1]) - 0xDC00))
        return REPLACEMENT

    text = _SURROGATES.sub(repair, text)
    return text, nul, repaired


def storable_text(text: str) -> str:
    return storable(text)[0] if _UNSTORABLE.search(text) else text


def unstorable(text: str) -> str | None:
    """What in `text` PostgreSQL or UTF-8 cannot hold ("NUL", "a surrogate"), or None."""
    match = _UNSTORABLE.search(text)
    if not match:
        return None
    return "a NUL character" if match.group(0) == "\x00" else "a UTF-16 surrogate"


# --- escapes the platform left in its own text ---------------------------------------------------

# A backslash and an "n" (or "r") written into the HTML by the platform's own double escaping
# (RemoteOK: `</p>\n<p>`): the line break they stand for. Not inside a Windows path
# (`C:\new`, `\\server\new`), not between quotes (code: "\n"), not after another backslash.
_LITERAL_BREAK = re.compile(r"(?<!\\)\\r\\n|(?<!\\)\\[nr](?![A-Za-z0-9]+\\)")
_PATH_TOKEN = re.compile(r"(?:^|[\s>\"'(])(?:[A-Za-z]:\\|\\\\)[^\s<>\"']*$")


def _literal_breaks(text: str) -> str:
    if "\\" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        start, end = match.span()
        before = text[start - 1: start]
        after = text[end: end + 1]
        if before in ("'", '"') or after in ("'", '"') or _PATH_TOKEN.search(text[max(0, start - 200): start + 1]):
            return match.group(0)
        return "\n"

    return _LITERAL_BREAK.sub(replace, text)


# --- mojibake ------------------------------------------------------------------------------------


def fix_text(text: str) -> str:
    """Repair mojibake and normalise to NFC, changing nothing that was already right. Text a
    database cannot hold is removed first (`storable`)."""
    text = storable_text(text)
    if text.isascii() and "\x1b" not in text:
        return text  # nothing ftfy would change: mojibake needs non-ASCII characters
    return ftfy.fix_text(text, config=_FTFY)


def _refix(text: str, source: str) -> str:
    """A second repair where entity decoding may have produced mojibake (`&#195;&#169;`)."""
    if "&" in source and not text.isascii() and is_bad(text):
        return ftfy.fix_text(text, config=_FTFY)
    return text


def _unfinished_sequence(chars: str) -> bool:
    """Whether `chars`, read back as the Windows-1252 / Latin-1 bytes they were decoded from,
    are the start of a UTF-8 sequence cut short: a lead byte and fewer continuation bytes than
    it needs (at least one, so a lone "â" or "Ã" of real text is never taken for one)."""
    data = bytearray()
    for char in chars:
        try:
            data += char.encode("cp1252")
        except UnicodeEncodeError:
            if ord(char) > 0xFF:
                return False
            data.append(ord(char))  # C1 controls: Latin-1
    lead = data[0]
    need = 1 if 0xC2 <= lead <= 0xDF else 2 if 0xE0 <= lead <= 0xEF else 3 if 0xF0 <= lead <= 0xF4 else 0
    return 1 <= len(data) - 1 < need and all(0x80 <= byte <= 0xBF for byte in data[1:])


def drop_truncated_tail(text: str) -> str:
    """Text cut in the middle of a mojibake sequence ("Attributeâ„", the first two of the three
    characters "™" became) ends with a fragment that no repair can complete: it is dropped."""
    if text.isascii():
        return text
    for size in (3, 2):
        if len(text) > size and _unfinished_sequence(text[-size:]):
            return text[:-size].rstrip()
    return text


# --- one line, and blocks ------------------------------------------------------------------------


def clean_line(value: Any) -> str | None:
    """One-line text (titles, names, labels): mojibake repaired, entities decoded, whitespace
    collapsed to single spaces. Empty or missing gives None."""
    if value is None:
        return None
    source = _literal_breaks(fix_text(str(value)))
    text = html.unescape(source) if "&" in source else source
    text = _refix(text, source)
    text = drop_truncated_tail(_INLINE_WS.sub(" ", text).strip())
    return text or None


def html_to_text(value: Any) -> str | None:
    """Plain text of an HTML fragment: mojibake repaired, tags removed, entities decoded,
    paragraphs separated by one blank line, lines inside a paragraph kept, spaces collapsed.

    Plain text (no markup) goes through the same path, so a description that is already text
    comes out with the same paragraph rules.
    """
    if value is None:
        return None
    source = fix_text(_literal_breaks(str(value)))  # repair first, then clean
    if _MARKERS.search(source):
        source = _MARKERS.sub("", source)
    if not source.strip():
        return None
    if "<" not in source:
        return _finish(_tidy_blocks(html.unescape(source)), source)
    try:
        root = lxml.html.fragment_fromstring(source, create_parent="div")
    except (etree.ParserError, ValueError):
        return _finish(_tidy_blocks(html.unescape(source)), source)
    etree.strip_elements(root, *_DROP_TAGS, etree.Comment, with_tail=False)
    parts: list[str] = []
    _walk(root, parts)
    return _finish(_tidy_blocks(_MARKER_RUN.sub(_break_for, "".join(parts))), source)


def _finish(text: str | None, source: str) -> str | None:
    if text is None:
        return None
    text = drop_truncated_tail(_refix(text, source))
    return text or None


def _break_for(run: re.Match[str]) -> str:
    markers = run.group(0)
    if _PARA in markers or markers.count(_BR) >= 2:
        return "\n\n"
    return "\n"


def _walk(element: Any, parts: list[str], pre: bool = False) -> None:
    # In HTML, source line breaks are layout: runs of white space are one space, except in
    # <pre>. Breaks in the output come only from the elements.
    tag = element.tag if isinstance(element.tag, str) else ""
    tag = tag.lower()
    pre = pre or tag == "pre"
    if tag in _PARAGRAPH_TAGS:
        parts.append(_PARA)
    elif tag == "br":
        parts.append(_BR)
    elif tag in _LINE_TAGS:
        parts.append(_LINE)
    if element.text and tag != "br":
        parts.append(element.text if pre else _INLINE_WS.sub(" ", element.text))
    for child in element:
        _walk(child, parts, pre)
    if tag in _PARAGRAPH_TAGS:
        parts.append(_PARA)
    elif tag in _LINE_TAGS and tag != "br":
        parts.append(_LINE)
    if element.tail:
        parts.append(element.tail if pre and tag != "pre" else _INLINE_WS.sub(" ", element.tail))


def _tidy_blocks(text: str) -> str | None:
    # Source newlines inside HTML are layout, not meaning; in plain text they are line breaks.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    return text or None


def html_fragment_to_text(value: Any) -> str | None:
    """HTML fragment whose markup is meaningful but inline (a title with <b>): one line."""
    text = html_to_text(value)
    return clean_line(text) if text else None


def clean_skills(values: Any) -> list[str]:
    """Skill names from chips or tags: trimmed, one line each, de-duplicated (case-insensitive,
    first spelling kept), platform order kept. A chip "Java · 경력 무관" gives "Java"."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [part for part in re.split(r"[,\n]", values)]
    seen: set[str] = set()
    skills: list[str] = []
    for value in values:
        name = clean_line(value)
        if not name:
            continue
        name = re.split(r"\s+[·•|]\s+", name, maxsplit=1)[0].strip()
        key = name.casefold()
        if name and key not in seen:
            seen.add(key)
            skills.append(name)
    return skills
