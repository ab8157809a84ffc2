package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/runner/grid"
	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// shard is one part of a grid split for a cluster: Index in [0, Count).
// Shard indexes are 0-based like Slurm's default array indexes and
// Kubernetes' JOB_COMPLETION_INDEX.
type shard struct {
	Index, Count int
}

func (s shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// name is "<I>-of-<N>": the shard's database is <name>.db.
func (s shard) name() string { return fmt.Sprintf("%d-of-%d", s.Index, s.Count) }

// fileName is the shard's database file name: "<I>-of-<N>.db".
func (s shard) fileName() string { return s.name() + ".db" }

// shardDB is the default database of a shard of experiment exp under the
// results directory root: <root>/shards/<exp>/<I>-of-<N>.db.
func shardDB(root, exp string, s shard) string {
	return filepath.Join(root, "shards", exp, s.fileName())
}

// parseShard reads "I/N" (0 <= I < N).
func parseShard(v string) (shard, error) {
	i, n, ok := strings.Cut(v, "/")
	if !ok {
		return shard{}, fmt.Errorf("--shard %q: want I/N, e.g. 0/4 (shard I of N, from 0)", v)
	}
	idx, err1 := strconv.Atoi(strings.TrimSpace(i))
	cnt, err2 := strconv.Atoi(strings.TrimSpace(n))
	if err1 != nil || err2 != nil {
		return shard{}, fmt.Errorf("--shard %q: want I/N with integers, e.g. 0/4", v)
	}
	s := shard{Index: idx, Count: cnt}
	if err := s.check(); err != nil {
		return shard{}, fmt.Errorf("--shard %q: %w", v, err)
	}
	return s, nil
}

func (s shard) check() error {
	switch {
	case s.Count < 1:
		return fmt.Errorf("the number of shards must be at least 1, not %d", s.Count)
	case s.Index < 0 || s.Index >= s.Count:
		return fmt.Errorf("shard index %d out of range: shards are numbered 0 to %d", s.Index, s.Count-1)
	}
	return nil
}

// Environment variables a cluster scheduler sets in each task.
const (
	envSlurmTaskID    = "SLURM_ARRAY_TASK_ID"
	envSlurmTaskCount = "SLURM_ARRAY_TASK_COUNT"
	envSlurmTaskMin   = "SLURM_ARRAY_TASK_MIN"
	envSlurmTaskMax   = "SLURM_ARRAY_TASK_MAX"
	envSlurmTaskStep  = "SLURM_ARRAY_TASK_STEP"
	envK8sIndex       = "JOB_COMPLETION_INDEX"
)

// detectShard decides which shard this process runs. In order: the
// --shard flag (flagShard, "" when not given); a Slurm array task
// (SLURM_ARRAY_TASK_ID minus SLURM_ARRAY_TASK_MIN, divided by the step,
// of SLURM_ARRAY_TASK_COUNT); a Kubernetes Indexed Job pod
// (JOB_COMPLETION_INDEX of --shards). shards is --shards (0 when not
// given); when set it must agree with the shard count found. It returns
// the shard, where it came from (for the log), and ok false when the
// process is not sharded.
func detectShard(flagShard string, shards int, getenv func(string) string) (s shard, from string, ok bool, err error) {
	if shards < 0 {
		return shard{}, "", false, fmt.Errorf("--shards %d: must be at least 1", shards)
	}
	agree := func(s shard, from string) (shard, string, bool, error) {
		if shards > 0 && shards != s.Count {
			return shard{}, "", false, fmt.Errorf("--shards %d disagrees with %s (%d shards)", shards, from, s.Count)
		}
		return s, from, true, nil
	}
	if flagShard != "" {
		s, err := parseShard(flagShard)
		if err != nil {
			return shard{}, "", false, err
		}
		return agree(s, "--shard "+flagShard)
	}
	if id := getenv(envSlurmTaskID); id != "" {
		s, from, err := slurmShard(getenv)
		if err != nil {
			return shard{}, "", false, fmt.Errorf("slurm array task: %w (pass --shard I/N to say which shard this is)", err)
		}
		return agree(s, from)
	}
	if idx := getenv(envK8sIndex); idx != "" {
		i, err := strconv.Atoi(idx)
		if err != nil {
			return shard{}, "", false, fmt.Errorf("%s=%q: not an integer", envK8sIndex, idx)
		}
		if shards == 0 {
			return shard{}, "", false, fmt.Errorf("%s=%s is set (a Kubernetes Indexed Job) but --shards N is not: pass the Job's completions as --shards", envK8sIndex, idx)
		}
		s := shard{Index: i, Count: shards}
		if err := s.check(); err != nil {
			return shard{}, "", false, fmt.Errorf("%s=%s with --shards %d: %w", envK8sIndex, idx, shards, err)
		}
		return s, fmt.Sprintf("%s=%s", envK8sIndex, idx), true, nil
	}
	if shards > 0 {
		return shard{}, "", false, fmt.Errorf("--shards %d without a shard index: pass --shard I/%d, or run inside a Slurm array or an Indexed Job", shards, shards)
	}
	return shard{}, "", false, nil
}

// slurmShard reads a Slurm array task's shard from its environment.
func slurmShard(getenv func(string) string) (shard, string, error) {
	num := func(name string, def int, required bool) (int, error) {
		v := getenv(name)
		if v == "" {
			if required {
				return 0, fmt.Errorf("%s is not set", name)
			}
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%s=%q: not an integer", name, v)
		}
		return n, nil
	}
	id, err := num(envSlurmTaskID, 0, true)
	if err != nil {
		return shard{}, "", err
	}
	lo, err := num(envSlurmTaskMin, 0, false)
	if err != nil {
		return shard{}, "", err
	}
	step, err := num(envSlurmTaskStep, 1, false)
	if err != nil {
		return shard{}, "", err
	}
	if step < 1 {
		step = 1
	}
	count, err := num(envSlurmTaskCount, 0, false)
	if err != nil {
		return shard{}, "", err
	}
	if count == 0 { // Slurm before 19.05 sets only MIN and MAX
		hi, err := num(envSlurmTaskMax, 0, true)
		if err != nil {
			return shard{}, "", err
		}
		count = (hi-lo)/step + 1
	}
	from := fmt.Sprintf("%s=%d of %s=%d", envSlurmTaskID, id, envSlurmTaskCount, count)
	if lo != 0 {
		from += fmt.Sprintf(", %s=%d", envSlurmTaskMin, lo)
	}
	if (id-lo)%step != 0 {
		return shard{}, "", fmt.Errorf("%s: task id %d is not on the array's step %d from %d", from, id, step, lo)
	}
	s := shard{Index: (id - lo) / step, Count: count}
	if err := s.check(); err != nil {
		return shard{}, "", fmt.Errorf("%s: %w (an array of indexes with gaps, like --array=0,2,5, cannot be a shard range: use --array=0-N)", from, err)
	}
	return s, from, nil
}

// partition assigns each cell (by its cost) to one of n shards and returns
// the shard of each. It is the longest-processing-time rule: cells in
// decreasing cost (grid order among equals) each go to the shard with the
// least cost so far (then the fewest cells, then the lowest index). The
// result depends only on the costs and n, so every task of an array
// computes the same partition, and so does a requeued task. Its largest
// shard is within 4/3 of the best possible (Graham, 1969).
func partition(costs []float64, n int) []int {
	order := make([]int, len(costs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(costs[b], costs[a]) })
	load := make([]float64, n)
	count := make([]int, n)
	out := make([]int, len(costs))
	for _, i := range order {
		best := 0
		for s := 1; s < n; s++ {
			if load[s] < load[best] || (load[s] == load[best] && count[s] < count[best]) {
				best = s
			}
		}
		out[i] = best
		load[best] += costs[i]
		count[best]++
	}
	return out
}

// nominalCost is a cell's cost without measurements: the images its
// network processes, counted from the config alone (pretraining: two
// views of each image of every step — batch_size images a step, for
// epochs or steps as config.TrainingLength counts them; evaluation:
// encoding the labelled and test images once; fine-tuning: two views of
// the labelled fraction every epoch). It is a relative weight for
// partition, not a time.
func nominalCost(cfg config.Config) float64 {
	train, test := datasetSize(cfg)
	eval := float64(train)
	if cfg.EvalSubset > 0 && cfg.EvalSubset < train {
		eval = float64(cfg.EvalSubset)
	}
	if cfg.TestSubset > 0 && cfg.TestSubset < test {
		test = cfg.TestSubset
	}
	cost := eval + float64(test)
	switch cfg.Method {
	case config.MethodRawPixels, config.MethodRandomInit:
		// no training
	default:
		cost += 2 * float64(plannedSteps(cfg)) * float64(max(cfg.BatchSize, 1))
	}
	if slices.Contains(cfg.Eval, "finetune") {
		for _, f := range cfg.LabelFraction {
			cost += 2 * f * eval * float64(cfg.FinetuneEpochs)
		}
	}
	return cost
}

// plannedSteps is the number of optimisation steps of a cell that trains,
// counted from its config: steps, or epochs of floor(pretraining images /
// batch_size) steps (at least one).
func plannedSteps(cfg config.Config) int {
	train, _ := datasetSize(cfg)
	pre := train
	if cfg.PretrainSubset > 0 && cfg.PretrainSubset < train {
		pre = cfg.PretrainSubset
	}
	_, steps := cfg.TrainingLength(max(pre/max(cfg.BatchSize, 1), 1))
	return steps
}

// datasetSize is the train and test size of cfg's dataset where it is
// known without reading it, else a CIFAR-sized guess.
func datasetSize(cfg config.Config) (train, test int) {
	switch cfg.Dataset {
	case "synthetic":
		return cfg.SyntheticSize, cfg.SyntheticSize / 4
	case "fashion-mnist", "mnist":
		return 60000, 10000
	}
	return 50000, 10000
}

// cellCosts returns the cost of each cell: the plan's estimate (seconds,
// from finished runs like it; see runner plan) where there is one; the
// others get their nominalCost scaled by the seconds per nominal unit of
// the estimated cells (or nominalCost alone when none is estimated).
func cellCosts(cells []grid.Cell, plans []cellPlan) (costs []float64, unit string) {
	costs = make([]float64, len(cells))
	var secs, nominal float64
	known := 0
	for i, c := range cells {
		costs[i] = nominalCost(c.Config)
		if plans != nil && plans[i].known {
			secs += plans[i].est.Seconds()
			nominal += costs[i]
			known++
		}
	}
	if known == 0 || nominal == 0 {
		return costs, "nominal"
	}
	scale := secs / nominal
	for i := range cells {
		if plans[i].known {
			costs[i] = plans[i].est.Seconds()
		} else {
			costs[i] *= scale
		}
	}
	return costs, "seconds"
}

// shardMap is a grid's partition written once by runner submit and read
// by every task of the array (--shard-map), so that the partition stays
// the same across requeues even when the estimates it was computed from
// change.
type shardMap struct {
	Experiment string         `json:"experiment"`
	Grid       string         `json:"grid"`
	Shards     int            `json:"shards"`
	CostUnit   string         `json:"cost_unit"` // "seconds" (plan estimates) or "nominal" (nominalCost)
	Cells      []shardMapCell `json:"cells"`
}

type shardMapCell struct {
	Index int     `json:"index"`
	Hash  string  `json:"hash"`
	Seed  int64   `json:"seed"`
	Label string  `json:"label"`
	Shard int     `json:"shard"`
	Cost  float64 `json:"cost"`
}

// newShardMap partitions the grid's cells into n shards by costs.
func newShardMap(g *grid.Grid, n int, costs []float64, unit string) *shardMap {
	assign := partition(costs, n)
	m := &shardMap{Experiment: g.Name, Grid: g.Path, Shards: n, CostUnit: unit}
	for i, c := range g.Cells {
		m.Cells = append(m.Cells, shardMapCell{Index: c.Index, Hash: c.Hash, Seed: c.Config.Seed, Label: c.Label, Shard: assign[i], Cost: costs[i]})
	}
	return m
}

// nominalShardMap is the partition a task computes without a shard map:
// by nominalCost, from the grid alone.
func nominalShardMap(g *grid.Grid, n int) *shardMap {
	costs, unit := cellCosts(g.Cells, nil)
	return newShardMap(g, n, costs, unit)
}

func (m *shardMap) write(path string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}

func readShardMap(path string) (*shardMap, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("shard map: %w", err)
	}
	var m shardMap
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, cli.BadInput(fmt.Errorf("shard map %s: %w", path, err))
	}
	if m.Shards < 1 {
		return nil, cli.BadInput(fmt.Errorf("shard map %s: shards %d: must be at least 1", path, m.Shards))
	}
	return &m, nil
}

