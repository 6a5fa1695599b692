"""Text normalisers, table-driven: HTML to text, titles, skills, personal data."""

from __future__ import annotations

import pytest

from outsourcing.normalize.text import clean_line, clean_skills, html_to_text, scrub_pii, scrub_pii_deep, storable
from outsourcing.normalize.urls import canonical_url, last_path_segment


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Senior Data Engineer &amp; Platform Lead", "Senior Data Engineer & Platform Lead"),
        ("  many\n\t spaces  here ", "many spaces here"),
        ("caf\u00c3\u00a9 menu", "café menu"),                # mojibake repaired
        ("\u2018quoted\u2019 \u201cdouble\u201d", "\u2018quoted\u2019 \u201cdouble\u201d"),  # curly quotes kept
        ("ＦＵＬＬ width 한국어 😀", "ＦＵＬＬ width 한국어 😀"),  # width and emoji kept
        ("back\\slash 'single' \"double\"", "back\\slash 'single' \"double\""),
        ("Robert'); DROP TABLE postings;--", "Robert'); DROP TABLE postings;--"),
        ("", None), ("   ", None), (None, None),
    ],
)
def test_clean_line(value, expected) -> None:
    assert clean_line(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<p>Hello\n world</p>\n<ul>\n<li>a</li>\n<li>b</li>\n</ul>", "Hello world\n\na\nb"),
        ("<div>x<br>y<br/><br>z</div>", "x\ny\n\nz"),
        ("<h2>About</h2>Design things.", "About\n\nDesign things."),
        ("<p>A &amp; B &lt;tag&gt;</p>", "A & B <tag>"),
        ("<script>alert(1)</script><style>p{}</style><p>kept</p>", "kept"),
        ("<pre>line 1\n  line 2</pre>", "line 1\nline 2"),
        ("plain\n\n\n\ntext   here", "plain\n\ntext here"),
        ("You\u00e2\u0080\u0099ll", "You\u2019ll"),
        ("<p></p>", None), ("", None), (None, None),
    ],
)
def test_html_to_text(value, expected) -> None:
    assert html_to_text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["Java · 경력 무관", "Spring", "java", " React "], ["Java", "Spring", "React"]),
        ("Python, Django,  ,python", ["Python", "Django"]),
        ([], []), (None, []),
    ],
)
def test_clean_skills(value, expected) -> None:
    assert clean_skills(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("연락처 010-1234-5678 로 연락", "연락처 [phone removed] 로 연락"),
        ("전화 02-123-4567", "전화 [phone removed]"),
        ("01012345678", "[phone removed]"),
        ("call +82 10 1234 5678 now", "call [phone removed] now"),
        ("mail kim.client@example.co.kr please", "mail [email removed] please"),
        ("문의010-2345-6789", "문의[phone removed]"),      # Korean text touching the number
        ("010-1234-5678입니다", "[phone removed]입니다"),
        ("전화 010 2345 6789번", "전화 [phone removed]번"),
        ("Tel.010-1234-5678", "Tel.[phone removed]"),
        ("예상 금액 7,000,000원", "예상 금액 7,000,000원"),  # amounts are not phone numbers
        ("2026.08.05. 등록", "2026.08.05. 등록"),            # nor are dates
        ("version 1.2.3", "version 1.2.3"),
    ],
)
def test_scrub_pii(value, expected) -> None:
    assert scrub_pii(value) == expected


def test_scrub_pii_deep_keeps_structure() -> None:
    raw = {"client_note": "a@b.com", "rows": [{"tel": "010-9999-8888"}], "n": 3}
    assert scrub_pii_deep(raw) == {"client_note": "[email removed]", "rows": [{"tel": "[phone removed]"}], "n": 3}


@pytest.mark.parametrize(
    ("url", "origin", "expected"),
    [
        ("https://remoteOK.com/remote-jobs/x-1", None, "https://remoteok.com/remote-jobs/x-1"),
        ("/project/158857/", "https://www.wishket.com", "https://www.wishket.com/project/158857/"),
        ("http://WeWorkRemotely.com/remote-jobs/a", None, "https://weworkremotely.com/remote-jobs/a"),
    ],
)
def test_canonical_url(url, origin, expected) -> None:
    assert canonical_url(url, origin) == expected


