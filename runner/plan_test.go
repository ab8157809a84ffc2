package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
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