// cellsOf returns the cells of shard s, in grid order. The map must be
// of this grid: the same experiment and exactly the same cells (config
// hash + seed); a grid edited since the map was written is an error,
// since its cells would no longer be split the same way by every task.
func (m *shardMap) cellsOf(g *grid.Grid, s shard, path string) ([]grid.Cell, error) {
	if m.Experiment != g.Name {
		return nil, cli.BadInput(fmt.Errorf("shard map %s is of experiment %q, the grid is %q", path, m.Experiment, g.Name))
	}
	if m.Shards != s.Count {
		return nil, cli.BadInput(fmt.Errorf("shard map %s splits the grid in %d shards, this is shard %s", path, m.Shards, s))
	}
	type key struct {
		hash string
		seed int64
	}
	where := make(map[key]int, len(m.Cells))
	for _, c := range m.Cells {
		where[key{c.Hash, c.Seed}] = c.Shard
	}
	if len(where) != len(g.Cells) {
		return nil, cli.BadInput(fmt.Errorf("shard map %s has %d cells, the grid %s has %d: the grid changed since the map was written (submit again)",
			path, len(where), g.Path, len(g.Cells)))
	}
	var out []grid.Cell
	for _, c := range g.Cells {
		sh, ok := where[key{c.Hash, c.Config.Seed}]
		if !ok {
			return nil, cli.BadInput(fmt.Errorf("shard map %s lacks cell #%d %s (hash %s, seed %d): the grid changed since the map was written (submit again)",
				path, c.Index, c.Label, c.Hash, c.Config.Seed))
		}
		if sh == s.Index {
			out = append(out, c)
		}
	}
	return out, nil
}

