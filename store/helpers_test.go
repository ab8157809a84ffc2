package store

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
)

// testClock is a settable clock for DB.now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock {
	return &testClock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openTest opens a fresh results.db in t.TempDir() with a test clock, and
// checks PRAGMA integrity_check and foreign_key_check when the test ends.
func openTest(t testing.TB) (*DB, *testClock) {
	t.Helper()
	return openTestAt(t, filepath.Join(t.TempDir(), "results.db"))
}

func openTestAt(t testing.TB, path string) (*DB, *testClock) {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%s) = %v", path, err)
	}
	clk := newClock()
	db.now = clk.now
	t.Cleanup(func() {
		checkIntegrity(t, db)
		if err := db.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return db, clk
}

func checkIntegrity(t testing.TB, db *DB) {
	t.Helper()
	var res string
	if err := db.db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Errorf("PRAGMA integrity_check = %q, %v, want ok", res, err)
	}
	rows, err := db.db.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatalf("PRAGMA foreign_key_check: %v", err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Errorf("PRAGMA foreign_key_check found violations")
	}
}

func testConfig(seed int64, mods ...func(*config.Config)) config.Config {
	c := config.DefaultConfig()
	c.Dataset = "synthetic"
	c.Seed = seed
	for _, m := range mods {
		m(&c)
	}
	return c
}

func keyOf(cfg config.Config) CellKey {
	return CellKey{ConfigHash: cfg.Hash(), Seed: cfg.Seed}
}

var testProv = Provenance{GitCommit: "abc123", GitDirty: true, GoVersion: "go1.26", GOMAXPROCS: 2, Host: "box", PID: 42}

func mustExperiment(t testing.TB, db *DB, name string) int64 {
	t.Helper()
	id, err := db.EnsureExperiment(context.Background(), name, "test experiment", "experiments/"+name+".toml")
	if err != nil {
		t.Fatalf("EnsureExperiment(%q) = %v", name, err)
	}
	return id
}

// mustClaim claims a new cell and fails the test unless it was claimed.
func mustClaim(t testing.TB, db *DB, expID int64, label string, cfg config.Config) int64 {
	t.Helper()
	id, claimed, prev, err := db.Claim(context.Background(), expID, label, cfg, keyOf(cfg), testProv, ClaimPolicy{})
	if err != nil || !claimed {
		t.Fatalf("Claim(%s, seed %d) = %d, %v, %q, %v, want claimed", label, cfg.Seed, id, claimed, prev, err)
	}
	return id
}

func epochStats(epoch int, loss float64) metrics.EpochStats {
	return metrics.EpochStats{
		Epoch: epoch, Epochs: 10, Steps: 39, Loss: loss, LR: 1e-3, ImagesPerSec: 850.5,
		ContrastiveAcc: 0.25 + 0.01*float64(epoch), PositiveCos: 0.5, Duration: 12500 * time.Millisecond,
	}
}

func evaluation(protocol, features string, fraction, acc, f1 float64) metrics.Evaluation {
	return metrics.Evaluation{
		Protocol: protocol, Features: features, LabelFraction: fraction, TrainSize: 1000, TestSize: 250,
		Accuracy: acc, MacroF1: f1, PerClassF1: []float64{f1 - 0.1, f1 + 0.1},
		Confusion: [][]int{{100, 25}, {30, 95}}, Classes: []string{"a", "b"}, Duration: 3.5,
	}
}

func result(evals ...metrics.Evaluation) *metrics.Result {
	return &metrics.Result{
		Epochs:          []metrics.EpochStats{epochStats(1, 5.0), epochStats(2, 4.5)},
		FinalLoss:       4.5,
		Evaluations:     evals,
		DatasetChecksum: "sha256:feed",
		PretrainTime:    25 * time.Second,
		EvalTime:        7 * time.Second,
	}
}

// countRows returns SELECT count(*) FROM table [WHERE cond].
func countRows(t testing.TB, db *DB, table, cond string, args ...any) int {
	t.Helper()
	q := "SELECT count(*) FROM " + table
	if cond != "" {
		q += " WHERE " + cond
	}
	var n int
	if err := db.db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
