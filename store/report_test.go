package store

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
)

// reportCell is a cell of reportFixture's experiment "e".
type reportCell struct {
	index int
	seed  int64
	head  string
}

// reportFixture fills experiment "e" with four runs, claimed in an order
// unlike grid order, and "other" with one. Run (0, 1) finishes with per-step
// losses, every kind of evaluation and a peak RSS; (1, 2) fails, is retried
// and interrupted; the others stay running. Between them the runs of "e"
// set every field of RunDetail.
func reportFixture(t *testing.T) (*DB, map[reportCell]int64) {
	t.Helper()
	db, clk := openTest(t)
	ctx := context.Background()
	exp := mustExperiment(t, db, "e")
	other := mustExperiment(t, db, "other")
	cells := []reportCell{{1, 2, "linear"}, {0, 1, "none"}, {1, 1, "linear"}, {0, 2, "none"}}
	ids := map[reportCell]int64{}
	for _, c := range cells {
		clk.advance(time.Minute)
		cfg := testConfig(c.seed, func(cfg *config.Config) { cfg.Head = c.head })
		key := keyOf(cfg)
		key.Index = c.index
		id, claimed, _, err := db.Claim(ctx, exp, "head="+c.head, cfg, key, testProv, ClaimPolicy{})
		if err != nil || !claimed {
			t.Fatalf("Claim(%v) = %d, %v, %v", c, id, claimed, err)
		}
		ids[c] = id
	}
	if err := db.RecordSteps(ctx, ids[cells[1]], []metrics.StepStats{{Epoch: 1, Step: 1, Loss: 6}}); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordPeakRSS(ctx, ids[cells[1]], 612.5); err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Minute)
	if err := db.Finish(ctx, ids[cells[1]], result(evaluation("linear", "h", 1, 0.8, 0.79), evaluation("linear", "z", 1, 0.7, 0.69),
		evaluation("finetune", "h", 0.1, 0.75, 0.74))); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkFailed(ctx, ids[cells[0]], StatusFailed, "out of memory\nstack"); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(2, func(cfg *config.Config) { cfg.Head = "linear" })
	key := keyOf(cfg)
	key.Index = 1
	if _, claimed, _, err := db.Claim(ctx, exp, "head=linear", cfg, key, testProv, ClaimPolicy{RetryFailed: true}); err != nil || !claimed {
		t.Fatalf("Claim(retry) = %v, %v", claimed, err)
	}
	if err := db.MarkFailed(ctx, ids[cells[0]], StatusInterrupted, "interrupted"); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, db, other, "x", testConfig(1))
	return db, ids
}

func TestReportRuns(t *testing.T) {
	db, ids := reportFixture(t)
	ctx := context.Background()
	runs, err := db.ReportRuns(ctx, "e")
	if err != nil {
		t.Fatalf("ReportRuns(e) = %v", err)
	}
	want := []reportCell{{0, 1, "none"}, {0, 2, "none"}, {1, 1, "linear"}, {1, 2, "linear"}}
	if len(runs) != len(want) {
		t.Fatalf("ReportRuns(e) returned %d runs, want %d", len(runs), len(want))
	}
	for i, r := range runs {
		if r.ID != ids[want[i]] {
			t.Errorf("ReportRuns(e)[%d].ID = %d, want %d (grid index %d, seed %d)", i, r.ID, ids[want[i]], want[i].index, want[i].seed)
		}
	}
	if got := runs[0]; len(got.Evaluations) != 3 || len(got.Epochs) != 2 || got.Status != StatusFinished || got.PeakRSSMB != 612.5 {
		t.Errorf("finished run: %d evaluations, %d epochs, status %s, peak RSS %v MB, want 3, 2, finished, 612.5",
			len(got.Evaluations), len(got.Epochs), got.Status, got.PeakRSSMB)
	}
	if got := runs[3]; len(got.Attempts) != 1 || got.Attempts[0].Status != StatusFailed || got.Status != StatusInterrupted {
		t.Errorf("retried run: attempts %+v, status %s, want one failed attempt, status interrupted", got.Attempts, got.Status)
	}

	if _, err := db.ReportRuns(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReportRuns(nope) = %v, want ErrNotFound", err)
	}
	if runs, err := db.ReportRuns(ctx, "other"); err != nil || len(runs) != 1 {
		t.Errorf("ReportRuns(other) = %d runs, %v, want 1", len(runs), err)
	}
}

