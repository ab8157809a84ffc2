package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/runner/grid"
	"github.com/simclr-ablate/simclr-ablate/simclr"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// PlanCommand is `runner plan`: the cells of a grid file, their status in
// the results database and an estimated time, without running anything.
type PlanCommand struct {
	Stdout io.Writer
	Stderr io.Writer
}

const planUsage = `
Usage: runner plan FILE.toml [flags]

Prints the cells of the grid in FILE.toml in run order, one a line: index,
seed, config hash, label, the settings that vary, pairwise tags, then the
cell's status in the results database (- when it has no run yet), its run
id, and an estimated time. It reads and validates the whole grid as run
does (dataset files included), and runs nothing. The database is opened read-only and never
created; without one every status is - and every estimate ?.

The estimate of a cell is the mean duration of the finished runs in the
database (any experiment) with the same config hash; else of those with
the same method, dataset, encoder, batch_size and epochs (and, for a cell
that trains, pretrain_subset); for a cell that trains (a cell given in
steps at once), else the mean over the finished runs with the same method,
dataset, encoder and batch_size of their duration plus the difference in
steps at their time a step; else "?". The last line adds up the estimates
of the cells not finished yet, divided by -j (cells run at once).

With --json it prints instead a JSON array of the cells in run order,
each with its index, label, seed, hash, varying settings, tags and the
resolved config (every setting, as a run records it), and reads no
database.
`

// Run runs the command.
func (c *PlanCommand) Run(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("runner", "plan", planUsage, c.Stdout)
	dbPath := fs.String("db", defaultDB, "results database `file` to read statuses and durations from (never created)")
	jobs := fs.Int("j", defaultJobs, "cells run at once, for the total estimate")
	var sets cli.StringList
	fs.Var(&sets, "set", "override a setting in every cell, `key=value` (repeatable), as run --set")
	maxCells := fs.Int("max-cells", 0, "refuse grids of more than `N` cells (0: the file's max_cells, else 10000)")
	asJSON := fs.Bool("json", false, "print the cells and their resolved configs as JSON (no database)")
	pos, err := fs.Parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return cli.Usagef("plan: want one grid file, got %d arguments (usage: runner plan FILE.toml [flags])", len(pos))
	case *jobs < 1:
		return cli.Usagef("plan: -j %d: must be at least 1", *jobs)
	case *maxCells < 0:
		return cli.Usagef("plan: --max-cells %d: must be positive", *maxCells)
	}
	g, err := grid.Load(pos[0], grid.Options{Set: sets, MaxCells: *maxCells})
	if err != nil {
		return err
	}
	if err := preflight(g); err != nil {
		return err
	}
	if *asJSON {
		return writePlanJSON(c.Stdout, g)
	}
	return writePlan(ctx, c.Stdout, c.Stderr, g, *dbPath, *jobs)
}

// cellPlan is what the database says about one cell.
type cellPlan struct {
	status string // "" when the cell has no run
	runID  int64
	est    time.Duration
	known  bool // est is set
}

