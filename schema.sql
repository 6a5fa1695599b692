-- outsourcing: the database schema (docs/contract.md, "The tables").
--
-- Idempotent on PostgreSQL 15 and newer: the pipeline applies it when a crawl opens, and
-- `psql -f schema.sql` works too. Later changes are added below as numbered, additive
-- migrations, each recorded in schema_version.

BEGIN;

-- Two crawls opening at once must not race each other through CREATE ... IF NOT EXISTS.
SELECT pg_advisory_xact_lock(727274);

CREATE TABLE IF NOT EXISTS schema_version (
    version     integer PRIMARY KEY,
    description text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- 1: the first schema -----------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS crawl_runs (
    id            bigserial   PRIMARY KEY,
    spider        text        NOT NULL,
    mode          text        NOT NULL DEFAULT 'full',
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    finish_reason text,                  -- Scrapy's reason: finished, shutdown, cancelled, ...
    exit_code     integer,               -- what the crawl command exited with
    scraped       integer     NOT NULL DEFAULT 0,  -- postings the spider yielded
    inserted      integer     NOT NULL DEFAULT 0,
    updated       integer     NOT NULL DEFAULT 0,
    unchanged     integer     NOT NULL DEFAULT 0,
    dropped       integer     NOT NULL DEFAULT 0,  -- rejected by validation + duplicates
    errors        integer     NOT NULL DEFAULT 0,  -- pages not read or not recognised, storage errors
    spilled       integer     NOT NULL DEFAULT 0,  -- postings left in the spill file at the end
    replayed      integer     NOT NULL DEFAULT 0,  -- postings written from an earlier run's spill file
    problems      text[]      NOT NULL DEFAULT '{}',
    stats         jsonb,                 -- Scrapy's stats at the end
    host          text,
    pid           integer
);
CREATE INDEX IF NOT EXISTS crawl_runs_spider_started ON crawl_runs (spider, started_at DESC);

CREATE TABLE IF NOT EXISTS postings (
    platform      text        NOT NULL,
    external_id   text        NOT NULL,
    url           text        NOT NULL,
    title         text        NOT NULL,
    description   text,
    client        text,
    category      text,
    skills        text[]      NOT NULL DEFAULT '{}',
    budget_min    numeric,
    budget_max    numeric,
    currency      text,
    budget_type   text CHECK (budget_type IN ('fixed', 'hourly', 'monthly', 'yearly')),
    duration_days integer,
    location      text,
    remote        boolean,
    posted_at     timestamptz,
    deadline_at   timestamptz,
    proposals     integer,
    status        text CHECK (status IN ('open', 'closed')),
    scraped_at    timestamptz NOT NULL,  -- when the stored version was received
    raw           jsonb,                 -- the platform's payload, personal data removed
    content_hash  text        NOT NULL,  -- sha256 of every item field but scraped_at
    first_seen_at timestamptz NOT NULL,
    first_run_id  bigint,
    changed_at    timestamptz,           -- when the stored version last changed
    PRIMARY KEY (platform, external_id)
);
-- Newest postings per platform; by skill; by deadline.
CREATE INDEX IF NOT EXISTS postings_platform_posted ON postings (platform, posted_at DESC NULLS LAST);
CREATE INDEX IF NOT EXISTS postings_platform_first_seen ON postings (platform, first_seen_at DESC);
CREATE INDEX IF NOT EXISTS postings_skills ON postings USING gin (skills);
CREATE INDEX IF NOT EXISTS postings_open_deadline ON postings (deadline_at) WHERE status = 'open';

-- last_seen_at lives in this narrow table: an unchanged posting seen again rewrites only
-- this small row (a HOT update), not the wide postings row with its description and raw.
CREATE TABLE IF NOT EXISTS posting_seen (
    platform     text        NOT NULL,
    external_id  text        NOT NULL,
    last_seen_at timestamptz NOT NULL,
    last_run_id  bigint,
    PRIMARY KEY (platform, external_id)
) WITH (fillfactor = 70);

CREATE TABLE IF NOT EXISTS posting_changes (
    id             bigserial   PRIMARY KEY,
    platform       text        NOT NULL,
    external_id    text        NOT NULL,
    changed_at     timestamptz NOT NULL DEFAULT now(),
    run_id         bigint REFERENCES crawl_runs (id),
    changed_fields text[]      NOT NULL,
    old_values     jsonb       NOT NULL,  -- {field: old value} for the changed fields
    new_values     jsonb       NOT NULL   -- {field: new value}
);
CREATE INDEX IF NOT EXISTS posting_changes_posting ON posting_changes (platform, external_id, changed_at DESC);
CREATE INDEX IF NOT EXISTS posting_changes_run ON posting_changes (run_id);

CREATE TABLE IF NOT EXISTS rejected_items (
    id          bigserial   PRIMARY KEY,
    platform    text,
    external_id text,
    reason      text        NOT NULL,  -- short code, also the stats key: missing:title, range:budget
    detail      text,                  -- the whole message (PostgreSQL's, for rows it refused)
    item        jsonb       NOT NULL,  -- the item as the spider yielded it, raw payload included
    run_id      bigint REFERENCES crawl_runs (id),
    rejected_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS rejected_items_run ON rejected_items (run_id);
CREATE INDEX IF NOT EXISTS rejected_items_platform_reason ON rejected_items (platform, reason);

-- Postings with when they were last seen, for queries that want both.
CREATE OR REPLACE VIEW posting_overview AS
    SELECT p.*, s.last_seen_at, s.last_run_id
    FROM postings p
    LEFT JOIN posting_seen s USING (platform, external_id);

INSERT INTO schema_version (version, description)
VALUES (1, 'postings, posting_seen, posting_changes, rejected_items, crawl_runs')
ON CONFLICT (version) DO NOTHING;

-- 2: incremental runs ------------------------------------------------------------------------

-- The newest posting a platform's last *completed* run covered, per scope (the spider's
-- filter arguments, '' for none: a run over one category says nothing about the others).
-- Advanced only when a run finishes cleanly (exit status 0) and was not cut short by
-- max_pages/max_items before reaching it, so a run killed midway leaves it where it was and
-- the next incremental run reads further back.
CREATE TABLE IF NOT EXISTS platform_watermarks (
    platform         text NOT NULL,
    scope            text NOT NULL DEFAULT '',
    newest_posted_at timestamptz,
    run_id           bigint REFERENCES crawl_runs (id),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, scope)
);

INSERT INTO schema_version (version, description)
VALUES (2, 'platform_watermarks')
ON CONFLICT (version) DO NOTHING;

-- 3: fields a stored posting could not read ---------------------------------------------------

-- A posting whose detail page could not be read this time (a 500, a timeout, a page not
-- understood, a list-only run) is yielded from its listing entry with the detail's fields named
-- in the item's `unread_fields`. The writer keeps what an earlier read of the detail stored for
-- those fields; the fields whose *stored* values came from a listing entry alone are listed
-- here, so a later listing entry may still update them. No row: every stored value was read.
CREATE TABLE IF NOT EXISTS posting_unread (
    platform    text   NOT NULL,
    external_id text   NOT NULL,
    fields      text[] NOT NULL,
    PRIMARY KEY (platform, external_id)
);

INSERT INTO schema_version (version, description)
VALUES (3, 'posting_unread')
ON CONFLICT (version) DO NOTHING;

-- 4: incremental state in typed columns ---------------------------------------------------------

-- Set by the incremental component (outsourcing/incremental.py) as a run finishes: the run's
-- filter scope ('' for none) and whether it read its listing completely (to the end, or down
-- to what earlier runs covered; not cut short by max_pages/max_items before that). An
-- incremental run without posting times stops at postings first stored by the newest clean
-- run (exit_code 0) of its scope with listing_complete. Runs recorded before version 4 are
-- filled in once from the Scrapy stats they kept.
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS watermark_scope text;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS listing_complete boolean;

DO $migration$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM schema_version WHERE version = 4) THEN
        UPDATE crawl_runs
        SET watermark_scope = coalesce(stats->>'outsourcing/watermark_scope', ''),
            listing_complete = (stats ? 'outsourcing/incremental/stopped_at_watermark'
                                OR NOT stats ?| array['outsourcing/truncated/max_pages', 'outsourcing/truncated/max_items'])
        WHERE stats IS NOT NULL AND watermark_scope IS NULL;
        INSERT INTO schema_version (version, description)
        VALUES (4, 'crawl_runs.watermark_scope, crawl_runs.listing_complete');
    END IF;
END
$migration$;

COMMIT;
