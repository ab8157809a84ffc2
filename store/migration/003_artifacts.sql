-- Schema version 3: files a run keeps beside the database, such as the
-- trained encoder of a cell run with save_encoder = true. path is relative
-- to the database's directory, '/'-separated; size (bytes) and sha256 (hex)
-- let a reader tell a truncated or corrupted file. One file a kind a run:
-- a later attempt replaces the row (attempt says which wrote it).
CREATE TABLE artifacts (
	run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	kind       TEXT NOT NULL,
	path       TEXT NOT NULL,
	size       INTEGER NOT NULL,
	sha256     TEXT NOT NULL,
	attempt    INTEGER NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (run_id, kind)
) WITHOUT ROWID;
