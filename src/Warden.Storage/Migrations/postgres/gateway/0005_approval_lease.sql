-- A request executing is renewed by the replica running it, so another replica takes it over only
-- once the renewals stop (that replica stopped), never because the call is slow.
ALTER TABLE approvals ADD COLUMN IF NOT EXISTS renewed_at TEXT COLLATE "C";
