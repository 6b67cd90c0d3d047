-- The marketing workspace. Portable SQL: TEXT ids and ISO-8601 UTC timestamps
-- ('2026-11-25T12:00:00.000Z', which sort as text), INTEGER numbers, no engine-specific types,
-- so the same statements run on PostgreSQL later. Contacts carry a version that every write
-- increments: rollback uses it to see whether someone changed a record after an action.
--
-- This file is also the workspace's catalogue of fields (WorkspaceCatalogue reads it): every
-- column of every table is a field agents may meet and policies may name, except the tables whose
-- opening line says `-- internal`, which only Warden reads. A column's data classes are written in
-- its comment as `classes: pii, consent`; a policy's data_classes add to them. A column added here
-- is known to policies and masked by its classes without any other change.

CREATE TABLE IF NOT EXISTS companies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    domain TEXT,
    industry TEXT,
    employees INTEGER,
    annual_revenue INTEGER,
    country TEXT
);

CREATE TABLE IF NOT EXISTS contacts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,                    -- classes: pii
    first_name TEXT,                        -- classes: pii
    last_name TEXT,                         -- classes: pii
    phone TEXT,                             -- classes: pii
    date_of_birth TEXT,                     -- classes: pii
    company_id TEXT,
    job_title TEXT,
    country TEXT,
    lifecycle_stage TEXT NOT NULL,          -- subscriber, lead, mql, sql, opportunity, customer
    lead_score INTEGER NOT NULL,
    lead_source TEXT,                       -- web, webinar, trade_show, import, referral, paid_social, organic_search
    owner TEXT,
    email_consent TEXT NOT NULL,            -- subscribed, unsubscribed, unknown; classes: consent
    email_consent_at TEXT,                  -- classes: consent
    email_consent_source TEXT,              -- form, import, request, preference_center; classes: consent
    legacy_region TEXT,                     -- retired, but a report still reads it
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,                        -- soft delete: restorable
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_email ON contacts (email);
CREATE INDEX IF NOT EXISTS contacts_lifecycle_stage ON contacts (lifecycle_stage);
CREATE INDEX IF NOT EXISTS contacts_country ON contacts (country);
CREATE INDEX IF NOT EXISTS contacts_lead_source ON contacts (lead_source);
-- No index on updated_at: every write moves it, which cost a tenth of a large update's time, and
-- the filters that read it ("stale since") scan a million contacts in a third of a second anyway.
DROP INDEX IF EXISTS contacts_updated_at;
CREATE INDEX IF NOT EXISTS contacts_company_id ON contacts (company_id);
-- Soft-deleted contacts are few; counting them by index keeps "does this select everyone?" cheap.
CREATE INDEX IF NOT EXISTS contacts_deleted_at ON contacts (deleted_at) WHERE deleted_at IS NOT NULL;
-- Sends and syncs match people by mailbox (suppression, unsubscribes, duplicates): contacts and
-- suppression gain a generated `mailbox` column, and unsubscribes are kept by address in
-- unsubscribed_addresses, all installed by ConsentLedger.cs (the one definition of a mailbox).
DROP INDEX IF EXISTS contacts_address;

