package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Experiment is one row of the experiments table.
type Experiment struct {
	ID          int64
	Name        string
	Description string
	GridPath    string
	CreatedAt   time.Time
	Runs        int // rows in runs
}

// EnsureExperiment returns the id of the experiment called name, creating
// it if absent. An existing experiment's description and grid path are
// updated to the given ones (when non-empty).
func (db *DB) EnsureExperiment(ctx context.Context, name, description, gridPath string) (int64, error) {
	if err := db.writable("ensure experiment"); err != nil {
		return 0, err
	}
	if name == "" {
		return 0, errors.New("ensure experiment: empty name (set name = \"...\" in the grid file)")
	}
	var id int64
	err := db.db.QueryRowContext(ctx, `
		INSERT INTO experiments (name, description, grid_path, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET
			description = CASE WHEN excluded.description <> '' THEN excluded.description ELSE description END,
			grid_path = CASE WHEN excluded.grid_path <> '' THEN excluded.grid_path ELSE grid_path END
		RETURNING id`,
		name, description, gridPath, formatTime(db.now())).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("ensure experiment %q in %s: %w", name, db.path, err)
	}
	return id, nil
}

// ListExperiments returns every experiment, by name.
func (db *DB) ListExperiments(ctx context.Context) ([]Experiment, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT e.id, e.name, e.description, e.grid_path, e.created_at,
		       (SELECT count(*) FROM runs r WHERE r.experiment_id = e.id)
		  FROM experiments e ORDER BY e.name`)
	if err != nil {
		return nil, fmt.Errorf("list experiments in %s: %w", db.path, err)
	}
	defer rows.Close()
	var out []Experiment
	for rows.Next() {
		var e Experiment
		var created sql.NullString
		if err := rows.Scan(&e.ID, &e.Name, &e.Description, &e.GridPath, &created, &e.Runs); err != nil {
			return nil, fmt.Errorf("list experiments in %s: %w", db.path, err)
		}
		if e.CreatedAt, err = parseTime(created); err != nil {
			return nil, fmt.Errorf("list experiments in %s: %w", db.path, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list experiments in %s: %w", db.path, err)
	}
	return out, nil
}

// experimentID returns the id of the named experiment, or an error
// wrapping ErrNotFound that lists the known names.
func (db *DB) experimentID(ctx context.Context, name string) (int64, error) {
	var id int64
	err := db.db.QueryRowContext(ctx, `SELECT id FROM experiments WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		var names []string
		if exps, lerr := db.ListExperiments(ctx); lerr == nil {
			for _, e := range exps {
				names = append(names, e.Name)
			}
		}
		return 0, fmt.Errorf("experiment %q not in %s (known: %s): %w", name, db.path, joinOrNone(names), ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("look up experiment %q in %s: %w", name, db.path, err)
	}
	return id, nil
}

func joinOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
