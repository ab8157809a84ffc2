package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
)

// fixture fills a DB with five runs (ids 1..5, started in that order):
//
//	1 aug   crop+color nonlinear seed 1  finished  linear h .81, z .69; finetune .01 .58, .1 .84
//	2 aug   crop       nonlinear seed 1  finished  linear h .55
//	3 aug   crop+color linear    seed 2  failed
//	4 aug   raw-pixels           seed 1  finished  linear pixels .72
//	5 other defaults             seed 1  running
type fixture struct {
	db   *DB
	clk  *testClock
	cfgs map[int64]config.Config
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, clk := openTest(t)
	ctx := context.Background()
	f := &fixture{db: db, clk: clk, cfgs: map[int64]config.Config{}}
	aug := mustExperiment(t, db, "aug")
	other := mustExperiment(t, db, "other")
	add := func(expID int64, label string, cfg config.Config) int64 {
		clk.advance(time.Minute)
		id := mustClaim(t, db, expID, label, cfg)
		f.cfgs[id] = cfg
		return id
	}
	finish := func(id int64, evals ...metrics.Evaluation) {
		clk.advance(30 * time.Second)
		if err := db.Finish(ctx, id, result(evals...)); err != nil {
			t.Fatal(err)
		}
	}
	id := add(aug, "crop+color", testConfig(1))
	finish(id, evaluation("linear", "z", 1, 0.7, 0.69), evaluation("linear", "h", 1, 0.8, 0.81),
		evaluation("finetune", "h", 0.01, 0.6, 0.58), evaluation("finetune", "h", 0.1, 0.85, 0.84))
	id = add(aug, "crop", testConfig(1, func(c *config.Config) { c.Augment = []string{"crop"} }))
	finish(id, evaluation("linear", "h", 1, 0.6, 0.55))
	id = add(aug, "linear head", testConfig(2, func(c *config.Config) { c.Head = "linear" }))
	if err := db.MarkFailed(ctx, id, StatusFailed, "diverged\ntrace"); err != nil {
		t.Fatal(err)
	}
	id = add(aug, "pixels", testConfig(1, func(c *config.Config) { c.Method = config.MethodRawPixels }))
	finish(id, evaluation("linear", "pixels", 1, 0.7, 0.72))
	add(other, "default", testConfig(1))
	return f
}

func f64(v float64) *float64 { return &v }

func TestRunSummaryView(t *testing.T) {
	f := newFixture(t)
	cols, rows, err := f.db.Query(context.Background(), `
		SELECT run_id, experiment, label, settings, head, batch_size, temperature, status,
		       linear_acc, linear_f1, finetune_acc, finetune_f1, finetune_label_fraction
		  FROM run_summary ORDER BY run_id`)
	if err != nil {
		t.Fatalf("Query(run_summary) = %v", err)
	}
	if len(cols) != 13 {
		t.Fatalf("run_summary columns = %v", cols)
	}
	want := [][]any{
		{int64(1), "aug", "crop+color", `augment=["crop","color"] head=nonlinear method=simclr`, "nonlinear", int64(256), 0.5, "finished", 0.8, 0.81, 0.85, 0.84, 0.1},
		{int64(2), "aug", "crop", `augment=["crop"] head=nonlinear method=simclr`, "nonlinear", int64(256), 0.5, "finished", 0.6, 0.55, nil, nil, nil},
		{int64(3), "aug", "linear head", `augment=["crop","color"] head=linear method=simclr`, "linear", int64(256), 0.5, "failed", nil, nil, nil, nil, nil},
		{int64(4), "aug", "pixels", `augment=["crop","color"] head=nonlinear method=raw-pixels`, "nonlinear", int64(256), 0.5, "finished", 0.7, 0.72, nil, nil, nil},
		{int64(5), "other", "default", "", "nonlinear", int64(256), 0.5, "running", nil, nil, nil, nil, nil},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("run_summary rows:\n got %v\nwant %v", rows, want)
	}
	if n := countRows(t, f.db, "run_summary", ""); n != countRows(t, f.db, "runs", "") {
		t.Errorf("run_summary has %d rows, runs %d: want one row a run", n, countRows(t, f.db, "runs", ""))
	}
}

