-- The audit trail: append-only. `entry` is the canonical JSON that is hashed (see AuditText);
-- `time` and `rollback_of` copy fields out of it (a time range is found by binary search on seq,
-- since sequence numbers follow time; rollbacks are rare, so their index costs appends nothing),
-- and verify checks that they still agree with it. Nothing else is indexed per entry.

CREATE TABLE IF NOT EXISTS audit_trail (
    key TEXT PRIMARY KEY,                   -- format, trail_id, public_key, archived_through, archived_head
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_entries (
    seq INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    rollback_of INTEGER,
    entry TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_entries_rollback_of ON audit_entries (rollback_of) WHERE rollback_of IS NOT NULL;

-- What queries find entries by, written once per checkpoint with it, for the entries it covers
-- (see AuditIndexRun): for each agent, use case, tool, effect and person, the entries that name it;
-- and a Bloom filter over the ids of the records they read or changed. Entries after the last
-- checkpoint are found by reading them. Verify rebuilds both from the entries and compares.
CREATE TABLE IF NOT EXISTS audit_index (
    checkpoint INTEGER NOT NULL,
    field TEXT NOT NULL,                    -- agent, use_case, tool, effect, person
    value TEXT NOT NULL,
    seqs TEXT NOT NULL,                     -- the entries, ascending, as a JSON array: [12,15,20]
    PRIMARY KEY (checkpoint, field, value)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS audit_record_filters (
    checkpoint INTEGER PRIMARY KEY,
    filter BLOB NOT NULL                    -- see AuditRecordFilter
);

CREATE TABLE IF NOT EXISTS audit_checkpoints (
    number INTEGER PRIMARY KEY,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    checkpoint TEXT NOT NULL                -- the signed checkpoint, canonical JSON
);
