"""The read API benchmark (`python -m bench --only api`).

N generated postings shaped like the real ones (Korean platforms: Korean titles and
descriptions, 만원 budgets, fixed/monthly; global platforms: English text, USD fixed/hourly/
yearly; skills, remote, status, deadlines; a few percent without posted_at) are COPYed into a
fresh database, the API runs as its own process (`python -m outsourcing.api`, one uvicorn
worker), and for each case (first page, deep cursor, each filter, Korean and English search)
two runs of the same length and concurrency are measured:

- API: HTTP GETs from a local load generator;
- raw: the very SQL statements the API runs for that request, straight through asyncpg (a
  pool of the same size, the same read-only session settings), no HTTP and no JSON.

The ratio API/raw (requests per second) is what the HTTP layer costs; p50/p99 are per request,
measured by the client. The load generator is a small asyncio HTTP/1.1 keep-alive client in
this process (not wrk): it times requests exactly the way the raw baseline times queries, needs
nothing installed, and its own CPU use is reported so one can see it did not starve the server.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg

from bench import db

REPO = Path(__file__).resolve().parents[1]
CONCURRENCY = 4

KO_PLATFORMS = ("wishket", "freemoa", "kmong", "elancer")
EN_PLATFORMS = ("freelancer", "guru", "peopleperhour", "remoteok", "weworkremotely")
KO_SUBJECTS = ("쇼핑몰", "예약", "커뮤니티", "병원", "부동산", "교육", "물류", "사내", "중고거래", "여행", "헬스케어", "금융",
               "채용", "배달", "뷰티", "펫", "스포츠", "식당", "공공기관", "스타트업")
KO_THINGS = ("웹사이트", "앱", "하이브리드앱", "관리자 페이지", "API 서버", "모바일웹", "홈페이지", "플랫폼", "ERP", "챗봇",
             "결제 시스템", "대시보드", "랜딩페이지", "크롤러", "데이터 파이프라인")
KO_ACTIONS = ("개발", "구축", "리뉴얼", "유지보수", "고도화", "제작", "기획 및 개발", "퍼블리싱")
KO_SENTENCES = (
    "기존 시스템을 분석하고 요구사항을 정리해 주실 분을 찾습니다.",
    "디자인 시안은 준비되어 있으며 퍼블리싱과 프론트엔드 개발이 필요합니다.",
    "관리자 페이지에서 주문과 회원을 관리할 수 있어야 합니다.",
    "결제 모듈 연동 경험이 있으신 분을 우대합니다.",
    "일정은 협의 가능하며 주 1회 진행 상황을 공유해 주세요.",
    "서버는 AWS를 사용하고 있고 배포 자동화가 되어 있습니다.",
    "반응형 웹으로 제작하여 모바일에서도 잘 보여야 합니다.",
    "안드로이드와 iOS 모두 지원하는 앱을 원합니다.",
    "유지보수 계약은 별도로 논의하겠습니다.",
    "상주 근무가 가능하신 분을 우선 검토합니다.",
    "재택 근무 가능하며 화상 회의로 소통합니다.",
    "기존 코드의 성능 개선과 리팩토링이 포함됩니다.",
    "데이터베이스 설계부터 함께 진행해 주실 분이면 좋겠습니다.",
    "포트폴리오와 예상 견적을 함께 보내 주세요.",
)
EN_WORDS = ["data", "pipeline", "platform", "backend", "frontend", "react", "python", "django", "api", "cloud", "aws", "kubernetes", "terraform", "design", "product", "growth", "support", "customer", "analytics", "machine", "learning", "model", "mobile", "ios", "android", "typescript", "postgres", "redis", "spark", "airflow", "dbt", "security", "testing", "automation", "devops", "billing", "payments", "search", "dashboard", "migration", "performance", "reliability", "integration", "shopify", "wordpress", "landing", "page", "seo", "content"]
EN_ROLES = ("Developer", "Engineer", "Designer", "Consultant", "Expert", "Specialist")
KO_SKILLS = ("Java", "Spring", "React", "Vue.js", "Python", "Django", "PHP", "Flutter", "Swift", "Kotlin", "Node.js",
             "MySQL", "AWS", "Figma", "JavaScript", "TypeScript")
EN_SKILLS = ("react", "python", "javascript", "php", "wordpress", "shopify", "aws", "docker", "figma", "sql", "node",
             "typescript", "django", "laravel", "seo", "excel", "go", "rust")
#: Words planted at a known rate, so a search's selectivity is known: rare Korean and English
#: words (1 in 2,000 postings) and an English word of middling frequency (1 in 100).
RARE_KO, RARE_EN, MID_EN = "드론", "fortran", "kafka"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _korean(rng: random.Random) -> tuple[str, str]:
    title = f"{rng.choice(KO_SUBJECTS)} {rng.choice(KO_THINGS)} {rng.choice(KO_ACTIONS)}"
    sentences = [rng.choice(KO_SENTENCES) for _ in range(rng.randint(5, 11))]
    if rng.random() < 1 / 2000:
        sentences.insert(rng.randrange(len(sentences) + 1), f"{RARE_KO} 촬영 영상 관리 기능이 필요합니다.")
    return title, "\n\n".join(" ".join(sentences[i:i + 3]) for i in range(0, len(sentences), 3))


def _english(rng: random.Random) -> tuple[str, str]:
    title = f"{rng.choice(EN_WORDS).capitalize()} {rng.choice(EN_WORDS)} {rng.choice(EN_ROLES)}"
    paragraphs = []
    for _ in range(rng.randint(2, 4)):
        words = [rng.choice(EN_WORDS) for _ in range(rng.randint(25, 45))]
        paragraphs.append(" ".join(words).capitalize() + ".")
    text = "\n\n".join(paragraphs)
    if rng.random() < 1 / 2000:
        text += f" Legacy {RARE_EN} code must be ported."
    if rng.random() < 1 / 100:
        text += f" Events flow through {MID_EN}."
    return title, text


def posting_rows(count: int, seed: int = 14) -> Any:
    """Rows for COPY into postings (columns COPY_COLUMNS), same seed and count, same rows."""
    rng = random.Random(seed)
    for i in range(count):
        korean = rng.random() < 0.5
        platform = rng.choice(KO_PLATFORMS if korean else EN_PLATFORMS)
        title, description = _korean(rng) if korean else _english(rng)
        skills = rng.sample(KO_SKILLS if korean else EN_SKILLS, rng.randint(1, 5))
        if korean:
            low = rng.choice((None, 100, 300, 500, 800, 1000, 2000, 3000, 5000))
            budget_type = rng.choice(("fixed", "fixed", "monthly")) if low else None
            high = (low + rng.choice((0, 0, 200, 500, 1000))) if low else None
            budget_min = budget_max = None
            if low:
                budget_min, budget_max = low * 10_000, (high or low) * 10_000
            currency = "KRW" if low else None
        else:
            budget_type = rng.choice(("fixed", "hourly", "yearly", None))
            if budget_type == "fixed":
                budget_min = rng.choice((100, 250, 500, 1000, 3000))
                budget_max = budget_min * rng.choice((1, 2, 3))
            elif budget_type == "hourly":
                budget_min = rng.choice((15, 25, 40, 60))
                budget_max = budget_min + rng.choice((0, 10, 20))
            elif budget_type == "yearly":
                budget_min = rng.choice((60_000, 90_000, 120_000))
                budget_max = budget_min + 30_000
            else:
                budget_min = budget_max = None
            currency = "USD" if budget_min else None
            budget_type = budget_type if budget_min else None
        posted = None if rng.random() < 0.03 else NOW - timedelta(seconds=rng.randrange(365 * 86400))
        deadline = (posted or NOW) + timedelta(days=rng.randint(3, 40)) if rng.random() < 0.8 else None
        external_id = str(1_000_000 + i)
        yield (platform, external_id, f"https://example.invalid/{platform}/{external_id}", title, description,
               None, None, skills, budget_min, budget_max, currency, budget_type, None, None,
               rng.choice((True, False, None)), posted, deadline, None, "open" if rng.random() < 0.7 else "closed",
               NOW, "bench", posted or NOW)


COPY_COLUMNS = ("platform", "external_id", "url", "title", "description", "client", "category", "skills", "budget_min",
                "budget_max", "currency", "budget_type", "duration_days", "location", "remote", "posted_at",
                "deadline_at", "proposals", "status", "scraped_at", "content_hash", "first_seen_at")
#: Indexes of schema.sql block 5 (and the rest): dropped for the COPY, built again afterwards
#: by applying schema.sql (CREATE INDEX IF NOT EXISTS), which is faster than maintaining them.
DROPPED_FOR_COPY = ("postings_search_text", "postings_search_hangul", "postings_skills_lower", "postings_api_order",
                    "postings_api_platform_order", "postings_platform_posted", "postings_platform_first_seen",
                    "postings_skills", "postings_open_deadline")


async def fill(url: str, count: int) -> dict[str, float]:
    from outsourcing.storage.database import apply_schema

    timings: dict[str, float] = {}
    connection = await asyncpg.connect(url)
    try:
        for name in DROPPED_FOR_COPY:
            await connection.execute(f"DROP INDEX IF EXISTS {name}")
        started = time.perf_counter()
        rows = posting_rows(count)
        while True:
            chunk = [row for _, row in zip(range(50_000), rows)]
            if not chunk:
                break
            await connection.copy_records_to_table("postings", records=chunk, columns=COPY_COLUMNS)
        await connection.execute("INSERT INTO posting_seen (platform, external_id, last_seen_at) "
                                 "SELECT platform, external_id, first_seen_at FROM postings")
        timings["generate + COPY"] = time.perf_counter() - started
        started = time.perf_counter()
        await connection.execute("SET maintenance_work_mem = '512MB'; SET max_parallel_maintenance_workers = 2")
        await apply_schema(connection)
        timings["indexes (schema.sql)"] = time.perf_counter() - started
        started = time.perf_counter()
        await connection.execute("VACUUM ANALYZE postings")
        await connection.execute("VACUUM ANALYZE posting_seen")
        timings["vacuum analyze"] = time.perf_counter() - started
        timings["table MB"] = await connection.fetchval("SELECT pg_total_relation_size('postings') / 1e6")
    finally:
        await connection.close()
    return timings


# --- load generators ----------------------------------------------------------------------------


@dataclass
class Measure:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


async def _http_worker(host: str, port: int, request: bytes, stop: float, measure: Measure) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            chunked = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
                elif name.lower() == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
            if chunked:
                while True:
                    size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            else:
                await reader.readexactly(length)
            elapsed = time.perf_counter() - started
            measure.statuses[status] = measure.statuses.get(status, 0) + 1
            if status == 200:
                measure.latencies.append(elapsed)
            else:
                measure.errors += 1
    finally:
        writer.close()


async def load_http(base: str, path: str, seconds: float, concurrency: int = CONCURRENCY) -> Measure:
    host, port = base.removeprefix("http://").split(":")
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n".encode("ascii")
    measure = Measure()
    cpu = time.process_time()
    started = time.perf_counter()
    stop = started + seconds
    await asyncio.gather(*(_http_worker(host, int(port), request, stop, measure) for _ in range(concurrency)))
    measure.wall = time.perf_counter() - started
    measure.cpu = time.process_time() - cpu
    return measure


async def load_raw(pool: asyncpg.Pool, statements: list[tuple[str, list[Any]]], seconds: float,
                   concurrency: int = CONCURRENCY) -> Measure:
    measure = Measure()

    async def worker(stop: float) -> None:
        async with pool.acquire() as connection:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                for sql, values in statements:
                    await connection.fetch(sql, *values)
                measure.latencies.append(time.perf_counter() - started)

    cpu = time.process_time()
    started = time.perf_counter()
    stop = started + seconds
    await asyncio.gather(*(worker(stop) for _ in range(concurrency)))
    measure.wall = time.perf_counter() - started
    measure.cpu = time.process_time() - cpu
    return measure


# --- the cases ----------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    params: dict[str, Any]
    search: bool = False


def cases(deep_cursor: str, since: str, deadline: str) -> list[Case]:
    return [
        Case("first page", {}),
        Case("deep cursor (middle of the table)", {"cursor": deep_cursor}),
        Case("platform=wishket", {"platform": "wishket"}),
        Case("platform=guru,remoteok", {"platform": "guru,remoteok"}),
        Case("skills=react", {"skills": "react"}),
        Case("currency=KRW&min_budget=30000000", {"currency": "KRW", "min_budget": 30_000_000}),
        Case("budget_type=monthly", {"budget_type": "monthly"}),
        Case("remote=true", {"remote": "true"}),
        Case("status=closed", {"status": "closed"}),
        Case("posted_since (last 7 days)", {"posted_since": since}),
        Case("deadline_after (soon)", {"deadline_after": deadline}),
        Case("search 개발 (Korean, 2 syllables, common)", {"q": "개발"}, True),
        Case("search 웹 (Korean, 1 syllable)", {"q": "웹"}, True),
        Case("search 웹사이트 (Korean, 4 syllables)", {"q": "웹사이트"}, True),
        Case(f"search {RARE_KO} (Korean, 2 syllables, 1 in 2,000)", {"q": RARE_KO}, True),
        Case("search react (English, common)", {"q": "react"}, True),
        Case(f"search {MID_EN} (English, 1 in 100)", {"q": MID_EN}, True),
        Case(f"search {RARE_EN} (English, 1 in 2,000)", {"q": RARE_EN}, True),
        Case("search 앱 개발 + platform=kmong + remote=false", {"q": "앱 개발", "platform": "kmong", "remote": "false"}, True),
    ]


async def statements_of(pool: asyncpg.Pool, case: Case) -> list[tuple[str, list[Any]]]:
    """The SQL statements the API runs for this request (the search's walk, and the plain
    query when the walk does not fill the page), found by running them once."""
    from outsourcing.query.filters import PostingFilter
    from outsourcing.query.postings import DEFAULT_LIMIT, Cursor, probe_size, search_sql

    params = dict(case.params)
    cursor = Cursor.decode(params.pop("cursor")) if "cursor" in params else None
    posting_filter = PostingFilter.from_mapping(params)
    statements = []
    if posting_filter.terms:
        probe = probe_size(DEFAULT_LIMIT)
        sql, values = search_sql(posting_filter, limit=DEFAULT_LIMIT, cursor=cursor, probe=probe)
        statements.append((sql, values))
        async with pool.acquire() as connection:
            filled = len(await connection.fetch(sql, *values)) > DEFAULT_LIMIT
        if filled:
            return statements
    statements.append(search_sql(posting_filter, limit=DEFAULT_LIMIT, cursor=cursor))
    return statements


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_api(url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k not in ("API_TOKEN",)}
    environment.update(DATABASE_URL=url, PYTHONPATH=str(REPO), API_POOL_SIZE=str(CONCURRENCY + 2))
    process = subprocess.Popen([sys.executable, "-m", "outsourcing.api", "--port", str(port), "--workers", str(workers),
                                "--log-level", "warning"], cwd=REPO, env=environment)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            writer.close()
            if b" 200 " in head.split(b"\r\n")[0]:
                return process, base
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the API server did not start")
        await asyncio.sleep(0.2)


async def explain(pool: asyncpg.Pool, statements: list[tuple[str, list[Any]]]) -> str:
    plans = []
    async with pool.acquire() as connection:
        for sql, values in statements:
            rows = await connection.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, *values)
            plans.append("\n".join(row[0] for row in rows))
    return "\n\n-- then --\n\n".join(plans)


@dataclass
class CaseResult:
    case: Case
    api: Measure
    raw: Measure
    statements: int
    plan: str = ""


@asynccontextmanager
async def _database(size: int, keep: bool) -> AsyncIterator[tuple[str, bool]]:
    """A fresh database, dropped afterwards; with `keep`, one named after the size and the
    schema that stays for the next run (filling 1M postings and building the indexes takes
    long), reused when it holds what this run would put in."""
    if not keep:
        async with db.fresh_database("api") as url:
            yield url, False
        return
    from outsourcing.storage.database import schema_sql

    digest = hashlib.sha256((schema_sql() + inspect.getsource(posting_rows) + inspect.getsource(_korean) +
                             inspect.getsource(_english) + repr(COPY_COLUMNS)).encode()).hexdigest()[:10]
    name = f"outsourcing_bench_api_keep_{size}_{digest}"
    url = db.with_database(db.server_url(), name)
    server = await asyncpg.connect(db.server_url())
    try:
        exists = await server.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            stale = await server.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'outsourcing_bench_api_keep_%'")
            for row in stale:
                await server.execute(f'DROP DATABASE "{row["datname"]}" WITH (FORCE)')
            await server.execute(f'CREATE DATABASE "{name}"')
    finally:
        await server.close()
    filled = False
    if exists:
        connection = await asyncpg.connect(url)
        try:
            filled = await connection.fetchval("SELECT count(*) FROM postings WHERE content_hash = 'bench'") == size
        except asyncpg.PostgresError:
            filled = False
        finally:
            await connection.close()
    if not filled:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute("DROP TABLE IF EXISTS postings, posting_seen CASCADE")
            from outsourcing.storage.database import apply_schema

            await apply_schema(connection)
        finally:
            await connection.close()
    yield url, filled


async def run_api_bench(size: int, seconds: float, *, workers: int = 1, keep: bool = False) -> dict[str, Any]:
    """Fill a fresh database with `size` postings, serve it, measure every case; the figures."""
    from outsourcing.query.connection import create_read_only_pool
    from outsourcing.query.postings import Cursor

    print(f"api: {size:,} postings, {seconds:g}s per case and side, {CONCURRENCY} concurrent", flush=True)
    async with _database(size, keep) as (url, filled):
        timings = {"reused database": 0.0} if filled else await fill(url, size)
        print("  filled: " + ", ".join(f"{k} {v:,.1f}" for k, v in timings.items()), flush=True)
        pool = await create_read_only_pool(url, min_size=CONCURRENCY, max_size=CONCURRENCY,
                                           statement_timeout_ms=30_000, max_parallel_workers_per_gather=0)
        async with pool.acquire() as connection:
            middle = await connection.fetchrow(
                "SELECT posted_at, platform, external_id FROM postings "
                "ORDER BY coalesce(posted_at, '-infinity'::timestamptz) DESC, platform DESC, external_id DESC "
                "OFFSET $1 LIMIT 1", size // 2)
        deep = Cursor(middle["posted_at"], middle["platform"], middle["external_id"]).encode()
        since = (NOW - timedelta(days=7)).isoformat()
        soon = (NOW + timedelta(days=30)).isoformat()
        process, base = await start_api(url, workers)
        results: list[CaseResult] = []
        load_before = os.getloadavg()[0]
        try:
            for case in cases(deep, since, soon):
                statements = await statements_of(pool, case)
                path = "/postings?" + urlencode(case.params)
                await load_http(base, path, min(0.5, seconds))  # warm-up: plans, caches, connections
                api = await load_http(base, path, seconds)
                await load_raw(pool, statements, min(0.5, seconds))
                raw = await load_raw(pool, statements, seconds)
                if api.errors or not api.latencies:
                    raise RuntimeError(f"api case {case.name}: statuses {api.statuses}")
                results.append(CaseResult(case, api, raw, len(statements)))
                print(f"  {case.name:52} API {api.rate:8,.0f}/s p50 {api.percentile(0.5):6.1f} ms "
                      f"p99 {api.percentile(0.99):6.1f} ms | raw {raw.rate:8,.0f}/s p50 {raw.percentile(0.5):6.1f} ms "
                      f"p99 {raw.percentile(0.99):6.1f} ms | {api.rate / raw.rate:4.2f}x", flush=True)
            slow = sorted(results, key=lambda r: r.raw.percentile(0.99), reverse=True)[:3]
            for result in slow:
                result.plan = await explain(pool, await statements_of(pool, result.case))
            server = await _server_facts(pool)
            server += (f"; load average (1 min) {load_before:.1f} when the cases started, "
                       f"{os.getloadavg()[0]:.1f} when they ended (2 cores: other work shared the machine)")
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            await pool.close()
    return {"size": size, "seconds": seconds, "workers": workers, "timings": timings, "results": results,
            "server": server}


async def _server_facts(pool: asyncpg.Pool) -> str:
    async with pool.acquire() as connection:
        ctype = await connection.fetchval("SELECT datctype FROM pg_database WHERE datname = current_database()")
        hangul = await connection.fetchval("SELECT cardinality(show_trgm('웹사')) > 0")
        sizes = await connection.fetch(
            "SELECT indexrelname AS name, pg_relation_size(indexrelid) / 1e6 AS mb FROM pg_stat_user_indexes "
            "WHERE relname = 'postings' ORDER BY 2 DESC")
    return (f"database ctype {ctype}, pg_trgm sees Hangul: {hangul}; index sizes (MB): "
            + ", ".join(f"{row['name']} {row['mb']:,.0f}" for row in sizes))


def render_api(figures: dict[str, Any], *, started: datetime, command: str, machine_line: str) -> str:
    results: list[CaseResult] = figures["results"]
    lines = [
        "## API benchmark (issue 14)",
        "",
        f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')}; command: `{command}`",
        f"- machine: {machine_line}",
        f"- {figures['size']:,} generated postings (half Korean, half English); {figures['seconds']:g} s per case "
        f"and side after a warm-up, {CONCURRENCY} concurrent requests; API: one uvicorn worker "
        f"(`python -m outsourcing.api --workers {figures['workers']}`), load from a local asyncio HTTP client; "
        "raw: the same SQL statements straight through an asyncpg pool of the same size and session settings "
        "(read-only, statement_timeout, no parallel workers).",
        "- setup: " + ", ".join(f"{k} {v:,.1f}" + ("" if k == "table MB" else " s") for k, v in figures["timings"].items()),
        f"- {figures['server']}",
        "",
        "| case | statements | API req/s | API p50 ms | API p99 ms | raw req/s | raw p50 ms | raw p99 ms | API / raw | "
        "goal ≥ 0.5 | search p99 < 100 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for result in results:
        ratio = result.api.rate / result.raw.rate if result.raw.rate else 0.0
        p99 = result.api.percentile(0.99)
        search = ("yes" if p99 < 100 else "**no**") if result.case.search else ""
        lines.append(
            f"| {result.case.name} | {result.statements} | {result.api.rate:,.0f} | {result.api.percentile(0.5):.1f} | "
            f"{p99:.1f} | {result.raw.rate:,.0f} | {result.raw.percentile(0.5):.1f} | {result.raw.percentile(0.99):.1f} | "
            f"{ratio:.2f}x | {'yes' if ratio >= 0.5 else '**no**'} | {search} |")
    cpu = [(r.case.name, r.api.cpu / r.api.wall) for r in results]
    lines += ["", f"Load generator CPU: {min(c for _, c in cpu):.0%}–{max(c for _, c in cpu):.0%} of one core "
                  "during the API runs.", ""]
    planned = [r for r in results if r.plan]
    if planned:
        lines += ["### Query plans of the slowest cases (by raw p99)", ""]
        for result in planned:
            lines += [f"**{result.case.name}** (`{json.dumps(result.case.params, ensure_ascii=False)}`)", "",
                      "```", result.plan, "```", ""]
    return "\n".join(lines) + "\n"


def merge_into(existing: str, section: str) -> str:
    """RESULTS.md with its API section replaced (or added): the other sections stay."""
    marker = "## API benchmark (issue 14)"
    if marker in existing:
        before = existing.split(marker, 1)[0].rstrip() + "\n\n"
    else:
        before = existing.rstrip() + "\n\n" if existing.strip() else "# Benchmark results\n\n"
    return before + section


def summary(figures: dict[str, Any]) -> str:
    results: list[CaseResult] = figures["results"]
    ratios = [r.api.rate / r.raw.rate for r in results if r.raw.rate]
    searches = [r.api.percentile(0.99) for r in results if r.case.search]
    return (f"api: API/raw req/s {min(ratios):.2f}x–{max(ratios):.2f}x (median {statistics.median(ratios):.2f}x); "
            f"search p99 max {max(searches):.1f} ms")