func ids(rows []RunRow) []int64 {
	out := []int64{}
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

func TestListRuns(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cases := []struct {
		f    RunFilter
		want []int64
	}{
		{RunFilter{}, []int64{5, 4, 3, 2, 1}},
		{RunFilter{Limit: 2}, []int64{5, 4}},
		{RunFilter{Experiment: "aug"}, []int64{4, 3, 2, 1}},
		{RunFilter{Status: StatusFinished}, []int64{4, 2, 1}},
		{RunFilter{Experiment: "aug", Status: StatusRunning}, []int64{}},
		{RunFilter{Where: "head = 'nonlinear' and linear_f1 > 0.8"}, []int64{1}},
		{RunFilter{Where: "HEAD = 'nonlinear' AND linear_f1 > 0.8"}, []int64{1}},
		{RunFilter{Where: "linear_f1 > 0.5 or status = 'failed'"}, []int64{4, 3, 2, 1}},
		{RunFilter{Where: "augment like '%color%'"}, []int64{5, 4, 3, 1}},
		{RunFilter{Where: "augment = '[\"crop\"]'"}, []int64{2}},
		{RunFilter{Where: "augment not like '%color%'"}, []int64{2}},
		{RunFilter{Where: "batch_size >= 256 and not (head = 'linear')"}, []int64{5, 4, 2, 1}},
		{RunFilter{Where: "batch_size > 256"}, []int64{}},
		{RunFilter{Where: "temperature = 0.5 and lr < 0.01 and weight_decay <= 1e-6"}, []int64{5, 4, 3, 2, 1}},
		{RunFilter{Where: "finetune_f1 is null"}, []int64{5, 4, 3, 2}},
		{RunFilter{Where: "finetune_f1 is not null"}, []int64{1}},
		{RunFilter{Where: "seed = 2"}, []int64{3}},
		{RunFilter{Where: "seed != 1"}, []int64{3}},
		{RunFilter{Where: "method = 'raw-pixels'"}, []int64{4}},
		{RunFilter{Where: "(status = 'finished' or status = 'failed') and seed = 1"}, []int64{4, 2, 1}},
		{RunFilter{Where: "label = 'crop+color' or label = 'pixels'"}, []int64{4, 1}},
		{RunFilter{Where: "experiment = 'other'"}, []int64{5}},
		{RunFilter{Where: "settings like '%head=linear%'"}, []int64{3}},
		{RunFilter{Experiment: "aug", Where: "linear_f1 >= 0.55", Limit: 1}, []int64{4}},
		// Injection attempts are plain string values.
		{RunFilter{Where: "head = 'x'' or ''1''=''1'"}, []int64{}},
		{RunFilter{Where: "label = '1''); DROP TABLE runs; --'"}, []int64{}},
	}
	for _, c := range cases {
		rows, err := f.db.ListRuns(ctx, c.f)
		if err != nil {
			t.Errorf("ListRuns(%+v) error = %v", c.f, err)
			continue
		}
		if got := ids(rows); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ListRuns(%+v) = %v, want %v", c.f, got, c.want)
		}
	}
	if n := countRows(t, f.db, "runs", ""); n != 5 {
		t.Errorf("runs after the filters = %d, want 5", n)
	}

	rows, err := f.db.ListRuns(ctx, RunFilter{Where: "run_id = 1"})
	if err != nil || len(rows) != 1 {
		t.Fatalf("ListRuns(run_id = 1) = %v, %v", rows, err)
	}
	r := rows[0]
	want := RunRow{ID: 1, Experiment: "aug", Label: "crop+color", Settings: `augment=["crop","color"] head=nonlinear method=simclr`,
		Status: StatusFinished, Seed: 1, ConfigHash: f.cfgs[1].Hash(), Attempt: 1,
		StartedAt: time.Date(2024, 5, 1, 12, 1, 0, 0, time.UTC), EndedAt: time.Date(2024, 5, 1, 12, 1, 30, 0, time.UTC),
		HeartbeatAt: time.Date(2024, 5, 1, 12, 1, 30, 0, time.UTC), Duration: 30 * time.Second,
		FinalLoss: f64(4.5), LinearAcc: f64(0.8), LinearF1: f64(0.81), FinetuneAcc: f64(0.85), FinetuneF1: f64(0.84)}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("ListRuns(run_id = 1)[0] =\n %+v\nwant\n %+v", r, want)
	}
}

func TestListRunsErrors(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		f    RunFilter
		want string
	}{
		{RunFilter{Experiment: "nope"}, `experiment "nope" not in`},
		{RunFilter{Experiment: "nope"}, "known: aug, other"},
		{RunFilter{Status: "done"}, "valid: queued, running, finished, failed, interrupted"},
		{RunFilter{Where: "foo = 1"}, `unknown name "foo"`},
		{RunFilter{Where: "foo = 1"}, "linear_f1"},
		{RunFilter{Where: "head = 'x'; drop table runs"}, `unexpected ';'`},
		{RunFilter{Where: "linear_f1 >"}, "expected a name, string or number"},
	}
	for _, c := range cases {
		_, err := f.db.ListRuns(context.Background(), c.f)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ListRuns(%+v) = %v, want an error containing %q", c.f, err, c.want)
		}
	}
	if _, err := f.db.ListRuns(context.Background(), RunFilter{Experiment: "nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("ListRuns(unknown experiment) = %v, want ErrNotFound", err)
	}
}

