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

-- 5: the read API's queries (issue 14) ------------------------------------------------------

-- Search in title and description is case-insensitive substring search ("웹" finds "웹사이트",
-- "react" finds "React.js"). PostgreSQL's text search does not split Korean, and pg_trgm
-- extracts no trigram from a 1- or 2-character pattern ('%웹%', '%개발%'), so:
-- - terms of 3+ characters: `outsourcing_search_text(title, description) LIKE '%term%'`, served
--   by the trigram index postings_search_text (pg_trgm rechecks every candidate row, so the
--   result is the substring test's whatever the index finds);
-- - terms of 1-2 Hangul syllables: `outsourcing_hangul_grams(title, description) @@ query`,
--   served by postings_search_hangul. The grams are the Hangul of the text with every syllable
--   X written "X X", so that a run ABC becomes the lexemes A, AB, BC, C: every syllable pair of
--   a run is a lexeme ('개발'), and every syllable starts one ('웹':* finds 웹사이트, 모바일웹).
--   For such a term this is exactly the substring test, with no recheck of the (costly)
--   expression, and the lexemes come from array_to_tsvector, not from a text search parser,
--   so they do not depend on the database's LC_CTYPE;
-- - terms of 1-2 other characters ("ui", "go"): the substring test without an index (such
--   strings are common; the API finds them by walking the newest postings).
-- pg_trgm classifies characters with LC_CTYPE: under C.UTF-8 or a UTF-8 locale Hangul is
-- alphanumeric; under plain "C" it is not, and postings_search_text then finds no Hangul
-- trigram (still correct results, no speed-up for Korean terms of 3+ syllables; /health says so).
-- The functions are IMMUTABLE and indexed: never change a body without rebuilding its index.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE OR REPLACE FUNCTION outsourcing_search_text(title text, description text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN lower(title || E'\n' || coalesce(description, ''));

-- Not inlined (the SET clause), with its real cost: otherwise the planner, which counts the
-- regexp_replace calls as cheap, may walk a million rows computing this for each (~0.2 ms per
-- Korean posting) instead of asking the index.
CREATE OR REPLACE FUNCTION outsourcing_hangul_grams(title text, description text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 5000 SET search_path = pg_catalog
    RETURN array_to_tsvector(string_to_array(btrim(regexp_replace(
        regexp_replace(title || ' ' || coalesce(description, ''), '[^가-힣]+', ' ', 'g'),
        '([가-힣])', '\1 \1', 'g')), ' '));

CREATE OR REPLACE FUNCTION outsourcing_lower_skills(skills text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT coalesce(array_agg(lower(s)), '{}') FROM unnest(skills) s);

CREATE INDEX IF NOT EXISTS postings_search_text
    ON postings USING gin (outsourcing_search_text(title, description) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS postings_search_hangul
    ON postings USING gin (outsourcing_hangul_grams(title, description));
-- Skills match case-insensitively (RemoteOK's "python" is Wishket's "Python").
CREATE INDEX IF NOT EXISTS postings_skills_lower ON postings USING gin (outsourcing_lower_skills(skills));
-- The API's one order (newest first, no posted_at last, then platform and external_id, all
-- descending so that a keyset cursor is one row comparison) and the same per platform.
CREATE INDEX IF NOT EXISTS postings_api_order
    ON postings ((coalesce(posted_at, '-infinity'::timestamptz)) DESC, platform DESC, external_id DESC);
CREATE INDEX IF NOT EXISTS postings_api_platform_order
    ON postings (platform, (coalesce(posted_at, '-infinity'::timestamptz)) DESC, external_id DESC);

INSERT INTO schema_version (version, description)
VALUES (5, 'read API: trigram text search, Hangul syllable grams, lower-case skills, keyset order')
ON CONFLICT (version) DO NOTHING;

-- 6: alerts (issue 15) ----------------------------------------------------------------------

-- Saved searches, as the dispatchers last synced them from their config files. The filter is a
-- PostingFilter (outsourcing/query/filters.py) as JSON: any dispatcher can match any search in
-- SQL, whichever node's config it came from; only sending needs the node's channel secrets.
-- A search alerts only postings committed at or after active_from ("starts from now").
CREATE TABLE IF NOT EXISTS alert_searches (
    name           text        PRIMARY KEY,
    filter         jsonb       NOT NULL,
    channels       text[]      NOT NULL,           -- channel names (no secrets)
    changes        boolean     NOT NULL DEFAULT false,  -- alert changes of postings it already alerted
    change_fields  text[],                          -- only changes of these fields (null: any field)
    digest_minutes integer     CHECK (digest_minutes > 0),  -- null: one message per posting
    enabled        boolean     NOT NULL DEFAULT true,
    active_from    timestamptz NOT NULL DEFAULT now(),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    synced_by      text                             -- host:pid of the dispatcher that last synced it
);

-- The transactional outbox: the triggers below add one row per posting inserted or changed, in
-- the writer's own transaction (so a row is visible exactly when the posting is), but only
-- while some saved search is enabled. A dispatcher deletes the rows it matched in the same
-- transaction that creates the messages: no event is matched twice or lost, and ids need not
-- be committed in order.
CREATE TABLE IF NOT EXISTS alert_events (
    id          bigserial   PRIMARY KEY,
    platform    text        NOT NULL,
    external_id text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('new', 'changed')),
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()  -- just before the writer's commit
);

-- One message to one channel: a posting (key = search, platform, external_id) or a digest of
-- several. status: pending -> sending (claimed, with a lease) -> delivered | pending (retry
-- after next_attempt_at) | failed (after ALERTS_MAX_ATTEMPTS; `scrapy alerts retry`) | dropped
-- (by hand: `scrapy alerts drop`).
CREATE TABLE IF NOT EXISTS alert_messages (
    id              bigserial   PRIMARY KEY,
    search          text        NOT NULL REFERENCES alert_searches (name),
    channel         text        NOT NULL,
    key             text        NOT NULL,          -- the idempotency key: webhook-id, "id" in JSON Lines
    digest          boolean     NOT NULL DEFAULT false,
    status          text        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'dropped')),
    attempts        integer     NOT NULL DEFAULT 0,
    retry_base      integer     NOT NULL DEFAULT 0,   -- attempts before the last `retry`: failed at retry_base + max
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,                   -- while sending: another dispatcher may take it after
    leased_by       text,                          -- the dispatcher (host:pid:n) holding the lease
    lease_key       integer,                       -- its advisory lock (727276, lease_key): held while it lives
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text,
    UNIQUE (channel, key)
);
CREATE INDEX IF NOT EXISTS alert_messages_due ON alert_messages (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX IF NOT EXISTS alert_messages_search_status ON alert_messages (search, status);

-- One row per (search, channel, posting version): the first alert of a posting has version ''
-- (its key is the contract's (search, platform, external_id)); a change alert (searches with
-- changes = true) has the change's time. The primary key makes each delivered at most once
-- into a message. message_id is null while the posting waits for its search's digest.
CREATE TABLE IF NOT EXISTS alert_deliveries (
    search      text        NOT NULL,
    channel     text        NOT NULL,
    platform    text        NOT NULL,
    external_id text        NOT NULL,
    version     text        NOT NULL DEFAULT '',
    kind        text        NOT NULL CHECK (kind IN ('new', 'changed')),
    event_at    timestamptz NOT NULL,              -- when the posting (version) was committed
    change_at   timestamptz,                       -- change alerts: posting_changes.changed_at of the change
    matched_at  timestamptz NOT NULL DEFAULT now(),
    message_id  bigint REFERENCES alert_messages (id) DEFERRABLE INITIALLY DEFERRED,
    -- in this order so that "has this search alerted this posting" is a prefix lookup
    PRIMARY KEY (search, platform, external_id, version, channel)
);
CREATE INDEX IF NOT EXISTS alert_deliveries_message ON alert_deliveries (message_id);
CREATE INDEX IF NOT EXISTS alert_deliveries_waiting ON alert_deliveries (search, channel, matched_at)
    WHERE message_id IS NULL;

-- The ledger: every attempt, written when it starts (outcome null while it runs; 'interrupted'
-- once another dispatcher took over from a dead one) and completed with the receiver's answer.
-- At most one acknowledged attempt per message, enforced here.
CREATE TABLE IF NOT EXISTS alert_attempts (
    id          bigserial   PRIMARY KEY,
    message_id  bigint      NOT NULL REFERENCES alert_messages (id),
    attempt     integer     NOT NULL,
    node        text        NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    outcome     text CHECK (outcome IN ('acknowledged', 'refused', 'error', 'lease_lost', 'interrupted')),
    http_status integer,
    error       text
);
CREATE INDEX IF NOT EXISTS alert_attempts_message ON alert_attempts (message_id, attempt);
CREATE UNIQUE INDEX IF NOT EXISTS alert_attempts_one_ack ON alert_attempts (message_id) WHERE outcome = 'acknowledged';

-- The idempotency key (outsourcing/alerts/messages.py: idempotency_key): the parts percent-encoded
-- as Python's urllib.parse.quote(part, safe="-_.~") does, joined with ':' (ASCII: it is the
-- webhook-id header). A change alert's key has the change's version as a fourth part.
CREATE OR REPLACE FUNCTION outsourcing_alert_quote(part text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN part ~ '^[A-Za-z0-9._~-]*$' THEN part ELSE  -- the common case: nothing to encode
           (SELECT coalesce(string_agg(
                CASE WHEN byte BETWEEN 48 AND 57 OR byte BETWEEN 65 AND 90 OR byte BETWEEN 97 AND 122
                          OR byte IN (45, 46, 95, 126)
                     THEN chr(byte) ELSE '%' || upper(lpad(to_hex(byte), 2, '0')) END, '' ORDER BY i), '')
            FROM (SELECT i, get_byte(convert_to(part, 'UTF8'), i) AS byte
                  FROM generate_series(0, octet_length(convert_to(part, 'UTF8')) - 1) AS i) bytes) END;

CREATE OR REPLACE FUNCTION outsourcing_alert_key(search text, platform text, external_id text, version text)
    RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN outsourcing_alert_quote(search) || ':' || outsourcing_alert_quote(platform) || ':'
           || outsourcing_alert_quote(external_id)
           || CASE WHEN coalesce(version, '') = '' THEN '' ELSE ':' || outsourcing_alert_quote(version) END;

-- Statement-level triggers with transition tables: one INSERT ... SELECT per writer statement
-- (COPY fires them too), nothing per row in PL/pgSQL, and nothing at all but one EXISTS probe
-- while no search is enabled. pg_notify wakes LISTENing dispatchers at the commit.
CREATE OR REPLACE FUNCTION outsourcing_alert_new_postings() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM alert_searches WHERE enabled) THEN
        INSERT INTO alert_events (platform, external_id, kind)
        SELECT platform, external_id, 'new' FROM alert_new_rows;
        IF FOUND THEN
            PERFORM pg_notify('outsourcing_alerts', 'events');
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION outsourcing_alert_changed_postings() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM alert_searches WHERE enabled) THEN
        INSERT INTO alert_events (platform, external_id, kind)
        SELECT n.platform, n.external_id, 'changed'
        FROM alert_new_rows n JOIN alert_old_rows o USING (platform, external_id)
        WHERE n.content_hash IS DISTINCT FROM o.content_hash;
        IF FOUND THEN
            PERFORM pg_notify('outsourcing_alerts', 'events');
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- Created once (CREATE OR REPLACE TRIGGER would lock postings on every crawl's schema check).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'postings'::regclass AND tgname = 'postings_alert_new') THEN
        CREATE TRIGGER postings_alert_new AFTER INSERT ON postings
            REFERENCING NEW TABLE AS alert_new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION outsourcing_alert_new_postings();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'postings'::regclass AND tgname = 'postings_alert_changed') THEN
        CREATE TRIGGER postings_alert_changed AFTER UPDATE ON postings
            REFERENCING OLD TABLE AS alert_old_rows NEW TABLE AS alert_new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION outsourcing_alert_changed_postings();
    END IF;
