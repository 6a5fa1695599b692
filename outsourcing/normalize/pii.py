"""Personal data: e-mail addresses and phone numbers of private clients, found and removed.

Clients on most platforms are private persons, and they write their contact details into the
posting however they like: `010 - 2345 - 6789`, `02)555-0123`, full-width `０１０－２３４５－６７８９`,
an en dash between the groups, a full-width `＠`, `(555) 123-4567`, or with markup inside the
address or number (`<b>010</b>-9876-5432`, `<span>john</span>@example.com` in a raw HTML card).
So the patterns never run on the text as written: they run on a view of it in which widths are
folded to ASCII and dashes to `-` (one character for one, so positions stay), and, where the text
holds markup or entities, tags are left out and entities decoded, with a map back to the
original positions. What the view matches is replaced in the original text, markup inside the
match included, by a marker (`[email removed]`, `[phone removed]`) so a reader sees that
something was there.

The item builder (`outsourcing.items.new_posting`) applies this once to every text field and to
the raw payload of postings of private-client platforms; the validation pipeline only checks.
"""

from __future__ import annotations

import html
import re
from typing import Any

EMAIL_MASK = "[email removed]"
PHONE_MASK = "[phone removed]"

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# Phone numbers (on the width-folded view): Korean mobiles and landlines with any spacing around
# '-', '.' or ')' (010-1234-5678, 010 - 2345 - 6789, 02)555-0123, (02) 555-0123, 01012345678),
# British ones (020 7946 0958, 0161 496 0000, 07946 095801), North American ones ((555) 123-4567,
# 555-123-4567), and international numbers written with a leading +. Digit runs inside amounts ("7,000,000원"), dates ("2026.08.05.") and versions never
# match: groups are 2-4 digits with those separators only. The boundaries are ASCII: Korean text
# runs straight into a number ("문의010-…", "…5678입니다"), and \w would count the Hangul as part of
# a word.
PHONE_RE = re.compile(
    r"(?<![0-9A-Za-z,])(?<![0-9]\.)(?:"
    r"\+\d{1,3}[ .\-]?(?:\(?\d{1,4}\)?[ .\-]?){2,4}\d{2,4}"
    r"|\(0\d{1,2}\)[ \t]*\d{3,4}[ \t]*[ .\-][ \t]*\d{4}"
    r"|0\d{1,2}[ \t]*[.\-)][ \t]*\d{3,4}[ \t]*[.\-][ \t]*\d{4}"
    r"|0\d{1,2}[ \t]\d{3,4}[ \t]\d{4}"
    r"|0\d{3}[ \t]*[ .\-][ \t]*\d{3}[ \t]*[ .\-][ \t]*\d{4}"
    r"|0\d{4}[ \t]*[ .\-]?[ \t]*\d{6}"
    r"|01[016789]\d{7,8}"
    r"|07\d{9}"
    r"|\(\d{3}\)[ \t]*\d{3}[ \t]*[.\-][ \t]*\d{4}"
    r"|\d{3}[.\-]\d{3}[.\-]\d{4}"
    r")(?![0-9A-Za-z])"
)