CREATE TABLE IF NOT EXISTS lists (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS list_members (
    list_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (list_id, contact_id)
);
CREATE INDEX IF NOT EXISTS list_members_contact ON list_members (contact_id);

CREATE TABLE IF NOT EXISTS segments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    rule TEXT NOT NULL,                     -- a filter over contact fields (CEL syntax)
    version INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS suppression_lists ( -- internal
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS suppression (
    list_id TEXT NOT NULL,                  -- classes: consent
    email TEXT NOT NULL,                    -- stored lower-case and trimmed; classes: pii, consent
    reason TEXT,                            -- classes: consent
    added_at TEXT NOT NULL,                 -- classes: consent
    PRIMARY KEY (list_id, email)
);
CREATE INDEX IF NOT EXISTS suppression_email ON suppression (email);

CREATE TABLE IF NOT EXISTS campaigns (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,                   -- draft, scheduled, sending, sent, stopped (part sent: the kill switch)
    audience TEXT NOT NULL,                 -- a segment or list id
    subject TEXT NOT NULL,
    content TEXT NOT NULL,
    sender TEXT NOT NULL,
    scheduled_at TEXT,
    sent_at TEXT,
    version INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS campaign_sends ( -- internal
    campaign_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    email TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (campaign_id, contact_id)
);

-- The recipients of a send going out in batches, queued when its plan is checked at apply time;
-- emptied when it finishes or stops. Rows left behind mean a gateway stopped in the middle.
CREATE TABLE IF NOT EXISTS send_queue ( -- internal
    action_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    contact_id TEXT NOT NULL,
    email TEXT NOT NULL,
    PRIMARY KEY (action_id, position)
);

CREATE TABLE IF NOT EXISTS campaign_events ( -- internal
    campaign_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    kind TEXT NOT NULL,                     -- delivered, open, click, bounce, unsubscribe
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS campaign_events_campaign ON campaign_events (campaign_id, kind);

CREATE TABLE IF NOT EXISTS nurture_flows (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS nurture_members (
    flow_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    joined_at TEXT NOT NULL,
    PRIMARY KEY (flow_id, contact_id)
);

CREATE TABLE IF NOT EXISTS scoring_rules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    condition TEXT NOT NULL,                -- a filter over contact fields (CEL syntax)
    points INTEGER NOT NULL,
    version INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS routing_rules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    condition TEXT NOT NULL,                -- a filter over contact fields (CEL syntax)
    owner TEXT NOT NULL,
    version INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS audience_syncs (
    id TEXT PRIMARY KEY,
    segment_id TEXT NOT NULL,
    destination TEXT NOT NULL,              -- e.g. linkedin:matched-audience-42, google_ads:customer-match-7
    status TEXT NOT NULL,                   -- never, synced, failed
    last_synced_at TEXT,
    members INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS reports ( -- internal
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

-- Which objects read which contact fields: how a plan answers "what else does this change touch".
CREATE TABLE IF NOT EXISTS field_dependencies ( -- internal
    object_kind TEXT NOT NULL,              -- segment, scoring_rule, routing_rule, audience_sync, report
    object_id TEXT NOT NULL,
    field TEXT NOT NULL,                    -- table.field, e.g. contacts.lead_source
    PRIMARY KEY (object_kind, object_id, field)
);
CREATE INDEX IF NOT EXISTS field_dependencies_field ON field_dependencies (field);

-- Applied actions and their journal of before- and after-images, written in the same transaction
-- as the change itself.
CREATE TABLE IF NOT EXISTS actions ( -- internal
    id TEXT PRIMARY KEY,
    seq INTEGER,                            -- the order actions were applied in: max + 1, taken in the write
                                            -- transaction; unique (index actions_seq, made with the upgrade
                                            -- in WorkspaceStore, as older files get this column there)
    tool TEXT NOT NULL,
    arguments TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    agent TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    records INTEGER NOT NULL,
    reversible INTEGER NOT NULL,            -- 0 for sends, syncs and purges
    rollback_of TEXT,                       -- set on a rollback action: the action it undid
    rolled_back_by TEXT                     -- set on an action once rolled back
);
CREATE INDEX IF NOT EXISTS actions_agent_time ON actions (agent, applied_at);

CREATE TABLE IF NOT EXISTS journal ( -- internal
    action_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    table_name TEXT NOT NULL,
    record_key TEXT NOT NULL,               -- the primary key, e.g. c-0000042 or newsletter|c-0000042
    operation TEXT NOT NULL,                -- insert, update, delete
    before TEXT,                            -- JSON of the columns as they were (null for insert)
    after TEXT,                             -- JSON of the columns as written (null for delete)
    columns TEXT,                           -- for updates: the columns changed, comma-separated
    version INTEGER,                        -- for versioned rows: the version written
    PRIMARY KEY (action_id, seq)
);
-- Led by the action: new entries always land at the end of this index (action ids start with
-- the time), so journaling 100,000 records appends instead of scattering writes over a large
-- index; "who touched this record after action A" probes it once per later action.
DROP INDEX IF EXISTS journal_record;
DROP INDEX IF EXISTS journal_by_record;
CREATE INDEX IF NOT EXISTS journal_by_action_record ON journal (action_id, table_name, record_key);

CREATE TABLE IF NOT EXISTS workspace_info ( -- internal
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
