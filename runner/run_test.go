package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simclr-ablate/simclr-ablate/store"
)

// smallSmoke shrinks experiments/smoke.toml for tests that only need its
// shape.
var smallSmoke = []string{"--set", "synthetic_size=128", "--set", "width=4", "--set", "linear_epochs=20"}

func TestRunSmokeThenSkipThenForce(t *testing.T) {
	const grid = "../experiments/smoke.toml"
	db := filepath.Join(t.TempDir(), "results.db")
	args := append([]string{"run", grid, "--db", db}, smallSmoke...)

	stdout, stderr := mustRun(t, 0, args...)
	if !strings.Contains(stdout, "smoke: 3 cells: 3 finished, 0 skipped, 0 failed, 0 interrupted") {
		t.Errorf("run %s summary = %q, want 3 finished", grid, stdout)
	}
	for _, want := range []string{`msg="cell start" cell=0 label=crop+color`, `msg=epoch cell=0 label=crop+color run=1 epoch=1/2`,
		`msg=epoch cell=1 label=crop run=2 epoch=2/2`, `msg="cell end" cell=2 label="raw pixels" run=3 status=finished`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("run %s log lacks %q:\n%s", grid, want, stderr)
		}
	}
	if n := strings.Count(stderr, "msg=epoch"); n != 4 {
		t.Errorf("run %s logged %d epoch lines, want 4 (2 cells x 2 epochs; simclr's own lines dropped)", grid, n)
	}
	if n := strings.Count(stderr, " knn_acc="); n != 4 {
		t.Errorf("run %s logged the kNN monitor's accuracy %d times, want in each of the 4 epoch lines:\n%s", grid, n, stderr)
	}
	runs := listRuns(t, db)
	if len(runs) != 3 {
		t.Fatalf("runs after the first run = %d, want 3", len(runs))
	}
	for _, r := range runs {
		if r.Status != store.StatusFinished || r.Attempt != 1 || r.LinearF1 == nil {
			t.Errorf("run %d %q: status %s attempt %d linear_f1 %v, want finished, 1, set", r.ID, r.Label, r.Status, r.Attempt, r.LinearF1)
		}
	}
	d := getRun(t, db, 1)
	if len(d.Epochs) != 2 || len(d.Evaluations) != 1 || d.Config.Seed != 1 || d.DatasetChecksum == "" {
		t.Errorf("GetRun(1): %d epochs, %d evaluations, seed %d, checksum %q; want 2, 1, 1, set", len(d.Epochs), len(d.Evaluations), d.Config.Seed, d.DatasetChecksum)
	}
	steps := 0
	for _, m := range d.Metrics {
		if m.Key == store.MetricStepLoss {
			steps++
		}
	}
	if steps != 2*4 { // 128 images / batch 32 = 4 steps an epoch
		t.Errorf("GetRun(1) step_loss metrics = %d, want 8", steps)
	}
	if d.PeakRSSMB < 10 || d.PeakRSSMB > 1e5 {
		t.Errorf("GetRun(1).PeakRSSMB = %v, want the process's peak resident memory in MB", d.PeakRSSMB)
	}
	p := d.Provenance
	if p.GoVersion != runtime.Version() || p.GOMAXPROCS != runtime.GOMAXPROCS(0) || p.PID != os.Getpid() || p.Host == "" {
		t.Errorf("GetRun(1).Provenance = %+v, want this process's Go version, GOMAXPROCS, pid and host", p)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(db), "checkpoints")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("checkpoints directory left after every cell finished (stat: %v)", err)
	}

	stdout, _ = mustRun(t, 0, args...)
	if !strings.Contains(stdout, "0 finished, 3 skipped") || !strings.Contains(stdout, "skipped: 3 finished before") {
		t.Errorf("rerun summary = %q, want 3 skipped as finished before", stdout)
	}

	stdout, _ = mustRun(t, 0, append(args, "--force")...)
	if !strings.Contains(stdout, "3 finished, 0 skipped") {
		t.Errorf("rerun --force summary = %q, want 3 finished", stdout)
	}
	for _, r := range listRuns(t, db) {
		if r.Status != store.StatusFinished || r.Attempt != 2 {
			t.Errorf("after --force run %d %q: status %s attempt %d, want finished, 2", r.ID, r.Label, r.Status, r.Attempt)
		}
	}
	if n := sqlCount(t, db, "SELECT count(*) FROM evaluations"); n != 3 {
		t.Errorf("evaluations after --force = %d, want 3 (one a run, the old ones replaced)", n)
	}
	checkIntegrity(t, db)

	// plan now knows every status and has an estimate for every cell.
	stdout, _ = mustRun(t, 0, append([]string{"plan", grid, "--db", db}, smallSmoke...)...)
	if rows := planRows(stdout); len(rows) != 3 {
		t.Errorf("plan with the database: %d cell rows, want 3:\n%s", len(rows), stdout)
	}
	for i, row := range planRows(stdout) {
		if status, run, est := row[len(row)-3], row[len(row)-2], row[len(row)-1]; status != "finished" || run != strconv.Itoa(i+1) || est == "?" {
			t.Errorf("plan with the database, cell %d: status %s run %s est %s; want finished, run %d, an estimate", i, status, run, est, i+1)
		}
	}
	if !strings.Contains(stdout, "to run: 0 of 3 cells\n") {
		t.Errorf("plan with the database = %q, want nothing to run", stdout)
	}
	var twoEpochs []time.Duration
	for _, row := range planRows(stdout) {
		d, _ := time.ParseDuration(row[len(row)-1])
		twoEpochs = append(twoEpochs, d)
	}
	// Other settings are other cells: not run. The 2-epoch durations do
	// not estimate 3-epoch cells as they are: the cells that train are
	// estimated by their steps (more than the 2-epoch runs took), raw
	// pixels, which has no steps, from nothing.
	stdout, _ = mustRun(t, 0, append([]string{"plan", grid, "--db", db, "--set", "epochs=3"}, smallSmoke...)...)
	if rows := planRows(stdout); len(rows) != 3 {
		t.Errorf("plan --set epochs=3: %d cell rows, want 3:\n%s", len(rows), stdout)
	}
	for i, row := range planRows(stdout) {
		status, run, est := row[len(row)-3], row[len(row)-2], row[len(row)-1]
		if status != "-" || run != "-" {
			t.Errorf("plan --set epochs=3, cell %d: status %s run %s; want -, -", i, status, run)
		}
		if i == 2 {
			if est != "?" {
				t.Errorf("plan --set epochs=3, raw pixels: est %s, want ?", est)
			}
			continue
		}
		if d, err := time.ParseDuration(est); err != nil || i >= len(twoEpochs) || d <= twoEpochs[i] {
			t.Errorf("plan --set epochs=3, cell %d: est %s; want more than the 2-epoch run's %v", i, est, twoEpochs)
		}
	}
	if !strings.Contains(stdout, "to run: 3 of 3 cells, estimated ") || !strings.Contains(stdout, "plus 1 cell without an estimate") {
		t.Errorf("plan --set epochs=3 = %q, want 3 cells to run, one without an estimate", stdout)
	}
	// Cells given in steps are estimated from the runs at the same batch
	// size, scaled by their time a step; raw pixels, which has no steps,
	// from nothing.
	stdout, _ = mustRun(t, 0, append([]string{"plan", grid, "--db", db, "--set", "epochs=0", "--set", "steps=12"}, smallSmoke...)...)
	for i, row := range planRows(stdout) {
		if est, want := row[len(row)-1], i < 2; (est != "?") != want {
			t.Errorf("plan --set steps=12, cell %d: est %s; want an estimate %v", i, est, want)
		}
	}
	if !strings.Contains(stdout, "to run: 3 of 3 cells, estimated ") || !strings.Contains(stdout, "plus 1 cell without an estimate") {
		t.Errorf("plan --set steps=12 = %q, want an estimate for 2 of the 3 cells", stdout)
	}
}

