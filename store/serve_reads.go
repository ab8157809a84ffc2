package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Reads for report serve's pages: the settings that vary per experiment,
// the values of some settings for many runs, and several runs in full.

// Axes returns the settings that vary between the runs of each experiment
// (experiment_axes; the seed is never one), sorted, by experiment name.
// An experiment whose runs all share their settings has no entry.
func (db *DB) Axes(ctx context.Context) (map[string][]string, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT e.name, a.key FROM experiment_axes a JOIN experiments e ON e.id = a.experiment_id
		 ORDER BY e.name, a.key`)
	if err != nil {
		return nil, fmt.Errorf("read axes from %s: %w", db.path, err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var exp, key string
		if err := rows.Scan(&exp, &key); err != nil {
			return nil, fmt.Errorf("read axes from %s: %w", db.path, err)
		}
		out[exp] = append(out[exp], key)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read axes from %s: %w", db.path, err)
	}
	return out, nil
}

// RunSettings returns the values of the named settings (configKeys, e.g.
// "head", "batch_size") of every run of the experiment (every experiment
// when experiment is ""), by run id and key. A run lacking a setting has
// no entry for it; an unknown experiment is an error wrapping ErrNotFound;
// an unknown key is an error listing the valid ones. It reads in one
// query.
func (db *DB) RunSettings(ctx context.Context, experiment string, keys []string) (map[int64]map[string]Param, error) {
	out := map[int64]map[string]Param{}
	if len(keys) == 0 {
		return out, nil
	}
	valid := map[string]bool{}
	for _, k := range configKeys {
		valid[k] = true
	}
	args := make([]any, 0, len(keys)+1)
	for _, k := range keys {
		if !valid[k] {
			return nil, fmt.Errorf("read settings from %s: unknown setting %q (valid: %s)", db.path, k, strings.Join(configKeys, ", "))
		}
		args = append(args, k)
	}
	cond := ""
	if experiment != "" {
		expID, err := db.experimentID(ctx, experiment)
		if err != nil {
			return nil, fmt.Errorf("read settings: %w", err)
		}
		cond = " AND r.experiment_id = ?"
		args = append(args, expID)
	}
	rows, err := db.db.QueryContext(ctx, `
		SELECT p.run_id, p.key, p.value, p.value_num FROM params p JOIN runs r ON r.id = p.run_id
		 WHERE p.key IN (?`+strings.Repeat(", ?", len(keys)-1)+`)`+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("read settings from %s: %w", db.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id  int64
			p   Param
			num sql.NullFloat64
		)
		if err := rows.Scan(&id, &p.Key, &p.Value, &num); err != nil {
			return nil, fmt.Errorf("read settings from %s: %w", db.path, err)
		}
		p.Num = ptr(num)
		if out[id] == nil {
			out[id] = map[string]Param{}
		}
		out[id][p.Key] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read settings from %s: %w", db.path, err)
	}
	return out, nil
}

// GetRuns returns the runs with the given ids in the order given, each
// filled as ReportRuns fills it (per-epoch metrics only). A repeated id is
// returned once; an id without a run is an error wrapping ErrNotFound
// that names it. It reads in five queries, whatever the number of runs.
func (db *DB) GetRuns(ctx context.Context, ids []int64) ([]RunDetail, error) {
	var uniq []int64
	seen := map[int64]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	if len(uniq) == 0 {
		return nil, nil
	}
	args := make([]any, len(uniq))
	for i, id := range uniq {
		args[i] = id
	}
	runs, err := db.loadRuns(ctx, runSet{where: "r.id IN (?" + strings.Repeat(", ?", len(uniq)-1) + ")", args: args})
	if err != nil {
		return nil, fmt.Errorf("get runs from %s: %w", db.path, err)
	}
	byID := make(map[int64]RunDetail, len(runs))
	for _, r := range runs {
		byID[r.ID] = r
	}
	out := make([]RunDetail, 0, len(uniq))
	var missing []string
	for _, id := range uniq {
		r, ok := byID[id]
		if !ok {
			missing = append(missing, fmt.Sprint(id))
			continue
		}
		out = append(out, r)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("get runs from %s: no run %s: %w", db.path, strings.Join(missing, ", "), ErrNotFound)
	}
	return out, nil
}
