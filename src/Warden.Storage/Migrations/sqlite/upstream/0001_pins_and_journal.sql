-- An upstream MCP server's own store (DATA/systems/ENV/ID.db): the pins of its tools (a tool is
-- pinned when first seen; a listing that differs is kept beside the pin, and the tool blocked until
-- an owner accepts it), and the journal of its calls with what undoes them.

CREATE TABLE IF NOT EXISTS pins (
  tool TEXT PRIMARY KEY,
  hash TEXT NOT NULL, description TEXT NOT NULL, schema TEXT NOT NULL, hints TEXT NOT NULL,
  pinned_at TEXT NOT NULL, pinned_by TEXT NOT NULL,
  changed_hash TEXT, changed_description TEXT, changed_schema TEXT, changed_hints TEXT, changed_at TEXT
);

CREATE TABLE IF NOT EXISTS actions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  agent TEXT NOT NULL,
  tool TEXT NOT NULL,
  plan_hash TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS actions_by_agent ON actions(agent, at);

CREATE TABLE IF NOT EXISTS undos (
  action_id TEXT PRIMARY KEY REFERENCES actions(id),
  preview_tool TEXT NOT NULL,
  preview_arguments TEXT NOT NULL,
  records_path TEXT,
  before TEXT NOT NULL,
  after TEXT,
  after_read INTEGER NOT NULL DEFAULT 0,
  calls TEXT NOT NULL,
  undone_at TEXT,
  undone_by TEXT
);
