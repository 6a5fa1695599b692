"""Personal data of private clients: every way real postings write a phone number or an e-mail
address (widths, dashes, spacing, markup inside), found and removed, and a property test that
generates them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outsourcing.items import new_posting
from outsourcing.normalize.pii import contains_pii, scrub_payload, scrub_pii
from outsourcing.normalize.text import html_to_text

SCRAPED_AT = "2026-10-02T06:00:00+00:00"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("문의 010 - 2345 - 6789 로 연락", "문의 [phone removed] 로 연락"),
        ("대표번호 02)555-0123", "대표번호 [phone removed]"),
        ("전화 ０１０－２３４５－６７８９", "전화 [phone removed]"),                # full width
        ("휴대폰 010–2345–6789 (en dash)", "휴대폰 [phone removed] (en dash)"),
        ("메일 kim.client＠example.co.kr 로", "메일 [email removed] 로"),          # full-width @
        ("call (555) 123-4567 today", "call [phone removed] today"),
        ("or 555.123.4567", "or [phone removed]"),
        ("UK 020 7946 0958, mobile 07946 095801", "UK [phone removed], mobile [phone removed]"),
        ("<p>전화 <b>010</b>-9876-5432</p>", "<p>전화 <b>[phone removed]</p>"),   # markup inside the number
        ("<span>john</span>@example.com", "<span>[email removed]"),
        ('<a href="mailto:owner@shop.example">mail us</a>', '<a href="mailto:[email removed]">mail us</a>'),
        ("write to owner&#64;shop.example", "write to [email removed]"),
        # not personal data
        ("예상 금액 7,000,000원, 2026.10.08. 마감", "예상 금액 7,000,000원, 2026.10.08. 마감"),
        ("INS_TIME 2026-10-01 11:30:33, endtime 1792249200", "INS_TIME 2026-10-01 11:30:33, endtime 1792249200"),
        ("version 1.2.3, order 2119835", "version 1.2.3, order 2119835"),
    ],
)
def test_scrub_pii_finds_every_real_shape(text: str, expected: str) -> None:
    assert scrub_pii(text) == expected


def test_scrub_payload_counts_and_keeps_what_is_clean() -> None:
    payload = {"card": {"html": "<b>010</b>-9876-5432", "id": 7}, "notes": ["ok", "a＠b.co"], "n": 3}
    scrubbed, count = scrub_payload(payload)
    assert scrubbed == {"card": {"html": "<b>[phone removed]", "id": 7}, "notes": ["ok", "[email removed]"], "n": 3}
    assert count == 2
    clean = {"a": "nothing here", "b": [1, 2]}
    assert scrub_payload(clean) == (clean, 0) and scrub_payload(clean)[0] is clean


# --- generated: any spelling of a number or address, anywhere in any text -----------------------

_FULL = str.maketrans("0123456789@-.()", "０１２３４５６７８９＠－．（）")
_SEPARATORS = st.sampled_from(["-", " - ", ".", " ", "–", "—", "－", "−"])
_DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=1)


@st.composite
def phone_numbers(draw: st.DrawFn) -> str:
    family = draw(st.sampled_from(["mobile", "seoul", "area", "us", "uk"]))
    sep = draw(_SEPARATORS)
    four = "".join(draw(_DIGITS) for _ in range(4))
    three = "".join(draw(_DIGITS) for _ in range(3))
    if family == "mobile":
        number = f"010{sep}{'5' + three}{sep}{four}"
    elif family == "seoul":
        number = draw(st.sampled_from([f"02{sep}{three}{sep}{four}", f"02){three}-{four}", f"(02) {three}-{four}"]))
    elif family == "area":
        number = f"031{sep}{four}{sep}{four}"
    elif family == "us":
        number = draw(st.sampled_from([f"(555) {three}-{four}", f"555-{three}-{four}"]))
    else:
        number = f"07946 {three}{draw(_DIGITS)}{draw(_DIGITS)}{draw(_DIGITS)}"
    if draw(st.booleans()):
        number = number.translate(_FULL)
    return number


@st.composite
def email_addresses(draw: st.DrawFn) -> str:
    local = draw(st.from_regex(r"[a-z][a-z0-9._]{0,10}[a-z0-9]", fullmatch=True))
    domain = draw(st.from_regex(r"[a-z]{2,10}\.(com|co\.kr|example|net)", fullmatch=True))
    at = draw(st.sampled_from(["@", "＠"]))
    return f"{local}{at}{domain}"


@st.composite
def with_markup(draw: st.DrawFn, value: str) -> str:
    """`value` with a tag pair wrapped round a part of it (as a card's raw HTML has)."""
    if len(value) < 2 or not draw(st.booleans()):
        return value
    cut = draw(st.integers(min_value=1, max_value=len(value) - 1))
    tag = draw(st.sampled_from(["b", "span", "strong"]))
    return f"<{tag}>{value[:cut]}</{tag}>{value[cut:]}"


_AROUND = st.text(alphabet=st.sampled_from(list("abc xyz 문의 연락처 전화 메일 : , ( ) !")), max_size=20)


def _digits_of(text: str) -> str:
    return re.sub(r"\D", "", text.translate(str.maketrans("０１２３４５６７８９", "0123456789")))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), before=_AROUND, after=_AROUND)
def test_generated_contact_data_never_survives(data: st.DataObject, before: str, after: str) -> None:
    secret = data.draw(st.one_of(phone_numbers(), email_addresses()))
    written = data.draw(with_markup(secret))
    text = f"{before} {written} {after}"
    scrubbed = scrub_pii(text)
    assert not contains_pii(scrubbed)
    if "@" in secret or "＠" in secret:
        local = re.split("[@＠]", secret)[0]
        assert "[email removed]" in scrubbed and not re.search(rf"{re.escape(local)}\s*(?:</\w+>)?\s*[@＠]", scrubbed)
    else:
        assert "[phone removed]" in scrubbed
        assert _digits_of(secret) not in _digits_of(re.sub(r"<[^>]*>", "", scrubbed))
    # and as plain text (markup removed, widths kept), the same holds
    assert not contains_pii(html_to_text(scrubbed) or "")


@settings(max_examples=100, deadline=None)
@given(data=st.data(), before=_AROUND)
def test_built_postings_of_private_clients_carry_no_contact_data(data: st.DataObject, before: str) -> None:
    secret = data.draw(st.one_of(phone_numbers(), email_addresses()))
    written = data.draw(with_markup(secret))
    item = new_posting(
        platform="guru", external_id="1", url="https://www.guru.com/jobs/x/1", title=f"{before} {secret}",
        description=html_to_text(f"<p>{before} {written}</p>"), client=f"name {secret}", category=secret,
        skills=["Python", secret], location=before.strip() or None, scraped_at=SCRAPED_AT,
        raw={"html": f"<div>{written}</div>", "nested": [{"note": secret}]},
    )
    for field in ("title", "description", "client", "category", "location"):
        assert not (item[field] and contains_pii(item[field])), field
    assert item["client"] is None  # a "name" holding contact data is no name
    assert item["skills"] == ["Python"]
    assert not contains_pii(item["raw"]["html"]) and not contains_pii(item["raw"]["nested"][0]["note"])
    assert item["stat_counts"]["outsourcing/pii/items"] == 1
