package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

// TestClaimPolicyTable claims a cell found in every status under every
// policy.
func TestClaimPolicyTable(t *testing.T) {
	const stale = time.Minute
	type setup func(t *testing.T, db *DB, clk *testClock, expID int64, cfg config.Config)
	finish := func(t *testing.T, db *DB, clk *testClock, expID int64, cfg config.Config) {
		id := mustClaim(t, db, expID, "l", cfg)
		if err := db.Finish(context.Background(), id, result(evaluation("linear", "h", 1, 0.8, 0.79))); err != nil {
			t.Fatal(err)
		}
	}
	fail := func(status string) setup {
		return func(t *testing.T, db *DB, clk *testClock, expID int64, cfg config.Config) {
			id := mustClaim(t, db, expID, "l", cfg)
			if err := db.MarkFailed(context.Background(), id, status, "boom\ntrace"); err != nil {
				t.Fatal(err)
			}
		}
	}
	running := func(age time.Duration) setup {
		return func(t *testing.T, db *DB, clk *testClock, expID int64, cfg config.Config) {
			mustClaim(t, db, expID, "l", cfg)
			clk.advance(age)
		}
	}
	queued := func(t *testing.T, db *DB, clk *testClock, expID int64, cfg config.Config) {
		if _, err := db.db.Exec(`INSERT INTO runs (experiment_id, config_json, config_hash, seed, status, created_at)
			VALUES (?, '{}', ?, ?, 'queued', '')`, expID, cfg.Hash(), cfg.Seed); err != nil {
			t.Fatal(err)
		}
	}
	states := []struct {
		name       string
		setup      setup
		prevStatus string
	}{
		{"absent", nil, ""},
		{"finished", finish, StatusFinished},
		{"failed", fail(StatusFailed), StatusFailed},
		{"interrupted", fail(StatusInterrupted), StatusInterrupted},
		{"running fresh", running(stale / 2), StatusRunning},
		{"running stale", running(stale + time.Second), StatusRunning},
		{"queued", queued, StatusQueued},
	}
	policies := []struct {
		name string
		pol  ClaimPolicy
	}{
		{"default", ClaimPolicy{StaleAfter: stale}},
		{"retry-failed", ClaimPolicy{RetryFailed: true, StaleAfter: stale}},
		{"force", ClaimPolicy{Force: true, StaleAfter: stale}},
	}
	// want[state][policy]: claimed?
	want := map[string][3]bool{
		"absent":        {true, true, true},
		"finished":      {false, false, true},
		"failed":        {false, true, true},
		"interrupted":   {false, true, true},
		"running fresh": {false, false, false},
		"running stale": {true, true, true},
		"queued":        {true, true, true},
	}
	for _, st := range states {
		for pi, p := range policies {
			t.Run(st.name+"/"+p.name, func(t *testing.T) {
				db, clk := openTest(t)
				ctx := context.Background()
				expID := mustExperiment(t, db, "e")
				cfg := testConfig(7)
				var prevID int64
				prevAttempt := 0
				if st.setup != nil {
					st.setup(t, db, clk, expID, cfg)
					if err := db.db.QueryRow(`SELECT id, attempt FROM runs`).Scan(&prevID, &prevAttempt); err != nil {
						t.Fatal(err)
					}
				}
				other, _ := openTestAt(t, db.path) // another process
				other.now = clk.now
				id, claimed, prev, err := other.Claim(ctx, expID, "l2", cfg, keyOf(cfg), testProv, p.pol)
				if err != nil {
					t.Fatalf("Claim() error = %v", err)
				}
				w := want[st.name][pi]
				if claimed != w || prev != st.prevStatus {
					t.Errorf("Claim() = claimed %v, prev %q, want claimed %v, prev %q", claimed, prev, w, st.prevStatus)
				}
				if prevID != 0 && id != prevID {
					t.Errorf("Claim() run id = %d, want the existing %d", id, prevID)
				}
				if n := countRows(t, db, "runs", ""); n != 1 {
					t.Errorf("runs rows = %d, want 1", n)
				}
				var status, label string
				var attempt int
				if err := db.db.QueryRow(`SELECT status, attempt, label FROM runs`).Scan(&status, &attempt, &label); err != nil {
					t.Fatal(err)
				}
				wantAttempt, wantStatus, wantLabel := prevAttempt, st.prevStatus, "l"
				if claimed {
					wantAttempt, wantStatus, wantLabel = prevAttempt+1, StatusRunning, "l2"
				}
				if attempt != wantAttempt || status != wantStatus || label != wantLabel {
					t.Errorf("after Claim: status %q attempt %d label %q, want %q %d %q", status, attempt, label, wantStatus, wantAttempt, wantLabel)
				}
				if n := countRows(t, db, "run_attempts", ""); claimed && prevAttempt > 0 && n != 1 {
					t.Errorf("run_attempts rows = %d, want 1 (the previous attempt)", n)
				}
				if claimed && st.name == "finished" {
					if n := countRows(t, db, "evaluations", ""); n != 0 {
						t.Errorf("evaluations after a forced claim of a finished run = %d, want 0", n)
					}
				}
				if claimed {
					var errText *string
					if err := db.db.QueryRow(`SELECT error FROM runs`).Scan(&errText); err != nil || errText != nil {
						t.Errorf("error column after claim = %v, %v, want NULL", errText, err)
					}
					if n := countRows(t, db, "params", "run_id = ?", id); n != len(configKeys) {
						t.Errorf("params rows = %d, want %d", n, len(configKeys))
					}
				}
			})
		}
	}
}