// runShard is the part of a grid this process runs when it is a shard.
type runShard struct {
	shard   shard
	from    string // where the shard came from, for the log
	mapPath string // the shard map, "" when the partition is computed here
	cells   []grid.Cell
	total   int // cells in the whole grid
}

// selectShard decides whether this run is a shard (detectShard) and which
// cells are its: by the shard map when mapPath is set, else by the
// nominal partition of the grid. It returns nil when the run is not a
// shard. Errors are bad input.
func selectShard(g *grid.Grid, flagShard string, shards int, mapPath string, getenv func(string) string) (*runShard, error) {
	var m *shardMap
	if mapPath != "" {
		var err error
		if m, err = readShardMap(mapPath); err != nil {
			return nil, err
		}
		if shards == 0 {
			shards = m.Shards
		}
	}
	s, from, ok, err := detectShard(flagShard, shards, getenv)
	if err != nil {
		return nil, cli.BadInput(fmt.Errorf("run: %w", err))
	}
	if !ok {
		if mapPath != "" {
			return nil, cli.Usagef("run: --shard-map %s without a shard index: pass --shard I/%d, or run inside a Slurm array task", mapPath, m.Shards)
		}
		return nil, nil
	}
	if m == nil {
		m = nominalShardMap(g, s.Count)
	}
	cells, err := m.cellsOf(g, s, mapPath)
	if err != nil {
		return nil, err
	}
	return &runShard{shard: s, from: from, mapPath: mapPath, cells: cells, total: len(g.Cells)}, nil
}