END $$;

INSERT INTO schema_version (version, description)
VALUES (6, 'alerts: saved searches, outbox triggers on postings, messages, deliveries, attempt ledger')
ON CONFLICT (version) DO NOTHING;

-- 7: the market report (issue 16) -----------------------------------------------------------

-- One definition of each figure, shared by the report (outsourcing/report), the read API
-- (outsourcing/query/market.py) and people writing SQL: the functions say what "the amount of a
-- posting", "its day" and "its week" are; the views answer the common questions (README,
-- "Views"). Views list their columns (no p.*), so a later migration that adds a column to
-- postings can re-run this block unchanged.

-- The amount of a posting, for medians and quartiles: the middle of its range, its only amount
-- when one bound is open ("Under $250" -> 250), null when it has none. In the posting's own
-- currency and budget type: aggregate it only grouped by both.
CREATE OR REPLACE FUNCTION outsourcing_budget_amount(budget_min numeric, budget_max numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (coalesce(budget_min, budget_max) + coalesce(budget_max, budget_min)) / 2;

-- The calendar day of an instant in a time zone (IANA name): 2026-11-30 15:30 UTC is
-- 2026-12-01 in Asia/Seoul. And its week, named by its Monday (ISO weeks).
CREATE OR REPLACE FUNCTION outsourcing_local_day(at timestamptz, zone text) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (at AT TIME ZONE zone)::date;

CREATE OR REPLACE FUNCTION outsourcing_local_week(at timestamptz, zone text) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN date_trunc('week', at AT TIME ZONE zone)::date;

-- Open postings, with when they were last seen.
CREATE OR REPLACE VIEW open_postings AS
    SELECT p.platform, p.external_id, p.url, p.title, p.client, p.category, p.skills, p.budget_min, p.budget_max,
           p.currency, p.budget_type, p.duration_days, p.location, p.remote, p.posted_at, p.deadline_at,
           p.proposals, p.first_seen_at, s.last_seen_at
    FROM postings p
    LEFT JOIN posting_seen s USING (platform, external_id)
    WHERE p.status = 'open';

-- One row per posting and skill, the skill lower-cased ("React" and "react" are one skill) and
-- named once per posting.
CREATE OR REPLACE VIEW posting_skills AS
    SELECT p.platform, p.external_id, k.skill, p.category, p.status, p.posted_at, p.budget_type, p.currency,
           outsourcing_budget_amount(p.budget_min, p.budget_max) AS amount
    FROM postings p
    CROSS JOIN LATERAL (SELECT DISTINCT lower(x) AS skill FROM unnest(p.skills) x) k;

-- Changes that touched the budget (an amount, its currency or its type), old and new side by
-- side. posting_changes keeps only the fields that changed: a column of a field that did not
-- change is null on both sides (changed_fields names the ones that did).
CREATE OR REPLACE VIEW budget_changes AS
    SELECT c.id, c.platform, c.external_id, c.changed_at, c.run_id, c.changed_fields,
           (c.old_values ->> 'budget_min')::numeric AS old_budget_min,
           (c.new_values ->> 'budget_min')::numeric AS new_budget_min,
           (c.old_values ->> 'budget_max')::numeric AS old_budget_max,
           (c.new_values ->> 'budget_max')::numeric AS new_budget_max,
           c.old_values ->> 'currency' AS old_currency, c.new_values ->> 'currency' AS new_currency,
           c.old_values ->> 'budget_type' AS old_budget_type, c.new_values ->> 'budget_type' AS new_budget_type
    FROM posting_changes c
    WHERE c.changed_fields && ARRAY['budget_min', 'budget_max', 'currency', 'budget_type'];

-- Closings: one row per history row that closed a posting, whether the platform said so on a
-- later crawl or the crawler closed a posting it stopped seeing (storage/lifecycle.py,
-- CLOSE_UNSEEN_AFTER_DAYS). A posting may reopen and close again: its first closing is
-- min(closed_at). A posting stored closed at first sight has no closing time and no row here.
-- Time to close = min(closed_at) - postings.posted_at.
CREATE OR REPLACE VIEW posting_closings AS
    SELECT c.id, c.platform, c.external_id, c.changed_at AS closed_at, c.run_id
    FROM posting_changes c
    WHERE c.changed_fields @> ARRAY['status'] AND c.new_values ->> 'status' = 'closed';

-- The planner cannot guess how many history rows are closings (a jsonb expression); with
-- statistics on it, aggregating them is a hash, not a sort of every history row.
CREATE STATISTICS IF NOT EXISTS posting_changes_new_status ON (new_values ->> 'status') FROM posting_changes;

-- New postings per platform and day / week (by posted_at) in Asia/Seoul, the project's default
-- zone; for another zone use outsourcing_local_day(posted_at, 'UTC') the same way. Postings
-- without posted_at have no day and are not counted here.
CREATE OR REPLACE VIEW daily_counts AS
    SELECT p.platform, outsourcing_local_day(p.posted_at, 'Asia/Seoul') AS day, count(*) AS postings
    FROM postings p WHERE p.posted_at IS NOT NULL
    GROUP BY 1, 2;

CREATE OR REPLACE VIEW weekly_counts AS
    SELECT p.platform, outsourcing_local_week(p.posted_at, 'Asia/Seoul') AS week, count(*) AS postings
    FROM postings p WHERE p.posted_at IS NOT NULL
    GROUP BY 1, 2;

INSERT INTO schema_version (version, description)
VALUES (7, 'market report: budget amount, local day/week functions; open_postings, posting_skills, '
           'budget_changes, posting_closings, daily_counts, weekly_counts views')
ON CONFLICT (version) DO NOTHING;

COMMIT;
