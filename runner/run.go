package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/runner/grid"
	"github.com/simclr-ablate/simclr-ablate/simclr"
	"github.com/simclr-ablate/simclr-ablate/simclr/nn"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// defaultDB is where results go unless --db says otherwise.
const defaultDB = "results/results.db"

// defaultJobs is the default of -j: the number of cells run at once. On
// the 2-core reference machine one cell at a time was fastest for
// experiments/smoke.toml (see TestJobsBenchmark and the README): the
// training step already keeps both cores busy, and two cells at once
// only add contention.
const defaultJobs = 1

// RunCommand is `runner run`: it runs the cells of a grid file and records
// them in the results database.
type RunCommand struct {
	Stdout io.Writer // the plan of --dry-run and the summary
	Stderr io.Writer // progress: bars on a terminal, else log lines
	// Terminal says Stderr is a terminal: live progress bars instead of
	// log lines (with --progress auto).
	Terminal bool
}

const runUsage = `
Usage: runner run FILE.toml [flags]

Runs every cell of the grid in FILE.toml (pretrain + evaluate through the
simclr package) and records it in the results database. The whole grid is
read and validated first: a bad file, a bad --set, a dataset file missing
for any cell or a grid over --max-cells stops here with exit status 2 and
nothing written.

A cell is experiment name + config hash + seed. A cell that finished
before is skipped; a failed or interrupted one is rerun only with
--retry-failed (and resumes from its last epoch checkpoint, kept under
<db dir>/checkpoints/<experiment>/<hash>-s<seed>); --force reruns
everything. A cell another runner is running is skipped; one whose runner
died (no heartbeat for --stale-after) is taken over. Several runner
processes may work on the same grid and database at once.

Ctrl-C (or SIGTERM) marks the running cells interrupted, keeps their
checkpoints and exits with status 130; a second Ctrl-C exits at once.
A cell that fails (a non-finite loss, unreadable data) is recorded failed
with its error and the grid goes on; the exit status is then 1.

Progress goes to stderr: live bars on a terminal, else one log line a cell
start, epoch and end. The summary goes to stdout.

On a cluster, --shard I/N runs only shard I (from 0) of N: a partition by
estimated cost that every task computes alike (or reads from --shard-map,
written by runner submit). Inside a Slurm array task the task's index and
count are used without the flag (SLURM_ARRAY_TASK_ID minus
SLURM_ARRAY_TASK_MIN, of SLURM_ARRAY_TASK_COUNT), in a Kubernetes Indexed
Job JOB_COMPLETION_INDEX with --shards N; --shard 0/1 runs the whole grid.
A shard writes its own database, results/shards/<experiment>/<I>-of-<N>.db
unless --db says otherwise, with SQLite's rollback journal (one writer), so
it may sit on shared storage; cells a killed task left running there are
marked interrupted when the shard starts again, and --retry-failed resumes
them from their checkpoints. runner merge folds the shards into one file.
A database on a network file system is otherwise refused (WAL mode is
unsafe there) unless --allow-network-fs.
`

