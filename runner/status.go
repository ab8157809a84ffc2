package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/runner/grid"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// StatusCommand is `runner status`: the progress of a grid's shards.
type StatusCommand struct {
	Stdout io.Writer
	Stderr io.Writer
}

const statusUsage = `
Usage: runner status FILE.toml [--db results/results.db] [--shards N] [flags]

Shows how far the shards of the grid in FILE.toml have got, from their
databases (<db dir>/shards/<experiment>/<I>-of-<N>.db, opened read-only):
for each shard its cells finished, running, interrupted, failed and not
started, and the age of the newest heartbeat; then how many of the grid's
cells are finished in the merged --db. The split is the one runner submit
wrote (<db dir>/slurm/<experiment>/shards.json), else --shards N, else the
one the shard files' names give. When runner submit slurm recorded its job
ids and squeue is on the PATH, the jobs' states follow.
`

// Run runs the command.
func (c *StatusCommand) Run(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("runner", "status", statusUsage, c.Stdout)
	dbPath := fs.String("db", defaultDB, "the merged results `file`; the shards are found beside it")
	shards := fs.Int("shards", 0, "the number of shards, `N`, when runner submit did not record the split")
	var sets cli.StringList
	fs.Var(&sets, "set", "override a setting in every cell, `key=value` (repeatable), as given to run or submit")
	maxCells := fs.Int("max-cells", 0, "refuse grids of more than `N` cells (0: the file's max_cells, else 10000)")
	pos, err := fs.Parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return cli.Usagef("status: want one grid file, got %d arguments (usage: runner status FILE.toml [flags])", len(pos))
	case *shards < 0:
		return cli.Usagef("status: --shards %d: must be at least 1", *shards)
	}
	g, err := grid.Load(pos[0], grid.Options{Set: sets, MaxCells: *maxCells})
	if err != nil {
		return err
	}
	lay := newLayout(*dbPath, "slurm", g.Name)
	m, source, err := findSplit(g, lay, *shards)
	if err != nil {
		return err
	}

	bw := &bytes.Buffer{}
	if m == nil {
		fmt.Fprintf(bw, "%s: %d %s; no shards in %s\n", g.Name, len(g.Cells), plural(len(g.Cells), "cell", "cells"), lay.shardDir)
	} else {
		fmt.Fprintf(bw, "%s: %d %s in %d %s (%s)\n", g.Name, len(g.Cells), plural(len(g.Cells), "cell", "cells"), m.Shards, plural(m.Shards, "shard", "shards"), source)
		writeShardTable(ctx, bw, g, m, lay)
	}
	writeMerged(ctx, bw, g, *dbPath)
	writeSlurmJobs(ctx, bw, lay)
	_, err = c.Stdout.Write(bw.Bytes())
	return err
}

// findSplit returns the grid's split: the shard map runner submit wrote,
// else the nominal one of --shards N, else of the N the shard files'
// names give (nil when there are none).
func findSplit(g *grid.Grid, lay layout, shards int) (*shardMap, string, error) {
	mapPath := filepath.Join(lay.jobDir, "shards.json")
	if m, err := readShardMap(mapPath); err == nil && (shards == 0 || shards == m.Shards) {
		if _, err := m.cellsOf(g, shard{0, m.Shards}, mapPath); err != nil {
			return nil, "", err
		}
		return m, mapPath, nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, "", err
	}
	if shards > 0 {
		return nominalShardMap(g, shards), fmt.Sprintf("--shards %d", shards), nil
	}
	files, _ := filepath.Glob(filepath.Join(lay.shardDir, "*-of-*.db"))
	var counts []int
	for _, f := range files {
		var i, n int
		if _, err := fmt.Sscanf(filepath.Base(f), "%d-of-%d.db", &i, &n); err == nil && n > 0 && !slices.Contains(counts, n) {
			counts = append(counts, n)
		}
	}
	switch len(counts) {
	case 0:
		return nil, "", nil
	case 1:
		return nominalShardMap(g, counts[0]), "from the shard files' names", nil
	}
	slices.Sort(counts)
	return nil, "", cli.Usagef("status: %s holds shards of %s splits: pass --shards N", lay.shardDir, joinInts(counts))
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " and ")
}

// shardProgress counts a shard's cells by status.
type shardProgress struct {
	cells, finished, running, interrupted, failed, pending int
	heartbeat                                              time.Time
	err                                                    error
	missing                                                bool
}

