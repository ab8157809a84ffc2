package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// ReportRuns returns every run of the experiment called name, ordered by
// grid index, seed and id, each filled as GetRun fills it except that
// Metrics holds only the per-epoch rows (step 0; no step_loss rows). An
// unknown name is an error wrapping ErrNotFound that lists the known
// names. It reads in six queries, whatever the number of runs (GetRun per
// run would be five queries a run).
func (db *DB) ReportRuns(ctx context.Context, name string) ([]RunDetail, error) {
	expID, err := db.experimentID(ctx, name)
	if err != nil {
		return nil, err
	}
	runs, err := db.loadRuns(ctx, runSet{where: "r.experiment_id = ?", args: []any{expID}})
	if err != nil {
		return nil, fmt.Errorf("read runs of %q from %s: %w", name, db.path, err)
	}
	return runs, nil
}

// SchemaVersion returns the file's schema version (PRAGMA user_version),
// for provenance lines.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	return db.userVersion(ctx, db.db)
}

// SetClock replaces the clock the DB stamps rows with (time.Now when nil).
// It is for fixtures that must be reproducible, such as the databases
// report's golden tests build; call it before any write.
func (db *DB) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	db.now = now
}

// IsStatementError reports whether err is SQLite rejecting a statement
// given to Query (SQLITE_ERROR: a syntax error, an unknown table or column,
// a bad argument to a function such as malformed JSON), as opposed to a
// refusal (ErrRefused) or a failure of the file or the machine. `report
// query` exits 2 (bad input) for these.
func IsStatementError(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrError
}