// Run runs the command.
func (c *RunCommand) Run(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("runner", "run", runUsage, c.Stdout)
	dbPath := fs.String("db", defaultDB, "results database `file` (created if missing)")
	jobs := fs.Int("j", defaultJobs, "run `N` cells at once")
	var sets cli.StringList
	fs.Var(&sets, "set", "override a setting in every cell, `key=value` (repeatable; TOML value, bare words are strings)")
	retry := fs.Bool("retry-failed", false, "rerun failed and interrupted cells (interrupted ones resume from their checkpoint)")
	force := fs.Bool("force", false, "rerun every cell, finished ones too")
	dryRun := fs.Bool("dry-run", false, "print the plan (as runner plan) and run nothing")
	maxCells := fs.Int("max-cells", 0, "refuse grids of more than `N` cells (0: the file's max_cells, else 10000)")
	staleAfter := fs.Duration("stale-after", store.DefaultStaleAfter, "take over a running cell whose heartbeat is older than this `duration`")
	progressMode := fs.String("progress", "auto", "progress display: auto (bars on a terminal, else log lines), bars, log")
	cf := addClusterFlags(fs.FlagSet)
	pos, err := fs.Parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return cli.Usagef("run: want one grid file, got %d arguments (usage: runner run FILE.toml [flags])", len(pos))
	case *jobs < 1:
		return cli.Usagef("run: -j %d: must be at least 1", *jobs)
	case *maxCells < 0:
		return cli.Usagef("run: --max-cells %d: must be positive", *maxCells)
	case *staleAfter < time.Second:
		return cli.Usagef("run: --stale-after %v: must be at least 1s", *staleAfter)
	case *progressMode != "auto" && *progressMode != "bars" && *progressMode != "log":
		return cli.Usagef("run: --progress %q: unknown mode (valid: auto, bars, log)", *progressMode)
	}

	g, err := grid.Load(pos[0], grid.Options{Set: sets, MaxCells: *maxCells})
	if err != nil {
		return err
	}
	sh, err := cf.selectShard(g, fs.FlagSet, dbPath)
	if err != nil {
		return err
	}
	if sh != nil {
		g = sh.grid(g)
		fmt.Fprintf(c.Stderr, "runner: shard %s (%s): %d %s of the grid's %d -> %s\n",
			sh.shard, sh.from, len(sh.cells), plural(len(sh.cells), "cell", "cells"), sh.total, *dbPath)
	}
	if err := preflight(g); err != nil {
		return err
	}
	if *dryRun {
		return writePlan(ctx, c.Stdout, c.Stderr, g, *dbPath, *jobs)
	}
	if fi, err := os.Stat(*dbPath); err == nil && fi.IsDir() {
		return cli.BadInput(fmt.Errorf("run: --db %s is a directory, not a results database file", *dbPath))
	}

	// From here on the database is written.
	db, err := cf.open(*dbPath, sh != nil)
	if err != nil {
		return err
	}
	defer db.Close()
	expID, err := db.EnsureExperiment(ctx, g.Name, g.Description, g.Path)
	if err != nil {
		return err
	}
	if sh != nil {
		if err := sh.recover(ctx, db, expID, c.Stderr); err != nil {
			return err
		}
	}

	bars := *progressMode == "bars" || (*progressMode == "auto" && c.Terminal)
	var prog progress
	if bars {
		prog = newBarProgress(c.Stderr, len(g.Cells))
	} else {
		prog = newLogProgress(c.Stderr)
	}
	r := &gridRun{
		db:     db,
		grid:   g,
		expID:  expID,
		prov:   provenance(ctx),
		policy: store.ClaimPolicy{RetryFailed: *retry, Force: *force, StaleAfter: *staleAfter},
		ckRoot: cf.checkpointRoot(*dbPath, g.Name),
		prog:   prog,
		log:    prog.logger(),
	}
	if sh != nil {
		r.shard = sh.shard.name()
	}
	start := time.Now()
	r.measureRSS = *jobs == 1
	if *jobs == 1 {
		r.releaseMemory = releaseMemory
	}
	ctx, stopGrid := context.WithCancelCause(ctx)
	defer stopGrid(nil)
	r.stopGrid = stopGrid
	results := r.run(ctx, *jobs)
	prog.close()
	removeEmptyDirs(r.ckRoot, filepath.Dir(r.ckRoot))

	s := summarize(results)
	s.write(c.Stdout, g, time.Since(start), *jobs)
	switch {
	case errors.Is(context.Cause(ctx), store.ErrReplaced):
		return fmt.Errorf("stopped, writing nothing more: %w; rerun the grid with --retry-failed to go on from what the file now on disk holds",
			context.Cause(ctx))
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted: %d running %s marked interrupted (rerun with --retry-failed to resume from the last epoch checkpoint): %w",
			s.interrupted, plural(s.interrupted, "cell", "cells"), context.Cause(ctx))
	case s.failed > 0:
		return fmt.Errorf("%d of %d %s failed (listed above)", s.failed, len(g.Cells), plural(len(g.Cells), "cell", "cells"))
	}
	return nil
}

// outcome is what became of one cell in this run.
type outcome int

const (
	notStarted  outcome = iota // interrupted before its turn
	finished                   // ran to the end and was recorded
	skipped                    // Claim declined: finished before, failed without --retry-failed, or running elsewhere
	failed                     // recorded failed (or could not be claimed or recorded)
	interrupted                // recorded interrupted, checkpoint kept
	lost                       // another process took the cell over while it ran
	unrecorded                 // stopped unrecorded: the database file was replaced on disk
)

// cellResult is the fate of one cell.
type cellResult struct {
	cell     *grid.Cell
	runID    int64
	outcome  outcome
	prev     string // the status Claim found ("" when the cell was new)
	err      error  // why it failed or was interrupted
	duration time.Duration
	res      *simclr.Result
}

