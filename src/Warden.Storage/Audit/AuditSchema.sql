-- The audit trail: append-only. `entry` is the canonical JSON that is hashed (see AuditText);
-- the other columns of audit_entries copy fields out of it so that queries can use indexes, and
-- verify checks that they still agree with it. Sequence numbers follow time, so a time range is
-- found by searching seq, without an index on time.

CREATE TABLE IF NOT EXISTS audit_trail (
    key TEXT PRIMARY KEY,                   -- trail_id, public_key, format
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_entries (
    seq INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    kind TEXT NOT NULL,
    environment TEXT,
    agent TEXT,
    use_case TEXT,
    tool TEXT,
    effect TEXT,
    person TEXT,
    outcome TEXT,
    rollback_of INTEGER,
    entry TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_entries_agent ON audit_entries (agent, seq);
CREATE INDEX IF NOT EXISTS audit_entries_use_case ON audit_entries (use_case, seq);
CREATE INDEX IF NOT EXISTS audit_entries_tool ON audit_entries (tool, seq);
CREATE INDEX IF NOT EXISTS audit_entries_person ON audit_entries (person, seq) WHERE person IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_entries_rollback_of ON audit_entries (rollback_of) WHERE rollback_of IS NOT NULL;

-- Which entries read or changed a record: "everything that touched c-123".
CREATE TABLE IF NOT EXISTS audit_records (
    record_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (record_id, seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS audit_checkpoints (
    number INTEGER PRIMARY KEY,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    checkpoint TEXT NOT NULL                -- the signed checkpoint, canonical JSON
);
