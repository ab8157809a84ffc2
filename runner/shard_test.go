package main

import (
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

func TestParseShard(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    shard
		wantErr string
	}{
		{"0/1", shard{0, 1}, ""},
		{"2/3", shard{2, 3}, ""},
		{" 1 / 4 ", shard{1, 4}, ""},
		{"3/3", shard{}, "shard index 3 out of range: shards are numbered 0 to 2"},
		{"-1/3", shard{}, "out of range"},
		{"0/0", shard{}, "at least 1"},
		{"1", shard{}, "want I/N"},
		{"a/b", shard{}, "want I/N with integers"},
	} {
		got, err := parseShard(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("parseShard(%q) = %v, %v; want an error containing %q", c.in, got, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parseShard(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	if got := (shard{1, 3}).fileName(); got != "1-of-3.db" {
		t.Errorf("fileName = %q, want 1-of-3.db", got)
	}
	if got := shardDB("results", "smoke", shard{0, 2}); got != filepath.Join("results", "shards", "smoke", "0-of-2.db") {
		t.Errorf("shardDB = %q", got)
	}
}

func TestDetectShard(t *testing.T) {
	for _, c := range []struct {
		name     string
		flag     string
		shards   int
		env      map[string]string
		want     shard
		wantOK   bool
		wantFrom string
		wantErr  string
	}{
		{name: "nothing", wantOK: false},
		{name: "flag", flag: "1/4", want: shard{1, 4}, wantOK: true, wantFrom: "--shard 1/4"},
		{name: "flag wins over slurm", flag: "0/2", env: map[string]string{"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "9"},
			want: shard{0, 2}, wantOK: true},
		{name: "flag and agreeing --shards", flag: "1/2", shards: 2, want: shard{1, 2}, wantOK: true},
		{name: "flag and disagreeing --shards", flag: "1/2", shards: 3, wantErr: "--shards 3 disagrees with --shard 1/2 (2 shards)"},
		{name: "slurm", env: map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "0"},
			want: shard{2, 3}, wantOK: true, wantFrom: "SLURM_ARRAY_TASK_ID=2 of SLURM_ARRAY_TASK_COUNT=3"},
		{name: "slurm offset by min", env: map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "1"},
			want: shard{0, 3}, wantOK: true, wantFrom: "SLURM_ARRAY_TASK_ID=1 of SLURM_ARRAY_TASK_COUNT=3, SLURM_ARRAY_TASK_MIN=1"},
		{name: "slurm with a step", env: map[string]string{"SLURM_ARRAY_TASK_ID": "14", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_STEP": "2"},
			want: shard{2, 3}, wantOK: true},
		{name: "slurm without count (old Slurm)", env: map[string]string{"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3"},
			want: shard{3, 4}, wantOK: true},
		{name: "slurm with --shards agreeing", shards: 3, env: map[string]string{"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "3"},
			want: shard{0, 3}, wantOK: true},
		{name: "slurm with --shards disagreeing", shards: 4, env: map[string]string{"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "3"},
			wantErr: "--shards 4 disagrees with SLURM_ARRAY_TASK_ID=0 of SLURM_ARRAY_TASK_COUNT=3 (3 shards)"},
		{name: "slurm list with gaps", env: map[string]string{"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "0"},
			wantErr: "cannot be a shard range"},
		{name: "slurm off step", env: map[string]string{"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_STEP": "2"},
			wantErr: "not on the array's step 2"},
		{name: "slurm garbage", env: map[string]string{"SLURM_ARRAY_TASK_ID": "x"}, wantErr: `SLURM_ARRAY_TASK_ID="x": not an integer`},
		{name: "k8s", shards: 4, env: map[string]string{"JOB_COMPLETION_INDEX": "3"}, want: shard{3, 4}, wantOK: true, wantFrom: "JOB_COMPLETION_INDEX=3"},
		{name: "k8s without --shards", env: map[string]string{"JOB_COMPLETION_INDEX": "3"}, wantErr: "--shards N is not"},
		{name: "k8s index too big", shards: 3, env: map[string]string{"JOB_COMPLETION_INDEX": "3"}, wantErr: "out of range"},
		{name: "slurm wins over k8s", env: map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2", "JOB_COMPLETION_INDEX": "0"},
			want: shard{1, 2}, wantOK: true},
		{name: "--shards alone", shards: 3, wantErr: "--shards 3 without a shard index"},
		{name: "negative --shards", shards: -1, wantErr: "must be at least 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			getenv := func(k string) string { return c.env[k] }
			got, from, ok, err := detectShard(c.flag, c.shards, getenv)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("detectShard = %v, %q, %v, %v; want an error containing %q", got, from, ok, err, c.wantErr)
				}
				return
			}
			if err != nil || ok != c.wantOK || got != c.want {
				t.Fatalf("detectShard = %v, %q, %v, %v; want %v, ok %v", got, from, ok, err, c.want, c.wantOK)
			}
			if c.wantFrom != "" && from != c.wantFrom {
				t.Errorf("detectShard source = %q, want %q", from, c.wantFrom)
			}
		})
	}
}

func TestPartitionCoversEveryCellOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 7, 40} {
		costs := make([]float64, 25)
		for i := range costs {
			costs[i] = float64(rng.IntN(100))
		}
		got := partition(costs, n)
		if len(got) != len(costs) {
			t.Fatalf("partition(%d cells, %d) gave %d assignments", len(costs), n, len(got))
		}
		for i, s := range got {
			if s < 0 || s >= n {
				t.Errorf("partition: cell %d in shard %d of %d", i, s, n)
			}
		}
	}
}

func TestPartitionIsStable(t *testing.T) {
	costs := []float64{5, 1, 1, 3, 3, 2, 8, 1, 0, 0, 4}
	first := partition(costs, 3)
	for range 20 {
		if got := partition(slices.Clone(costs), 3); !slices.Equal(got, first) {
			t.Fatalf("partition changed between calls: %v then %v", first, got)
		}
	}
	// Pinned: a change of the rule would move cells between the shards of
	// an array whose tasks run different builds, or of a requeued task.
	want := []int{1, 0, 1, 2, 1, 2, 0, 0, 1, 2, 2}
	if !slices.Equal(first, want) {
		t.Errorf("partition(%v, 3) = %v, want %v", costs, first, want)
	}
}

func TestPartitionEqualCostsIsRoundRobin(t *testing.T) {
	got := partition(make([]float64, 7), 3)
	if want := []int{0, 1, 2, 0, 1, 2, 0}; !slices.Equal(got, want) {
		t.Errorf("partition(7 equal cells, 3) = %v, want %v", got, want)
	}
}

func TestPartitionBalancesCost(t *testing.T) {
	// The batch_size grid's shape: three lengths of training, 9 cells.
	costs := []float64{5, 10, 20, 5, 10, 20, 5, 10, 20}
	got := partition(costs, 3)
	loads := make([]float64, 3)
	for i, s := range got {
		loads[s] += costs[i]
	}
	for s, l := range loads {
		if l != 35 {
			t.Errorf("shard %d load %g, want 35 (every shard one cell of each length): %v", s, l, got)
		}
	}

	// Random costs: the largest shard within 4/3 of the lower bound
	// max(total/n, largest cell).
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 50 {
		n := 2 + rng.IntN(6)
		costs := make([]float64, 5+rng.IntN(40))
		var total, biggest float64
		for i := range costs {
			costs[i] = 1 + rng.Float64()*99
			total += costs[i]
			biggest = max(biggest, costs[i])
		}
		loads := make([]float64, n)
		for i, s := range partition(costs, n) {
			loads[s] += costs[i]
		}
		bound := max(total/float64(n), biggest)
		if m := slices.Max(loads); m > bound*4/3+1e-9 {
			t.Errorf("trial %d: largest shard %g > 4/3 of the lower bound %g", trial, m, bound)
		}
	}
}

func TestNominalCostOrdersCells(t *testing.T) {
	// Equal epochs: batch size does not change the images seen.
	g := loadGrid(t, "../experiments/batch_size_epochs.toml")
	byEpochs := map[int]float64{}
	for _, c := range g.Cells {
		cost := nominalCost(c.Config)
		if prev, ok := byEpochs[c.Config.Epochs]; ok && prev != cost {
			t.Errorf("cells of %d epochs cost %g and %g, want equal", c.Config.Epochs, prev, cost)
		}
		byEpochs[c.Config.Epochs] = cost
	}
	if !(byEpochs[5] < byEpochs[10] && byEpochs[10] < byEpochs[20]) {
		t.Errorf("nominal costs by epochs = %v, want increasing", byEpochs)
	}
	// Equal steps: a larger batch sees more images.
	g = loadGrid(t, "../experiments/batch_size.toml")
	pretrain := func(c config.Config) float64 {
		c.Method = config.MethodRawPixels
		return nominalCost(c) // evaluation alone
	}
	for _, c := range g.Cells {
		got := nominalCost(c.Config) - pretrain(c.Config)
		if want := 2 * float64(c.Config.Steps*c.Config.BatchSize); got != want {
			t.Errorf("cell %s: pretraining cost %g, want 2 x %d steps x %d images", c.Label, got, c.Config.Steps, c.Config.BatchSize)
		}
	}
	smoke := loadGrid(t, "../experiments/smoke.toml")
	raw, simclrCell := nominalCost(smoke.Cells[2].Config), nominalCost(smoke.Cells[0].Config)
	if raw >= simclrCell {
		t.Errorf("raw-pixels cell costs %g, SimCLR cell %g: want less (no pretraining)", raw, simclrCell)
	}
}

func TestCellCostsUsesEstimates(t *testing.T) {
	g := loadGrid(t, "../experiments/batch_size_epochs.toml")
	plans := make([]cellPlan, len(g.Cells))
	// Only the first cell (5 epochs) has an estimate: 50 s.
	plans[0] = cellPlan{est: 50 * time.Second, known: true}
	costs, unit := cellCosts(g.Cells, plans)
	if unit != "seconds" {
		t.Errorf("unit = %q, want seconds", unit)
	}
	for i, c := range g.Cells {
		want := 50 * nominalCost(c.Config) / nominalCost(g.Cells[0].Config)
		if d := costs[i] - want; d > 1e-9 || d < -1e-9 {
			t.Errorf("cell %d (%d epochs) cost %g s, want %g s (scaled from the estimated cell)", i, c.Config.Epochs, costs[i], want)
		}
		if i > 0 && c.Config.Epochs == 20 && costs[i] < 150 {
			t.Errorf("cell %d (20 epochs) cost %g s, want about 4 times the 5-epoch cell's 50 s", i, costs[i])
		}
	}
	if _, unit := cellCosts(g.Cells, nil); unit != "nominal" {
		t.Errorf("unit without estimates = %q, want nominal", unit)
	}
}

func TestShardMapRoundTripAndChecks(t *testing.T) {
	g := loadGrid(t, "../experiments/smoke.toml")
	m := nominalShardMap(g, 2)
	path := filepath.Join(t.TempDir(), "shards.json")
	if err := m.write(path); err != nil {
		t.Fatal(err)
	}
	back, err := readShardMap(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]int{}
	for i := range 2 {
		cells, err := back.cellsOf(g, shard{i, 2}, path)
		if err != nil {
			t.Fatalf("cellsOf(shard %d) = %v", i, err)
		}
		for _, c := range cells {
			seen[c.Index]++
		}
	}
	if len(seen) != len(g.Cells) {
		t.Errorf("shards cover %d of %d cells", len(seen), len(g.Cells))
	}
	for i, n := range seen {
		if n != 1 {
			t.Errorf("cell %d in %d shards", i, n)
		}
	}

	if _, err := back.cellsOf(g, shard{0, 3}, path); err == nil || !strings.Contains(err.Error(), "splits the grid in 2 shards") {
		t.Errorf("cellsOf with another shard count = %v", err)
	}
	changed := loadGrid(t, "../experiments/smoke.toml", "epochs=3")
	if _, err := back.cellsOf(changed, shard{0, 2}, path); err == nil || !strings.Contains(err.Error(), "the grid changed since the map was written") {
		t.Errorf("cellsOf on an edited grid = %v", err)
	}
	if _, err := back.cellsOf(changed, shard{0, 2}, path); cli.ExitCode(err) != cli.ExitBadInput {
		t.Errorf("an edited grid is not bad input")
	}
}
