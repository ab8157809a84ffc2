package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simclr-ablate/simclr-ablate/store"
)

// The subprocess tests run the runner binary (built once, see
// runnerBinary) on testdata/crash.toml: two SimCLR cells of 4 epochs and
// the raw-pixels baseline.
const crashGrid = "testdata/crash.toml"

// staleWait outlives the heartbeat of a killed runner for a runner started
// with --stale-after 1s.
const staleWait = 1100 * time.Millisecond

// TestCrashSafety SIGKILLs runners at several points of the grid and
// reruns: every cell finishes exactly once, nothing is duplicated, the
// file is intact, a later runner takes over the dead runner's cell (stale
// heartbeat) and resumes it from its checkpoint, and the results equal an
// uninterrupted run's.
func TestCrashSafety(t *testing.T) {
	absGrid, err := filepath.Abs(crashGrid)
	if err != nil {
		t.Fatal(err)
	}
	g := loadGrid(t, crashGrid)
	dir := t.TempDir()
	db := filepath.Join(dir, "results.db")
	ck0 := checkpointDir(db, g, g.Cells[0])

	// 1. Killed in cell 0, after its first epoch was checkpointed.
	p := startRunner(t, "run", absGrid, "--db", db)
	p.waitLine(t, `msg=epoch cell=0 .* epoch=1/4`)
	waitCheckpoint(t, ck0)
	p.kill(t)
	if r := runsByLabel(listRuns(t, db))["crop+color"]; r.Status != store.StatusRunning {
		t.Fatalf("after the first kill cell 0 is %s, want running (killed mid-cell)", r.Status)
	}
	// Each epoch is recorded as it ends, not at the end of the cell.
	if n := sqlCount(t, db, "SELECT count(*) FROM metrics WHERE run_id = 1 AND key = 'loss' AND step = 0"); n < 1 {
		t.Errorf("epochs of the killed cell in the database = %d, want at least 1", n)
	}

	// 2. A runner started once the heartbeat is stale takes the cell over
	// and resumes it from the checkpoint; killed right after cell 0 ends.
	time.Sleep(staleWait)
	p = startRunner(t, "run", absGrid, "--db", db, "--stale-after", "1s")
	p.waitLine(t, `msg="cell start" cell=0 .* previous=running`)
	p.waitLine(t, `msg="resumed from checkpoint" cell=0 .* epoch=\d`)
	p.waitLine(t, `msg="cell end" cell=0 .* status=finished`)
	p.kill(t)

	// 3. Killed in the middle of cell 1.
	time.Sleep(staleWait)
	p = startRunner(t, "run", absGrid, "--db", db, "--stale-after", "1s")
	p.waitLine(t, `msg=epoch cell=1 .* epoch=2/4`)
	p.kill(t)

	// 4. Runs to the end.
	time.Sleep(staleWait)
	p = startRunner(t, "run", absGrid, "--db", db, "--stale-after", "1s")
	if code := p.wait(t); code != 0 {
		t.Fatalf("final run = exit %d, want 0; stderr:\n%s", code, p.stderr())
	}
	if !strings.Contains(p.stdout.String(), "1 skipped") {
		t.Errorf("final run summary = %q, want cell 0 skipped (finished before)", p.stdout.String())
	}

	checkIntegrity(t, db)
	runs := listRuns(t, db)
	if len(runs) != len(g.Cells) {
		t.Fatalf("runs = %d, want %d (one a cell)", len(runs), len(g.Cells))
	}
	for _, r := range runs {
		if r.Status != store.StatusFinished {
			t.Errorf("run %d %q: %s, want finished", r.ID, r.Label, r.Status)
		}
		d := getRun(t, db, r.ID)
		for _, a := range d.Attempts {
			if a.Status == store.StatusFinished {
				t.Errorf("run %d %q: earlier attempt %d finished too (a finished cell ran again)", r.ID, r.Label, a.Attempt)
			}
		}
	}
	byLabel := runsByLabel(runs)
	if a := byLabel["crop+color"].Attempt; a != 2 {
		t.Errorf("cell 0 attempts = %d, want 2 (killed once, taken over once)", a)
	}
	if a := byLabel["crop"].Attempt; a < 2 {
		t.Errorf("cell 1 attempts = %d, want at least 2 (killed mid-cell)", a)
	}
	for _, q := range []struct {
		query string
		want  int
	}{
		{"SELECT count(*) FROM (SELECT 1 FROM runs GROUP BY experiment_id, config_hash, seed HAVING count(*) > 1)", 0},
		{"SELECT count(*) FROM (SELECT 1 FROM evaluations GROUP BY run_id, protocol, features, label_fraction HAVING count(*) > 1)", 0},
		{"SELECT count(*) FROM evaluations", len(g.Cells)},
		{"SELECT count(*) FROM metrics WHERE key = 'loss' AND step = 0", 2 * 4},
		{"SELECT count(*) FROM metrics WHERE key = 'step_loss'", 2 * 4 * 8},
		{"SELECT count(*) FROM experiments", 1},
	} {
		if n := sqlCount(t, db, q.query); n != q.want {
			t.Errorf("%s = %d, want %d", q.query, n, q.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoints")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("checkpoints left after the grid finished (stat: %v)", err)
	}

	// The same grid without interruptions, in another database, by the
	// same binary.
	clean := filepath.Join(t.TempDir(), "results.db")
	p = startRunner(t, "run", absGrid, "--db", clean)
	if code := p.wait(t); code != 0 {
		t.Fatalf("uninterrupted run = exit %d, want 0; stderr:\n%s", code, p.stderr())
	}
	compareResults(t, clean, db)
}

// compareResults fails the test unless every run of the database at got
// has the evaluations and epoch losses of the run with the same config
// hash and seed in want.
func compareResults(t *testing.T, want, got string) {
	t.Helper()
	wantRuns := map[string]*store.RunDetail{}
	for _, r := range listRuns(t, want) {
		wantRuns[fmt.Sprint(r.ConfigHash, r.Seed)] = getRun(t, want, r.ID)
	}
	for _, r := range listRuns(t, got) {
		g, w := getRun(t, got, r.ID), wantRuns[fmt.Sprint(r.ConfigHash, r.Seed)]
		if w == nil {
			t.Errorf("run %q: no uninterrupted run to compare with", r.Label)
			continue
		}
		if len(g.Evaluations) != len(w.Evaluations) {
			t.Errorf("run %q: %d evaluations, uninterrupted %d", r.Label, len(g.Evaluations), len(w.Evaluations))
			continue
		}
		for i := range g.Evaluations {
			ge, we := g.Evaluations[i], w.Evaluations[i]
			if evalKey(ge) != evalKey(we) || ge.Accuracy != we.Accuracy || ge.MacroF1 != we.MacroF1 ||
				!slices.Equal(ge.PerClassF1, we.PerClassF1) || fmt.Sprint(ge.Confusion) != fmt.Sprint(we.Confusion) {
				t.Errorf("run %q evaluation %s: accuracy %v macro-F1 %v confusion %v; uninterrupted %s: %v %v %v",
					r.Label, evalKey(ge), ge.Accuracy, ge.MacroF1, ge.Confusion, evalKey(we), we.Accuracy, we.MacroF1, we.Confusion)
			}
		}
		if len(g.Epochs) != len(w.Epochs) {
			t.Errorf("run %q: %d epochs, uninterrupted %d", r.Label, len(g.Epochs), len(w.Epochs))
			continue
		}
		for i := range g.Epochs {
			if g.Epochs[i].Loss != w.Epochs[i].Loss {
				t.Errorf("run %q epoch %d loss = %v, uninterrupted %v", r.Label, i+1, g.Epochs[i].Loss, w.Epochs[i].Loss)
			}
		}
	}
}

// TestSignals: SIGINT and SIGTERM mark the running cell interrupted with
// its checkpoint kept and exit 130; the interrupted cell is skipped by a
// plain rerun and resumed by --retry-failed.
func TestSignals(t *testing.T) {
	absGrid, err := filepath.Abs(crashGrid)
	if err != nil {
		t.Fatal(err)
	}
	g := loadGrid(t, crashGrid)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "results.db")
			p := startRunner(t, "run", absGrid, "--db", db)
			p.waitLine(t, `msg=epoch cell=0 .* epoch=1/4`)
			waitCheckpoint(t, checkpointDir(db, g, g.Cells[0]))
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := p.wait(t); code != 130 {
				t.Fatalf("runner after %v = exit %d, want 130; stderr:\n%s", sig, code, p.stderr())
			}
			if !strings.Contains(p.stdout.String(), "1 interrupted, 2 not started") {
				t.Errorf("summary after %v = %q, want 1 interrupted and 2 not started", sig, p.stdout.String())
			}
			if !regexp.MustCompile(`runner: interrupted: 1 running cell marked interrupted`).MatchString(p.stderr()) {
				t.Errorf("stderr after %v lacks the interrupted message:\n%s", sig, p.stderr())
			}
			runs := listRuns(t, db)
			if len(runs) != 1 || runs[0].Status != store.StatusInterrupted || runs[0].Error == "" {
				t.Fatalf("runs after %v = %+v, want one interrupted with its error", sig, runs)
			}
			if dir := checkpointDir(db, g, g.Cells[0]); !hasCheckpoint(dir) {
				t.Errorf("interrupted cell lost its checkpoint %s", dir)
			}
			checkIntegrity(t, db)

			stdout, _ := mustRun(t, 0, "run", crashGrid, "--db", db)
			if !strings.Contains(stdout, "2 finished, 1 skipped") || !strings.Contains(stdout, "1 interrupted before (--retry-failed resumes)") {
				t.Errorf("plain rerun summary = %q, want the interrupted cell skipped", stdout)
			}
			_, stderr := mustRun(t, 0, "run", crashGrid, "--db", db, "--retry-failed")
			if !strings.Contains(stderr, `msg="resumed from checkpoint" cell=0`) {
				t.Errorf("rerun --retry-failed did not resume cell 0 from its checkpoint:\n%s", stderr)
			}
			if r := runsByLabel(listRuns(t, db))["crop+color"]; r.Status != store.StatusFinished || r.Attempt != 2 {
				t.Errorf("cell 0 after --retry-failed: %s attempt %d, want finished, 2", r.Status, r.Attempt)
			}
		})
	}
}