// gridRun runs the cells of one grid against one database.
type gridRun struct {
	db     *store.DB
	grid   *grid.Grid
	expID  int64
	prov   store.Provenance
	policy store.ClaimPolicy
	ckRoot string // checkpoints of this experiment: ckRoot/<hash>-s<seed>
	shard  string // "<I>-of-<N>" when the run is a shard, else ""
	prog   progress
	log    *slog.Logger
	// measureRSS: one cell at a time, so the process's peak resident
	// memory while a cell runs is the cell's (recorded as peak_rss_mb).
	measureRSS bool
	// releaseMemory is the cells' simclr.Hooks.ReleaseMemory: releaseMemory
	// with one cell at a time, nil with several (see releaseMemory).
	releaseMemory func(returnPages bool)
	// stopGrid stops every cell (the database file was replaced), once.
	stopGrid context.CancelCauseFunc
	stopOnce sync.Once
}

// run runs the cells with `jobs` workers, in grid order, and returns one
// result a cell. Workers stop taking cells once ctx is cancelled.
func (r *gridRun) run(ctx context.Context, jobs int) []cellResult {
	cells := r.grid.Cells
	results := make([]cellResult, len(cells))
	for i := range cells {
		results[i] = cellResult{cell: &cells[i], outcome: notStarted}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(jobs, len(cells)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(cells) {
					return
				}
				results[i] = r.runCell(ctx, &cells[i])
			}
		}()
	}
	wg.Wait()
	return results
}

// checkpointDir is where the cell's per-epoch checkpoint lives while it
// runs: <db dir>/checkpoints/<experiment>/<config hash>-s<seed>.
func (r *gridRun) checkpointDir(c *grid.Cell) string {
	return cellCheckpointDir(r.ckRoot, c.Hash, c.Config.Seed)
}

// runCell claims the cell, runs it with a heartbeat and records what
// happened.
func (r *gridRun) runCell(ctx context.Context, c *grid.Cell) cellResult {
	out := cellResult{cell: c}
	key := store.CellKey{Experiment: r.grid.Name, ConfigHash: c.Hash, Seed: c.Config.Seed, Index: c.Index}
	runID, claimed, prev, err := r.db.Claim(ctx, r.expID, c.Label, c.Config, key, r.prov, r.policy)
	out.runID, out.prev = runID, prev
	switch {
	case err != nil && ctx.Err() != nil:
		out.outcome = notStarted
		return out
	case r.replaced(err):
		out.outcome = unrecorded
		return out
	case err != nil:
		out.outcome, out.err = failed, err
		r.prog.skip(c, runID, prev, err)
		return out
	case !claimed:
		out.outcome = skipped
		r.prog.skip(c, runID, prev, nil)
		return out
	}
	// Claim rewrites the run's params; the tags go back beside them.
	if err := r.db.SetTags(ctx, runID, c.Tags); err != nil {
		r.log.Warn("store cell tags", "cell", c.Index, "run", runID, "err", err)
	}

	start := time.Now()
	cp := r.prog.start(c, runID, prev)
	cellCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopBeat := r.heartbeat(cellCtx, cancel, runID)

	ckDir := r.checkpointDir(c)
	var (
		mu    sync.Mutex
		steps []simclr.StepStats
	)
	hooks := simclr.Hooks{
		Checkpoint: ckDir,
		Logger:     slog.New(quietEpochs{r.log.Handler()}).With("cell", c.Index, "run", runID),
		OnPhase:    cp.phase,
		// Set with one cell at a time (releaseMemory).
		ReleaseMemory: r.releaseMemory,
		OnStep: func(s simclr.StepStats) {
			mu.Lock()
			steps = append(steps, s)
			mu.Unlock()
			cp.step(s)
		},
		OnEpoch: func(e simclr.EpochStats) {
			mu.Lock()
			buf := steps
			steps = nil
			mu.Unlock()
			cp.epoch(e)
			// The epoch's steps and its statistics, one transaction each.
			// A lost claim stops the cell; other write errors are logged
			// (Finish writes every epoch again).
			var stepsErr error
			if len(buf) > 0 {
				stepsErr = r.db.RecordSteps(cellCtx, runID, buf)
			}
			for _, err := range []error{stepsErr, r.db.RecordEpoch(cellCtx, runID, e)} {
				if errors.Is(err, store.ErrClaimLost) || r.replaced(err) {
					cancel(err)
				} else if err != nil && cellCtx.Err() == nil {
					r.log.Warn("record epoch", "cell", c.Index, "run", runID, "epoch", e.Epoch, "err", err)
				}
			}
		},
	}
	var trained *nn.State // the network to keep, with save_encoder
	if c.Config.SaveEncoder {
		hooks.OnTrained = func(st *nn.State) { trained = st }
	}
	measured := r.measureRSS && resetPeakRSS()
	res, runErr := runProtected(cellCtx, c.Config, hooks)
	stopBeat()
	out.duration = time.Since(start)
	if mb := peakRSS(); measured && mb > 0 {
		if err := r.db.RecordPeakRSS(context.WithoutCancel(ctx), runID, mb); err != nil && !errors.Is(err, store.ErrClaimLost) {
			r.log.Warn("record peak RSS", "cell", c.Index, "run", runID, "err", err)
		}
	}

	// Record the outcome even when ctx is cancelled (an interrupted cell
	// must be marked so).
	wctx := context.WithoutCancel(ctx)
	cause := context.Cause(cellCtx)
	if runErr == nil && trained != nil {
		runErr = r.keepEncoder(wctx, c, runID, trained, res) // fails the cell when it cannot be kept
	}
	switch {
	case runErr == nil:
		out.res = res
		if err := r.db.Finish(wctx, runID, res); r.replaced(err) {
			out.outcome, out.err = unrecorded, err
		} else if errors.Is(err, store.ErrClaimLost) {
			out.outcome, out.err = lost, err
		} else if err != nil {
			out.outcome, out.err = failed, fmt.Errorf("record result: %w", err)
		} else {
			out.outcome = finished
			// Run removed the checkpoint file; a temporary file left by a
			// process killed while saving may remain.
			if err := os.RemoveAll(ckDir); err != nil {
				r.log.Warn("remove checkpoint", "dir", ckDir, "err", err)
			}
		}
	case errors.Is(cause, store.ErrClaimLost):
		out.outcome, out.err = lost, cause
	case errors.Is(cause, store.ErrReplaced):
		// Whatever is written now goes into the replaced file: nothing.
		out.outcome, out.err = unrecorded, cause
	case ctx.Err() != nil && errors.Is(runErr, context.Canceled):
		out.outcome, out.err = interrupted, runErr
		if err := r.db.MarkFailed(wctx, runID, store.StatusInterrupted, runErr.Error()); err != nil {
			out.err = fmt.Errorf("%w (and marking it interrupted: %v)", runErr, err)
		}
	default:
		// A failed cell starts afresh when retried: its checkpoint may be
		// what failed (unreadable), and a diverged run would only diverge
		// again from it.
		out.outcome, out.err = failed, runErr
		if err := r.db.MarkFailed(wctx, runID, store.StatusFailed, runErr.Error()); errors.Is(err, store.ErrClaimLost) {
			out.outcome, out.err = lost, err
		} else if err != nil {
			out.err = fmt.Errorf("%w (and marking it failed: %v)", runErr, err)
		}
		if out.outcome == failed {
			if err := os.RemoveAll(ckDir); err != nil {
				r.log.Warn("remove checkpoint", "dir", ckDir, "err", err)
			}
		}
	}
	cp.end(&out)
	return out
}

