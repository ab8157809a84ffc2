package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

// DefaultStaleAfter is the StaleAfter used when a ClaimPolicy leaves it
// zero. A runner should call Heartbeat at least every StaleAfter/4.
const DefaultStaleAfter = 2 * time.Minute

// Provenance says which build, machine and process ran an attempt.
type Provenance struct {
	GitCommit  string
	GitDirty   bool
	GoVersion  string
	GOMAXPROCS int
	Host       string
	PID        int
}

// CellKey identifies a grid cell: experiment name + config hash
// (config.Config.Hash, the settings apart from the seed) + seed.
//
// Index is the cell's position in the expanded grid, stored with the run
// so reports can keep grid order; it is not part of the identity.
type CellKey struct {
	Experiment string
	ConfigHash string
	Seed       int64
	Index      int
}

// ClaimPolicy says which existing runs Claim takes over.
type ClaimPolicy struct {
	RetryFailed bool          // rerun failed and interrupted cells
	Force       bool          // rerun every cell, finished ones too (never a live running one)
	StaleAfter  time.Duration // a running row whose heartbeat is older is taken over; 0 = DefaultStaleAfter
}

// Claim takes the cell for this process, in one immediate transaction, so
// that of several processes claiming the same cell at once exactly one
// gets it. What it finds decides:
//
//	no row                         insert: status running, attempt 1
//	finished                       skip; with Force: claim again (metrics and evaluations cleared)
//	failed, interrupted            skip; with RetryFailed or Force: claim again
//	running, heartbeat fresh       skip: another process has it (even with Force)
//	running, heartbeat stale       claim again: the process that had it died
//	queued                         claim
//
// Claiming again keeps the run id, copies the previous attempt (status,
// times, error, host) to run_attempts and increments attempt; per-epoch
// metrics are kept (RecordEpoch replaces them as a resumed run re-records
// its epochs). Label, config JSON, params, grid index and provenance are
// written on every claim.
//
// key.ConfigHash empty means cfg.Hash(); key.Seed must equal cfg.Seed;
// key.Experiment, when set, must name the experiment expID. It returns the
// run id (also when skipped, if a row exists), whether this call claimed
// the cell, and the status it found ("" when there was no row).
func (db *DB) Claim(ctx context.Context, expID int64, label string, cfg config.Config, key CellKey, prov Provenance, pol ClaimPolicy) (runID int64, claimed bool, prevStatus string, err error) {
	if err := db.writable("claim"); err != nil {
		return 0, false, "", err
	}
	if key.ConfigHash == "" {
		key.ConfigHash = cfg.Hash()
	}
	if key.Seed != cfg.Seed {
		return 0, false, "", fmt.Errorf("claim cell %s seed %d: the config's seed is %d (they must agree)", key.ConfigHash, key.Seed, cfg.Seed)
	}
	stale := pol.StaleAfter
	if stale <= 0 {
		stale = DefaultStaleAfter
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return 0, false, "", fmt.Errorf("claim cell %s seed %d: marshal config: %w", key.ConfigHash, key.Seed, err)
	}
	params, err := FlattenConfig(cfg)
	if err != nil {
		return 0, false, "", fmt.Errorf("claim cell %s seed %d: %w", key.ConfigHash, key.Seed, err)
	}
	wrap := func(err error) error {
		return fmt.Errorf("claim cell %s seed %d in %s: %w", key.ConfigHash, key.Seed, db.path, err)
	}

	tx, err := db.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock): holds the write lock from here
	if err != nil {
		return 0, false, "", wrap(err)
	}
	defer tx.Rollback()

	var expName string
	err = tx.QueryRowContext(ctx, `SELECT name FROM experiments WHERE id = ?`, expID).Scan(&expName)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, "", wrap(fmt.Errorf("experiment id %d does not exist (call EnsureExperiment first): %w", expID, ErrNotFound))
	}
	if err != nil {
		return 0, false, "", wrap(err)
	}
	if key.Experiment != "" && key.Experiment != expName {
		return 0, false, "", wrap(fmt.Errorf("key names experiment %q but id %d is %q", key.Experiment, expID, expName))
	}

	now := db.now()
	var (
		attempt   int
		heartbeat sql.NullString
	)
	err = tx.QueryRowContext(ctx, `
		SELECT id, status, attempt, heartbeat_at FROM runs
		 WHERE experiment_id = ? AND config_hash = ? AND seed = ?`,
		expID, key.ConfigHash, key.Seed).Scan(&runID, &prevStatus, &attempt, &heartbeat)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		runID, err = db.insertRun(ctx, tx, expID, label, string(cfgJSON), key, prov, now)
		if err != nil {
			return 0, false, "", wrap(err)
		}
		if err := insertParams(ctx, tx, runID, params); err != nil {
			return 0, false, "", wrap(err)
		}
		if err := updateAxes(ctx, tx, expID, runID, params); err != nil {
			return 0, false, "", wrap(err)
		}
		if err := tx.Commit(); err != nil {
			return 0, false, "", wrap(err)
		}
		db.setClaim(runID, 1)
		return runID, true, "", nil
	case err != nil:
		return 0, false, "", wrap(err)
	}

	take := false
	switch prevStatus {
	case StatusFinished:
		take = pol.Force
	case StatusFailed, StatusInterrupted:
		take = pol.RetryFailed || pol.Force
	case StatusQueued:
		take = true
	case StatusRunning:
		hb, err := parseTime(heartbeat)
		if err != nil {
			return runID, false, prevStatus, wrap(err)
		}
		take = hb.IsZero() || now.Sub(hb) > stale
	default:
		return runID, false, prevStatus, wrap(fmt.Errorf("run %d has unknown status %q", runID, prevStatus))
	}
	if !take {
		return runID, false, prevStatus, nil
	}

	if attempt > 0 {
		if _, err := tx.ExecContext(ctx, `
			INSERT OR REPLACE INTO run_attempts
				(run_id, attempt, status, started_at, heartbeat_at, ended_at, duration_s, error, git_commit, host, pid)
			SELECT id, attempt, status, started_at, heartbeat_at, ended_at, duration_s, error, git_commit, host, pid
			  FROM runs WHERE id = ?`, runID); err != nil {
			return 0, false, "", wrap(err)
		}
	}
	if prevStatus == StatusFinished {
		for _, q := range []string{`DELETE FROM metrics WHERE run_id = ?`, `DELETE FROM evaluations WHERE run_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, runID); err != nil {
				return 0, false, "", wrap(err)
			}
		}
	}
	ts := formatTime(now)
	if _, err := tx.ExecContext(ctx, `
		UPDATE runs SET
			status = 'running', attempt = attempt + 1, label = ?, grid_index = ?, config_json = ?,
			started_at = ?, heartbeat_at = ?, ended_at = NULL, duration_s = NULL, error = NULL,
			pretrain_s = NULL, eval_s = NULL, final_loss = NULL, dataset_checksum = '', peak_rss_mb = NULL,
			git_commit = ?, git_dirty = ?, go_version = ?, gomaxprocs = ?, host = ?, pid = ?
		 WHERE id = ?`,
		label, key.Index, string(cfgJSON), ts, ts,
		prov.GitCommit, prov.GitDirty, prov.GoVersion, prov.GOMAXPROCS, prov.Host, prov.PID,
		runID); err != nil {
		return 0, false, "", wrap(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM params WHERE run_id = ?`, runID); err != nil {
		return 0, false, "", wrap(err)
	}
	if err := insertParams(ctx, tx, runID, params); err != nil {
		return 0, false, "", wrap(err)
	}
	if err := updateAxes(ctx, tx, expID, runID, params); err != nil {
		return 0, false, "", wrap(err)
	}
	if err := tx.Commit(); err != nil {
		return 0, false, "", wrap(err)
	}
	db.setClaim(runID, attempt+1)
	return runID, true, prevStatus, nil
}