def test_last_path_segment() -> None:
    assert last_path_segment("https://weworkremotely.com/remote-jobs/acme-dev/") == "acme-dev"


# --- repair first, then clean (issue: mojibake repair ran after white space and <br>) ------------

def _mojibake(text: str, encoding: str = "latin-1") -> str:
    """What UTF-8 text looks like when its bytes are read as `encoding`."""
    return text.encode("utf-8").decode(encoding)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # "х" is D1 85 in UTF-8: read as Latin-1, "Ñ\x85"; the \x85 must not be taken for a break
        (f"<p>{_mojibake('хорошо')}<br>{_mojibake('Привіт')}</p>", "хорошо\nПривіт"),
        (f"<div>{_mojibake('щось')}<br><br>{_mojibake('ще')}</div>", "щось\n\nще"),
        # a NBSP's two bytes: "Â\xa0" is repaired before white space is folded
        (f"<p>Salary:{_mojibake(chr(0xa0))}competitive</p>", "Salary: competitive"),
        (f"Café{_mojibake(chr(0xa0))}au lait", "Café au lait"),
        # mojibake written with entities is repaired after they are decoded
        ("<p>Caf&#195;&#169; menu</p>", "Café menu"),
        # the two characters backslash-n in the platform's own HTML are line breaks ...
        ("<p>one</p>\\n<p>two</p>", "one\n\ntwo"),
        ("first line\\nsecond line", "first line\nsecond line"),
        ("a\\r\\nb", "a\nb"),
        # ... but not in a Windows path, not in quoted code, not after a backslash
        ("<p>Install to C:\\new_folder\\bin</p>", "Install to C:\\new_folder\\bin"),
        ('<pre>printf("\\n");</pre>', 'printf("\\n");'),
        ("a\\\\nb", "a\\\\nb"),
        # the six characters \u0000 written as text are text
        ("<p>path C:\\u0000 kept</p>", "path C:\\u0000 kept"),
        # a description cut inside a mojibake sequence loses the fragment
        (f"<p>Customer Attribute{_mojibake('™')[:2]}</p>", "Customer Attribute"),
    ],
)
def test_html_to_text_repairs_before_it_cleans(value: str, expected: str) -> None:
    assert html_to_text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"Senior Data Engineer, Customer Attribute{_mojibake('™')[:2]}", "Senior Data Engineer, Customer Attribute"),
        (f"Customer Attribute{_mojibake('™', 'cp1252')[:2]}", "Customer Attribute"),  # "â„" as Windows-1252
        (f"Data Engineer – {_mojibake('한')[:2]}", "Data Engineer –"),
        ("Irmã", "Irmã"),                 # a real "ã" at the end is not a cut sequence
        ("São Paulo Â", "São Paulo Â"),  # nor a lone "Â"
        ("Title\\nwith escape", "Title with escape"),
        ("NUL\x00 in a title", "NUL in a title"),
        ("emoji \ud83d\ude00 pair", "emoji \U0001f600 pair"),
        ("lone \ud83d surrogate", "lone \ufffd surrogate"),
    ],
)
def test_clean_line_repairs_and_makes_text_storable(value: str, expected: str) -> None:
    assert clean_line(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", ("plain", 0, 0)),
        ("a\x00b\x00", ("ab", 2, 0)),
        ("x\ud83dy", ("x\ufffdy", 0, 1)),
        ("\ud83d\ude00", ("\U0001f600", 0, 1)),
        ("\ude00\ud83d", ("\ufffd\ufffd", 0, 2)),   # reversed halves are no pair
        ("C:\\u0000", ("C:\\u0000", 0, 0)),         # six characters of text
    ],
)
def test_storable(value: str, expected: tuple[str, int, int]) -> None:
    assert storable(value) == expected