// replaced reports whether err says the database file was replaced on
// disk, and then stops the grid: every write would go into the old file.
func (r *gridRun) replaced(err error) bool {
	if !errors.Is(err, store.ErrReplaced) {
		return false
	}
	r.stopOnce.Do(func() {
		r.log.Error("results database replaced on disk: stopping the grid", "err", err)
		if r.stopGrid != nil {
			r.stopGrid(err)
		}
	})
	return true
}

// releaseMemory is what a cell does at its phase boundaries when it runs
// alone (simclr.Hooks.ReleaseMemory): collect its garbage, and return the
// free pages to the system when returnPages, so that its peak resident
// memory (peak_rss_mb) is its own and not its predecessor's garbage. With
// several cells at once (-j > 1) the runner does nothing there: a forced
// collection marks the whole process's heap, the siblings' networks too,
// in CPU taken from their training steps, and the pages it would return
// are ones a sibling may be about to reuse; no per-cell peak is measured
// then, and Go's collector paces itself (GOGC, gcPercent). A variable so
// tests can count the calls.
var releaseMemory = func(returnPages bool) {
	if returnPages {
		debug.FreeOSMemory()
	} else {
		runtime.GC()
	}
}

// runProtected is simclr.Run with a panic turned into the cell's error
// (with its stack, kept in the database), so that one broken cell does not
// take the grid down.
func runProtected(ctx context.Context, cfg simclr.Config, hooks simclr.Hooks) (res *simclr.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("panic in simclr.Run: %v\n%s", p, debug.Stack())
		}
	}()
	return simclr.Run(ctx, cfg, hooks)
}

