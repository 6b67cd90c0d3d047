-- The audit trail on PostgreSQL, one chain for every replica: the tables of the SQLite trail
-- (Audit/AuditSchema.sql), with PostgreSQL's types. `entry` stays text: its bytes are what is
-- hashed. Replicas append under one advisory lock, each reading the chain's head in the same
-- transaction, so sequence numbers and links never fork.

CREATE TABLE IF NOT EXISTS audit_trail (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_entries (
    seq BIGINT PRIMARY KEY,
    time TEXT COLLATE "C" NOT NULL,
    rollback_of BIGINT,
    entry TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_entries_rollback_of ON audit_entries (rollback_of) WHERE rollback_of IS NOT NULL;

CREATE TABLE IF NOT EXISTS audit_index (
    checkpoint BIGINT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    seqs TEXT NOT NULL,
    PRIMARY KEY (checkpoint, field, value)
);

CREATE TABLE IF NOT EXISTS audit_record_filters (
    checkpoint BIGINT PRIMARY KEY,
    filter BYTEA NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_checkpoints (
    number BIGINT PRIMARY KEY,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    checkpoint TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_archives (
    first_seq BIGINT PRIMARY KEY,
    last_seq BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    file TEXT NOT NULL,
    archived_by TEXT NOT NULL,
    reason TEXT,
    time TEXT COLLATE "C" NOT NULL,
    entry BIGINT NOT NULL,
    destroyed_by TEXT,
    destroyed_reason TEXT,
    destroyed_time TEXT COLLATE "C",
    destroyed_entry BIGINT
);