func TestGetRun(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	d, err := f.db.GetRun(ctx, 1)
	if err != nil {
		t.Fatalf("GetRun(1) = %v", err)
	}
	if !reflect.DeepEqual(d.Config, f.cfgs[1]) {
		t.Errorf("GetRun(1).Config = %+v, want %+v", d.Config, f.cfgs[1])
	}
	if d.Provenance != testProv {
		t.Errorf("GetRun(1).Provenance = %+v, want %+v", d.Provenance, testProv)
	}
	if len(d.Params) != len(configKeys) || d.Params[0].Key != configKeys[0] {
		t.Errorf("GetRun(1).Params = %d params starting %v, want %d sorted", len(d.Params), d.Params[0], len(configKeys))
	}
	if len(d.Evaluations) != 4 || d.Evaluations[1].Features != "h" || d.Evaluations[3].LabelFraction != 0.1 {
		t.Errorf("GetRun(1).Evaluations = %+v, want the 4 stored, in order", d.Evaluations)
	}
	wantEpochs := []metrics.EpochStats{epochStats(1, 5), epochStats(2, 4.5)}
	for i := range wantEpochs {
		wantEpochs[i].Epochs = f.cfgs[1].Epochs
	}
	if !reflect.DeepEqual(d.Epochs, wantEpochs) {
		t.Errorf("GetRun(1).Epochs = %+v, want %+v", d.Epochs, wantEpochs)
	}
	if len(d.Metrics) != 2*len(EpochMetricKeys) {
		t.Errorf("GetRun(1).Metrics has %d rows, want %d", len(d.Metrics), 2*len(EpochMetricKeys))
	}
	if d.DatasetChecksum != "sha256:feed" || d.CreatedAt.IsZero() || d.ExperimentID != 1 {
		t.Errorf("GetRun(1) checksum %q created %v experiment %d", d.DatasetChecksum, d.CreatedAt, d.ExperimentID)
	}
	d3, err := f.db.GetRun(ctx, 3)
	if err != nil || d3.ErrorText != "diverged\ntrace" || d3.Error != "diverged" {
		t.Errorf("GetRun(3) error text %q, first line %q, %v, want \"diverged\\ntrace\", \"diverged\"", d3.ErrorText, d3.Error, err)
	}
	if _, err := f.db.GetRun(ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetRun(99) = %v, want ErrNotFound", err)
	}
}

func TestExportRuns(t *testing.T) {
	f := newFixture(t)
	cols, rows, err := f.db.ExportRuns(context.Background(), "aug")
	if err != nil {
		t.Fatalf("ExportRuns(aug) = %v", err)
	}
	if len(rows) != 4 {
		t.Fatalf("ExportRuns(aug) gave %d rows, want 4", len(rows))
	}
	col := map[string]int{}
	for i, c := range cols {
		if _, dup := col[c]; dup {
			t.Errorf("ExportRuns column %q appears twice", c)
		}
		col[c] = i
	}
	for _, c := range append(append([]string{}, exportRunColumns...), "head", "augment", "batch_size", "temperature",
		"linear_h_1_f1", "linear_z_1_acc", "finetune_h_0.01_f1", "finetune_h_0.1_f1", "linear_pixels_1_f1") {
		if _, ok := col[c]; !ok {
			t.Errorf("ExportRuns columns %v lack %q", cols, c)
		}
	}
	if _, ok := col["param_seed"]; ok {
		t.Errorf("ExportRuns repeats seed as param_seed")
	}
	if got := len(cols); got != len(exportRunColumns)+len(configKeys)-1+10 {
		t.Errorf("ExportRuns has %d columns, want %d run + %d settings + 10 scores", got, len(exportRunColumns), len(configKeys)-1)
	}
	first := rows[0] // grid order: run 1
	checks := map[string]any{
		"run_id": int64(1), "label": "crop+color", "head": "nonlinear", "batch_size": int64(256),
		"temperature": 0.5, "augment": `["crop","color"]`, "linear_f1": 0.81, "finetune_h_0.01_f1": 0.58,
		"linear_pixels_1_f1": nil, "status": "finished",
	}
	for c, want := range checks {
		if got := first[col[c]]; !reflect.DeepEqual(got, want) {
			t.Errorf("ExportRuns row 1 %s = %#v, want %#v", c, got, want)
		}
	}
	_, all, err := f.db.ExportRuns(context.Background(), "")
	if err != nil || len(all) != 5 {
		t.Errorf("ExportRuns(\"\") = %d rows, %v, want 5", len(all), err)
	}
	if _, _, err := f.db.ExportRuns(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ExportRuns(nope) = %v, want ErrNotFound", err)
	}
}

func TestListExperiments(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// EnsureExperiment on an existing name returns its id and updates the description.
	id, err := f.db.EnsureExperiment(ctx, "aug", "new words", "")
	if err != nil || id != 1 {
		t.Fatalf("EnsureExperiment(aug again) = %d, %v, want 1", id, err)
	}
	exps, err := f.db.ListExperiments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(exps) != 2 || exps[0].Name != "aug" || exps[0].Runs != 4 || exps[0].Description != "new words" ||
		exps[0].GridPath != "experiments/aug.toml" || exps[1].Runs != 1 {
		t.Errorf("ListExperiments() = %+v, want aug (4 runs, \"new words\", experiments/aug.toml), other (1 run)", exps)
	}
	if _, err := f.db.EnsureExperiment(ctx, "", "", ""); err == nil {
		t.Errorf("EnsureExperiment(\"\") = nil error, want an error")
	}
}
