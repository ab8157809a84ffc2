package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
)

// RunFilter selects runs for ListRuns. Zero fields select everything.
//
// Where is a filter expression (runner ls --where):
//
//	expr    = and { "or" and }
//	and     = not { "and" not }
//	not     = "not" not | "(" expr ")" | cmp
//	cmp     = operand ( op operand | ["not"] "like" operand | "is" ["not"] "null" )
//	op      = "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//	operand = name | 'string' | number
//
// Keywords and names are case-insensitive; a single quote inside a
// string is written twice, as in SQL. A name is a run_summary column (linear_f1, linear_acc,
// finetune_f1, finetune_acc, status, seed, label, experiment, settings, ...)
// or a setting (head, batch_size, temperature, augment, ...); a setting
// compares as a number when it is numeric, else as its text (lists as
// JSON: augment = '["crop","color"]', augment like '%color%'). An unknown
// name is a *WhereError listing the valid ones. Literals are bound as SQL
// parameters; no text of the expression is pasted into SQL.
type RunFilter struct {
	Experiment string // experiment name; an unknown name is an error listing the known ones
	Status     string // one of Statuses
	Where      string // filter expression over run_summary columns and settings, e.g. head = 'nonlinear' and linear_f1 > 0.8
	Limit      int    // at most this many runs; 0 = all
}

// RunRow is one run as `runner ls` shows it. Times are zero and scores nil
// when unset.
type RunRow struct {
	ID          int64
	Experiment  string
	Label       string
	GridIndex   int
	Settings    string // the settings that vary within the experiment: "augment=[\"crop\"] temperature=0.1"
	Status      string
	Seed        int64
	ConfigHash  string
	Attempt     int
	StartedAt   time.Time
	EndedAt     time.Time
	HeartbeatAt time.Time
	Duration    time.Duration
	FinalLoss   *float64
	LinearAcc   *float64 // linear evaluation on h (else pixels, else the first)
	LinearF1    *float64
	FinetuneAcc *float64 // fine-tuning with the largest label fraction
	FinetuneF1  *float64
	Error       string // first line of the error text
}

const runRowColumns = `s.run_id, s.experiment, s.label, s.grid_index, s.settings, s.status, s.seed, s.config_hash,
	s.attempt, s.started_at, s.ended_at, s.heartbeat_at, s.duration_s, s.final_loss,
	s.linear_acc, s.linear_f1, s.finetune_acc, s.finetune_f1, s.error`

func scanRunRow(sc interface{ Scan(...any) error }) (RunRow, error) {
	var (
		r                          RunRow
		gridIndex                  sql.NullInt64
		settings, errText          sql.NullString
		started, ended, heartbeat  sql.NullString
		dur, loss, la, lf, fa, ff1 sql.NullFloat64
	)
	err := sc.Scan(&r.ID, &r.Experiment, &r.Label, &gridIndex, &settings, &r.Status, &r.Seed, &r.ConfigHash,
		&r.Attempt, &started, &ended, &heartbeat, &dur, &loss, &la, &lf, &fa, &ff1, &errText)
	if err != nil {
		return r, err
	}
	r.GridIndex = int(gridIndex.Int64)
	r.Settings = settings.String
	if r.StartedAt, err = parseTime(started); err != nil {
		return r, err
	}
	if r.EndedAt, err = parseTime(ended); err != nil {
		return r, err
	}
	if r.HeartbeatAt, err = parseTime(heartbeat); err != nil {
		return r, err
	}
	if dur.Valid {
		r.Duration = seconds(dur.Float64)
	}
	r.FinalLoss, r.LinearAcc, r.LinearF1, r.FinetuneAcc, r.FinetuneF1 = ptr(loss), ptr(la), ptr(lf), ptr(fa), ptr(ff1)
	r.Error, _, _ = strings.Cut(errText.String, "\n")
	return r, nil
}

