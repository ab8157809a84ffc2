package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

//go:embed migration/*.sql
var migrationFS embed.FS

// Status values of a run.
const (
	StatusQueued      = "queued"
	StatusRunning     = "running"
	StatusFinished    = "finished"
	StatusFailed      = "failed"
	StatusInterrupted = "interrupted"
)

// Statuses lists the valid run statuses, for messages.
var Statuses = []string{StatusQueued, StatusRunning, StatusFinished, StatusFailed, StatusInterrupted}

// Errors callers test with errors.Is.
var (
	// ErrNotFound: no run (or experiment) with that id or name.
	ErrNotFound = errors.New("not found")
	// ErrClaimLost: the run is no longer running under this DB's claim:
	// another process took it over (stale heartbeat) or it was already
	// marked finished, failed or interrupted. Stop working on the cell.
	ErrClaimLost = errors.New("claim lost")
	// ErrRefused: Query was given something other than one read-only
	// statement.
	ErrRefused = errors.New("refused")
	// ErrReplaced: the file at the DB's path is no longer the file this DB
	// opened (a git checkout or stash of a tracked results.db, a copy over
	// it): SQLite keeps writing into the old, unlinked file, and mixing
	// the two corrupts the database. Stop writing and reopen.
	ErrReplaced = errors.New("database file replaced on disk")
)

// SchemaVersionError says the file's schema is not the one this build
// knows: newer (update simclr-ablate) or, for OpenReadOnly, older (open it
// read-write once to migrate).
type SchemaVersionError struct {
	Path  string
	Have  int // the file's PRAGMA user_version
	Known int // the newest version this build knows
}

func (e *SchemaVersionError) Error() string {
	if e.Have > e.Known {
		return fmt.Sprintf("%s has schema version %d, this build knows up to %d: update simclr-ablate",
			e.Path, e.Have, e.Known)
	}
	return fmt.Sprintf("%s has schema version %d, this build needs %d: open it once read-write (runner) to migrate",
		e.Path, e.Have, e.Known)
}

// DB is an open results.db. It is safe for concurrent use.
type DB struct {
	db       *sql.DB
	path     string
	readOnly bool
	now      func() time.Time // the clock; tests replace it

	mu     sync.Mutex
	claims map[int64]int // run id -> the attempt this DB last claimed

	file os.FileInfo // the file Open opened (CheckFile)
}

// Open opens (creating it and its parent directory if needed) the results
// database at path and applies the migrations it lacks. It fails with a
// *SchemaVersionError when the file was written by a newer build.
//
// Each connection runs in WAL mode with a 5 s busy timeout, foreign keys on,
// and BEGIN IMMEDIATE for transactions, so writers queue instead of failing.
// A file on a network file system is refused (*NetworkFSError): see
// OpenWith.
func Open(path string) (*DB, error) {
	return OpenWith(path, Options{})
}

// OpenWith is Open with options: the rollback journal instead of WAL for a
// file with one writer (a shard, the target of a merge), which is also
// allowed on a network file system, or WAL on a network file system anyway.
func OpenWith(path string, opt Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("open results database: empty path")
	}
	if err := checkFS(path, opt); err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("open results database: create directory: %w", err)
		}
	}
	journal := "WAL"
	if opt.Rollback {
		journal = "DELETE"
	}
	dsn := fileURI(path) + "?_journal_mode=" + journal + "&_busy_timeout=5000&_foreign_keys=on&_txlock=immediate"
	// Several processes opening a new file at once can see SQLITE_BUSY
	// without SQLite's busy handler being consulted (switching the file to
	// WAL, WAL recovery): retry the open for up to openRetryFor.
	deadline := time.Now().Add(openRetryFor)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		sdb, err := sql.Open("sqlite3", dsn)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		db := newDB(sdb, path, false)
		err = db.migrate(context.Background())
		if err == nil {
			if db.file, err = os.Stat(path); err != nil {
				sdb.Close()
				return nil, fmt.Errorf("open %s: %w", path, err)
			}
			return db, nil
		}
		sdb.Close()
		if !isBusy(err) || time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(wait)
	}
}

// openRetryFor bounds how long Open retries a database another process
// holds locked while creating or migrating it.
const openRetryFor = 30 * time.Second

// isBusy reports whether err is SQLite's "database is locked" or "busy".
func isBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

