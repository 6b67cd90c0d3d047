-- The marketing workspace in PostgreSQL, in a schema of its own per environment in the store the
-- replicas share. The same tables, columns and indexes as the SQLite workspace's Schema.sql (the
-- catalogue's source: a test holds the two to the same tables and columns), in the same portable
-- types: TEXT ids and ISO-8601 UTC times compared byte by byte (COLLATE "C", as SQLite compares
-- text), BIGINT numbers. The consent ledger (ConsentLedger.cs) is at the end.

CREATE TABLE IF NOT EXISTS companies (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    domain TEXT COLLATE "C",
    industry TEXT COLLATE "C",
    employees BIGINT,
    annual_revenue BIGINT,
    country TEXT COLLATE "C"
);

CREATE TABLE IF NOT EXISTS contacts (
    id TEXT COLLATE "C" PRIMARY KEY,
    email TEXT COLLATE "C" NOT NULL,                    -- classes: pii
    first_name TEXT COLLATE "C",                        -- classes: pii
    last_name TEXT COLLATE "C",                         -- classes: pii
    phone TEXT COLLATE "C",                             -- classes: pii
    date_of_birth TEXT COLLATE "C",                     -- classes: pii
    company_id TEXT COLLATE "C",
    job_title TEXT COLLATE "C",
    country TEXT COLLATE "C",
    lifecycle_stage TEXT COLLATE "C" NOT NULL,          -- subscriber, lead, mql, sql, opportunity, customer
    lead_score BIGINT NOT NULL,
    lead_source TEXT COLLATE "C",                       -- web, webinar, trade_show, import, referral, paid_social, organic_search
    owner TEXT COLLATE "C",
    email_consent TEXT COLLATE "C" NOT NULL,            -- subscribed, unsubscribed, unknown; classes: consent
    email_consent_at TEXT COLLATE "C",                  -- classes: consent
    email_consent_source TEXT COLLATE "C",              -- form, import, request, preference_center; classes: consent
    legacy_region TEXT COLLATE "C",                     -- retired, but a report still reads it
    created_at TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL,
    deleted_at TEXT COLLATE "C",                        -- soft delete: restorable
    version BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_email ON contacts (email);
CREATE INDEX IF NOT EXISTS contacts_lifecycle_stage ON contacts (lifecycle_stage);
CREATE INDEX IF NOT EXISTS contacts_country ON contacts (country);
CREATE INDEX IF NOT EXISTS contacts_lead_source ON contacts (lead_source);
-- No index on updated_at: every write moves it, which cost a tenth of a large update's time, and
-- the filters that read it ("stale since") scan a million contacts in a third of a second anyway.
CREATE INDEX IF NOT EXISTS contacts_company_id ON contacts (company_id);
-- Soft-deleted contacts are few; counting them by index keeps "does this select everyone?" cheap.
CREATE INDEX IF NOT EXISTS contacts_deleted_at ON contacts (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS lists (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL
);

CREATE TABLE IF NOT EXISTS list_members (
    list_id TEXT COLLATE "C" NOT NULL,
    contact_id TEXT COLLATE "C" NOT NULL,
    added_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (list_id, contact_id)
);
CREATE INDEX IF NOT EXISTS list_members_contact ON list_members (contact_id);

CREATE TABLE IF NOT EXISTS segments (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    rule TEXT COLLATE "C" NOT NULL,                     -- a filter over contact fields (CEL syntax)
    version BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS suppression_lists ( -- internal
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL
);

CREATE TABLE IF NOT EXISTS suppression (
    list_id TEXT COLLATE "C" NOT NULL,                  -- classes: consent
    email TEXT COLLATE "C" NOT NULL,                    -- stored lower-case and trimmed; classes: pii, consent
    reason TEXT COLLATE "C",                            -- classes: consent
    added_at TEXT COLLATE "C" NOT NULL,                 -- classes: consent
    PRIMARY KEY (list_id, email)
);
CREATE INDEX IF NOT EXISTS suppression_email ON suppression (email);

CREATE TABLE IF NOT EXISTS campaigns (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,                   -- draft, scheduled, sending, sent, stopped (part sent: the kill switch)
    audience TEXT COLLATE "C" NOT NULL,                 -- a segment or list id
    subject TEXT COLLATE "C" NOT NULL,
    content TEXT COLLATE "C" NOT NULL,
    sender TEXT COLLATE "C" NOT NULL,
    scheduled_at TEXT COLLATE "C",
    sent_at TEXT COLLATE "C",
    version BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS campaign_sends ( -- internal
    campaign_id TEXT COLLATE "C" NOT NULL,
    contact_id TEXT COLLATE "C" NOT NULL,
    email TEXT COLLATE "C" NOT NULL,
    sent_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (campaign_id, contact_id)
);

-- The recipients of a send going out in batches, queued when its plan is checked at apply time;
-- emptied when it finishes or stops. Rows left behind mean a gateway stopped in the middle.
CREATE TABLE IF NOT EXISTS send_queue ( -- internal
    action_id TEXT COLLATE "C" NOT NULL,
    position BIGINT NOT NULL,
    contact_id TEXT COLLATE "C" NOT NULL,
    email TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (action_id, position)
);

CREATE TABLE IF NOT EXISTS campaign_events ( -- internal
    campaign_id TEXT COLLATE "C" NOT NULL,
    contact_id TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,                     -- delivered, open, click, bounce, unsubscribe
    at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS campaign_events_campaign ON campaign_events (campaign_id, kind);

CREATE TABLE IF NOT EXISTS nurture_flows (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL
);

CREATE TABLE IF NOT EXISTS nurture_members (
    flow_id TEXT COLLATE "C" NOT NULL,
    contact_id TEXT COLLATE "C" NOT NULL,
    joined_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (flow_id, contact_id)
);

CREATE TABLE IF NOT EXISTS scoring_rules (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    condition TEXT COLLATE "C" NOT NULL,                -- a filter over contact fields (CEL syntax)
    points BIGINT NOT NULL,
    version BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS routing_rules (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    condition TEXT COLLATE "C" NOT NULL,                -- a filter over contact fields (CEL syntax)
    owner TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS audience_syncs (
    id TEXT COLLATE "C" PRIMARY KEY,
    segment_id TEXT COLLATE "C" NOT NULL,
    destination TEXT COLLATE "C" NOT NULL,              -- e.g. linkedin:matched-audience-42, google_ads:customer-match-7
    status TEXT COLLATE "C" NOT NULL,                   -- never, synced, failed
    last_synced_at TEXT COLLATE "C",
    members BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS reports ( -- internal
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL
);

-- Which objects read which contact fields: how a plan answers "what else does this change touch".
CREATE TABLE IF NOT EXISTS field_dependencies ( -- internal
    object_kind TEXT COLLATE "C" NOT NULL,              -- segment, scoring_rule, routing_rule, audience_sync, report
    object_id TEXT COLLATE "C" NOT NULL,
    field TEXT COLLATE "C" NOT NULL,                    -- table.field, e.g. contacts.lead_source
    PRIMARY KEY (object_kind, object_id, field)
);
CREATE INDEX IF NOT EXISTS field_dependencies_field ON field_dependencies (field);

-- Applied actions and their journal of before- and after-images, written in the same transaction
-- as the change itself.
CREATE TABLE IF NOT EXISTS actions ( -- internal
    id TEXT COLLATE "C" PRIMARY KEY,
    seq BIGINT,                             -- the order actions were applied in: max + 1, taken in the write
                                            -- transaction (writers take the workspace's lock first); unique
    tool TEXT COLLATE "C" NOT NULL,
    arguments TEXT COLLATE "C" NOT NULL,
    plan_hash TEXT COLLATE "C" NOT NULL,
    agent TEXT COLLATE "C" NOT NULL,
    applied_at TEXT COLLATE "C" NOT NULL,
    records BIGINT NOT NULL,
    reversible BIGINT NOT NULL,            -- 0 for sends, syncs and purges
    rollback_of TEXT COLLATE "C",                       -- set on a rollback action: the action it undid
    rolled_back_by TEXT COLLATE "C"                     -- set on an action once rolled back
);
CREATE INDEX IF NOT EXISTS actions_agent_time ON actions (agent, applied_at);
CREATE UNIQUE INDEX IF NOT EXISTS actions_seq ON actions (seq);

CREATE TABLE IF NOT EXISTS journal ( -- internal
    action_id TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    table_name TEXT COLLATE "C" NOT NULL,
    record_key TEXT COLLATE "C" NOT NULL,               -- the primary key, e.g. c-0000042 or newsletter|c-0000042
    operation TEXT COLLATE "C" NOT NULL,                -- insert, update, delete
    before TEXT COLLATE "C",                            -- JSON of the columns as they were (null for insert)
    after TEXT COLLATE "C",                             -- JSON of the columns as written (null for delete)
    columns TEXT COLLATE "C",                           -- for updates: the columns changed, comma-separated
    version BIGINT,                        -- for versioned rows: the version written
    PRIMARY KEY (action_id, seq)
);
-- Led by the action: new entries always land at the end of this index (action ids start with
-- the time), so journaling 100,000 records appends instead of scattering writes over a large
-- index; "who touched this record after action A" probes it once per later action.
CREATE INDEX IF NOT EXISTS journal_by_action_record ON journal (action_id, table_name, record_key);

CREATE TABLE IF NOT EXISTS workspace_info ( -- internal
    key TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);

-- SQLite's instr, so that the workspace's SQL (the mailbox below, filters) reads the same on both
-- engines; a SQL function the planner inlines, immutable so that indexes may use it.
CREATE OR REPLACE FUNCTION instr(text, text) RETURNS integer LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS 'SELECT strpos($1, $2)';

-- The consent ledger (ConsentLedger.cs): addresses compared as mailboxes, indexed by that
-- expression (ConsentLedger.Mailbox writes it the same way), and the mailboxes of contacts that
-- are, or become, unsubscribed, kept by trigger in the statement that changes them.
CREATE INDEX IF NOT EXISTS contacts_mailbox ON contacts ((CASE WHEN substr(lower(trim(email)), instr(lower(trim(email)), '@') + 1) IN ('gmail.com', 'googlemail.com') THEN replace((CASE WHEN instr(substr(lower(trim(email)), 1, instr(lower(trim(email)), '@') - 1), '+') > 0 THEN substr(substr(lower(trim(email)), 1, instr(lower(trim(email)), '@') - 1), 1, instr(substr(lower(trim(email)), 1, instr(lower(trim(email)), '@') - 1), '+') - 1) ELSE substr(lower(trim(email)), 1, instr(lower(trim(email)), '@') - 1) END), '.', '') || '@gmail.com' ELSE (CASE WHEN instr(substr(lower(trim(email)), 1, instr(lower(trim(email)), '@') - 1), '+') > 0 THEN substr(substr(lower(trim(email)), 1, instr(lower(trim(email)), '@') - 1), 1, instr(substr(lower(trim(email)), 1, instr(lower(trim(email)), '@') - 1), '+') - 1) ELSE substr(lower(trim(email)), 1, instr(lower(trim(email)), '@') - 1) END) || '@' || substr(lower(trim(email)), instr(lower(trim(email)), '@') + 1) END));
CREATE INDEX IF NOT EXISTS suppression_mailbox ON suppression ((CASE WHEN substr(lower(trim(email)), instr(lower(trim(email)), '@') + 1) IN ('gmail.com', 'googlemail.com') THEN replace((CASE WHEN instr(substr(lower(trim(email)), 1, instr(lower(trim(email)), '@') - 1), '+') > 0 THEN substr(substr(lower(trim(email)), 1, instr(lower(trim(email)), '@') - 1), 1, instr(substr(lower(trim(email)), 1, instr(lower(trim(email)), '@') - 1), '+') - 1) ELSE substr(lower(trim(email)), 1, instr(lower(trim(email)), '@') - 1) END), '.', '') || '@gmail.com' ELSE (CASE WHEN instr(substr(lower(trim(email)), 1, instr(lower(trim(email)), '@') - 1), '+') > 0 THEN substr(substr(lower(trim(email)), 1, instr(lower(trim(email)), '@') - 1), 1, instr(substr(lower(trim(email)), 1, instr(lower(trim(email)), '@') - 1), '+') - 1) ELSE substr(lower(trim(email)), 1, instr(lower(trim(email)), '@') - 1) END) || '@' || substr(lower(trim(email)), instr(lower(trim(email)), '@') + 1) END));
CREATE TABLE IF NOT EXISTS unsubscribed_addresses (
    mailbox TEXT COLLATE "C" PRIMARY KEY,
    email TEXT COLLATE "C" NOT NULL,        -- the address as the contact held it when it unsubscribed
    contact_id TEXT COLLATE "C" NOT NULL,   -- the contact that unsubscribed (it may since have been merged, deleted or erased)
    at TEXT COLLATE "C" NOT NULL,
    source TEXT COLLATE "C"
);

CREATE OR REPLACE FUNCTION contacts_unsubscribe() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO unsubscribed_addresses (mailbox, email, contact_id, at, source)
    VALUES ((CASE WHEN substr(lower(trim(NEW.email)), instr(lower(trim(NEW.email)), '@') + 1) IN ('gmail.com', 'googlemail.com') THEN replace((CASE WHEN instr(substr(lower(trim(NEW.email)), 1, instr(lower(trim(NEW.email)), '@') - 1), '+') > 0 THEN substr(substr(lower(trim(NEW.email)), 1, instr(lower(trim(NEW.email)), '@') - 1), 1, instr(substr(lower(trim(NEW.email)), 1, instr(lower(trim(NEW.email)), '@') - 1), '+') - 1) ELSE substr(lower(trim(NEW.email)), 1, instr(lower(trim(NEW.email)), '@') - 1) END), '.', '') || '@gmail.com' ELSE (CASE WHEN instr(substr(lower(trim(NEW.email)), 1, instr(lower(trim(NEW.email)), '@') - 1), '+') > 0 THEN substr(substr(lower(trim(NEW.email)), 1, instr(lower(trim(NEW.email)), '@') - 1), 1, instr(substr(lower(trim(NEW.email)), 1, instr(lower(trim(NEW.email)), '@') - 1), '+') - 1) ELSE substr(lower(trim(NEW.email)), 1, instr(lower(trim(NEW.email)), '@') - 1) END) || '@' || substr(lower(trim(NEW.email)), instr(lower(trim(NEW.email)), '@') + 1) END), NEW.email, NEW.id, coalesce(NEW.email_consent_at, NEW.updated_at), NEW.email_consent_source)
    ON CONFLICT (mailbox) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER contacts_unsubscribe_update AFTER UPDATE OF email, email_consent ON contacts
    FOR EACH ROW WHEN (NEW.email_consent = 'unsubscribed') EXECUTE FUNCTION contacts_unsubscribe();
CREATE TRIGGER contacts_unsubscribe_insert AFTER INSERT ON contacts
    FOR EACH ROW WHEN (NEW.email_consent = 'unsubscribed') EXECUTE FUNCTION contacts_unsubscribe();
