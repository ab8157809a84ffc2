package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simclr-ablate/simclr-ablate/simclr"
	"github.com/simclr-ablate/simclr-ablate/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestPlanGolden compares `runner plan` on testdata/plan.toml (seeds, a
// variant, pairwise rows, an axis, an exclusion) without a database with
// testdata/plan.golden. Run with -update to rewrite it.
func TestPlanGolden(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none", "results.db")
	stdout, stderr := mustRun(t, 0, "plan", "testdata/plan.toml", "--db", db)
	if stderr != "" {
		t.Errorf("plan stderr = %q, want nothing", stderr)
	}
	golden := "testdata/plan.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(stdout), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read %s: %v (run go test -update to create it)", golden, err)
	}
	if stdout != string(want) {
		t.Errorf("runner plan testdata/plan.toml =\n%s\nwant (%s):\n%s", stdout, golden, want)
	}
	if _, err := os.Stat(filepath.Dir(db)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("plan created %s (stat: %v); it must never create the database", filepath.Dir(db), err)
	}

	// run --dry-run prints the same plan and writes nothing either.
	dry, _ := mustRun(t, 0, "run", "testdata/plan.toml", "--dry-run", "--db", db)
	if dry != stdout {
		t.Errorf("run --dry-run =\n%s\nwant the plan:\n%s", dry, stdout)
	}
	if _, err := os.Stat(filepath.Dir(db)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run --dry-run created %s (stat: %v)", filepath.Dir(db), err)
	}
}

func TestFormatEstimate(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"44.4ms", "44ms"},
		{"2.04s", "2s"},
		{"2.16s", "2.2s"},
		{"83.6s", "1m24s"},
		{"2h5m31s", "2h6m"},
	}
	for _, tt := range tests {
		d, err := time.ParseDuration(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := formatEstimate(d); got != tt.want {
			t.Errorf("formatEstimate(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestPlanEstimateScalesSteps checks the estimate of a cell that trains on
// more images than the finished runs like it: the same epochs on twice the
// pretraining images are twice the steps, so the estimate is the run's
// duration plus its pretraining time again — not the run's duration, which
// matching on epochs alone gave (a 29-minute cell was once estimated at 7).
func TestPlanEstimateScalesSteps(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "results.db")
	db, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	expID, err := db.EnsureExperiment(ctx, "earlier", "", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := simclr.DefaultConfig()
	cfg.Dataset, cfg.SyntheticSize, cfg.ImageSize = "synthetic", 1024, 16
	cfg.BatchSize, cfg.Epochs, cfg.PretrainSubset = 64, 2, 512 // 8 steps an epoch, 16 in all
	key := store.CellKey{Experiment: "earlier", ConfigHash: cfg.Hash(), Seed: cfg.Seed}
	id, claimed, _, err := db.Claim(ctx, expID, "half", cfg, key, store.Provenance{GOMAXPROCS: 2}, store.ClaimPolicy{})
	if err != nil || !claimed {
		t.Fatalf("claim: %v (claimed %v)", err, claimed)
	}
	res := &simclr.Result{Epochs: []simclr.EpochStats{{Epoch: 1, Epochs: 2, Steps: 8}, {Epoch: 2, Epochs: 2, Steps: 8}},
		PretrainTime: 100 * time.Second, EvalTime: 20 * time.Second}
	if err := db.Finish(ctx, id, res); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE runs SET duration_s = 120 WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	grid := filepath.Join(dir, "grid.toml")
	if err := os.WriteFile(grid, []byte(`name = "full"
[base]
dataset = "synthetic"
synthetic_size = 1024
image_size = 16
batch_size = 64
epochs = 2
[[variant]]
label = "half"
pretrain_subset = 512
[[variant]]
label = "all"
pretrain_subset = 0
`), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _ := mustRun(t, 0, "plan", grid, "--db", dbPath)
	for label, want := range map[string]string{
		"half": "2m0s",  // the same cell: the run's duration
		"all":  "3m40s", // 120 s + 100 s × (32 − 16) / 16
	} {
		found := false
		for _, line := range strings.Split(stdout, "\n") {
			f := strings.Fields(line)
			if len(f) > 0 && slices.Contains(f, label) {
				found = true
				if f[len(f)-1] != want {
					t.Errorf("cell %q: estimate %s, want %s\n%s", label, f[len(f)-1], want, stdout)
				}
			}
		}
		if !found {
			t.Errorf("cell %q missing from the plan:\n%s", label, stdout)
		}
	}
}
