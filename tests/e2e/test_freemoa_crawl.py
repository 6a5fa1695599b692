"""`scrapy crawl freemoa` end to end: the local mirror plays Freemoa's board page (session cookie)
and its form-POST JSON API, and answers the API only with that cookie and the XHR headers; rows
land in a fresh PostgreSQL."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from outsourcing.mirror import Mirror, Reply
from outsourcing.mirror.server import MirrorRequest
from tests.conftest import fixture_path, query

pytestmark = pytest.mark.e2e

UTC = UTC
JSON = "application/json"
COOKIE = "PHPSESSID=mirror-session-7f3a"
TOTAL = 13
TEXT_COLUMNS = ("title", "description", "client", "category", "location")
BLOCKED_HTML = "<!DOCTYPE html><html><body><p>보안 정책으로 인해 접근할 수 없습니다.</p></body></html>"


def fixture(name: str) -> Any:
    return json.loads(fixture_path("freemoa", name).read_text(encoding="utf-8"))


def board_rows() -> list[dict[str, Any]]:
    """13 rows, newest first: our 4 fixture rows plus 9 made from the first (each with its own
    client e-mail, as real rows have); one of them is marked not viewable."""
    rows = fixture("list-page-1.json")["DATA"]["PROJECT"]["LIST"]
    template = rows[0]
    for number in [*range(60011, 60017), *range(60021, 60024)]:
        row = copy.deepcopy(template)
        row.update(proj_idx=str(number), title=f"추가 프로젝트 {number}", client_id=f"client{number}@example.com",
                   txt=f"프로젝트 {number} 설명입니다. 연락처 010-{number % 10000:04d}-1234")
        if number == 60016:
            row["isviewable"] = "0"
        rows.append(row)
    return rows


def api(data: Any, no: int = 0, message: str = "") -> Reply:
    body = json.dumps({"ERROR": {"NO": no, "MSG": message}, "DATA": data}, ensure_ascii=False)
    return Reply(body=body.encode("utf-8"), content_type="text/html; charset=UTF-8")  # PHP sends JSON as text/html


def from_the_site(request: MirrorRequest) -> bool:
    """What the real API checks before it answers with data: the session and the XHR headers."""
    return (COOKIE in request.headers.get("Cookie", "") and request.headers.get("X-Requested-With") == "XMLHttpRequest"
            and request.headers.get("Referer", "").endswith("/m4/s41"))


def serve_freemoa(mirror: Mirror, rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    rows = board_rows() if rows is None else rows
    mirror.add("/m4/s41", Reply(body=b"<html><body><div id='projectListNew'></div></body></html>",
                                headers={"Set-Cookie": f"{COOKIE}; Path=/; HttpOnly"}))

    def listing(request: MirrorRequest) -> Reply:
        if not from_the_site(request):
            return Reply(body=BLOCKED_HTML.encode("utf-8"))
        form = request.form
        assert form["sm"] == ["3"]
        page = int(form["page"][0])
        chunk = rows[(page - 1) * 10: page * 10]
        return api({"PROJECT": {"LIST": chunk, "PAGINATION": {"currentPage": page, "nextPage": page + 1, "totalRows": len(rows)}}})

    details = {"60001": fixture("detail-60001.json"), "60002": fixture("detail-login.json"),
               "60003": fixture("detail-60003.json"), "60004": fixture("detail-restricted.json")}

    def detail(request: MirrorRequest) -> Reply:
        if not from_the_site(request):
            return Reply(body=BLOCKED_HTML.encode("utf-8"))
        pno = request.form["pno"][0]
        if pno == "60011":
            return Reply(body=BLOCKED_HTML.encode("utf-8"))  # this one detail is refused
        if pno in details:
            answer = details[pno]
            return api(answer["DATA"], answer["ERROR"]["NO"], answer["ERROR"]["MSG"])
        row = next(r for r in rows if r["proj_idx"] == pno)
        view = {key: row[key] for key in ("title", "cost_min", "cost_max", "workType", "is_stay", "during", "INS_TIME",
                                          "endtime", "isNowApply", "proj_filed", "proj_language")}
        view.update(txt=row["txt"] + " (전체)", cl_private_nm="테*트", pvNmu="서울 강남구", ALL_APPLY_COUNT=1)
        return api({"VIEW": view, "META": {"pno": pno, "company_userid": row["client_id"]}, "COMMET_CNT": 0})

    mirror.add("/m4a/s41a", listing, method="POST")
    mirror.add("/m4a/s41v", detail, method="POST")
    return rows


def test_freemoa_crawl_session_pages_details_and_withheld_projects(mirror, crawl, database_url) -> None:
    rows = serve_freemoa(mirror)
    result = crawl("freemoa", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 0, result.log[-4000:]

    # The board page (cookie) first, then the API: 2 list POSTs, a detail POST per viewable row.
    calls = [(r.method, r.path) for r in mirror.requests if r.path != "/robots.txt"]
    assert calls[0] == ("GET", "/m4/s41") and calls.count(("GET", "/m4/s41")) == 1
    assert calls.count(("POST", "/m4a/s41a")) == 2
    pnos = [r.form["pno"][0] for r in mirror.requests if r.path == "/m4a/s41v"]
    assert sorted(pnos) == sorted(r["proj_idx"] for r in rows if r["proj_idx"] != "60016")
    assert all(from_the_site(r) for r in mirror.requests if r.method == "POST")
    assert result.stat("outsourcing/listing_pages/recognised") == 2

    stored = {row["external_id"]: row for row in query(database_url, "SELECT * FROM postings WHERE platform = 'freemoa'")}
    assert len(stored) == TOTAL

    full = stored["60001"]
    assert full["url"] == "https://www.freemoa.net/m4/s41?first_pno=60001"
    assert (full["budget_min"], full["budget_max"], full["currency"], full["budget_type"]) == (Decimal(15000000), Decimal(22000000), "KRW", "fixed")
    assert full["posted_at"] == datetime(2026, 9, 30, 5, 20, 5, tzinfo=UTC)   # INS_TIME 14:20:05 KST
    assert full["deadline_at"] == datetime(2026, 10, 10, 15, tzinfo=UTC)
    assert (full["client"], full["location"], full["proposals"], full["category"]) == ("펫*크", "서울 성동구", 4, "개발 > 앱")
    assert json.loads(full["raw"])["detail"] == "ok"

    hourly = stored["60003"]
    assert (hourly["budget_min"], hourly["budget_type"], hourly["remote"]) == (Decimal(20000), "hourly", False)

    # Login wall, restricted, refused and not-viewable details: stored from the list row.
    login, restricted, refused, hidden = stored["60002"], stored["60004"], stored["60011"], stored["60016"]
    assert (login["budget_min"], login["budget_type"], login["remote"], login["client"], login["location"]) == (
        Decimal(6500000), "monthly", False, None, "경기")
    assert json.loads(login["raw"])["detail"] == "login_required"
    assert (restricted["status"], restricted["skills"], restricted["budget_min"]) == ("closed", [], None)
    assert json.loads(restricted["raw"])["detail"] == "restricted"
    assert json.loads(refused["raw"])["detail"] == "not_json" and refused["title"] == "추가 프로젝트 60011"
    assert json.loads(hidden["raw"])["detail"] == "not_viewable"
    assert stored["60023"]["client"] == "테*트"  # page 2 rows got their details too

    assert result.stat("outsourcing/detail_restricted/login_required") == 1
    assert result.stat("outsourcing/detail_restricted/restricted") == 1
    assert result.stat("outsourcing/detail_restricted/not_viewable") == 1
    assert result.stat("outsourcing/detail_unrecognised/not_json") == 1
    warnings = [line for line in result.log.splitlines() if "WARNING" in line and "keeping the list row" in line]
    assert len(warnings) == 3 and any("60002" in line and "login_required" in line for line in warnings)
    assert "ERROR" not in result.log

    # Personal data: the clients' e-mails (client_id, company_userid), e-mails and phone numbers in
    # descriptions, comments and applicants are nowhere in the stored postings.
    secrets = [row["client_id"] for row in rows] + ["walk.owner@example.com", "partner.kim@example.com", "a1@example.com",
                                                    "010-2345-6789", "02-555-0123", "010-0011-1234"]
    for row in stored.values():
        text = " ".join(str(row[column]) for column in TEXT_COLUMNS) + row["raw"]
        leaked = [secret for secret in secrets if secret in text]
        assert not leaked, (row["external_id"], leaked)
        assert "client_id" not in json.loads(row["raw"])["list_row"]
    assert result.stat("outsourcing/validation/pii_removed") is None  # the parser had done it already
    assert result.stat("outsourcing/pii/removed") > 0  # removed once, where the postings were built

    run = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert (run["spider"], run["exit_code"], run["scraped"], run["inserted"]) == ("freemoa", 0, TOTAL, TOTAL)


def test_freemoa_without_the_session_cookie_the_api_is_refused(mirror, crawl, database_url) -> None:
    """The mirror's API answers only with the board's cookie: a crawl that skipped the board page
    would fail here, so this pins that the cookie is fetched and sent."""
    serve_freemoa(mirror)
    mirror.add("/m4/s41", Reply(body=b"<html></html>"))  # the board page no longer sets a cookie
    result = crawl("freemoa", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 1
    assert f"{mirror.url}/m4a/s41a: not_json" in result.log


def test_freemoa_max_pages_and_delay_override(mirror, crawl, database_url) -> None:
    serve_freemoa(mirror)
    result = crawl("freemoa", base_url=mirror.url, database_url=database_url, args={"max_pages": "1", "details": "false"})
    assert result.returncode == 0, result.log[-4000:]
    assert "'DOWNLOAD_DELAY': '0'" in result.log
    assert mirror.count("/m4a/s41a") == 1 and mirror.count("/m4a/s41v") == 0
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 10


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(status=403, body=b"<html><head><title>Attention Required! | Cloudflare</title></head><body>cf-chl</body></html>"), "challenge_page"),
        (Reply(body=BLOCKED_HTML.encode("utf-8")), "not_json"),
        (api([], no=-1, message="로그인이 필요한 서비스입니다."), "login_wall"),
        (api({"PROJECT": {"ROWS": []}}), "unexpected_structure"),
    ],
)
def test_freemoa_unrecognised_list_fails_the_crawl(mirror, crawl, database_url, reply: Reply, reason: str) -> None:
    serve_freemoa(mirror)
    mirror.add("/m4a/s41a", reply, method="POST")
    result = crawl("freemoa", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 1, result.log[-4000:]
    error_lines = [line for line in result.log.splitlines() if "ERROR" in line and "page not recognised" in line]
    assert len(error_lines) == 1
    assert f"{mirror.url}/m4a/s41a" in error_lines[0] and reason in error_lines[0] and "freemoa" in error_lines[0]
    assert result.stat(f"outsourcing/unrecognised/{reason}") == 1
    run = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert run["exit_code"] == 1 and "no listing page of the platform could be read or recognised" in run["problems"]


def test_freemoa_empty_board_is_not_a_failure(mirror, crawl, database_url) -> None:
    serve_freemoa(mirror, rows=[])
    result = crawl("freemoa", base_url=mirror.url, database_url=database_url, args={"query": "없는검색어"})
    assert result.returncode == 0, result.log[-4000:]
    assert mirror.count("/m4a/s41a") == 1
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 0
