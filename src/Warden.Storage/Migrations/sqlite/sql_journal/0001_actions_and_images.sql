-- A governed database's journal, in Warden's own store, never in the database it governs: each
-- action written before the database commits, with its transaction id, and settled after; the
-- before and after image of every row it changed.

CREATE TABLE IF NOT EXISTS actions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  agent TEXT NOT NULL,
  tool TEXT NOT NULL,
  kind TEXT NOT NULL,
  statement TEXT NOT NULL,
  plan_hash TEXT NOT NULL,
  txid INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'applied')),
  applied_at TEXT NOT NULL,
  reversible INTEGER NOT NULL,
  records INTEGER NOT NULL,
  rolls_back TEXT,
  rolled_back_by TEXT
);
CREATE TABLE IF NOT EXISTS images (
  action_seq INTEGER NOT NULL REFERENCES actions(seq),
  n INTEGER NOT NULL,
  tbl TEXT NOT NULL,
  op TEXT NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE')),
  before TEXT,
  after TEXT,
  PRIMARY KEY (action_seq, n)
);
CREATE INDEX IF NOT EXISTS actions_by_agent ON actions(agent, applied_at);