func ptr(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	return &v.Float64
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// ListRuns returns the runs f selects, newest (latest started) first.
func (db *DB) ListRuns(ctx context.Context, f RunFilter) ([]RunRow, error) {
	var (
		conds []string
		args  []any
	)
	if f.Experiment != "" {
		if _, err := db.experimentID(ctx, f.Experiment); err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		conds = append(conds, "s.experiment = ?")
		args = append(args, f.Experiment)
	}
	if f.Status != "" {
		if !validStatus(f.Status) {
			return nil, fmt.Errorf("list runs: unknown status %q (valid: %s)", f.Status, strings.Join(Statuses, ", "))
		}
		conds = append(conds, "s.status = ?")
		args = append(args, f.Status)
	}
	if strings.TrimSpace(f.Where) != "" {
		w, wargs, err := compileWhere(f.Where)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		conds = append(conds, w)
		args = append(args, wargs...)
	}
	q := "SELECT " + runRowColumns + " FROM run_summary s"
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " ORDER BY s.started_at DESC, s.run_id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs in %s: %w", db.path, err)
	}
	defer rows.Close()
	var out []RunRow
	for rows.Next() {
		r, err := scanRunRow(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs in %s: %w", db.path, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs in %s: %w", db.path, err)
	}
	return out, nil
}

func validStatus(s string) bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Metric is one row of the metrics table. Step is 0 for per-epoch values.
// Value is NaN when stored as NULL.
type Metric struct {
	Key   string
	Epoch int
	Step  int
	Value float64
	Time  time.Time
}

// Attempt is an earlier attempt of a run (run_attempts).
type Attempt struct {
	Attempt     int
	Status      string
	StartedAt   time.Time
	HeartbeatAt time.Time
	EndedAt     time.Time
	Duration    time.Duration
	Error       string
	GitCommit   string
	Host        string
	PID         int
}

// RunDetail is everything stored about one run, for `runner show`.
type RunDetail struct {
	RunRow
	ExperimentID    int64
	ErrorText       string // the whole error text
	ConfigJSON      string
	Config          config.Config
	Params          []Param              // by key
	Epochs          []metrics.EpochStats // rebuilt from the per-epoch metrics, by epoch
	Metrics         []Metric             // every metric row, per-step ones too, by epoch, step, key
	Evaluations     []metrics.Evaluation // in the order Finish stored them
	Attempts        []Attempt            // earlier attempts, oldest first
	Provenance      Provenance           // of the current attempt
	DatasetChecksum string
	CreatedAt       time.Time
	PretrainTime    time.Duration
	EvalTime        time.Duration
	PeakRSSMB       float64 // the process's peak resident memory while the attempt ran; 0: not measured
}

// GetRun returns everything about run id, or an error wrapping ErrNotFound.
func (db *DB) GetRun(ctx context.Context, id int64) (*RunDetail, error) {
	runs, err := db.loadRuns(ctx, runSet{where: "r.id = ?", args: []any{id}, stepMetrics: true})
	if err == nil && len(runs) == 0 {
		err = fmt.Errorf("no such run (runner ls lists them): %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get run %d from %s: %w", id, db.path, err)
	}
	return &runs[0], nil
}

// exportRunColumns are the run columns ExportRuns starts each row with.
var exportRunColumns = []string{
	"run_id", "experiment", "label", "grid_index", "status", "seed", "attempt", "config_hash",
	"started_at", "ended_at", "duration_s", "final_loss",
	"linear_acc", "linear_f1", "finetune_acc", "finetune_f1",
}