func (db *DB) insertRun(ctx context.Context, tx *sql.Tx, expID int64, label, cfgJSON string, key CellKey, prov Provenance, now time.Time) (int64, error) {
	ts := formatTime(now)
	res, err := tx.ExecContext(ctx, `
		INSERT INTO runs (experiment_id, label, grid_index, config_json, config_hash, seed, status, attempt,
			created_at, started_at, heartbeat_at, git_commit, git_dirty, go_version, gomaxprocs, host, pid)
		VALUES (?, ?, ?, ?, ?, ?, 'running', 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		expID, label, key.Index, cfgJSON, key.ConfigHash, key.Seed,
		ts, ts, ts, prov.GitCommit, prov.GitDirty, prov.GoVersion, prov.GOMAXPROCS, prov.Host, prov.PID)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func insertParams(ctx context.Context, tx *sql.Tx, runID int64, params []Param) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO params (run_id, key, value, value_num) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, p := range params {
		var num any
		if p.Num != nil {
			num = *p.Num
		}
		if _, err := stmt.ExecContext(ctx, runID, p.Key, p.Value, num); err != nil {
			return fmt.Errorf("param %s: %w", p.Key, err)
		}
	}
	return nil
}

// settingsSQL sets runs.settings to the run's values of its experiment's
// axes, "key=value" in key order (both primary keys order by key after
// their equality columns, whichever table the join starts from).
const settingsSQL = `UPDATE runs SET settings = COALESCE((
	SELECT group_concat(a.key || '=' || p.value, ' ')
	  FROM experiment_axes a JOIN params p ON p.run_id = runs.id AND p.key = a.key
	 WHERE a.experiment_id = runs.experiment_id), '')`

// updateAxes records in experiment_axes the settings of the new run that
// differ from the experiment's first run (seed and the monitor settings
// aside), and refreshes runs.settings: of
// every run of the experiment when an axis was added, else of this run.
// Comparing every run with one reference run finds every setting that
// varies: if two runs differ in a setting, at least one of them differs
// from the reference. A setting the reference run has no value of (it was
// recorded before the setting existed) counts as the default it ran with.
func updateAxes(ctx context.Context, tx *sql.Tx, expID, runID int64, params []Param) error {
	added, err := addAxes(ctx, tx, expID, runID, params)
	if err != nil {
		return err
	}
	if added {
		_, err = tx.ExecContext(ctx, settingsSQL+` WHERE experiment_id = ?`, expID)
	} else {
		_, err = tx.ExecContext(ctx, settingsSQL+` WHERE id = ?`, runID)
	}
	return err
}

// defaultValues are the params values of config.DefaultConfig(): what a
// run recorded before a setting existed ran with.
var defaultValues = func() map[string]string {
	ps, err := FlattenConfig(config.DefaultConfig())
	if err != nil {
		panic("store: flatten the default config: " + err.Error())
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.Key] = p.Value
	}
	return m
}()

func addAxes(ctx context.Context, tx *sql.Tx, expID, runID int64, params []Param) (added bool, err error) {
	var refID sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(id) FROM runs WHERE experiment_id = ? AND id <> ?`, expID, runID).Scan(&refID); err != nil {
		return false, err
	}
	if !refID.Valid {
		return false, nil // the first run: nothing to compare with
	}
	rows, err := tx.QueryContext(ctx, `SELECT key, value FROM params WHERE run_id = ?`, refID.Int64)
	if err != nil {
		return false, err
	}
	refVals := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return false, err
		}
		refVals[k] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	for _, p := range params {
		if p.Key == "seed" {
			continue
		}
		if s, ok := config.Lookup(p.Key); ok && s.Monitor {
			continue // observes the run; not what varies between cells
		}
		v, ok := refVals[p.Key]
		if ok && v == p.Value {
			continue
		}
		if !ok && p.Value == defaultValues[p.Key] {
			continue // a setting newer than the reference run, at its default: the same value
		}
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO experiment_axes (experiment_id, key) VALUES (?, ?)`, expID, p.Key)
		if err != nil {
			return false, err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			added = true
		}
	}
	return added, nil
}

// Heartbeat marks the run alive now. It fails with ErrClaimLost when the
// run is no longer running under this DB's claim, ErrNotFound when there
// is no such run, ErrReplaced when the file was replaced on disk.
func (db *DB) Heartbeat(ctx context.Context, runID int64) error {
	if err := db.writable("heartbeat"); err != nil {
		return err
	}
	own := db.ownAttempt(runID)
	res, err := db.db.ExecContext(ctx, `UPDATE runs SET heartbeat_at = ? WHERE id = ?`+ownedClause,
		formatTime(db.now()), runID, own, own)
	if err != nil {
		return fmt.Errorf("heartbeat run %d in %s: %w", runID, db.path, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return db.whyNotOwned(ctx, db.db, "heartbeat", runID)
	}
	return nil
}

// ownedClause is appended to an UPDATE of runs: the row must be running
// and, when this DB claimed it, still at the attempt it claimed.
const ownedClause = ` AND status = 'running' AND (? = 0 OR attempt = ?)`

// whyNotOwned explains why an owned update touched no row.
func (db *DB) whyNotOwned(ctx context.Context, q queryer, op string, runID int64) error {
	var status string
	var attempt int
	err := q.QueryRowContext(ctx, `SELECT status, attempt FROM runs WHERE id = ?`, runID).Scan(&status, &attempt)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: run %d not in %s: %w", op, runID, db.path, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s run %d in %s: %w", op, runID, db.path, err)
	}
	if own := db.ownAttempt(runID); own != 0 && own != attempt {
		return fmt.Errorf("%s run %d: another process took it over (attempt %d, ours %d): %w", op, runID, attempt, own, ErrClaimLost)
	}
	return fmt.Errorf("%s run %d: it is %s, not running: %w", op, runID, status, ErrClaimLost)
}

// CellStatus returns the status and run id of a cell, or "" and 0 when the
// cell has no row. expName empty means key.Experiment. For `runner plan`.
func (db *DB) CellStatus(ctx context.Context, expName string, key CellKey) (status string, runID int64, err error) {
	if expName == "" {
		expName = key.Experiment
	}
	if key.ConfigHash == "" {
		return "", 0, fmt.Errorf("cell status in %s: empty config hash", db.path)
	}
	err = db.db.QueryRowContext(ctx, `
		SELECT r.status, r.id FROM runs r JOIN experiments e ON e.id = r.experiment_id
		 WHERE e.name = ? AND r.config_hash = ? AND r.seed = ?`,
		expName, key.ConfigHash, key.Seed).Scan(&status, &runID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("cell status %s/%s seed %d in %s: %w", expName, key.ConfigHash, key.Seed, db.path, err)
	}
	return status, runID, nil
}