func TestClaimKeepsErrorHistory(t *testing.T) {
	db, clk := openTest(t)
	ctx := context.Background()
	expID := mustExperiment(t, db, "e")
	cfg := testConfig(1)
	id := mustClaim(t, db, expID, "l", cfg)
	clk.advance(time.Second)
	if err := db.MarkFailed(ctx, id, StatusFailed, "out of memory"); err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Second)
	if _, ok, _, err := db.Claim(ctx, expID, "l", cfg, keyOf(cfg), testProv, ClaimPolicy{RetryFailed: true}); err != nil || !ok {
		t.Fatalf("Claim(RetryFailed) = %v, %v, want claimed", ok, err)
	}
	d, err := db.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Attempt != 2 || d.Status != StatusRunning || d.ErrorText != "" {
		t.Errorf("GetRun after retry = attempt %d status %q error %q, want 2 running \"\"", d.Attempt, d.Status, d.ErrorText)
	}
	if len(d.Attempts) != 1 || d.Attempts[0].Attempt != 1 || d.Attempts[0].Status != StatusFailed ||
		d.Attempts[0].Error != "out of memory" || d.Attempts[0].Duration != time.Second {
		t.Errorf("GetRun().Attempts = %+v, want attempt 1 failed \"out of memory\" lasting 1s", d.Attempts)
	}
}

