-- SQLite's step of the same number: an action's images as one compressed JSON document.

ALTER TABLE actions ADD COLUMN IF NOT EXISTS images BYTEA;
