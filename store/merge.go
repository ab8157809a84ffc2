package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ErrSourceRunning: a merge source is still being written (a run in it is
// running with a fresh heartbeat). Merge it once its task has ended, or
// with MergeOptions.Partial.
var ErrSourceRunning = errors.New("still being written")

// MergeOptions say how Merge treats a source.
type MergeOptions struct {
	// Partial merges a source that is still being written: what it has
	// finished, failed or interrupted is merged; its running cells are
	// left out (and reported).
	Partial bool
	// StaleAfter: a running row whose heartbeat is younger than this
	// means the source's process is alive. 0 = DefaultStaleAfter.
	StaleAfter time.Duration
}

// MergeReport says what Merge did with one source, counted in cells.
type MergeReport struct {
	Source string
	// MigratedFrom is the source's schema version when it was older than
	// this build's (a migrated copy was merged; the file is unchanged),
	// else 0.
	MigratedFrom int
	Added        int // new to the target
	Replaced     int // the source's attempt replaced the target's (kept in run_attempts)
	Kept         int // the target's attempt stayed; the source's went to run_attempts
	Unchanged    int // already merged: nothing added
	Attempts     int // rows added to run_attempts
	Skipped      int // running (or queued) in the source: not merged
	// Unfinished lists the source's cells that are not finished in the
	// target after the merge (failed, interrupted, or running in the
	// source and so not merged).
	Unfinished []UnfinishedCell
}

// UnfinishedCell is a cell a merge leaves unfinished.
type UnfinishedCell struct {
	Experiment string
	Label      string
	GridIndex  int
	ConfigHash string
	Seed       int64
	Status     string    // its status in the target, or in the source when not merged
	Heartbeat  time.Time // the source row's last heartbeat
	Merged     bool      // false: running in the source, not copied
}

// attemptID identifies an attempt of a run across files: when it started,
// on which host, in which process.
type attemptID struct {
	started string
	host    string
	pid     int64
}

// mergeRun is what Merge reads of a run (in the source or the target).
type mergeRun struct {
	id        int64
	status    string
	attempt   attemptID
	end       string // ended_at, else heartbeat_at, else started_at: when the attempt was last seen
	history   []attemptID
	label     string
	gridIndex int
	heartbeat string
}

// Merge copies the runs of the results database at src into db, in one
// transaction: experiments (by name), runs (by experiment + config hash +
// seed), their params, metrics, evaluations and earlier attempts. src is
// opened read-only and never changed; a source of an older schema version
// is merged from a migrated temporary copy. Merging a source again adds
// nothing.
//
// A cell already in db keeps one row. If one of the two attempts is the
// other's earlier attempt (the same started_at, host and pid), the later
// one stays. Otherwise a finished attempt wins over a failed, interrupted
// or running one; between two of the same kind, the one that ended last
// wins (as if the later had been a rerun with --force); on a tie, db's.
// The losing attempt is added to run_attempts. Attempts are numbered by
// start time, the kept one last.
//
// A source with a run that is running with a heartbeat younger than
// opt.StaleAfter is refused (ErrSourceRunning) unless opt.Partial; running
// rows are never copied (a dead task's stale row included) and are listed
// in the report's Unfinished with the failed and interrupted cells.
func (db *DB) Merge(ctx context.Context, src string, opt MergeOptions) (*MergeReport, error) {
	if err := db.writable("merge"); err != nil {
		return nil, err
	}
	rep := &MergeReport{Source: src}
	wrap := func(err error) error { return fmt.Errorf("merge %s into %s: %w", src, db.path, err) }
	fi, err := os.Stat(src)
	if err != nil {
		return nil, wrap(err)
	}
	if db.file != nil && os.SameFile(fi, db.file) {
		return nil, wrap(errors.New("it is the target itself"))
	}
	attach, from, cleanup, err := db.prepareSource(ctx, src)
	defer cleanup()
	if err != nil {
		return nil, wrap(err)
	}
	rep.MigratedFrom = from

	conn, err := db.db.Conn(ctx)
	if err != nil {
		return nil, wrap(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS src`, fileURI(attach)+"?mode=ro"); err != nil {
		return nil, wrap(fmt.Errorf("attach: %w", err))
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE src`)

	m := &merger{db: db, rep: rep, now: db.now(), srcDir: filepath.Dir(src)}
	defer m.discardFiles()
	if err := m.checkRunning(ctx, conn, opt); err != nil {
		return nil, wrap(err)
	}
	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE (the DSN's _txlock)
	if err != nil {
		return nil, wrap(err)
	}
	defer tx.Rollback()
	m.tx = tx
	if err := m.merge(ctx); err != nil {
		return nil, wrap(err)
	}
	if err := tx.Commit(); err != nil {
		return nil, wrap(err)
	}
	if err := m.placeFiles(); err != nil {
		return rep, wrap(err)
	}
	return rep, nil
}

// prepareSource returns the file to attach for src: src itself when its
// schema is this build's, else a migrated copy in a temporary directory
// (removed by cleanup), and the version it was migrated from (0 when
// not).
func (db *DB) prepareSource(ctx context.Context, src string) (attach string, from int, cleanup func(), err error) {
	cleanup = func() {}
	raw, err := sql.Open("sqlite3", fileURI(src)+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return "", 0, cleanup, err
	}
	defer raw.Close()
	var have, tables int
	if err := raw.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&have); err != nil {
		return "", 0, cleanup, fmt.Errorf("read the schema version (is it an SQLite file? a hot journal left by a killed writer "+
			"is rolled back by opening the file read-write once, e.g. by rerunning its shard): %w", err)
	}
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('runs', 'experiments')`).Scan(&tables); err != nil {
		return "", 0, cleanup, err
	}
	if have == 0 || tables != 2 {
		return "", 0, cleanup, errors.New("not a results database (no runs table or schema version)")
	}
	known, err := knownVersion()
	if err != nil {
		return "", 0, cleanup, err
	}
	switch {
	case have > known:
		return "", 0, cleanup, &SchemaVersionError{Path: src, Have: have, Known: known}
	case have == known:
		return src, 0, cleanup, nil
	}
	dir, err := os.MkdirTemp("", "merge-")
	if err != nil {
		return "", 0, cleanup, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	cp := filepath.Join(dir, "source.db")
	if _, err := raw.ExecContext(ctx, `VACUUM INTO ?`, cp); err != nil {
		return "", 0, cleanup, fmt.Errorf("copy schema version %d for migration: %w", have, err)
	}
	mdb, err := Open(cp)
	if err != nil {
		return "", 0, cleanup, fmt.Errorf("migrate a copy from schema version %d: %w", have, err)
	}
	if err := mdb.Close(); err != nil {
		return "", 0, cleanup, err
	}
	return cp, have, cleanup, nil
}

// merger merges the attached source "src" into "main" in one transaction.
type merger struct {
	db  *DB
	tx  *sql.Tx
	rep *MergeReport
	now time.Time

	cols map[string][]string // table -> columns (main's; src's must be the same)

	srcDir string        // the source's directory: its artifact paths are relative to it
	files  []pendingFile // artifact files copied beside the target, renamed into place after the commit
}

// pendingFile is an artifact file copied to tmp, to be renamed to full
// once the rows that record it are committed.
type pendingFile struct{ tmp, full string }

// checkRunning refuses a source whose runs are being written.
func (m *merger) checkRunning(ctx context.Context, conn *sql.Conn, opt MergeOptions) error {
	stale := opt.StaleAfter
	if stale <= 0 {
		stale = DefaultStaleAfter
	}
	rows, err := conn.QueryContext(ctx, `
		SELECT r.id, r.label, r.heartbeat_at FROM src.runs r
		 WHERE r.status = 'running' ORDER BY r.heartbeat_at DESC`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var label string
		var hb sql.NullString
		if err := rows.Scan(&id, &label, &hb); err != nil {
			return err
		}
		t, err := parseTime(hb)
		if err != nil {
			return err
		}
		if age := m.now.Sub(t); !t.IsZero() && age < stale && !opt.Partial {
			return fmt.Errorf("run %d (%s) is running, last heartbeat %s ago: merge once its task has ended, or pass --partial to merge what it has finished: %w",
				id, label, age.Round(time.Second), ErrSourceRunning)
		}
	}
	return rows.Err()
}

// columns returns the columns of a table in main, checking that src's are
// the same.
func (m *merger) columns(ctx context.Context, table string) ([]string, error) {
	if c, ok := m.cols[table]; ok {
		return c, nil
	}
	read := func(schema string) ([]string, error) {
		rows, err := m.tx.QueryContext(ctx, `SELECT name FROM pragma_table_info(?, ?)`, table, schema)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return nil, err
			}
			out = append(out, n)
		}
		return out, rows.Err()
	}
	mc, err := read("main")
	if err != nil {
		return nil, err
	}
	sc, err := read("src")
	if err != nil {
		return nil, err
	}
	a, b := slices.Clone(mc), slices.Clone(sc)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		return nil, fmt.Errorf("table %s has columns %v in the source, %v in the target", table, sc, mc)
	}
	if m.cols == nil {
		m.cols = map[string][]string{}
	}
	m.cols[table] = mc
	return mc, nil
}

// columnsExcept returns the table's columns without the given ones.
func (m *merger) columnsExcept(ctx context.Context, table string, except ...string) ([]string, error) {
	cols, err := m.columns(ctx, table)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range cols {
		if !slices.Contains(except, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

func quoteIdents(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
	}
	return strings.Join(q, ", ")
}

func (m *merger) merge(ctx context.Context) error {
	expIDs, err := m.experiments(ctx)
	if err != nil {
		return err
	}
	rows, err := m.tx.QueryContext(ctx, `
		SELECT r.id, r.experiment_id, e.name, r.config_hash, r.seed FROM src.runs r
		  JOIN src.experiments e ON e.id = r.experiment_id
		 ORDER BY e.name, r.grid_index, r.id`)
	if err != nil {
		return err
	}
	type ref struct {
		id, expID int64
		exp, hash string
		seed      int64
	}
	var refs []ref
	for rows.Next() {
		var r ref
		if err := rows.Scan(&r.id, &r.expID, &r.exp, &r.hash, &r.seed); err != nil {
			rows.Close()
			return err
		}
		refs = append(refs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := m.tx.ExecContext(ctx, `DROP TABLE IF EXISTS temp.merge_attempts`); err != nil {
		return err
	}
	defer m.tx.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS temp.merge_attempts`)
	if _, err := m.tx.ExecContext(ctx, `CREATE TEMP TABLE merge_attempts AS SELECT * FROM main.run_attempts WHERE 0`); err != nil {
		return err
	}
	for _, r := range refs {
		if err := m.mergeRun(ctx, r.id, expIDs[r.expID], r.exp, r.hash, r.seed); err != nil {
			return fmt.Errorf("run %d (%s, config %s, seed %d): %w", r.id, r.exp, r.hash, r.seed, err)
		}
	}
	return nil
}

// experiments ensures every source experiment exists in the target and
// returns the map from source to target experiment ids. An existing
// experiment keeps its description and grid path unless they are empty,
// and the earlier created_at.
func (m *merger) experiments(ctx context.Context) (map[int64]int64, error) {
	rows, err := m.tx.QueryContext(ctx, `SELECT id, name, description, grid_path, created_at FROM src.experiments ORDER BY id`)
	if err != nil {
		return nil, err
	}
	type exp struct {
		id                            int64
		name, desc, gridPath, created string
	}
	var exps []exp
	for rows.Next() {
		var e exp
		if err := rows.Scan(&e.id, &e.name, &e.desc, &e.gridPath, &e.created); err != nil {
			rows.Close()
			return nil, err
		}
		exps = append(exps, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := map[int64]int64{}
	for _, e := range exps {
		var id int64
		err := m.tx.QueryRowContext(ctx, `
			INSERT INTO main.experiments (name, description, grid_path, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET
				description = CASE WHEN description = '' THEN excluded.description ELSE description END,
				grid_path = CASE WHEN grid_path = '' THEN excluded.grid_path ELSE grid_path END,
				created_at = min(created_at, excluded.created_at)
			RETURNING id`, e.name, e.desc, e.gridPath, e.created).Scan(&id)
		if err != nil {
			return nil, fmt.Errorf("experiment %s: %w", e.name, err)
		}
		out[e.id] = id
	}
	return out, nil
}

// readRun reads a run and the identities of its earlier attempts from
// schema ("main" or "src"); ok is false when there is no such row.
func (m *merger) readRun(ctx context.Context, schema string, where string, args ...any) (r mergeRun, ok bool, err error) {
	var started, host, ended, hb sql.NullString
	var pid sql.NullInt64
	var grid sql.NullInt64
	err = m.tx.QueryRowContext(ctx, `SELECT id, status, started_at, host, pid, ended_at, heartbeat_at, label, grid_index FROM `+schema+`.runs WHERE `+where, args...).
		Scan(&r.id, &r.status, &started, &host, &pid, &ended, &hb, &r.label, &grid)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	r.attempt = attemptID{started.String, host.String, pid.Int64}
	r.gridIndex = int(grid.Int64)
	r.heartbeat = hb.String
	switch {
	case ended.Valid:
		r.end = ended.String
	case hb.Valid:
		r.end = hb.String
	default:
		r.end = started.String
	}
	rows, err := m.tx.QueryContext(ctx, `SELECT started_at, host, pid FROM `+schema+`.run_attempts WHERE run_id = ? ORDER BY attempt`, r.id)
	if err != nil {
		return r, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var s, h sql.NullString
		var p sql.NullInt64
		if err := rows.Scan(&s, &h, &p); err != nil {
			return r, false, err
		}
		r.history = append(r.history, attemptID{s.String, h.String, p.Int64})
	}
	return r, true, rows.Err()
}

// wins reports whether attempt a should be kept over b (see Merge).
func wins(a, b mergeRun) bool {
	rank := func(status string) int {
		if status == StatusFinished {
			return 1
		}
		return 0
	}
	if ra, rb := rank(a.status), rank(b.status); ra != rb {
		return ra > rb
	}
	return a.end > b.end
}

func (m *merger) mergeRun(ctx context.Context, srcID, expID int64, exp, hash string, seed int64) error {
	s, _, err := m.readRun(ctx, "src", "id = ?", srcID)
	if err != nil {
		return err
	}
	unfinished := func(status string, merged bool) {
		if status == StatusFinished {
			return
		}
		hb, _ := parseTime(sql.NullString{String: s.heartbeat, Valid: s.heartbeat != ""})
		m.rep.Unfinished = append(m.rep.Unfinished, UnfinishedCell{Experiment: exp, Label: s.label, GridIndex: s.gridIndex,
			ConfigHash: hash, Seed: seed, Status: status, Heartbeat: hb, Merged: merged})
	}
	t, exists, err := m.readRun(ctx, "main", "experiment_id = ? AND config_hash = ? AND seed = ?", expID, hash, seed)
	if err != nil {
		return err
	}
	if s.status == StatusRunning || s.status == StatusQueued {
		m.rep.Skipped++
		if !exists || t.status != StatusFinished {
			unfinished(s.status, false)
		}
		return nil
	}
	if !exists {
		id, err := m.insertRun(ctx, srcID, expID, exp)
		if err != nil {
			return err
		}
		m.rep.Added++
		unfinished(s.status, true)
		return m.refreshAxes(ctx, expID, id)
	}

	known := append([]attemptID{t.attempt}, t.history...)
	switch {
	case slices.Contains(known, s.attempt):
		// The source's attempt is the target's or one of its earlier ones:
		// only earlier attempts of the source may be new.
		added, err := m.combineAttempts(ctx, t.id, srcID, false, false)
		if err != nil {
			return err
		}
		if added > 0 {
			m.rep.Kept++
		} else {
			m.rep.Unchanged++
		}
	case slices.Contains(s.history, t.attempt) || wins(s, t):
		// The source has the target's attempt as an earlier one (a resumed
		// or rerun cell), or its attempt wins.
		if _, err := m.combineAttempts(ctx, t.id, srcID, true, false); err != nil {
			return err
		}
		if err := m.replaceRun(ctx, srcID, t.id, exp); err != nil {
			return err
		}
		m.rep.Replaced++
		if err := m.refreshAxes(ctx, expID, t.id); err != nil {
			return err
		}
	default:
		if _, err := m.combineAttempts(ctx, t.id, srcID, false, true); err != nil {
			return err
		}
		m.rep.Kept++
	}
	var status string
	if err := m.tx.QueryRowContext(ctx, `SELECT status FROM main.runs WHERE id = ?`, t.id).Scan(&status); err != nil {
		return err
	}
	unfinished(status, true)
	return nil
}

// insertRun copies source run srcID and its children into experiment
// expID of the target and returns the new run id.
func (m *merger) insertRun(ctx context.Context, srcID, expID int64, exp string) (int64, error) {
	cols, err := m.columnsExcept(ctx, "runs", "id", "experiment_id")
	if err != nil {
		return 0, err
	}
	res, err := m.tx.ExecContext(ctx, `INSERT INTO main.runs (experiment_id, `+quoteIdents(cols)+`) SELECT ?, `+quoteIdents(cols)+` FROM src.runs WHERE id = ?`, expID, srcID)
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	if err := m.copyChildren(ctx, srcID, id); err != nil {
		return 0, err
	}
	acols, err := m.columnsExcept(ctx, "run_attempts", "run_id")
	if err != nil {
		return 0, err
	}
	res, err = m.tx.ExecContext(ctx, `INSERT INTO main.run_attempts (run_id, `+quoteIdents(acols)+`) SELECT ?, `+quoteIdents(acols)+` FROM src.run_attempts WHERE run_id = ?`, id, srcID)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	m.rep.Attempts += int(n)
	return id, m.copyArtifacts(ctx, srcID, id, exp)
}

// replaceRun overwrites target run dstID (its row but id, experiment and
// attempt; its params, metrics, evaluations and artifacts) with source run
// srcID.
func (m *merger) replaceRun(ctx context.Context, srcID, dstID int64, exp string) error {
	cols, err := m.columnsExcept(ctx, "runs", "id", "experiment_id", "attempt")
	if err != nil {
		return err
	}
	q := `UPDATE main.runs SET (` + quoteIdents(cols) + `) = (SELECT ` + quoteIdents(cols) + ` FROM src.runs WHERE id = ?) WHERE id = ?`
	if _, err := m.tx.ExecContext(ctx, q, srcID, dstID); err != nil {
		return err
	}
	for _, table := range append(childTables, "artifacts") {
		if _, err := m.tx.ExecContext(ctx, `DELETE FROM main.`+table+` WHERE run_id = ?`, dstID); err != nil {
			return err
		}
	}
	if err := m.copyChildren(ctx, srcID, dstID); err != nil {
		return err
	}
	return m.copyArtifacts(ctx, srcID, dstID, exp)
}

// childTables hold a run's rows besides runs, run_attempts and artifacts
// (copyArtifacts), copied as they are.
var childTables = []string{"params", "metrics", "evaluations"}

// copyArtifacts copies the artifacts of source run srcID to target run
// dstID of experiment exp: each file, checked against its recorded size
// and SHA-256, to ArtifactPath(exp, dstID, its name) beside the target
// (under a temporary name until the merge commits), and its row with that
// path. The attempt that wrote a file is the run's kept attempt when it
// was the source run's current one.
func (m *merger) copyArtifacts(ctx context.Context, srcID, dstID int64, exp string) error {
	var srcAttempt, dstAttempt int
	if err := m.tx.QueryRowContext(ctx, `SELECT (SELECT attempt FROM src.runs WHERE id = ?), (SELECT attempt FROM main.runs WHERE id = ?)`,
		srcID, dstID).Scan(&srcAttempt, &dstAttempt); err != nil {
		return err
	}
	rows, err := m.tx.QueryContext(ctx, `SELECT kind, path, size, sha256, attempt, created_at FROM src.artifacts WHERE run_id = ? ORDER BY kind`, srcID)
	if err != nil {
		return err
	}
	var arts []Artifact
	var created []string
	for rows.Next() {
		var a Artifact
		var c string
		if err := rows.Scan(&a.Kind, &a.Path, &a.Size, &a.SHA256, &a.Attempt, &c); err != nil {
			rows.Close()
			return err
		}
		a.RunID = srcID
		arts = append(arts, a)
		created = append(created, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i, a := range arts {
		from := filepath.FromSlash(a.Path)
		if !filepath.IsLocal(from) {
			return fmt.Errorf("%s artifact of run %d: path %q is not inside the source's directory", a.Kind, srcID, a.Path)
		}
		rel := ArtifactPath(exp, dstID, path.Base(a.Path))
		full, err := m.db.artifactFile(rel)
		if err != nil {
			return err
		}
		tmp, err := copyChecked(filepath.Join(m.srcDir, from), full, a)
		if err != nil {
			return fmt.Errorf("%s artifact of run %d (copy the artifacts/ directory beside the source with it): %w", a.Kind, srcID, err)
		}
		m.files = append(m.files, pendingFile{tmp: tmp, full: full})
		attempt := a.Attempt
		if attempt == srcAttempt {
			attempt = dstAttempt
		}
		if _, err := m.tx.ExecContext(ctx, `
			INSERT INTO main.artifacts (run_id, kind, path, size, sha256, attempt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (run_id, kind) DO UPDATE SET path = excluded.path, size = excluded.size,
				sha256 = excluded.sha256, attempt = excluded.attempt, created_at = excluded.created_at`,
			dstID, a.Kind, rel, a.Size, a.SHA256, attempt, created[i]); err != nil {
			return err
		}
	}
	return nil
}

// copyChecked copies from to a temporary file beside to, checking its size
// and SHA-256 against a's, and returns the temporary file's name.
func copyChecked(from, to string, a Artifact) (string, error) {
	if err := checkSize(from, a); err != nil {
		return "", err
	}
	in, err := os.Open(from)
	if err != nil {
		return "", err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return "", err
	}
	out, err := os.CreateTemp(filepath.Dir(to), filepath.Base(to)+".tmp*")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != a.SHA256 {
			err = fmt.Errorf("%s has SHA-256 %s, %s was recorded (corrupted): %w", from, got, a.SHA256, ErrArtifactCorrupt)
		}
	}
	if err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

// placeFiles renames the copied artifact files into place (after the
// commit that recorded them).
func (m *merger) placeFiles() error {
	var errs []error
	for _, f := range m.files {
		if err := os.Rename(f.tmp, f.full); err != nil {
			errs = append(errs, err)
		}
	}
	m.files = nil
	if len(errs) > 0 {
		return fmt.Errorf("the rows are merged, but artifact files could not be put in place: %w", errors.Join(errs...))
	}
	return nil
}

// discardFiles removes the copied artifact files not put in place (a merge
// that failed).
func (m *merger) discardFiles() {
	for _, f := range m.files {
		os.Remove(f.tmp)
	}
}

func (m *merger) copyChildren(ctx context.Context, srcID, dstID int64) error {
	for _, table := range childTables {
		cols, err := m.columnsExcept(ctx, table, "run_id", "id") // evaluations get new ids
		if err != nil {
			return err
		}
		order := ""
		if table == "evaluations" {
			order = " ORDER BY id" // keep their order: run_summary picks by id among equals
		}
		q := `INSERT INTO main.` + table + ` (run_id, ` + quoteIdents(cols) + `) SELECT ?, ` + quoteIdents(cols) + ` FROM src.` + table + ` WHERE run_id = ?` + order
		if _, err := m.tx.ExecContext(ctx, q, dstID, srcID); err != nil {
			return fmt.Errorf("copy %s: %w", table, err)
		}
	}
	return nil
}

// combineAttempts rewrites target run dstID's run_attempts as the union
// of its own, the source run's earlier attempts and, when asked, the
// target's current attempt (it is being replaced) or the source's (it
// lost), without duplicates, numbered by start time; runs.attempt becomes
// their number plus one. It returns how many attempts were added (0:
// nothing written).
func (m *merger) combineAttempts(ctx context.Context, dstID, srcID int64, withTarget, withSource bool) (int, error) {
	acols, err := m.columnsExcept(ctx, "run_attempts", "run_id", "attempt")
	if err != nil {
		return 0, err
	}
	c := quoteIdents(acols)
	if _, err := m.tx.ExecContext(ctx, `DELETE FROM temp.merge_attempts`); err != nil {
		return 0, err
	}
	var before int
	if err := m.tx.QueryRowContext(ctx, `SELECT count(*) FROM main.run_attempts WHERE run_id = ?`, dstID).Scan(&before); err != nil {
		return 0, err
	}
	inserts := []struct {
		q  string
		id int64
	}{
		{`INSERT INTO temp.merge_attempts (run_id, attempt, ` + c + `) SELECT run_id, attempt, ` + c + ` FROM main.run_attempts WHERE run_id = ?`, dstID},
		{`INSERT INTO temp.merge_attempts (run_id, attempt, ` + c + `) SELECT run_id, attempt, ` + c + ` FROM src.run_attempts WHERE run_id = ?`, srcID},
	}
	if withTarget {
		inserts = append(inserts, struct {
			q  string
			id int64
		}{`INSERT INTO temp.merge_attempts (run_id, attempt, ` + c + `) SELECT id, attempt, ` + c + ` FROM main.runs WHERE id = ?`, dstID})
	}
	if withSource {
		inserts = append(inserts, struct {
			q  string
			id int64
		}{`INSERT INTO temp.merge_attempts (run_id, attempt, ` + c + `) SELECT id, attempt, ` + c + ` FROM src.runs WHERE id = ?`, srcID})
	}
	for _, in := range inserts {
		if _, err := m.tx.ExecContext(ctx, in.q, in.id); err != nil {
			return 0, err
		}
	}
	// The kept attempt (the source's when the target's is replaced, else
	// the target's) is not an earlier one, even if an earlier merge
	// recorded it so.
	keep := `main.runs WHERE id = ?`
	keepID := dstID
	if withTarget {
		keep, keepID = `src.runs WHERE id = ?`, srcID
	}
	if _, err := m.tx.ExecContext(ctx, `DELETE FROM temp.merge_attempts WHERE (started_at, host, pid) IN (SELECT started_at, host, pid FROM `+keep+`)`, keepID); err != nil {
		return 0, err
	}
	var after int
	if err := m.tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT DISTINCT started_at, host, pid FROM temp.merge_attempts)`).Scan(&after); err != nil {
		return 0, err
	}
	if after == before && !withTarget {
		return 0, nil // the same set: nothing new
	}
	if _, err := m.tx.ExecContext(ctx, `DELETE FROM main.run_attempts WHERE run_id = ?`, dstID); err != nil {
		return 0, err
	}
	// One row per attempt (the first copy of duplicates), numbered by start.
	q := `INSERT INTO main.run_attempts (run_id, attempt, ` + c + `)
		SELECT ?, row_number() OVER (ORDER BY started_at, host, pid), ` + c + ` FROM temp.merge_attempts
		 WHERE rowid IN (SELECT min(rowid) FROM temp.merge_attempts GROUP BY started_at, host, pid)`
	if _, err := m.tx.ExecContext(ctx, q, dstID); err != nil {
		return 0, err
	}
	if _, err := m.tx.ExecContext(ctx, `UPDATE main.runs SET attempt = ? WHERE id = ?`, after+1, dstID); err != nil {
		return 0, err
	}
	m.rep.Attempts += max(0, after-before)
	return max(0, after-before), nil
}

// refreshAxes records the run's settings in experiment_axes and runs.settings
// as Claim does.
func (m *merger) refreshAxes(ctx context.Context, expID, runID int64) error {
	rows, err := m.tx.QueryContext(ctx, `SELECT key, value FROM main.params WHERE run_id = ? ORDER BY key`, runID)
	if err != nil {
		return err
	}
	var params []Param
	for rows.Next() {
		var p Param
		if err := rows.Scan(&p.Key, &p.Value); err != nil {
			rows.Close()
			return err
		}
		if _, ok := slices.BinarySearch(configKeys, p.Key); ok { // settings, not tags
			params = append(params, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return updateAxes(ctx, m.tx, expID, runID, params)
}

// IntegrityCheck runs PRAGMA integrity_check and foreign_key_check and
// returns an error listing what they found, or nil when the file is sound.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	rows, err := db.db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("integrity check of %s: %w", db.path, err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return fmt.Errorf("integrity check of %s: %w", db.path, err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check of %s: %w", db.path, err)
	}
	var fk int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_check`).Scan(&fk); err != nil {
		return fmt.Errorf("foreign key check of %s: %w", db.path, err)
	}
	if fk > 0 {
		problems = append(problems, fmt.Sprintf("%d rows with a dangling foreign key", fk))
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check of %s: %s", db.path, strings.Join(problems, "; "))
	}
	return nil
}