func writeShardTable(ctx context.Context, w io.Writer, g *grid.Grid, m *shardMap, lay layout) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "shard\tcells\tfinished\trunning\tinterrupted\tfailed\tnot started\tdatabase")
	var total shardProgress
	for i := range m.Shards {
		s := shard{i, m.Shards}
		cells, _ := m.cellsOf(g, s, "")
		path := shardDB(lay.root, g.Name, s)
		p := readShard(ctx, g, cells, path)
		total.cells += p.cells
		note := path
		switch {
		case p.missing:
			note += ": not started"
			total.pending += p.cells
		case p.err != nil:
			note += ": " + cli.OneLine(p.err.Error())
		default:
			total.finished += p.finished
			total.running += p.running
			total.interrupted += p.interrupted
			total.failed += p.failed
			total.pending += p.pending
			if !p.heartbeat.IsZero() {
				note += fmt.Sprintf(" (heartbeat %s ago)", roundDuration(time.Since(p.heartbeat)))
			}
		}
		if p.missing || p.err != nil {
			fmt.Fprintf(tw, "%d\t%d\t-\t-\t-\t-\t%d\t%s\n", i, p.cells, p.cells, note)
			continue
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", i, p.cells, p.finished, p.running, p.interrupted, p.failed, p.pending, note)
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%d\t%d\t\n", total.cells, total.finished, total.running, total.interrupted, total.failed, total.pending)
	tw.Flush()
}

// readShard reads the status of the shard's cells from its database.
func readShard(ctx context.Context, g *grid.Grid, cells []grid.Cell, path string) shardProgress {
	p := shardProgress{cells: len(cells)}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		p.missing = true
		return p
	}
	db, err := store.OpenReadOnly(path)
	if err != nil {
		p.err = err
		return p
	}
	defer db.Close()
	for _, c := range cells {
		st, _, err := db.CellStatus(ctx, g.Name, store.CellKey{Experiment: g.Name, ConfigHash: c.Hash, Seed: c.Config.Seed})
		if err != nil {
			p.err = err
			return p
		}
		switch st {
		case store.StatusFinished:
			p.finished++
		case store.StatusRunning:
			p.running++
		case store.StatusInterrupted:
			p.interrupted++
		case store.StatusFailed:
			p.failed++
		default:
			p.pending++
		}
	}
	_, rows, err := db.Query(ctx, `SELECT max(heartbeat_at) FROM runs WHERE status = 'running'`)
	if err == nil && len(rows) == 1 {
		if s, ok := rows[0][0].(string); ok {
			p.heartbeat, _ = time.Parse(time.RFC3339Nano, s)
		}
	}
	return p
}

// writeMerged says how many of the grid's cells the merged database has
// finished.
func writeMerged(ctx context.Context, w io.Writer, g *grid.Grid, path string) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(w, "merged: %s does not exist yet\n", path)
		return
	}
	db, err := store.OpenReadOnly(path)
	if err != nil {
		fmt.Fprintf(w, "merged: %s\n", cli.OneLine(err.Error()))
		return
	}
	defer db.Close()
	done := 0
	for _, c := range g.Cells {
		st, _, err := db.CellStatus(ctx, g.Name, store.CellKey{Experiment: g.Name, ConfigHash: c.Hash, Seed: c.Config.Seed})
		if err != nil {
			fmt.Fprintf(w, "merged: %s\n", cli.OneLine(err.Error()))
			return
		}
		if st == store.StatusFinished {
			done++
		}
	}
	fmt.Fprintf(w, "merged: %d of %d %s finished in %s\n", done, len(g.Cells), plural(len(g.Cells), "cell", "cells"), path)
}

// writeSlurmJobs adds the states of the jobs runner submit slurm recorded,
// from squeue, when both are there.
func writeSlurmJobs(ctx context.Context, w io.Writer, lay layout) {
	b, err := os.ReadFile(filepath.Join(lay.jobDir, "jobs.json"))
	if err != nil {
		return
	}
	var jobs slurmJobs
	if json.Unmarshal(b, &jobs) != nil || jobs.ArrayJob == "" {
		return
	}
	if _, err := exec.LookPath("squeue"); err != nil {
		fmt.Fprintf(w, "slurm: array job %s, merge job %s (squeue not found)\n", jobs.ArrayJob, jobs.MergeJob)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "squeue", "-h", "-r", "-j", jobs.ArrayJob+","+jobs.MergeJob, "-o", "%i %T").Output()
	if err != nil {
		fmt.Fprintf(w, "slurm: array job %s, merge job %s (squeue: %v)\n", jobs.ArrayJob, jobs.MergeJob, err)
		return
	}
	array := map[string]int{}
	merge := ""
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		id, state, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if id == jobs.MergeJob {
			merge = state
		} else if strings.HasPrefix(id, jobs.ArrayJob+"_") || id == jobs.ArrayJob {
			array[state]++
		}
	}
	describe := func(counts map[string]int) string {
		if len(counts) == 0 {
			return "not in the queue (ended)"
		}
		var parts []string
		for _, st := range slices.Sorted(maps.Keys(counts)) {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
		return strings.Join(parts, ", ")
	}
	if merge == "" {
		merge = "not in the queue (ended)"
	}
	fmt.Fprintf(w, "slurm: array job %s: %s; merge job %s: %s\n", jobs.ArrayJob, describe(array), jobs.MergeJob, merge)
}