// planRows returns the cell rows of plan's output, split into fields.
func planRows(out string) [][]string {
	var rows [][]string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0][0] >= '0' && f[0][0] <= '9' {
			rows = append(rows, f)
		}
	}
	return rows
}

func TestRunDivergedCellFailsOthersFinish(t *testing.T) {
	db := filepath.Join(t.TempDir(), "results.db")
	code, stdout, stderr := runMain(t, "run", "testdata/diverge.toml", "--db", db)
	if code != 1 {
		t.Fatalf("run diverge.toml = exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "2 finished, 0 skipped, 1 failed") ||
		!regexp.MustCompile(`(?m)^  #1 diverges \(seed 1, run 2\): training diverged at epoch 1 step \d+: loss = `).MatchString(stdout) {
		t.Errorf("run diverge.toml summary = %q, want 2 finished and the diverged cell listed", stdout)
	}
	if msg := strings.TrimSpace(stderr[strings.LastIndex(stderr, "runner: "):]); msg != "runner: 1 of 3 cells failed (listed above)" {
		t.Errorf("run diverge.toml last stderr line = %q", msg)
	}
	byLabel := runsByLabel(listRuns(t, db))
	if r := byLabel["diverges"]; r.Status != store.StatusFailed || !strings.Contains(r.Error, "training diverged") {
		t.Errorf("diverged run: status %s error %q, want failed with the divergence", r.Status, r.Error)
	}
	for _, l := range []string{"good", "raw pixels"} {
		if r := byLabel[l]; r.Status != store.StatusFinished {
			t.Errorf("run %q status = %s, want finished", l, r.Status)
		}
	}
	g := loadGrid(t, "testdata/diverge.toml")
	if dir := checkpointDir(db, g, g.Cells[1]); hasCheckpoint(dir) {
		t.Errorf("failed cell kept its checkpoint in %s, want it removed (a retry starts afresh)", dir)
	}

	// Without --retry-failed the failed cell is skipped, and the exit
	// status is 0: nothing failed in this run.
	stdout, _ = mustRun(t, 0, "run", "testdata/diverge.toml", "--db", db)
	if !strings.Contains(stdout, "1 failed before (--retry-failed reruns)") {
		t.Errorf("rerun summary = %q, want the failed cell skipped with a hint", stdout)
	}
	// With it, only the failed cell runs again (and fails again).
	code, stdout, _ = runMain(t, "run", "testdata/diverge.toml", "--db", db, "--retry-failed")
	if code != 1 || !strings.Contains(stdout, "0 finished, 2 skipped, 1 failed") {
		t.Errorf("rerun --retry-failed = exit %d, %q; want 1 with 2 skipped and 1 failed", code, stdout)
	}
	d := getRun(t, db, byLabel["diverges"].ID)
	if d.Attempt != 2 || len(d.Attempts) != 1 || d.Attempts[0].Status != store.StatusFailed {
		t.Errorf("diverged run after a retry: attempt %d, earlier %+v; want attempt 2 after one failed", d.Attempt, d.Attempts)
	}
}

// TestRunJobsPairwiseTags runs a pairwise grid with two workers: every
// cell finishes once and carries its pair tags as params.
func TestRunJobsPairwiseTags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "results.db")
	stdout, _ := mustRun(t, 0, "run", "testdata/pairwise.toml", "--db", db, "-j", "2")
	if !strings.Contains(stdout, "4 finished") || !strings.Contains(stdout, "(-j 2)") {
		t.Errorf("run -j 2 summary = %q, want 4 finished", stdout)
	}
	g := loadGrid(t, "testdata/pairwise.toml")
	runs := listRuns(t, db)
	if len(runs) != len(g.Cells) {
		t.Fatalf("runs = %d, want %d", len(runs), len(g.Cells))
	}
	for _, c := range g.Cells {
		var r *store.RunRow
		for i := range runs {
			if runs[i].ConfigHash == c.Hash {
				r = &runs[i]
			}
		}
		if r == nil || r.Status != store.StatusFinished || r.Attempt != 1 {
			t.Errorf("cell %d %q: run %+v, want finished once", c.Index, c.Label, r)
			continue
		}
		tags := map[string]string{}
		for _, p := range getRun(t, db, r.ID).Params {
			if p.Key == "pair_first" || p.Key == "pair_second" {
				tags[p.Key] = p.Value
			}
		}
		if tags["pair_first"] != c.Tags["pair_first"] || tags["pair_second"] != c.Tags["pair_second"] {
			t.Errorf("cell %d %q tags in the DB = %v, want %v", c.Index, c.Label, tags, c.Tags)
		}
	}
	stdout, _ = mustRun(t, 0, "export", "--db", db, "--format", "csv")
	if head := strings.SplitN(stdout, "\n", 2)[0]; !strings.Contains(head, ",pair_first,") || !strings.Contains(head, ",pair_second,") {
		t.Errorf("export header = %q, want pair_first and pair_second columns", head)
	}
}

