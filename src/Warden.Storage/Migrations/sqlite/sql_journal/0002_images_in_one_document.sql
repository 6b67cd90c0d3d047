-- An action's images as one JSON document, [[table, op, before, after], ...] in the order they were
-- captured, compressed (Brotli) and written in one statement: a row per image, uncompressed, cost
-- more than the statement it journaled. Actions journaled before this keep theirs in images.

ALTER TABLE actions ADD COLUMN images BLOB;
