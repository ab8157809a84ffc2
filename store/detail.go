package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
)

// loadRuns reads RunDetails: GetRun (one run) and ReportRuns (every run of
// an experiment) both read through it, so that what they return cannot
// drift apart.

// detailColumns follow runRowColumns in the first query of loadRuns.
const detailColumns = `r.error, r.config_json, r.created_at, r.pretrain_s, r.eval_s, r.peak_rss_mb,
	r.dataset_checksum, r.git_commit, r.git_dirty, r.go_version, r.gomaxprocs, r.host, r.pid, r.experiment_id`

// runSet selects the runs loadRuns reads.
type runSet struct {
	// where is an SQL condition on the runs table, aliased r ("r.id = ?",
	// "r.experiment_id = ?"), with its arguments. It is code, never user
	// input.
	where string
	args  []any
	// stepMetrics: Metrics holds the per-step rows (step_loss) too, not
	// only the per-epoch ones.
	stepMetrics bool
}

// loadRuns returns the runs of set with everything stored about them,
// ordered by grid index, seed and id. It reads in five queries whatever the
// number of runs: the runs, then their params, metrics, evaluations and
// earlier attempts, one query each.
func (db *DB) loadRuns(ctx context.Context, set runSet) ([]RunDetail, error) {
	out, err := db.loadRunRows(ctx, set)
	if err != nil || len(out) == 0 {
		return out, err
	}
	index := make(map[int64]int, len(out))
	for i := range out {
		index[out[i].ID] = i
	}
	for _, read := range []func(context.Context, runSet, []RunDetail, map[int64]int) error{
		db.loadParams, db.loadMetrics, db.loadEvaluations, db.loadAttempts,
	} {
		if err := read(ctx, set, out, index); err != nil {
			return nil, err
		}
	}
	for i := range out {
		out[i].Epochs = epochsFromMetrics(out[i].Metrics, &out[i].Config)
	}
	return out, nil
}