func TestClaimChecksArguments(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	expID := mustExperiment(t, db, "e")
	cfg := testConfig(3)
	cases := []struct {
		name  string
		expID int64
		key   CellKey
		want  string
	}{
		{"seed differs", expID, CellKey{Seed: 4}, "seed"},
		{"unknown experiment", expID + 100, CellKey{Seed: 3}, "EnsureExperiment"},
		{"experiment name differs", expID, CellKey{Experiment: "other", Seed: 3}, `"other"`},
	}
	for _, c := range cases {
		_, claimed, _, err := db.Claim(ctx, c.expID, "l", cfg, c.key, testProv, ClaimPolicy{})
		if err == nil || claimed || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Claim(%d, %+v) = %v, %v, want an error mentioning %s", c.name, c.expID, c.key, claimed, err, c.want)
		}
	}
	if n := countRows(t, db, "runs", ""); n != 0 {
		t.Errorf("runs rows after refused claims = %d, want 0", n)
	}
	// An empty ConfigHash means cfg.Hash().
	id, claimed, _, err := db.Claim(ctx, expID, "l", cfg, CellKey{Experiment: "e", Seed: 3, Index: 5}, testProv, ClaimPolicy{})
	if err != nil || !claimed {
		t.Fatalf("Claim(empty hash) = %v, %v", claimed, err)
	}
	status, gotID, err := db.CellStatus(ctx, "e", keyOf(cfg))
	if err != nil || status != StatusRunning || gotID != id {
		t.Errorf("CellStatus(e, %s) = %q, %d, %v, want running, %d", cfg.Hash(), status, gotID, err, id)
	}
	status, gotID, err = db.CellStatus(ctx, "e", CellKey{ConfigHash: cfg.Hash(), Seed: 99})
	if err != nil || status != "" || gotID != 0 {
		t.Errorf("CellStatus(absent cell) = %q, %d, %v, want \"\", 0, nil", status, gotID, err)
	}
	var idx int
	if err := db.db.QueryRow(`SELECT grid_index FROM runs WHERE id = ?`, id).Scan(&idx); err != nil || idx != 5 {
		t.Errorf("grid_index = %d, %v, want 5", idx, err)
	}
}

// TestClaimConcurrent: processes (separate *DB handles) claiming the same
// cells at once; each cell goes to exactly one of them.
func TestClaimConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.db")
	first, _ := openTestAt(t, path)
	expID := mustExperiment(t, first, "e")
	const workers, cells = 3, 20
	dbs := []*DB{first}
	for len(dbs) < workers {
		db, _ := openTestAt(t, path)
		dbs = append(dbs, db)
	}
	wins := make([][]int64, workers)
	errs := make(chan error, workers*cells)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range dbs {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			<-start
			for c := 0; c < cells; c++ {
				cfg := testConfig(int64(c))
				id, claimed, _, err := dbs[w].Claim(context.Background(), expID, "l", cfg, keyOf(cfg), testProv, ClaimPolicy{Force: true})
				if err != nil {
					errs <- err
					continue
				}
				if claimed {
					wins[w] = append(wins[w], id)
				}
			}
		}(w)
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Claim() error = %v", err)
	}
	owner := map[int64]int{}
	for w, ids := range wins {
		for _, id := range ids {
			if o, dup := owner[id]; dup {
				t.Errorf("run %d claimed by worker %d and worker %d", id, o, w)
			}
			owner[id] = w
		}
	}
	if len(owner) != cells {
		t.Errorf("cells claimed = %d, want %d", len(owner), cells)
	}
	if n := countRows(t, first, "runs", ""); n != cells {
		t.Errorf("runs rows = %d, want %d", n, cells)
	}
}

