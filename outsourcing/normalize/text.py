"""Text normalisers: HTML to plain text, entities, mojibake, whitespace, personal data.

The contract's rules: titles have entities decoded, mojibake repaired and whitespace collapsed;
descriptions are plain text with paragraphs kept as blank-line-separated blocks. Nothing else is
altered: quotes stay curly, full-width characters stay full-width, emoji and mixed scripts pass
through. NUL characters are dropped here (lxml and PostgreSQL refuse them); the validation
pipeline strips and counts those that reach it in any field or in the raw payload, which keeps
the platform's original strings, so the count says how many NULs the platform sent.
"""

from __future__ import annotations

import html
import re
from typing import Any

import ftfy
import lxml.html
from lxml import etree

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
_PARA = "\u2029"  # placeholders that survive whitespace folding
_LINE = "\u2028"  # soft line break (li, tr): consecutive ones are one break
_BR = "\u0085"    # <br>: two in a row make a blank line
_MARKER_RUN = re.compile("[ \t]*[\u2028\u2029\u0085][\u2028\u2029\u0085 \t]*")


def fix_text(text: str) -> str:
    """Repair mojibake and normalise to NFC, changing nothing that was already right."""
    return ftfy.fix_text(text.replace("\x00", ""), config=_FTFY)


def clean_line(value: Any) -> str | None:
    """One-line text (titles, names, labels): entities decoded, mojibake repaired, whitespace
    collapsed to single spaces. Empty or missing gives None."""
    if value is None:
        return None
    text = fix_text(html.unescape(str(value)))
    text = _INLINE_WS.sub(" ", text).strip()
    return text or None


def html_to_text(value: Any) -> str | None:
    """Plain text of an HTML fragment: tags removed, entities decoded, mojibake repaired,
    paragraphs separated by one blank line, lines inside a paragraph kept, spaces collapsed.

    Plain text (no markup) goes through the same path, so a description that is already text
    comes out with the same paragraph rules.
    """
    if value is None:
        return None
    source = str(value).replace("\x00", "")
    if not source.strip():
        return None
    if "<" not in source:
        return _tidy_blocks(fix_text(html.unescape(source)))
    try:
        root = lxml.html.fragment_fromstring(source, create_parent="div")
    except (etree.ParserError, ValueError):
        return _tidy_blocks(fix_text(html.unescape(source)))
    etree.strip_elements(root, *_DROP_TAGS, etree.Comment, with_tail=False)
    parts: list[str] = []
    _walk(root, parts)
    return _tidy_blocks(fix_text(_MARKER_RUN.sub(_break_for, "".join(parts))))


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


# --- personal data ---------------------------------------------------------------------------

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# Phone numbers: Korean mobiles and landlines (010-1234-5678, 02-123-4567, 01012345678,
# +82 10 1234 5678) and international numbers written with a leading +. Digit runs inside
# amounts ("7,000,000원") never match: separators must be '-', '.', ' ' and groups of 3-4.
# The boundaries are ASCII: Korean text runs straight into a number ("문의010-…", "…5678입니다"),
# and Python's \w would count those Hangul letters as part of a word.
PHONE_RE = re.compile(
    r"(?<![0-9A-Za-z,])(?<![0-9]\.)(?:"
    r"\+\d{1,3}[ .\-]?(?:\(?\d{1,4}\)?[ .\-]?){2,4}\d{2,4}"
    r"|0\d{1,2}[ .\-]\d{3,4}[ .\-]\d{4}"
    r"|01[016789]\d{7,8}"
    r"|\(0\d{1,2}\)\s?\d{3,4}[ .\-]\d{4}"
    r")(?![0-9A-Za-z])"
)
EMAIL_MASK = "[email removed]"
PHONE_MASK = "[phone removed]"


def scrub_pii(text: str) -> str:
    """Replace e-mail addresses and phone numbers in `text` with fixed markers."""
    if "@" in text:
        text = EMAIL_RE.sub(EMAIL_MASK, text)
    if any(ch.isdigit() for ch in text):
        text = PHONE_RE.sub(PHONE_MASK, text)
    return text


def contains_pii(text: str) -> bool:
    return bool(EMAIL_RE.search(text) or PHONE_RE.search(text))


def scrubbed(text: str | None) -> str | None:
    """`scrub_pii` for an optional field: None and "" stay as they are."""
    return scrub_pii(text) if text else text


def client_name(name: str | None) -> str | None:
    """A client's display name, or None: a "name" that is (or holds) an e-mail address or phone
    number is contact data, not a name to keep, and masking it would leave no name either."""
    return name if name and not contains_pii(name) else None


def scrub_pii_deep(value: Any) -> Any:
    """`scrub_pii` applied to every string in a JSON-like structure (keys kept)."""
    if isinstance(value, str):
        return scrub_pii(value)
    if isinstance(value, dict):
        return {key: scrub_pii_deep(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_pii_deep(item) for item in value]
    return value


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