// ExportRuns returns one row a run of the experiment (every experiment when
// experiment is ""), ordered by experiment, grid index, seed and id: the
// exportRunColumns, then every setting as a column (sorted by name; a
// setting named like a run column gets a "param_" prefix, seed is not
// repeated), then one accuracy and one F1 column per kind of evaluation,
// named <protocol>_<features>_<label fraction>_acc|_f1 (e.g.
// finetune_h_0.1_f1). Values are int64, float64, string or nil.
func (db *DB) ExportRuns(ctx context.Context, experiment string) (cols []string, rows [][]any, err error) {
	fail := func(err error) ([]string, [][]any, error) {
		return nil, nil, fmt.Errorf("export runs from %s: %w", db.path, err)
	}
	cond, args := "", []any{}
	if experiment != "" {
		if _, err := db.experimentID(ctx, experiment); err != nil {
			return fail(err)
		}
		cond, args = " WHERE e.name = ?", []any{experiment}
	}

	runCols, runRows, err := db.query(ctx, "SELECT "+strings.Join(prefixed("s.", exportRunColumns), ", ")+
		" FROM run_summary s JOIN experiments e ON e.id = s.experiment_id"+cond+
		" ORDER BY s.experiment, s.grid_index, s.seed, s.run_id", args...)
	if err != nil {
		return fail(err)
	}
	index := make(map[int64]int, len(runRows))
	for i, r := range runRows {
		index[r[0].(int64)] = i
	}

	// Settings.
	type cell struct {
		row int
		col string
		val any
	}
	var cells []cell
	isRunCol := map[string]bool{}
	for _, c := range runCols {
		isRunCol[c] = true
	}
	paramCols := map[string]bool{}
	prows, err := db.db.QueryContext(ctx, `
		SELECT p.run_id, p.key, p.value, p.value_num FROM params p
		  JOIN runs r ON r.id = p.run_id JOIN experiments e ON e.id = r.experiment_id`+cond, args...)
	if err != nil {
		return fail(err)
	}
	defer prows.Close()
	for prows.Next() {
		var (
			runID      int64
			key, value string
			num        sql.NullFloat64
		)
		if err := prows.Scan(&runID, &key, &value, &num); err != nil {
			return fail(err)
		}
		i, ok := index[runID]
		if !ok || key == "seed" {
			continue
		}
		if isRunCol[key] {
			key = "param_" + key
		}
		paramCols[key] = true
		var v any = value
		if num.Valid {
			if n, err := strconv.ParseInt(value, 10, 64); err == nil {
				v = n
			} else {
				v = num.Float64
			}
		}
		cells = append(cells, cell{i, key, v})
	}
	if err := prows.Err(); err != nil {
		return fail(err)
	}

	// Evaluations.
	evalCols := map[string]bool{}
	erows, err := db.db.QueryContext(ctx, `
		SELECT v.run_id, v.protocol, v.features, v.label_fraction, v.accuracy, v.macro_f1 FROM evaluations v
		  JOIN runs r ON r.id = v.run_id JOIN experiments e ON e.id = r.experiment_id`+cond+` ORDER BY v.id`, args...)
	if err != nil {
		return fail(err)
	}
	defer erows.Close()
	for erows.Next() {
		var (
			runID              int64
			protocol, features string
			fraction           float64
			acc, f1            sql.NullFloat64
		)
		if err := erows.Scan(&runID, &protocol, &features, &fraction, &acc, &f1); err != nil {
			return fail(err)
		}
		i, ok := index[runID]
		if !ok {
			continue
		}
		name := protocol
		if features != "" {
			name += "_" + features
		}
		name += "_" + strconv.FormatFloat(fraction, 'g', -1, 64)
		evalCols[name+"_acc"], evalCols[name+"_f1"] = true, true
		cells = append(cells, cell{i, name + "_acc", nullable(acc)}, cell{i, name + "_f1", nullable(f1)})
	}
	if err := erows.Err(); err != nil {
		return fail(err)
	}

	cols = append(cols, runCols...)
	cols = append(cols, sortedKeys(paramCols)...)
	cols = append(cols, sortedKeys(evalCols)...)
	colIndex := make(map[string]int, len(cols))
	for i, c := range cols {
		colIndex[c] = i
	}
	rows = make([][]any, len(runRows))
	for i, r := range runRows {
		rows[i] = make([]any, len(cols))
		copy(rows[i], r)
	}
	for _, c := range cells {
		rows[c.row][colIndex[c.col]] = c.val
	}
	return cols, rows, nil
}

func nullable(v sql.NullFloat64) any {
	if !v.Valid {
		return nil
	}
	return v.Float64
}

func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