// grid returns a copy of g with only the shard's cells.
func (r *runShard) grid(g *grid.Grid) *grid.Grid {
	cp := *g
	cp.Cells = r.cells
	return &cp
}

// clusterFlags are run's flags for clusters.
type clusterFlags struct {
	shard          string
	shards         int
	shardMap       string
	checkpoints    string
	allowNetworkFS bool
}

func addClusterFlags(fs *flag.FlagSet) *clusterFlags {
	cf := &clusterFlags{}
	fs.StringVar(&cf.shard, "shard", "", "run only shard `I/N` of the grid (0 <= I < N); inside a Slurm array task the task's index and count are used without it")
	fs.IntVar(&cf.shards, "shards", 0, "the number of shards, `N`: with JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) the shard index")
	fs.StringVar(&cf.shardMap, "shard-map", "", "the partition written by runner submit (`FILE`), instead of computing one")
	fs.StringVar(&cf.checkpoints, "checkpoints", "", "keep checkpoints under `DIR`/<experiment> (default <db dir>/checkpoints); on a cluster, storage every node sees, so a requeued task resumes")
	fs.BoolVar(&cf.allowNetworkFS, "allow-network-fs", false, "open a WAL database on a network file system anyway (only this host may use it)")
	return cf
}

// selectShard returns the shard this run is (nil when it is not), and
// sets *dbPath to the shard's own database unless --db was given.
func (cf *clusterFlags) selectShard(g *grid.Grid, fs *flag.FlagSet, dbPath *string) (*runShard, error) {
	sh, err := selectShard(g, cf.shard, cf.shards, cf.shardMap, os.Getenv)
	if err != nil || sh == nil {
		return sh, err
	}
	dbSet := false
	fs.Visit(func(f *flag.Flag) { dbSet = dbSet || f.Name == "db" })
	if !dbSet {
		*dbPath = shardDB(filepath.Dir(defaultDB), g.Name, sh.shard)
	}
	return sh, nil
}

