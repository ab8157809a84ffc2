-- 001_init: the results.db schema, modelled on MLflow's tracking store.
-- Times are UTC RFC 3339 text with microseconds (2024-05-01T12:00:00.000000Z),
-- so they sort as text. Keep to SQL that SQLite 3.37 understands: users open
-- this file with the sqlite3 shell their distribution ships.

CREATE TABLE experiments (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	description TEXT NOT NULL DEFAULT '',
	grid_path   TEXT NOT NULL DEFAULT '',
	created_at  TEXT NOT NULL
);

-- One row a grid cell: experiment + config_hash + seed.
CREATE TABLE runs (
	id               INTEGER PRIMARY KEY,
	experiment_id    INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
	label            TEXT NOT NULL DEFAULT '',
	grid_index       INTEGER,
	settings         TEXT NOT NULL DEFAULT '',
	config_json      TEXT NOT NULL,
	config_hash      TEXT NOT NULL,
	seed             INTEGER NOT NULL,
	status           TEXT NOT NULL
		CHECK (status IN ('queued', 'running', 'finished', 'failed', 'interrupted')),
	attempt          INTEGER NOT NULL DEFAULT 0,
	created_at       TEXT NOT NULL,
	started_at       TEXT,
	heartbeat_at     TEXT,
	ended_at         TEXT,
	duration_s       REAL,
	pretrain_s       REAL,
	eval_s           REAL,
	final_loss       REAL,
	error            TEXT,
	git_commit       TEXT NOT NULL DEFAULT '',
	git_dirty        INTEGER NOT NULL DEFAULT 0,
	go_version       TEXT NOT NULL DEFAULT '',
	gomaxprocs       INTEGER NOT NULL DEFAULT 0,
	host             TEXT NOT NULL DEFAULT '',
	pid              INTEGER NOT NULL DEFAULT 0,
	dataset_checksum TEXT NOT NULL DEFAULT '',
	UNIQUE (experiment_id, config_hash, seed)
);
CREATE INDEX runs_started_at ON runs (started_at);
CREATE INDEX runs_experiment ON runs (experiment_id);
CREATE INDEX runs_status ON runs (status);

-- Earlier attempts of a run, copied here when the run is claimed again.
CREATE TABLE run_attempts (
	run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	attempt      INTEGER NOT NULL,
	status       TEXT NOT NULL,
	started_at   TEXT,
	heartbeat_at TEXT,
	ended_at     TEXT,
	duration_s   REAL,
	error        TEXT,
	git_commit   TEXT NOT NULL DEFAULT '',
	host         TEXT NOT NULL DEFAULT '',
	pid          INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, attempt)
) WITHOUT ROWID;