func TestStaleHeartbeatReclaim(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.db")
	a, clk := openTestAt(t, path)
	b, _ := openTestAt(t, path)
	b.now = clk.now
	ctx := context.Background()
	expID := mustExperiment(t, a, "e")
	cfg := testConfig(1)
	pol := ClaimPolicy{StaleAfter: 2 * time.Minute}

	id := mustClaim(t, a, expID, "l", cfg)
	// a heartbeats every minute: b cannot take the cell.
	for i := 0; i < 3; i++ {
		clk.advance(time.Minute)
		if err := a.Heartbeat(ctx, id); err != nil {
			t.Fatalf("Heartbeat() = %v", err)
		}
		clk.advance(90 * time.Second)
		if _, claimed, prev, err := b.Claim(ctx, expID, "l", cfg, keyOf(cfg), testProv, pol); err != nil || claimed || prev != StatusRunning {
			t.Fatalf("Claim() 90s after a heartbeat = %v, %q, %v, want not claimed, running", claimed, prev, err)
		}
		clk.advance(-90 * time.Second)
	}
	if err := a.RecordEpoch(ctx, id, epochStats(1, 3)); err != nil {
		t.Fatal(err)
	}
	// a dies: after StaleAfter without a heartbeat, b takes over.
	clk.advance(2*time.Minute + time.Second)
	gotID, claimed, prev, err := b.Claim(ctx, expID, "l", cfg, keyOf(cfg), testProv, pol)
	if err != nil || !claimed || prev != StatusRunning || gotID != id {
		t.Fatalf("Claim() of a stale run = %d, %v, %q, %v, want %d, claimed, running", gotID, claimed, prev, err, id)
	}
	// a wakes up: every write it tries fails with ErrClaimLost and changes nothing.
	writes := map[string]func() error{
		"Heartbeat":   func() error { return a.Heartbeat(ctx, id) },
		"RecordEpoch": func() error { return a.RecordEpoch(ctx, id, epochStats(2, 99)) },
		"Finish":      func() error { return a.Finish(ctx, id, result()) },
		"MarkFailed":  func() error { return a.MarkFailed(ctx, id, StatusInterrupted, "late") },
	}
	for name, w := range writes {
		if err := w(); !errors.Is(err, ErrClaimLost) {
			t.Errorf("%s() by the process that lost the claim = %v, want ErrClaimLost", name, err)
		}
	}
	d, err := b.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusRunning || d.Attempt != 2 || len(d.Epochs) != 1 || len(d.Attempts) != 1 {
		t.Errorf("run after the lost writes: status %q attempt %d epochs %d attempts %d, want running 2 1 1",
			d.Status, d.Attempt, len(d.Epochs), len(d.Attempts))
	}
	// b, the owner now, can write; the epoch recorded by a is kept for resume.
	if err := b.RecordEpoch(ctx, id, epochStats(2, 2.5)); err != nil {
		t.Errorf("RecordEpoch() by the new owner = %v", err)
	}
	// b finishes; a forces a rerun; b's late writes are refused too.
	if err := b.Finish(ctx, id, result()); err != nil {
		t.Fatalf("Finish() by the owner = %v", err)
	}
	if _, claimed, _, err := a.Claim(ctx, expID, "l", cfg, keyOf(cfg), testProv, ClaimPolicy{Force: true}); err != nil || !claimed {
		t.Fatalf("Claim(Force) of a finished run = %v, %v, want claimed", claimed, err)
	}
	if err := b.RecordEpoch(ctx, id, epochStats(1, 1)); !errors.Is(err, ErrClaimLost) {
		t.Errorf("RecordEpoch() by the previous owner after a forced rerun = %v, want ErrClaimLost", err)
	}
	if err := a.Heartbeat(ctx, id); err != nil {
		t.Errorf("Heartbeat() by the new owner = %v", err)
	}
	if err := b.Heartbeat(ctx, id+100); !errors.Is(err, ErrNotFound) {
		t.Errorf("Heartbeat(unknown run) = %v, want ErrNotFound", err)
	}
}

// TestHeartbeatFileReplaced: when the file at the DB's path is replaced
// (git checkout or stash of a tracked results.db renames a new file over
// it), the heartbeat fails with ErrReplaced instead of writing on into the
// unlinked file, and the file now on disk is left as it was.
func TestHeartbeatFileReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.db")
	db, _ := openTestAt(t, path)
	ctx := context.Background()
	id := mustClaim(t, db, mustExperiment(t, db, "e"), "l", testConfig(1))
	if err := db.Heartbeat(ctx, id); err != nil {
		t.Fatalf("Heartbeat() = %v", err)
	}
	if _, err := db.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "copy"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "copy"), path); err != nil {
		t.Fatal(err)
	}
	err = db.Heartbeat(ctx, id)
	if !errors.Is(err, ErrReplaced) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Heartbeat() after the file was replaced = %v, want ErrReplaced naming %s", err, path)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, data) {
		t.Error("the replacing file changed")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckFile(); !errors.Is(err, ErrReplaced) {
		t.Errorf("CheckFile() after the file was removed = %v, want ErrReplaced", err)
	}
}
