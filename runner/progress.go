package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/runner/grid"
	"github.com/simclr-ablate/simclr-ablate/simclr"
)

// progress shows what the cells of a run are doing. Its methods may be
// called from several workers at once.
type progress interface {
	// start announces a claimed cell and returns its display; prev is
	// the status Claim found ("" for a new cell).
	start(c *grid.Cell, runID int64, prev string) cellProgress
	// skip announces a cell that was not claimed (err nil: Claim
	// declined it, prev says why) or could not be (err).
	skip(c *grid.Cell, runID int64, prev string, err error)
	// logger is where messages go (above the bars on a terminal).
	logger() *slog.Logger
	// close ends the display; call it once, after the last cell.
	close()
}

// cellProgress is the display of one running cell. phase, step and epoch
// come from simclr.Hooks; end is called once with the outcome.
type cellProgress interface {
	phase(p string)
	step(s simclr.StepStats)
	epoch(e simclr.EpochStats)
	end(r *cellResult)
}

// logProgress writes plain log/slog text lines (CI, nohup, pipes): one
// when a cell starts, one an epoch, one when it ends or is skipped.
type logProgress struct {
	log *slog.Logger
}

func newLogProgress(w io.Writer) *logProgress {
	return &logProgress{log: slog.New(slog.NewTextHandler(w, nil))}
}

func (p *logProgress) logger() *slog.Logger { return p.log }
func (p *logProgress) close()               {}

func (p *logProgress) start(c *grid.Cell, runID int64, prev string) cellProgress {
	args := []any{"cell", c.Index, "label", c.Label, "seed", c.Config.Seed, "run", runID}
	if prev != "" {
		args = append(args, "previous", prev)
	}
	p.log.Info("cell start", args...)
	return &logCell{log: p.log.With("cell", c.Index, "label", c.Label, "run", runID)}
}

func (p *logProgress) skip(c *grid.Cell, runID int64, prev string, err error) {
	if err != nil {
		p.log.Error("cell not run", "cell", c.Index, "label", c.Label, "seed", c.Config.Seed, "err", err)
		return
	}
	p.log.Info("cell skipped", "cell", c.Index, "label", c.Label, "seed", c.Config.Seed, "run", runID, "status", prev)
}

type logCell struct {
	log *slog.Logger
}

func (l *logCell) phase(string)          {}
func (l *logCell) step(simclr.StepStats) {}

func (l *logCell) epoch(e simclr.EpochStats) {
	args := []any{"epoch", fmt.Sprintf("%d/%d", e.Epoch, e.Epochs), "loss", round4(e.Loss), "lr", e.LR,
		"images_per_s", math.Round(e.ImagesPerSec), "contrastive_acc", round4(e.ContrastiveAcc)}
	if e.KNNAcc != nil {
		args = append(args, "knn_acc", round4(*e.KNNAcc))
	}
	l.log.Info("epoch", append(args, "seconds", round4(e.Duration.Seconds()))...)
}

func (l *logCell) end(r *cellResult) {
	args := []any{"status", outcomeStatus(r.outcome), "seconds", round4(r.duration.Seconds())}
	if f1, ok := headlineF1(r.res); ok {
		args = append(args, "linear_f1", round4(f1))
	}
	if r.err != nil {
		args = append(args, "err", cli.OneLine(r.err.Error()))
	}
	level := slog.LevelInfo
	if r.outcome == failed || r.outcome == lost {
		level = slog.LevelWarn
	}
	l.log.Log(context.Background(), level, "cell end", args...)
}

// barProgress draws live bars with mpb on a terminal: one for the grid
// (cells done of total, ETA) and one for each running cell (label, epoch,
// loss, images/s). Log messages print above the bars.
type barProgress struct {
	p    *mpb.Progress
	grid *mpb.Bar
	log  *slog.Logger

	mu    sync.Mutex
	began time.Time // the run's start, for the ETA
	ran   int       // cells that ran to an end (not skipped)
}

func newBarProgress(w io.Writer, cells int) *barProgress {
	// Not tied to the run's context: after Ctrl-C the bars stay until
	// close, so the cells' "interrupted" lines still print above them.
	// Auto refresh: the caller decided w is a terminal (or --progress
	// bars asked for bars anyway); mpb would draw nothing otherwise.
	p := mpb.New(mpb.WithOutput(w), mpb.WithWidth(100), mpb.WithRefreshRate(200*time.Millisecond),
		mpb.WithAutoRefresh())
	b := &barProgress{p: p, log: slog.New(slog.NewTextHandler(p, nil)), began: time.Now()}
	b.grid = p.New(int64(cells), mpb.BarStyle(),
		mpb.BarPriority(math.MaxInt), // the grid bar stays at the bottom
		mpb.PrependDecorators(decor.Name("grid", decor.WC{W: 32, C: decor.DindentRight}),
			decor.CountersNoUnit("%d/%d cells", decor.WCSyncSpace)),
		mpb.AppendDecorators(decor.Any(b.eta, decor.WCSyncSpace)),
	)
	return b
}

func (b *barProgress) logger() *slog.Logger { return b.log }

func (b *barProgress) close() {
	if !b.grid.Completed() {
		b.grid.Abort(false)
	}
	b.p.Wait()
}