// TestRunProgressBars runs with stderr taken for a terminal: the mpb bars
// draw the grid and the cells instead of log lines.
func TestRunProgressBars(t *testing.T) {
	db := filepath.Join(t.TempDir(), "results.db")
	var out, errb syncBuffer
	m := &Main{Stdout: &out, Stderr: &errb, Terminal: func() bool { return true }}
	code := execute(context.Background(), m, "run", "testdata/pairwise.toml", "--db", db, "--set", "epochs=2")
	if code != 0 {
		t.Fatalf("run with bars = exit %d\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
	}
	stderr := errb.String()
	for _, want := range []string{"grid", "4/4 cells", `msg="cell end" cell=3 label=color`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("bar output lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "msg=epoch") {
		t.Errorf("bar output has per-epoch log lines (the bars show epochs):\n%s", stderr)
	}
	if !strings.Contains(out.String(), "4 finished") {
		t.Errorf("summary = %q, want 4 finished", out.String())
	}
}

// TestRunInterruptInProcess cancels the context (as SIGINT does in main)
// after the first epoch: the cell is recorded interrupted with its
// checkpoint kept, the exit status is 130, and --retry-failed resumes it.
func TestRunInterruptInProcess(t *testing.T) {
	db := filepath.Join(t.TempDir(), "results.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &cancelOn{pattern: "msg=epoch", cancel: cancel}
	var out syncBuffer
	m := &Main{Stdout: &out, Stderr: stderr, Terminal: func() bool { return false }}
	code := execute(ctx, m, "run", "testdata/tiny.toml", "--db", db)
	if code != 130 {
		t.Fatalf("interrupted run = exit %d, want 130\nstdout: %s\nstderr: %s", code, out.String(), stderr.String())
	}
	if !strings.Contains(out.String(), "0 finished, 0 skipped, 0 failed, 1 interrupted, 2 not started") {
		t.Errorf("interrupted run summary = %q", out.String())
	}
	runs := listRuns(t, db)
	if len(runs) != 1 || runs[0].Status != store.StatusInterrupted || !strings.Contains(runs[0].Error, "context canceled") {
		t.Fatalf("runs after the interrupt = %+v, want one interrupted", runs)
	}
	g := loadGrid(t, "testdata/tiny.toml")
	if dir := checkpointDir(db, g, g.Cells[0]); !hasCheckpoint(dir) {
		t.Errorf("interrupted cell has no checkpoint in %s", dir)
	}
	_, stderrS := mustRun(t, 0, "run", "testdata/tiny.toml", "--db", db, "--retry-failed")
	if !strings.Contains(stderrS, `msg="resumed from checkpoint" cell=0 run=1 epoch=`) {
		t.Errorf("rerun --retry-failed did not resume from the checkpoint:\n%s", stderrS)
	}
	for _, r := range listRuns(t, db) {
		if r.Status != store.StatusFinished {
			t.Errorf("run %d %q after the rerun: %s, want finished", r.ID, r.Label, r.Status)
		}
	}
}

// cancelOn is a log writer that cancels a context when a line matches.
type cancelOn struct {
	syncBuffer
	pattern string
	cancel  context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.pattern) {
		c.cancel()
	}
	return c.syncBuffer.Write(p)
}

// TestRunClaimLostStopsCell: when the run a cell is recorded in stops
// being this runner's (here another process marks it failed; in life one
// took it over after a stale heartbeat), the runner stops the cell,
// writes nothing more to it, and goes on with the grid.
func TestRunClaimLostStopsCell(t *testing.T) {
	db := filepath.Join(t.TempDir(), "results.db")
	stderr := &onLine{pattern: "msg=epoch cell=0", do: func() {
		other, err := store.Open(db)
		if err != nil {
			t.Errorf("open %s: %v", db, err)
			return
		}
		defer other.Close()
		if err := other.MarkFailed(context.Background(), 1, store.StatusFailed, "taken by the test"); err != nil {
			t.Errorf("MarkFailed(1) = %v", err)
		}
	}}
	var out syncBuffer
	m := &Main{Stdout: &out, Stderr: stderr, Terminal: func() bool { return false }}
	if code := execute(context.Background(), m, "run", "testdata/tiny.toml", "--db", db, "--stale-after", "1s"); code != 0 {
		t.Fatalf("run = exit %d, want 0\nstdout: %s\nstderr: %s", code, out.String(), stderr.String())
	}
	if !strings.Contains(out.String(), "2 finished, 0 skipped, 0 failed, 0 interrupted, 1 taken over by another runner") {
		t.Errorf("summary = %q, want cell 0 taken over and the others finished", out.String())
	}
	if !strings.Contains(stderr.String(), `msg="cell end" cell=0 label=crop+color run=1 status="taken over"`) {
		t.Errorf("log lacks the taken-over end of cell 0:\n%s", stderr.String())
	}
	d := getRun(t, db, 1)
	if d.Status != store.StatusFailed || d.ErrorText != "taken by the test" || len(d.Evaluations) != 0 {
		t.Errorf("run 1 after losing its claim: %s %q with %d evaluations, want the other process's failed mark untouched",
			d.Status, d.ErrorText, len(d.Evaluations))
	}
}

// TestRunDBReplacedStopsGrid: when results.db is replaced on disk while
// the runner has it open (a git checkout or stash of the tracked file
// renames a new one over it), the next heartbeat stops the whole grid with
// an error that says so, and the file now on disk is not written.
func TestRunDBReplacedStopsGrid(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "results.db")
	var replaced []byte
	stderr := &onLine{pattern: "msg=epoch cell=0", do: func() {
		data, err := os.ReadFile(db)
		if err != nil {
			t.Error(err)
			return
		}
		tmp := filepath.Join(dir, "checkout")
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			t.Error(err)
			return
		}
		if err := os.Rename(tmp, db); err != nil {
			t.Error(err)
		}
		replaced = data
	}}
	var out syncBuffer
	m := &Main{Stdout: &out, Stderr: stderr, Terminal: func() bool { return false }}
	code := execute(context.Background(), m, "run", "testdata/tiny.toml", "--db", db, "--stale-after", "1s")
	if code != 1 {
		t.Fatalf("run = exit %d, want 1\nstdout: %s\nstderr: %s", code, out.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "replaced") || !strings.Contains(stderr.String(), "--retry-failed") {
		t.Errorf("stderr does not say the file was replaced and how to go on:\n%s", stderr.String())
	}
	if !strings.Contains(out.String(), "0 finished, 0 skipped, 0 failed, 0 interrupted, 1 stopped unrecorded (database file replaced), 2 not started") {
		t.Errorf("summary = %q, want cell 0 stopped unrecorded and the others not started", out.String())
	}
	after, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if replaced == nil || !bytes.Equal(after, replaced) {
		t.Error("the runner wrote into the file that replaced results.db")
	}
}

// onLine is a log writer that calls do once, when a line first contains
// pattern.
type onLine struct {
	syncBuffer
	pattern string
	do      func()
	once    sync.Once
}

func (o *onLine) Write(p []byte) (int, error) {
	if strings.Contains(string(p), o.pattern) {
		o.once.Do(o.do)
	}
	return o.syncBuffer.Write(p)
}

func TestProvenance(t *testing.T) {
	p := provenance(context.Background())
	commit, dirty := gitState(context.Background())
	host, _ := os.Hostname()
	// A test binary has no vcs build info: the commit comes from git in
	// the working directory ("" where git or the repository is missing).
	if p.GitCommit != commit || p.GitDirty != dirty || p.GoVersion != runtime.Version() ||
		p.GOMAXPROCS != runtime.GOMAXPROCS(0) || p.Host != host || p.PID != os.Getpid() {
		t.Errorf("provenance() = %+v, want commit %q dirty %v, %s, GOMAXPROCS %d, host %q, pid %d",
			p, commit, dirty, runtime.Version(), runtime.GOMAXPROCS(0), host, os.Getpid())
	}
	if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil && commit != strings.TrimSpace(string(out)) {
		t.Errorf("gitState() = %q, want git rev-parse HEAD = %q", commit, strings.TrimSpace(string(out)))
	}
}
