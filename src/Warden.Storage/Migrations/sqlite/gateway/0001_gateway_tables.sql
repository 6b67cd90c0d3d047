-- The gateway's own state: approvals and their votes, frozen agents, usage counted against budgets
-- and breakers, production activations, incidents, the notification outbox, people's console
-- accounts. Portable SQL (TEXT ids, ISO-8601 UTC times that sort as text); PostgreSQL's step of
-- the same number creates the same tables. The audit trail, not this store, is the record of what
-- happened; this is what the gateway needs to decide the next call.

CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY,                    -- apr-...
    status TEXT NOT NULL,                   -- pending, executing, executed, stopped, denied, expired, void, failed, cancelled
    agent TEXT NOT NULL,
    use_case TEXT NOT NULL,
    environment TEXT NOT NULL,
    tool TEXT NOT NULL,
    arguments TEXT NOT NULL,                -- canonical JSON of the call's arguments
    instruction TEXT,                       -- what the agent said it was doing
    on_behalf_of TEXT,                      -- the person the agent says it acted for (a claim; it decides no approver)
    plan_hash TEXT NOT NULL,                -- what the approval binds to: the call and its affected set
    affected_hash TEXT NOT NULL,            -- the affected set alone: finds the same request in other words
    plan TEXT NOT NULL,                     -- JSON: what approvers are shown (summary, counts, diff, sample, dependents, recipients)
    requirements TEXT NOT NULL,             -- JSON: [{ rule, approvers: [person ids], quorum }], all to be met
    risk INTEGER NOT NULL,                  -- orders the queue, riskiest first
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    decided_at TEXT,
    replaces TEXT,                          -- the approval this one replaces (voided because the plan changed)
    resubmits TEXT,                         -- a denied approval for the same records, when this one asks again
    outcome TEXT                            -- JSON: what execution did, or why the request ended
);
CREATE INDEX IF NOT EXISTS approvals_status ON approvals (status, risk);
CREATE INDEX IF NOT EXISTS approvals_agent ON approvals (agent, status);

CREATE TABLE IF NOT EXISTS approval_votes (
    approval_id TEXT NOT NULL,
    person TEXT NOT NULL,
    vote TEXT NOT NULL,                     -- approve, deny
    comment TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (approval_id, person)
);

CREATE TABLE IF NOT EXISTS frozen_agents (
    agent TEXT PRIMARY KEY,                 -- an agent id, or * for every agent
    frozen_by TEXT NOT NULL,
    reason TEXT,
    at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS usage (
    at TEXT NOT NULL,
    agent TEXT NOT NULL,
    use_case TEXT NOT NULL,
    metric TEXT NOT NULL,                   -- calls, changed_records, deleted_records, sends, recipients
    amount INTEGER NOT NULL,
    person TEXT                             -- the person the agent acted for, if it said so (added later: last)
);
CREATE INDEX IF NOT EXISTS usage_agent ON usage (agent, metric, at);
CREATE INDEX IF NOT EXISTS usage_use_case ON usage (use_case, metric, at);
CREATE INDEX IF NOT EXISTS usage_person ON usage (person, metric, at) WHERE person IS NOT NULL;

CREATE TABLE IF NOT EXISTS activations (
    agent TEXT NOT NULL,
    environment TEXT NOT NULL,
    activated_by TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (agent, environment)
);

CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,                    -- inc-...
    status TEXT NOT NULL,                   -- open, acknowledged, resolved
    use_case TEXT NOT NULL,
    agent TEXT,
    kind TEXT NOT NULL,                     -- breaker, kill_switch, repeated_denials
    summary TEXT NOT NULL,
    owners TEXT NOT NULL,                   -- JSON: the people it is routed to
    opened_at TEXT NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at TEXT,
    resolved_by TEXT,
    resolved_at TEXT
);

-- Which audit entry records each workspace action, so that a rollback's entry links to it.
CREATE TABLE IF NOT EXISTS action_entries (
    action_id TEXT PRIMARY KEY,
    audit_seq INTEGER NOT NULL
);

-- A change about to be applied, written before the workspace commits it and removed once the
-- trail records it: one left here means the gateway stopped in between, and the next start finds
-- the action in the workspace (or not) and records it as recovered.
CREATE TABLE IF NOT EXISTS intents (
    id TEXT PRIMARY KEY,
    environment TEXT NOT NULL,
    agent TEXT NOT NULL,                    -- the agent, or the person who rolls back
    tool TEXT NOT NULL,                     -- the tool, or 'rollback'
    plan_hash TEXT NOT NULL,                -- the plan applied ('' for a rollback)
    entry TEXT NOT NULL,                    -- the audit entry's canonical body, as it would be written
    started_at TEXT NOT NULL
);

-- Notifications waiting to go out, and gone: written in the same breath as what they announce, sent
-- by a background sender, retried with growing pauses, and visible when they keep failing.
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    kind TEXT NOT NULL,                     -- approval_requested, incident_opened, approval_replaced
    recipients TEXT NOT NULL,               -- JSON: the people it is for
    payload TEXT NOT NULL,                  -- JSON: the webhook body (Slack-compatible: "text" first)
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;

-- People's console passwords (PBKDF2 hashes, never the password) and their failed sign-ins: five
-- in a row lock the account for a while.
CREATE TABLE IF NOT EXISTS person_passwords (
    person TEXT PRIMARY KEY,
    hash TEXT NOT NULL,                     -- pbkdf2-sha256$ITERATIONS$SALT$HASH (base64)
    set_at TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,    -- failed sign-ins since the last good one
    locked_until TEXT
);

-- Console sessions: the cookie holds a random token; only its SHA-256 is kept here, with the
-- token every form must carry back (CSRF).
CREATE TABLE IF NOT EXISTS console_sessions (
    token_hash TEXT PRIMARY KEY,
    person TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    last_seen TEXT                          -- its last use: a session unused for a while ends
);
CREATE INDEX IF NOT EXISTS console_sessions_person ON console_sessions (person);

-- One-time sign-in links a demo gateway prints at start: the SHA-256 of each link's token, whom
-- it signs in, until when, and when it was used (once).
CREATE TABLE IF NOT EXISTS sign_in_links (
    token_hash TEXT PRIMARY KEY,
    person TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