-- The config flattened, one row a setting. value is the text (strings
-- bare, lists as JSON); value_num holds numbers with NUMERIC affinity so
-- comparisons are numeric and integers stay integers.
CREATE TABLE params (
	run_id    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	key       TEXT NOT NULL,
	value     TEXT NOT NULL,
	value_num NUMERIC,
	PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
-- Covers the lookups of one setting over many runs (the view's columns,
-- runner ls --where): reads a few pages of one key instead of every run's.
CREATE INDEX params_key ON params (key, run_id, value, value_num);

-- Settings whose value differs between runs of an experiment (seed aside).
CREATE TABLE experiment_axes (
	experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
	key           TEXT NOT NULL,
	PRIMARY KEY (experiment_id, key)
) WITHOUT ROWID;

-- Per-epoch values have step 0; per-step values (key step_loss) have the
-- step within the epoch. value is NULL when it was NaN.
CREATE TABLE metrics (
	run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	key    TEXT NOT NULL,
	epoch  INTEGER NOT NULL,
	step   INTEGER NOT NULL DEFAULT 0,
	value  REAL,
	time   TEXT NOT NULL,
	PRIMARY KEY (run_id, key, epoch, step)
) WITHOUT ROWID;

CREATE TABLE evaluations (
	id             INTEGER PRIMARY KEY,
	run_id         INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	protocol       TEXT NOT NULL,
	features       TEXT NOT NULL DEFAULT '',
	label_fraction REAL NOT NULL,
	train_size     INTEGER NOT NULL DEFAULT 0,
	test_size      INTEGER NOT NULL DEFAULT 0,
	accuracy       REAL,
	macro_f1       REAL,
	per_class_f1   TEXT NOT NULL DEFAULT '[]',
	confusion      TEXT NOT NULL DEFAULT '[]',
	classes        TEXT NOT NULL DEFAULT '[]',
	seconds        REAL NOT NULL DEFAULT 0
);
-- The orders run_summary picks the headline evaluations by (the same
-- expressions), so the picks are index lookups.
CREATE INDEX evaluations_linear ON evaluations
	(run_id, protocol, (CASE features WHEN 'h' THEN 0 WHEN 'pixels' THEN 1 ELSE 2 END), id);
CREATE INDEX evaluations_finetune ON evaluations
	(run_id, protocol, label_fraction DESC, (CASE features WHEN 'h' THEN 0 ELSE 1 END), id);

-- One run a row: its experiment, label, the settings that vary in its
-- experiment, the common axes, status and headline scores. linear_* is the
-- linear evaluation on h (else on pixels, else the first); finetune_* is
-- the fine-tuning with the largest label fraction.
CREATE VIEW run_summary AS
SELECT
	r.id AS run_id,
	e.name AS experiment,
	r.label,
	r.grid_index,
	r.settings,
	(SELECT COALESCE(value_num, value) FROM params WHERE run_id = r.id AND key = 'method') AS method,
	(SELECT COALESCE(value_num, value) FROM params WHERE run_id = r.id AND key = 'dataset') AS dataset,
	(SELECT COALESCE(value_num, value) FROM params WHERE run_id = r.id AND key = 'encoder') AS encoder,
	(SELECT COALESCE(value_num, value) FROM params WHERE run_id = r.id AND key = 'head') AS head,
	(SELECT COALESCE(value_num, value) FROM params WHERE run_id = r.id AND key = 'proj_dim') AS proj_dim,
	(SELECT COALESCE(value_num, value) FROM params WHERE run_id = r.id AND key = 'augment') AS augment,
	(SELECT COALESCE(value_num, value) FROM params WHERE run_id = r.id AND key = 'augment_b') AS augment_b,
	(SELECT COALESCE(value_num, value) FROM params WHERE run_id = r.id AND key = 'color_strength') AS color_strength,
	(SELECT COALESCE(value_num, value) FROM params WHERE run_id = r.id AND key = 'temperature') AS temperature,
	(SELECT COALESCE(value_num, value) FROM params WHERE run_id = r.id AND key = 'batch_size') AS batch_size,
	(SELECT COALESCE(value_num, value) FROM params WHERE run_id = r.id AND key = 'epochs') AS epochs,
	(SELECT COALESCE(value_num, value) FROM params WHERE run_id = r.id AND key = 'optimizer') AS optimizer,
	(SELECT COALESCE(value_num, value) FROM params WHERE run_id = r.id AND key = 'lr') AS lr,
	r.seed,
	r.status,
	r.attempt,
	la.accuracy AS linear_acc,
	la.macro_f1 AS linear_f1,
	fa.accuracy AS finetune_acc,
	fa.macro_f1 AS finetune_f1,
	fa.label_fraction AS finetune_label_fraction,
	r.final_loss,
	r.config_hash,
	r.started_at,
	r.ended_at,
	r.heartbeat_at,
	r.duration_s,
	r.error,
	r.host,
	r.git_commit,
	r.experiment_id
FROM runs AS r
JOIN experiments AS e ON e.id = r.experiment_id
LEFT JOIN evaluations AS la ON la.id = (
	SELECT id FROM evaluations
	 WHERE run_id = r.id AND protocol = 'linear'
	 ORDER BY CASE features WHEN 'h' THEN 0 WHEN 'pixels' THEN 1 ELSE 2 END, id
	 LIMIT 1)
LEFT JOIN evaluations AS fa ON fa.id = (
	SELECT id FROM evaluations
	 WHERE run_id = r.id AND protocol = 'finetune'
	 ORDER BY label_fraction DESC, CASE features WHEN 'h' THEN 0 ELSE 1 END, id
	 LIMIT 1);
