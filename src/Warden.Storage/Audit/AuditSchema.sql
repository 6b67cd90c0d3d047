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

-- The archive files entries were moved to (see AuditArchive), one row each, written in the
-- transaction that appends the archive entry saying the same; a destruction a person declared is
-- added, with its own entry, in one transaction too. Verify checks every row against those
-- entries and every kept archive against its file: a missing or altered archive is a finding.
-- Trails archived before this table existed have no rows for those archives.
CREATE TABLE IF NOT EXISTS audit_archives (
    first_seq INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    sha256 TEXT NOT NULL,                   -- of the file's bytes as written
    file TEXT NOT NULL,                     -- the full path it was written to
    archived_by TEXT NOT NULL,
    reason TEXT,
    time TEXT NOT NULL,                     -- the archive entry's time
    entry INTEGER NOT NULL,                 -- the archive entry's seq
    destroyed_by TEXT,
    destroyed_reason TEXT,
    destroyed_time TEXT,
    destroyed_entry INTEGER
);