// checkpointRoot is where the experiment's cells keep their checkpoints.
func (cf *clusterFlags) checkpointRoot(dbPath, exp string) string {
	if cf.checkpoints != "" {
		return filepath.Join(cf.checkpoints, exp)
	}
	return filepath.Join(filepath.Dir(dbPath), "checkpoints", exp)
}

// open opens the results database for writing: a shard with the rollback
// journal (it has one writer), else in WAL mode. A network file system
// refused for WAL is bad input.
func (cf *clusterFlags) open(path string, shard bool) (*store.DB, error) {
	db, err := store.OpenWith(path, store.Options{Rollback: shard, AllowNetworkFS: cf.allowNetworkFS})
	var ne *store.NetworkFSError
	if errors.As(err, &ne) {
		return nil, cli.BadInput(err)
	}
	return db, err
}

// recover marks interrupted the cells a killed task of this shard left
// running (store.InterruptOrphans): the shard has no other writer.
func (r *runShard) recover(ctx context.Context, db *store.DB, expID int64, w io.Writer) error {
	n, err := db.InterruptOrphans(ctx, expID, "interrupted: the task running this shard was killed (requeued, preempted or out of time)")
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(w, "runner: shard %s: %d %s left running by a killed task marked interrupted (--retry-failed resumes them)\n",
			r.shard, n, plural(n, "cell", "cells"))
	}
	return nil
}