// TestReportRunsAsGetRun checks that ReportRuns fills each run as GetRun
// does (but for the per-step metric rows), on runs that between them set
// every field of RunDetail, so that a field one of them forgets shows.
func TestReportRunsAsGetRun(t *testing.T) {
	db, _ := reportFixture(t)
	ctx := context.Background()
	runs, err := db.ReportRuns(ctx, "e")
	if err != nil {
		t.Fatalf("ReportRuns(e) = %v", err)
	}
	for i, r := range runs {
		g, err := db.GetRun(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		var epochRows []Metric
		for _, m := range g.Metrics {
			if m.Step == 0 {
				epochRows = append(epochRows, m)
			}
		}
		if len(epochRows) == len(g.Metrics) && r.Status == StatusFinished {
			t.Errorf("GetRun(%d) has no per-step metric rows, want the fixture's", r.ID)
		}
		g.Metrics = epochRows
		if !equalNaN(r, *g) {
			t.Errorf("ReportRuns(e)[%d] = %+v,\nwant GetRun's %+v", i, r, *g)
		}
	}
	for _, name := range unsetFields(runs) {
		t.Errorf("RunDetail.%s is zero in every run of the fixture: set it, so the comparison covers it", name)
	}
}

// unsetFields names the fields of RunDetail (and its RunRow) that are zero
// in every one of runs.
func unsetFields(runs []RunDetail) []string {
	var unset []string
	var walk func(prefix string, vs []reflect.Value)
	walk = func(prefix string, vs []reflect.Value) {
		typ := vs[0].Type()
		for f := 0; f < typ.NumField(); f++ {
			field := typ.Field(f)
			fvs := make([]reflect.Value, len(vs))
			set := false
			for i, v := range vs {
				fvs[i] = v.Field(f)
				set = set || !fvs[i].IsZero()
			}
			switch {
			case field.Anonymous:
				walk(prefix+field.Name+".", fvs)
			case !set:
				unset = append(unset, prefix+field.Name)
			}
		}
	}
	vs := make([]reflect.Value, len(runs))
	for i := range runs {
		vs[i] = reflect.ValueOf(runs[i])
	}
	if len(vs) > 0 {
		walk("", vs)
	}
	return unset
}

// equalNaN is reflect.DeepEqual with NaN equal to NaN (stored NULLs).
func equalNaN(a, b RunDetail) bool {
	clean := func(d RunDetail) RunDetail {
		for i := range d.Metrics {
			if math.IsNaN(d.Metrics[i].Value) {
				d.Metrics[i].Value = -1
			}
		}
		return d
	}
	return reflect.DeepEqual(clean(a), clean(b))
}

func TestSetClockAndSchemaVersion(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	at := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	db.SetClock(func() time.Time { return at })
	mustExperiment(t, db, "e")
	exps, err := db.ListExperiments(ctx)
	if err != nil || len(exps) != 1 || !exps[0].CreatedAt.Equal(at) {
		t.Errorf("ListExperiments() after SetClock(%v) = %+v, %v, want created_at %v", at, exps, err, at)
	}
	db.SetClock(nil)
	if d := time.Since(db.now()); d < 0 || d > time.Minute {
		t.Errorf("SetClock(nil): now() is %v from time.Now, want the real clock", d)
	}
	v, err := db.SchemaVersion(ctx)
	if known, _ := knownVersion(); err != nil || v != known {
		t.Errorf("SchemaVersion() = %d, %v, want %d", v, err, known)
	}
}

func TestIsStatementError(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	tests := []struct {
		query string
		want  bool
	}{
		{"SELECT nope FROM runs", true},
		{"SELECT * FROM no_such_table", true},
		{"SELEC 1", false},              // refused by the text check before SQLite sees it
		{"DELETE FROM runs", false},     // refused
		{"SELECT 1 FROM runs (", true},  // syntax error
		{"SELECT * FROM runs", false},   // fine
		{"select 1; select 2", false},   // refused
		{"SELECT json('{') AS j", true}, // a bad argument
	}
	for _, tt := range tests {
		_, _, err := db.Query(ctx, tt.query)
		if got := IsStatementError(err); got != tt.want {
			t.Errorf("IsStatementError(Query(%q) = %v) = %v, want %v", tt.query, err, got, tt.want)
		}
	}
}