# Width folding, one character for one: full-width ASCII (U+FF01-FF5E) to ASCII, the ideographic
# space, every dash and minus to '-', small and full-width '@' to '@'.
_FOLD: dict[int, int | str] = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FOLD.update({ord(ch): "-" for ch in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"})
_FOLD.update({ord(ch): " " for ch in "\u3000\u00a0\u2007\u2009\u202f"})
_FOLD.update({0xFE6B: "@", 0xFE50: ",", 0xFE52: "."})
_WIDTH = str.maketrans(_FOLD)

_AT = re.compile("[@\uff20\ufe6b]|&#0*64;|&#[xX]0*40;|&commat;")
# Seven digits or more (any width) somewhere: the least a phone number has. Possessive, so a long
# text without them is read once.
_SEVEN_DIGITS = re.compile("(?:[^0-9\uff10-\uff19]*+[0-9\uff10-\uff19]){7}")
_MARKUP = re.compile(r"<[^<>]*>|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Tags that separate words where they stand (a break), others join their neighbours.
_BREAKING_TAG = re.compile(r"</?(?:br|p|div|li|tr|td|th|h[1-6]|ul|ol|table|section|article)\b", re.I)


def _may_hold_pii(text: str) -> bool:
    return bool(_AT.search(text) or _SEVEN_DIGITS.match(text))


def _markup_view(text: str) -> tuple[str, list[int], list[int]]:
    """`text` without tags and with entities decoded; for each character of the view, where it
    starts and ends in `text`."""
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    for match in _MARKUP.finditer(text):
        start, end = match.span()
        if start > position:
            pieces.append(text[position:start])
            starts.extend(range(position, start))
            ends.extend(range(position + 1, start + 1))
        token = match.group(0)
        if token[0] == "&":
            char = html.unescape(token)
            if len(char) == 1 and char != token:
                pieces.append(char)
                starts.append(start)
                ends.append(end)
            else:
                pieces.append(token)
                starts.extend(range(start, end))
                ends.extend(range(start + 1, end + 1))
        elif _BREAKING_TAG.match(token):
            pieces.append(" ")
            starts.append(start)
            ends.append(end)
        position = end
    if position < len(text):
        pieces.append(text[position:])
        starts.extend(range(position, len(text)))
        ends.extend(range(position + 1, len(text) + 1))
    return "".join(pieces), starts, ends


def _matches(view: str) -> list[tuple[int, int, str]]:
    found = [(m.start(), m.end(), EMAIL_MASK) for m in EMAIL_RE.finditer(view)] if "@" in view else []
    found += [(m.start(), m.end(), PHONE_MASK) for m in PHONE_RE.finditer(view)]
    return found


def pii_spans(text: str) -> list[tuple[int, int, str]]:
    """Where `text` holds an e-mail address or a phone number: (start, end, marker), sorted,
    not overlapping, positions in `text` itself."""
    if not text or not _may_hold_pii(text):
        return []
    folded = text.translate(_WIDTH)
    spans = _matches(folded)  # positions are the text's own: folding is one for one
    if "<" in text or "&" in text:
        view, starts, ends = _markup_view(folded)
        spans += [(starts[a], ends[b - 1], mask) for a, b, mask in _matches(view) if b > a]
    if not spans:
        return []
    spans.sort()
    merged: list[tuple[int, int, str]] = []
    for start, end, mask in spans:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), last[2])
        else:
            merged.append((start, end, mask))
    return merged


def scrub_pii(text: str) -> str:
    """`text` with e-mail addresses and phone numbers replaced by fixed markers."""
    spans = pii_spans(text)
    for start, end, mask in reversed(spans):
        text = text[:start] + mask + text[end:]
    return text


def contains_pii(text: str) -> bool:
    return bool(pii_spans(text))


def scrubbed(text: str | None) -> str | None:
    """`scrub_pii` for an optional field: None and "" stay as they are."""
    return scrub_pii(text) if text else text


def client_name(name: str | None) -> str | None:
    """A client's display name, or None: a "name" that is (or holds) an e-mail address or phone
    number is contact data, not a name to keep, and masking it would leave no name either."""
    return name if name and not contains_pii(name) else None


def scrub_pii_deep(value: Any) -> Any:
    """`scrub_pii` applied to every string in a JSON-like structure (keys kept)."""
    return scrub_payload(value)[0]


def scrub_payload(value: Any) -> tuple[Any, int]:
    """`value` with personal data removed from every string in it (keys kept), and how many
    strings held some. Containers without any are returned as they are (not copied)."""
    if isinstance(value, str):
        spans = pii_spans(value)
        if not spans:
            return value, 0
        for start, end, mask in reversed(spans):
            value = value[:start] + mask + value[end:]
        return value, 1
    if isinstance(value, dict):
        total = 0
        changed: dict[Any, Any] | None = None
        for key, item in value.items():
            cleaned, count = scrub_payload(item)
            if count:
                total += count
                if changed is None:
                    changed = dict(value)
                changed[key] = cleaned
        return (changed if changed is not None else value), total
    if isinstance(value, (list, tuple)):
        total = 0
        items: list[Any] = []
        for item in value:
            cleaned, count = scrub_payload(item)
            total += count
            items.append(cleaned)
        return (items if total or isinstance(value, tuple) else value), total
    return value, 0


def payload_holds_pii(value: Any) -> bool:
    """Whether any string in a JSON-like structure holds personal data."""
    if isinstance(value, str):
        return contains_pii(value)
    if isinstance(value, dict):
        return any(payload_holds_pii(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(payload_holds_pii(item) for item in value)
    return False