// writePlan writes grid.WritePlan's table with three more columns
// (status, run, est) and a total line. The database at dbPath is read
// when it exists; a database that cannot be read is reported on stderr
// and the plan printed without it.
func writePlan(ctx context.Context, stdout, stderr io.Writer, g *grid.Grid, dbPath string, jobs int) error {
	plans := make([]cellPlan, len(g.Cells))
	if err := planFromDB(ctx, g, dbPath, plans); err != nil {
		fmt.Fprintf(stderr, "runner: plan without statuses: %s\n", cli.OneLine(err.Error()))
	}

	var table bytes.Buffer
	if err := g.WritePlan(&table); err != nil {
		return err
	}
	sc := bufio.NewScanner(&table)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	if !sc.Scan() {
		return fmt.Errorf("plan: grid.WritePlan wrote nothing")
	}
	bw := bufio.NewWriter(stdout)
	fmt.Fprintln(bw, sc.Text()) // the title line
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	row := -1 // the header, then one row a cell
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " ")
		if row < 0 {
			fmt.Fprintf(tw, "%s\tstatus\trun\test\n", line)
		} else if row < len(plans) {
			p := plans[row]
			status, run, est := "-", "-", "?"
			if p.status != "" {
				status, run = p.status, strconv.FormatInt(p.runID, 10)
			}
			if p.known {
				est = formatEstimate(p.est)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", line, status, run, est)
		}
		row++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	if row != len(plans) {
		return fmt.Errorf("plan: grid.WritePlan wrote %d rows for %d cells", row, len(plans))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	var todo, unknown int
	var total time.Duration
	for _, p := range plans {
		if p.status == store.StatusFinished {
			continue
		}
		todo++
		if p.known {
			total += p.est
		} else {
			unknown++
		}
	}
	fmt.Fprintf(bw, "to run: %d of %d %s", todo, len(plans), plural(len(plans), "cell", "cells"))
	switch {
	case todo == 0:
	case unknown == todo:
		fmt.Fprint(bw, ", no estimate (no finished runs like them in the database)")
	default:
		fmt.Fprintf(bw, ", estimated %s at -j %d", formatEstimate(total/time.Duration(jobs)), jobs)
		if unknown > 0 {
			fmt.Fprintf(bw, " plus %d %s without an estimate", unknown, plural(unknown, "cell", "cells"))
		}
	}
	fmt.Fprintln(bw)
	return bw.Flush()
}

// planFromDB fills plans with each cell's status and estimate from the
// database at path, opened read-only. A missing file is no error: plans
// stay empty.
func planFromDB(ctx context.Context, g *grid.Grid, path string, plans []cellPlan) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	db, err := store.OpenReadOnly(path)
	if err != nil {
		return err
	}
	defer db.Close()
	for i, c := range g.Cells {
		st, id, err := db.CellStatus(ctx, g.Name, store.CellKey{Experiment: g.Name, ConfigHash: c.Hash, Seed: c.Config.Seed})
		if err != nil {
			return err
		}
		plans[i].status, plans[i].runID = st, id
	}

	// Estimates: the mean duration of finished runs with the same config
	// hash, else with the same coarse settings, else (a cell that trains)
	// scaled by its steps from runs like it of another length.
	runs, err := db.ListRuns(ctx, store.RunFilter{Status: store.StatusFinished})
	if err != nil {
		return err
	}
	byHash := map[string]*mean{}
	for _, r := range runs {
		if r.Duration <= 0 {
			continue
		}
		m := byHash[r.ConfigHash]
		if m == nil {
			m = &mean{}
			byHash[r.ConfigHash] = m
		}
		m.add(r.Duration)
	}
	bySettings := map[string]*mean{}
	perStep := map[string][]stepTiming{}
	for i, c := range g.Cells {
		if m := byHash[c.Hash]; m != nil {
			plans[i].est, plans[i].known = m.value(), true
			continue
		}
		trains := c.Config.Method == simclr.MethodSimCLR || c.Config.Method == simclr.MethodSupervised
		if c.Config.Steps > 0 {
			est, ok, err := stepsEstimate(ctx, db, c.Config, plannedSteps(c.Config), perStep)
			if err != nil {
				return err
			}
			plans[i].est, plans[i].known = est, ok
			continue
		}
		where := coarseWhere(c.Config, trains)
		m, seen := bySettings[where]
		if !seen {
			m = &mean{}
			rows, err := db.ListRuns(ctx, store.RunFilter{Status: store.StatusFinished, Where: where})
			if err != nil {
				return err
			}
			for _, r := range rows {
				if r.Duration > 0 {
					m.add(r.Duration)
				}
			}
			bySettings[where] = m
		}
		if m.n > 0 {
			plans[i].est, plans[i].known = m.value(), true
			continue
		}
		if trains {
			est, ok, err := stepsEstimate(ctx, db, c.Config, plannedSteps(c.Config), perStep)
			if err != nil {
				return err
			}
			plans[i].est, plans[i].known = est, ok
		}
	}
	return nil
}

// coarseWhere is the runner ls filter of the runs whose time should be
// like cfg's: same method, dataset, encoder, batch_size and epochs, and
// for a cell that trains (its steps an epoch) the same pretrain_subset.
func coarseWhere(cfg simclr.Config, trains bool) string {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	w := fmt.Sprintf("method = %s and dataset = %s and encoder = %s and batch_size = %d and epochs = %d",
		q(cfg.Method), q(cfg.Dataset), q(cfg.Encoder), cfg.BatchSize, cfg.Epochs)
	if trains {
		w += fmt.Sprintf(" and pretrain_subset = %d", cfg.PretrainSubset)
	}
	return w
}

// stepTiming is what a finished run says about the time of a step: its
// duration, its steps and its pretraining time.
type stepTiming struct {
	duration, pretrain time.Duration
	steps              int
}

// stepsEstimate estimates a cell of steps optimisation steps from the
// finished runs with the same method, dataset, encoder and batch_size: the
// mean of each run's duration plus the cell's extra steps (or minus its
// fewer) at the run's pretraining time a step. cache holds the runs read
// by filter.
func stepsEstimate(ctx context.Context, db *store.DB, cfg simclr.Config, steps int, cache map[string][]stepTiming) (time.Duration, bool, error) {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	where := fmt.Sprintf("method = %s and dataset = %s and encoder = %s and batch_size = %d",
		q(cfg.Method), q(cfg.Dataset), q(cfg.Encoder), cfg.BatchSize)
	runs, seen := cache[where]
	if !seen {
		rows, err := db.ListRuns(ctx, store.RunFilter{Status: store.StatusFinished, Where: where})
		if err != nil {
			return 0, false, err
		}
		for _, r := range rows {
			d, err := db.GetRun(ctx, r.ID)
			if err != nil {
				return 0, false, err
			}
			st := stepTiming{duration: d.Duration, pretrain: d.PretrainTime}
			for _, e := range d.Epochs {
				st.steps += e.Steps
			}
			if st.steps > 0 && st.duration > 0 && st.pretrain > 0 {
				runs = append(runs, st)
			}
		}
		cache[where] = runs
	}
	var m mean
	for _, r := range runs {
		extra := time.Duration(float64(r.pretrain) * float64(steps-r.steps) / float64(r.steps))
		m.add(max(r.duration+extra, 0))
	}
	return m.value(), m.n > 0, nil
}

type mean struct {
	sum time.Duration
	n   int
}

func (m *mean) add(d time.Duration) { m.sum += d; m.n++ }
func (m *mean) value() time.Duration {
	if m.n == 0 {
		return 0
	}
	return m.sum / time.Duration(m.n)
}

// formatEstimate rounds a duration for the plan: 3s, 1m20s, 2h5m.
func formatEstimate(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}
