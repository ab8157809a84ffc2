package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// SetTags stores a cell's tags (grid.Cell.Tags, e.g. pair_first and
// pair_second of a pairwise cell) as params rows of run runID, one row a
// tag, in one transaction. The rows sit beside the settings, so ExportRuns
// has them as columns, GetRun lists them in Params and SQL reads them as
// params.key = 'pair_first'. A tag named like a setting is refused (it
// would overwrite the setting's row).
//
// Claim rewrites a run's params from its config on every claim, dropping
// tags: call SetTags after each successful Claim. Tags already stored under
// other names are kept. ErrNotFound when there is no such run.
func (db *DB) SetTags(ctx context.Context, runID int64, tags map[string]string) error {
	if err := db.writable("set tags"); err != nil {
		return err
	}
	if len(tags) == 0 {
		return nil
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		if k == "" {
			return fmt.Errorf("set tags of run %d: empty tag name", runID)
		}
		if _, ok := slices.BinarySearch(configKeys, k); ok {
			return fmt.Errorf("set tags of run %d: tag %q is the name of a setting", runID, k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	wrap := func(err error) error {
		return fmt.Errorf("set tags of run %d in %s: %w", runID, db.path, err)
	}

	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return wrap(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE id = ?`, runID).Scan(&n); err != nil {
		return wrap(err)
	}
	if n == 0 {
		return wrap(errors.Join(fmt.Errorf("no run %d", runID), ErrNotFound))
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO params (run_id, key, value, value_num) VALUES (?, ?, ?, NULL)`)
	if err != nil {
		return wrap(err)
	}
	defer stmt.Close()
	for _, k := range keys {
		if _, err := stmt.ExecContext(ctx, runID, k, tags[k]); err != nil {
			return wrap(fmt.Errorf("tag %s: %w", k, err))
		}
	}
	if err := tx.Commit(); err != nil {
		return wrap(err)
	}
	return nil
}
