package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
)

// Reads for `report build`: every run of an experiment with everything the
// report draws from it, in a fixed number of queries whatever the number of
// runs (GetRun per run would be five queries a run).

// reportRunColumns follow runRowColumns in the first query of ReportRuns.
const reportRunColumns = `r.error, r.config_json, r.created_at, r.pretrain_s, r.eval_s, r.dataset_checksum,
	r.git_commit, r.git_dirty, r.go_version, r.gomaxprocs, r.host, r.pid, r.experiment_id`

// ReportRuns returns every run of the experiment called name, ordered by
// grid index, seed and id, each filled as GetRun fills it except that
// Metrics holds only the per-epoch rows (step 0; no step_loss rows). An
// unknown name is an error wrapping ErrNotFound that lists the known
// names. It reads in six queries, whatever the number of runs.
func (db *DB) ReportRuns(ctx context.Context, name string) ([]RunDetail, error) {
	fail := func(err error) ([]RunDetail, error) {
		return nil, fmt.Errorf("read runs of %q from %s: %w", name, db.path, err)
	}
	expID, err := db.experimentID(ctx, name)
	if err != nil {
		return nil, err
	}

	rows, err := db.db.QueryContext(ctx, "SELECT "+runRowColumns+", "+reportRunColumns+`
		  FROM run_summary s JOIN runs r ON r.id = s.run_id
		 WHERE s.experiment_id = ?
		 ORDER BY s.grid_index, s.seed, s.run_id`, expID)
	if err != nil {
		return fail(err)
	}
	var out []RunDetail
	for rows.Next() {
		var (
			d                RunDetail
			errText, created sql.NullString
			pretrain, evalS  sql.NullFloat64
			gitDirty         int
		)
		sc := extraScanner{rows, []any{&errText, &d.ConfigJSON, &created, &pretrain, &evalS, &d.DatasetChecksum,
			&d.Provenance.GitCommit, &gitDirty, &d.Provenance.GoVersion, &d.Provenance.GOMAXPROCS,
			&d.Provenance.Host, &d.Provenance.PID, &d.ExperimentID}}
		if d.RunRow, err = scanRunRow(sc); err != nil {
			rows.Close()
			return fail(err)
		}
		d.ErrorText = errText.String
		d.Provenance.GitDirty = gitDirty != 0
		d.PretrainTime, d.EvalTime = seconds(pretrain.Float64), seconds(evalS.Float64)
		if d.CreatedAt, err = parseTime(created); err != nil {
			rows.Close()
			return fail(err)
		}
		if err := json.Unmarshal([]byte(d.ConfigJSON), &d.Config); err != nil {
			rows.Close()
			return fail(fmt.Errorf("run %d: stored config: %w", d.ID, err))
		}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	index := make(map[int64]int, len(out))
	for i := range out {
		index[out[i].ID] = i
	}
	for _, read := range []func(context.Context, int64, []RunDetail, map[int64]int) error{
		db.reportParams, db.reportMetrics, db.reportEvaluations, db.reportAttempts,
	} {
		if err := read(ctx, expID, out, index); err != nil {
			return fail(err)
		}
	}
	for i := range out {
		out[i].Epochs = epochsFromMetrics(out[i].Metrics, out[i].Config.Epochs)
	}
	return out, nil
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

func (db *DB) reportParams(ctx context.Context, expID int64, out []RunDetail, index map[int64]int) error {
	rows, err := db.db.QueryContext(ctx, `
		SELECT p.run_id, p.key, p.value, p.value_num FROM params p JOIN runs r ON r.id = p.run_id
		 WHERE r.experiment_id = ? ORDER BY p.run_id, p.key`, expID)
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

func (db *DB) reportMetrics(ctx context.Context, expID int64, out []RunDetail, index map[int64]int) error {
	rows, err := db.db.QueryContext(ctx, `
		SELECT m.run_id, m.key, m.epoch, m.value, m.time FROM metrics m JOIN runs r ON r.id = m.run_id
		 WHERE r.experiment_id = ? AND m.step = 0 ORDER BY m.run_id, m.epoch, m.key`, expID)
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
		if err := rows.Scan(&runID, &m.Key, &m.Epoch, &v, &ts); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		m.Value = math.NaN()
		if v.Valid {
			m.Value = v.Float64
		}
		if m.Time, err = parseTime(ts); err != nil {
			return fmt.Errorf("metrics of run %d: %w", runID, err)
		}
		if i, ok := index[runID]; ok {
			out[i].Metrics = append(out[i].Metrics, m)
		}
	}
	return rows.Err()
}

func (db *DB) reportEvaluations(ctx context.Context, expID int64, out []RunDetail, index map[int64]int) error {
	rows, err := db.db.QueryContext(ctx, `
		SELECT v.run_id, v.protocol, v.features, v.label_fraction, v.train_size, v.test_size, v.accuracy,
		       v.macro_f1, v.per_class_f1, v.confusion, v.classes, v.seconds
		  FROM evaluations v JOIN runs r ON r.id = v.run_id
		 WHERE r.experiment_id = ? ORDER BY v.run_id, v.id`, expID)
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

func (db *DB) reportAttempts(ctx context.Context, expID int64, out []RunDetail, index map[int64]int) error {
	rows, err := db.db.QueryContext(ctx, `
		SELECT a.run_id, a.attempt, a.status, a.started_at, a.heartbeat_at, a.ended_at, a.duration_s, a.error,
		       a.git_commit, a.host, a.pid
		  FROM run_attempts a JOIN runs r ON r.id = a.run_id
		 WHERE r.experiment_id = ? ORDER BY a.run_id, a.attempt`, expID)
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