// OpenReadOnly opens an existing results database for reading only (SQLite
// mode=ro and PRAGMA query_only). A missing file is an error naming the
// path; the file is never created. The schema must be exactly the version
// this build knows (*SchemaVersionError otherwise).
func OpenReadOnly(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("open results database: empty path")
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open %s: no such results database (run `runner run` first or pass --db): %w", path, err)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	dsn := fileURI(path) + "?mode=ro&_query_only=on&_busy_timeout=5000&_foreign_keys=on"
	sdb, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db := newDB(sdb, path, true)
	have, err := db.userVersion(context.Background(), sdb)
	if err != nil {
		sdb.Close()
		return nil, err
	}
	known, err := knownVersion()
	if err != nil {
		sdb.Close()
		return nil, err
	}
	if have != known {
		sdb.Close()
		return nil, &SchemaVersionError{Path: path, Have: have, Known: known}
	}
	return db, nil
}

func newDB(sdb *sql.DB, path string, readOnly bool) *DB {
	return &DB{db: sdb, path: path, readOnly: readOnly, now: time.Now, claims: map[int64]int{}}
}

// CheckFile fails with ErrReplaced when the file at the DB's path is not
// the one Open opened. Every write checks it first (a stat, about a
// microsecond), so a process stops writing as soon as its file is gone.
func (db *DB) CheckFile() error {
	if db.file == nil {
		return nil
	}
	fi, err := os.Stat(db.path)
	if err == nil && os.SameFile(fi, db.file) {
		return nil
	}
	return fmt.Errorf("%s: the file was replaced or removed while this process had it open "+
		"(git checkout or stash of a tracked results.db?); what this process wrote since is lost from it: %w", db.path, ErrReplaced)
}

// fileURI turns a path into an SQLite URI filename, escaping the characters
// URIs give meaning to.
func fileURI(path string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return "file:" + r.Replace(path)
}

// Close closes the database.
func (db *DB) Close() error {
	if err := db.db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", db.path, err)
	}
	return nil
}

// Path returns the file name the DB was opened with.
func (db *DB) Path() string { return db.path }

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in order; file N (1-based,
// sorted by name) brings the schema to version N.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migration/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	out := make([]migration, len(names))
	for i, name := range names {
		b, err := migrationFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		out[i] = migration{version: i + 1, name: filepath.Base(name), sql: string(b)}
	}
	return out, nil
}

func knownVersion() (int, error) {
	ms, err := migrations()
	return len(ms), err
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) userVersion(ctx context.Context, q queryer) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version of %s (is it an SQLite file?): %w", db.path, err)
	}
	return v, nil
}

// migrate applies, each in its own immediate transaction, the migrations
// newer than the file's user_version. The version is read inside the
// transaction, so two processes opening a new file at once apply each
// migration once.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	have, err := db.userVersion(ctx, db.db)
	if err != nil {
		return err
	}
	if have > len(ms) {
		return &SchemaVersionError{Path: db.path, Have: have, Known: len(ms)}
	}
	for _, m := range ms {
		if m.version <= have {
			continue
		}
		if err := db.applyMigration(ctx, m, len(ms)); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, m migration, known int) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: begin: %w", db.path, err)
	}
	defer tx.Rollback()
	have, err := db.userVersion(ctx, tx)
	if err != nil {
		return err
	}
	if have > known {
		return &SchemaVersionError{Path: db.path, Have: have, Known: known}
	}
	if have >= m.version {
		return nil // another process applied it meanwhile
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migrate %s: apply %s: %w", db.path, m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate %s: %w", db.path, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, formatTime(db.now())); err != nil {
		return fmt.Errorf("migrate %s: record %s: %w", db.path, m.name, err)
	}
	// PRAGMA takes no bound parameters; m.version is an int from this binary.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
		return fmt.Errorf("migrate %s: set version: %w", db.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate %s: commit %s: %w", db.path, m.name, err)
	}
	return nil
}

// timeLayout is RFC 3339 in UTC with a fixed number of fractional digits,
// so stored times sort as text.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// parseTime reads a stored time; NULL or "" gives the zero time.
func parseTime(s sql.NullString) (time.Time, error) {
	if !s.Valid || s.String == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s.String, err)
	}
	return t, nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

// nullFloat maps NaN (which SQLite cannot store) to NULL.
func nullFloat(v float64) any {
	if v != v {
		return nil
	}
	return v
}

func (db *DB) writable(op string) error {
	if db.readOnly {
		return fmt.Errorf("%s: %s was opened read-only", op, db.path)
	}
	if err := db.CheckFile(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// ownAttempt returns the attempt this DB claimed for the run, or 0.
func (db *DB) ownAttempt(runID int64) int {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.claims[runID]
}

// setClaim records the attempt this DB claimed. Entries stay after the
// run ends, so a late write of this process to a run another process has
// since claimed again is refused.
func (db *DB) setClaim(runID int64, attempt int) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.claims[runID] = attempt
}