// TestConcurrentRunners starts two runners on the same grid and database
// at once: together they finish the grid, each cell run exactly once.
func TestConcurrentRunners(t *testing.T) {
	absGrid, err := filepath.Abs(crashGrid)
	if err != nil {
		t.Fatal(err)
	}
	g := loadGrid(t, crashGrid)
	db := filepath.Join(t.TempDir(), "results.db")
	a := startRunner(t, "run", absGrid, "--db", db)
	b := startRunner(t, "run", absGrid, "--db", db)
	for _, p := range []*proc{a, b} {
		if code := p.wait(t); code != 0 {
			t.Fatalf("runner = exit %d, want 0; stderr:\n%s", code, p.stderr())
		}
	}
	started := map[string]int{}
	rx := regexp.MustCompile(`msg="cell start" cell=(\d+)`)
	for i, p := range []*proc{a, b} {
		ms := rx.FindAllStringSubmatch(p.stderr(), -1)
		if len(ms) == 0 {
			t.Errorf("runner %d ran no cell: the other did all the work, so the test shows nothing about sharing", i+1)
		}
		for _, m := range ms {
			started[m[1]]++
		}
	}
	for _, c := range g.Cells {
		if n := started[fmt.Sprint(c.Index)]; n != 1 {
			t.Errorf("cell %d %q started %d times by the two runners, want 1", c.Index, c.Label, n)
		}
	}
	runs := listRuns(t, db)
	if len(runs) != len(g.Cells) {
		t.Fatalf("runs = %d, want %d", len(runs), len(g.Cells))
	}
	for _, r := range runs {
		if r.Status != store.StatusFinished || r.Attempt != 1 {
			t.Errorf("run %d %q: %s attempt %d, want finished once", r.ID, r.Label, r.Status, r.Attempt)
		}
	}
	if n := sqlCount(t, db, "SELECT count(*) FROM evaluations"); n != len(g.Cells) {
		t.Errorf("evaluations = %d, want %d", n, len(g.Cells))
	}
	checkIntegrity(t, db)
}