// loadRunRows reads the runs' own columns (run_summary's and runs').
func (db *DB) loadRunRows(ctx context.Context, set runSet) ([]RunDetail, error) {
	rows, err := db.db.QueryContext(ctx, "SELECT "+runRowColumns+", "+detailColumns+`
		  FROM run_summary s JOIN runs r ON r.id = s.run_id
		 WHERE (`+set.where+`)
		 ORDER BY s.grid_index, s.seed, s.run_id`, set.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RunDetail
	for rows.Next() {
		var (
			d                RunDetail
			errText, created sql.NullString
			pretrain, evalS  sql.NullFloat64
			peakRSS          sql.NullFloat64
			gitDirty         int
		)
		sc := extraScanner{rows, []any{&errText, &d.ConfigJSON, &created, &pretrain, &evalS, &peakRSS,
			&d.DatasetChecksum, &d.Provenance.GitCommit, &gitDirty, &d.Provenance.GoVersion, &d.Provenance.GOMAXPROCS,
			&d.Provenance.Host, &d.Provenance.PID, &d.ExperimentID}}
		if d.RunRow, err = scanRunRow(sc); err != nil {
			return nil, err
		}
		d.ErrorText = errText.String
		d.Provenance.GitDirty = gitDirty != 0
		d.PretrainTime, d.EvalTime = seconds(pretrain.Float64), seconds(evalS.Float64)
		d.PeakRSSMB = peakRSS.Float64
		if d.CreatedAt, err = parseTime(created); err != nil {
			return nil, fmt.Errorf("run %d: %w", d.ID, err)
		}
		if err := json.Unmarshal([]byte(d.ConfigJSON), &d.Config); err != nil {
			return nil, fmt.Errorf("run %d: stored config: %w", d.ID, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// extraScanner scans a row into the destinations given to Scan followed by
// extra ones, so scanRunRow can read the leading columns of a wider row.
type extraScanner struct {
	rows  *sql.Rows
	extra []any
}

func (s extraScanner) Scan(dest ...any) error {
	return s.rows.Scan(append(dest, s.extra...)...)
}

func (db *DB) loadParams(ctx context.Context, set runSet, out []RunDetail, index map[int64]int) error {
	rows, err := db.db.QueryContext(ctx, `
		SELECT p.run_id, p.key, p.value, p.value_num FROM params p JOIN runs r ON r.id = p.run_id
		 WHERE (`+set.where+`) ORDER BY p.run_id, p.key`, set.args...)
	if err != nil {
		return fmt.Errorf("params: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			runID int64
			p     Param
			num   sql.NullFloat64
		)
		if err := rows.Scan(&runID, &p.Key, &p.Value, &num); err != nil {
			return fmt.Errorf("params: %w", err)
		}
		p.Num = ptr(num)
		if i, ok := index[runID]; ok {
			out[i].Params = append(out[i].Params, p)
		}
	}
	return rows.Err()
}

func (db *DB) loadMetrics(ctx context.Context, set runSet, out []RunDetail, index map[int64]int) error {
	cond := ""
	if !set.stepMetrics {
		cond = " AND m.step = 0"
	}
	rows, err := db.db.QueryContext(ctx, `
		SELECT m.run_id, m.key, m.epoch, m.step, m.value, m.time FROM metrics m JOIN runs r ON r.id = m.run_id
		 WHERE (`+set.where+`)`+cond+` ORDER BY m.run_id, m.epoch, m.step, m.key`, set.args...)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			runID int64
			m     Metric
			v     sql.NullFloat64
			ts    sql.NullString
		)
		if err := rows.Scan(&runID, &m.Key, &m.Epoch, &m.Step, &v, &ts); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		m.Value = nanIfNull(v)
		if m.Time, err = parseTime(ts); err != nil {
			return fmt.Errorf("metrics of run %d: %w", runID, err)
		}
		if i, ok := index[runID]; ok {
			out[i].Metrics = append(out[i].Metrics, m)
		}
	}
	return rows.Err()
}

func (db *DB) loadEvaluations(ctx context.Context, set runSet, out []RunDetail, index map[int64]int) error {
	rows, err := db.db.QueryContext(ctx, `
		SELECT v.run_id, v.protocol, v.features, v.label_fraction, v.train_size, v.test_size, v.accuracy,
		       v.macro_f1, v.per_class_f1, v.confusion, v.classes, v.seconds
		  FROM evaluations v JOIN runs r ON r.id = v.run_id
		 WHERE (`+set.where+`) ORDER BY v.run_id, v.id`, set.args...)
	if err != nil {
		return fmt.Errorf("evaluations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			runID                        int64
			ev                           metrics.Evaluation
			acc, f1                      sql.NullFloat64
			perClass, confusion, classes string
			secs                         float64
		)
		if err := rows.Scan(&runID, &ev.Protocol, &ev.Features, &ev.LabelFraction, &ev.TrainSize, &ev.TestSize,
			&acc, &f1, &perClass, &confusion, &classes, &secs); err != nil {
			return fmt.Errorf("evaluations: %w", err)
		}
		ev.Accuracy, ev.MacroF1 = nanIfNull(acc), nanIfNull(f1)
		var pc []*float64
		if err := json.Unmarshal([]byte(perClass), &pc); err != nil {
			return fmt.Errorf("run %d evaluation %s per_class_f1: %w", runID, ev.Protocol, err)
		}
		ev.PerClassF1 = make([]float64, len(pc))
		for i, v := range pc {
			ev.PerClassF1[i] = math.NaN()
			if v != nil {
				ev.PerClassF1[i] = *v
			}
		}
		if err := json.Unmarshal([]byte(confusion), &ev.Confusion); err != nil {
			return fmt.Errorf("run %d evaluation %s confusion: %w", runID, ev.Protocol, err)
		}
		if err := json.Unmarshal([]byte(classes), &ev.Classes); err != nil {
			return fmt.Errorf("run %d evaluation %s classes: %w", runID, ev.Protocol, err)
		}
		ev.Duration = metrics.Seconds(secs)
		if i, ok := index[runID]; ok {
			out[i].Evaluations = append(out[i].Evaluations, ev)
		}
	}
	return rows.Err()
}

// epochsFromMetrics rebuilds the EpochStats of the per-epoch metric rows
// of a run of cfg. The planned epochs are cfg's epochs, or, for a run
// given in steps, ceil(steps / the first epoch's steps).
func epochsFromMetrics(ms []Metric, cfg *config.Config) []metrics.EpochStats {
	out := epochRows(ms, cfg)
	if cfg.Steps > 0 && len(out) > 0 && out[0].Epoch == 1 {
		planned, _ := cfg.TrainingLength(out[0].Steps)
		for i := range out {
			out[i].Epochs = planned
		}
	}
	return out
}

func epochRows(ms []Metric, cfg *config.Config) []metrics.EpochStats {
	planned := cfg.Epochs
	var out []metrics.EpochStats
	for _, m := range ms {
		if m.Step != 0 {
			continue
		}
		if len(out) == 0 || out[len(out)-1].Epoch != m.Epoch {
			out = append(out, metrics.EpochStats{Epoch: m.Epoch, Epochs: planned})
		}
		e := &out[len(out)-1]
		switch m.Key {
		case MetricLoss:
			e.Loss = m.Value
		case MetricLR:
			e.LR = m.Value
		case MetricImagesPerSec:
			e.ImagesPerSec = m.Value
		case MetricContrastiveAcc:
			e.ContrastiveAcc = m.Value
		case MetricPositiveCos:
			e.PositiveCos = m.Value
		case MetricEpochSeconds:
			e.Duration = seconds(m.Value)
		case MetricSteps:
			if m.Value == m.Value {
				e.Steps = int(m.Value)
			}
		case MetricKNNAcc:
			v := m.Value
			e.KNNAcc = &v
		}
	}
	return out
}

func nanIfNull(v sql.NullFloat64) float64 {
	if !v.Valid {
		return math.NaN()
	}
	return v.Float64
}

func (db *DB) loadAttempts(ctx context.Context, set runSet, out []RunDetail, index map[int64]int) error {
	rows, err := db.db.QueryContext(ctx, `
		SELECT a.run_id, a.attempt, a.status, a.started_at, a.heartbeat_at, a.ended_at, a.duration_s, a.error,
		       a.git_commit, a.host, a.pid
		  FROM run_attempts a JOIN runs r ON r.id = a.run_id
		 WHERE (`+set.where+`) ORDER BY a.run_id, a.attempt`, set.args...)
	if err != nil {
		return fmt.Errorf("attempts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			runID                    int64
			a                        Attempt
			started, hb, ended, errT sql.NullString
			dur                      sql.NullFloat64
		)
		if err := rows.Scan(&runID, &a.Attempt, &a.Status, &started, &hb, &ended, &dur, &errT, &a.GitCommit, &a.Host, &a.PID); err != nil {
			return fmt.Errorf("attempts: %w", err)
		}
		if a.StartedAt, err = parseTime(started); err != nil {
			return fmt.Errorf("attempts of run %d: %w", runID, err)
		}
		if a.HeartbeatAt, err = parseTime(hb); err != nil {
			return fmt.Errorf("attempts of run %d: %w", runID, err)
		}
		if a.EndedAt, err = parseTime(ended); err != nil {
			return fmt.Errorf("attempts of run %d: %w", runID, err)
		}
		a.Duration = seconds(dur.Float64)
		a.Error = errT.String
		if i, ok := index[runID]; ok {
			out[i].Attempts = append(out[i].Attempts, a)
		}
	}
	return rows.Err()
}