func (b *barProgress) start(c *grid.Cell, runID int64, prev string) cellProgress {
	bc := &barCell{epochs: c.Config.Epochs, batch: c.Config.BatchSize, phaseText: "starting", started: time.Now()}
	if prev != "" {
		bc.phaseText = "resuming (" + prev + ")"
	}
	// Total 0: the bar never completes by itself (its total is set from
	// the first step); end removes it.
	bc.bar = b.p.New(0, mpb.BarStyle(),
		mpb.PrependDecorators(decor.Name(truncate(fmt.Sprintf("#%d %s", c.Index, c.Label), 32), decor.WC{W: 32, C: decor.DindentRight})),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return bc.text() }, decor.WC{W: 56, C: decor.DindentRight})),
	)
	bc.parent = b
	return bc
}

func (b *barProgress) skip(c *grid.Cell, runID int64, prev string, err error) {
	if err != nil {
		b.log.Error("cell not run", "cell", c.Index, "label", c.Label, "err", err)
	}
	b.done(false)
}

// done counts one cell on the grid bar; ran says it took time (the ETA
// learns only from those, not from skipped cells).
func (b *barProgress) done(ran bool) {
	b.mu.Lock()
	if ran {
		b.ran++
	}
	b.mu.Unlock()
	b.grid.Increment()
}

// eta is the grid bar's estimate: the cells left at the rate the cells
// run so far have taken (wall time, so -j counts).
func (b *barProgress) eta(s decor.Statistics) string {
	if s.Completed {
		return "done"
	}
	b.mu.Lock()
	ran, elapsed := b.ran, time.Since(b.began)
	b.mu.Unlock()
	if ran == 0 {
		return "ETA ?"
	}
	left := time.Duration(s.Total - s.Current)
	return "ETA " + (elapsed / time.Duration(ran) * left).Round(time.Second).String()
}

// barCell is the bar of one running cell.
type barCell struct {
	parent        *barProgress
	bar           *mpb.Bar
	epochs, batch int
	started       time.Time

	mu         sync.Mutex
	phaseText  string
	curEpoch   int
	loss       float64
	imgsPerSec float64
	knn        *float64 // the last epoch's kNN accuracy; nil without the monitor
	epochStart time.Time
}

func (bc *barCell) text() string {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	s := bc.phaseText
	if bc.curEpoch > 0 {
		s = fmt.Sprintf("epoch %d/%d  loss %.4f  %.0f img/s", bc.curEpoch, bc.epochs, bc.loss, bc.imgsPerSec)
		if bc.knn != nil {
			s += fmt.Sprintf("  kNN %.3f", *bc.knn)
		}
		if !strings.Contains(bc.phaseText, "epoch") {
			s += "  " + bc.phaseText
		}
	}
	return s
}

func (bc *barCell) phase(p string) {
	bc.mu.Lock()
	bc.phaseText = p
	bc.mu.Unlock()
}

func (bc *barCell) step(s simclr.StepStats) {
	bc.mu.Lock()
	if s.Step == 1 || bc.epochStart.IsZero() {
		bc.epochStart = time.Now()
	}
	bc.curEpoch, bc.loss, bc.epochs = s.Epoch, s.Loss, s.Epochs
	if d := time.Since(bc.epochStart).Seconds(); s.Step > 1 && d > 0 {
		bc.imgsPerSec = float64((s.Step-1)*2*bc.batch) / d
	}
	bc.mu.Unlock()
	bc.bar.SetTotal(int64(max(s.TotalSteps, 1)), false)
	bc.bar.SetCurrent(int64((s.Epoch-1)*s.StepsPerEpoch + s.Step))
}

func (bc *barCell) epoch(e simclr.EpochStats) {
	bc.mu.Lock()
	bc.curEpoch, bc.loss, bc.imgsPerSec, bc.knn = e.Epoch, e.Loss, e.ImagesPerSec, e.KNNAcc
	bc.epochStart = time.Time{}
	bc.mu.Unlock()
}

func (bc *barCell) end(r *cellResult) {
	bc.bar.Abort(true)
	args := []any{"cell", r.cell.Index, "label", r.cell.Label, "run", r.runID, "status", outcomeStatus(r.outcome),
		"seconds", round4(r.duration.Seconds())}
	if f1, ok := headlineF1(r.res); ok {
		args = append(args, "linear_f1", round4(f1))
	}
	if r.err != nil {
		args = append(args, "err", cli.OneLine(r.err.Error()))
	}
	bc.parent.log.Info("cell end", args...)
	bc.parent.done(r.outcome == finished || r.outcome == failed)
}

// outcomeStatus names an outcome as the runs table does.
func outcomeStatus(o outcome) string {
	switch o {
	case finished:
		return "finished"
	case failed:
		return "failed"
	case interrupted:
		return "interrupted"
	case lost:
		return "taken over"
	case unrecorded:
		return "unrecorded"
	case skipped:
		return "skipped"
	}
	return "not started"
}

// headlineF1 is the macro-F1 of the cell's linear evaluation on h (else
// the first linear one), as run_summary's linear_f1.
func headlineF1(res *simclr.Result) (float64, bool) {
	if res == nil {
		return 0, false
	}
	best := -1
	for i, e := range res.Evaluations {
		if e.Protocol != "linear" {
			continue
		}
		if best < 0 || (e.Features == "h" && res.Evaluations[best].Features != "h") {
			best = i
		}
	}
	if best < 0 {
		return 0, false
	}
	return res.Evaluations[best].MacroF1, true
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// truncate shortens s to n runes, marking the cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