// heartbeat refreshes the run's heartbeat every StaleAfter/4 until the
// returned stop is called. When the claim is lost (another process took
// the cell over) it cancels the cell with store.ErrClaimLost as the cause;
// when the database file was replaced on disk, the whole grid with
// store.ErrReplaced.
func (r *gridRun) heartbeat(ctx context.Context, cancel context.CancelCauseFunc, runID int64) (stop func()) {
	stale := r.policy.StaleAfter
	if stale <= 0 {
		stale = store.DefaultStaleAfter
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(stale / 4)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				err := r.db.Heartbeat(ctx, runID)
				if errors.Is(err, store.ErrClaimLost) {
					r.log.Warn("claim lost: another process took the cell over", "run", runID, "err", err)
					cancel(err)
					return
				}
				if r.replaced(err) {
					cancel(err)
					return
				}
				if err != nil && ctx.Err() == nil {
					r.log.Warn("heartbeat", "run", runID, "err", err)
				}
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// quietEpochs drops simclr's own per-epoch log record: the runner logs one
// line an epoch itself, naming the cell's label.
type quietEpochs struct{ slog.Handler }

func (h quietEpochs) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level == slog.LevelInfo && rec.Message == "epoch" {
		return nil
	}
	return h.Handler.Handle(ctx, rec)
}

func (h quietEpochs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietEpochs{h.Handler.WithAttrs(attrs)}
}

func (h quietEpochs) WithGroup(name string) slog.Handler {
	return quietEpochs{h.Handler.WithGroup(name)}
}

// removeEmptyDirs removes each directory that is empty, in order,
// ignoring the ones that are missing or not empty.
func removeEmptyDirs(dirs ...string) {
	for _, d := range dirs {
		_ = os.Remove(d) // fails, harmlessly, on a missing or non-empty directory
	}
}

// summary counts the outcomes of a run.
type summary struct {
	finished, skipped, failed, interrupted, lost, unrecorded, notStarted int
	skippedBy                                                            map[string]int // by the status found
	failures                                                             []cellResult
}

func summarize(results []cellResult) summary {
	s := summary{skippedBy: map[string]int{}}
	for _, r := range results {
		switch r.outcome {
		case finished:
			s.finished++
		case skipped:
			s.skipped++
			s.skippedBy[r.prev]++
		case failed:
			s.failed++
			s.failures = append(s.failures, r)
		case interrupted:
			s.interrupted++
		case lost:
			s.lost++
		case unrecorded:
			s.unrecorded++
		case notStarted:
			s.notStarted++
		}
	}
	return s
}

// write prints the summary: counts, then each failure on one line, then
// why cells were skipped.
func (s summary) write(w io.Writer, g *grid.Grid, wall time.Duration, jobs int) {
	fmt.Fprintf(w, "%s: %d %s: %d finished, %d skipped, %d failed, %d interrupted",
		g.Name, len(g.Cells), plural(len(g.Cells), "cell", "cells"), s.finished, s.skipped, s.failed, s.interrupted)
	if s.lost > 0 {
		fmt.Fprintf(w, ", %d taken over by another runner", s.lost)
	}
	if s.unrecorded > 0 {
		fmt.Fprintf(w, ", %d stopped unrecorded (database file replaced)", s.unrecorded)
	}
	if s.notStarted > 0 {
		fmt.Fprintf(w, ", %d not started", s.notStarted)
	}
	fmt.Fprintf(w, " in %s (-j %d)\n", roundDuration(wall), jobs)
	if len(s.failures) > 0 {
		fmt.Fprintln(w, "failed:")
		for _, f := range s.failures {
			run := ""
			if f.runID != 0 {
				run = fmt.Sprintf(", run %d", f.runID)
			}
			fmt.Fprintf(w, "  #%d %s (seed %d%s): %s\n", f.cell.Index, f.cell.Label, f.cell.Config.Seed, run, cli.OneLine(f.err.Error()))
		}
	}
	if s.skipped > 0 {
		var why []string
		for _, st := range []string{store.StatusFinished, store.StatusFailed, store.StatusInterrupted, store.StatusRunning} {
			if n := s.skippedBy[st]; n > 0 {
				why = append(why, fmt.Sprintf("%d %s", n, skipReason(st)))
			}
		}
		fmt.Fprintf(w, "skipped: %s\n", strings.Join(why, ", "))
	}
}

// skipReason says why Claim skipped a cell whose row had status st.
func skipReason(st string) string {
	switch st {
	case store.StatusFinished:
		return "finished before (--force reruns)"
	case store.StatusFailed:
		return "failed before (--retry-failed reruns)"
	case store.StatusInterrupted:
		return "interrupted before (--retry-failed resumes)"
	case store.StatusRunning:
		return "running in another runner"
	}
	return st
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// roundDuration rounds for display: 1.234s, 12.3s, 2m3s.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond)
	case d < time.Minute:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
