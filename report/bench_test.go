package main

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

// benchSpecs is a database of 1000 runs in four experiments: a 5×5
// pairwise grid × 8 seeds (200), 3 heads × 4 dims × 10 seeds (120), 4
// batch sizes × 4 epoch counts × 10 seeds (160) and a 52-row augmentation
// table × 10 seeds (520), with failed and interrupted runs among them.
func benchSpecs() []expSpec {
	seeds := func(n int) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(i + 1)
		}
		return out
	}
	pairs := expSpec{name: "big_pairwise", grid: "experiments/big_pairwise.toml", seeds: seeds(8), prov: labProv}
	ts := []string{"crop", "color", "blur", "rotate", "cutout"}
	for i, a := range ts {
		for j, b := range ts {
			label, aug := a+"+"+b, []string{"crop", a, b}
			if a == b {
				label, aug = a, []string{"crop", a}
			}
			c := cellSpec{label: label, cfg: base(func(c *config.Config) { c.Augment = aug; c.AugmentB = []string{"crop"} }),
				acc: 0.5 + 0.05*float64((i*3+j)%6), fates: map[int64]string{8: failed}}
			pairs.cells = append(pairs.cells, c)
		}
	}
	heads := expSpec{name: "big_heads", grid: "experiments/big_heads.toml", seeds: seeds(10), prov: labProv}
	for hi, h := range []string{"none", "linear", "nonlinear"} {
		for _, d := range []int{32, 64, 128, 256} {
			hh, dd := h, d
			heads.cells = append(heads.cells, cellSpec{
				label: fmt.Sprintf("head=%s, proj_dim=%d", h, d),
				cfg: base(func(c *config.Config) {
					c.Head, c.ProjDim, c.EvalFeatures = hh, dd, []string{"h", "z"}
				}),
				acc: 0.7 + 0.03*float64(hi), zDrop: 0.05 * float64(hi),
			})
		}
	}
	scaling := expSpec{name: "big_scaling", grid: "experiments/big_scaling.toml", seeds: seeds(10), prov: labProv}
	for bi, bs := range []int{32, 64, 128, 256} {
		for ei, ep := range []int{2, 4, 8, 16} {
			b, e := bs, ep
			scaling.cells = append(scaling.cells, cellSpec{
				label: fmt.Sprintf("batch_size=%d, epochs=%d", bs, ep),
				cfg:   base(func(c *config.Config) { c.BatchSize, c.Epochs = b, e }),
				acc:   0.6 + 0.02*float64(bi) + 0.03*float64(ei), fates: map[int64]string{10: interrupted},
			})
		}
	}
	table := expSpec{name: "big_table", grid: "experiments/big_table.toml", seeds: seeds(10), prov: labProv}
	all := config.Transforms
	add := func(aug ...string) {
		table.cells = append(table.cells, cellSpec{
			label: fmt.Sprint(aug), cfg: base(func(c *config.Config) { c.Augment = aug; c.Eval = []string{"linear", "finetune"} }),
			acc: 0.6 + 0.004*float64(len(table.cells)),
		})
	}
	for i := 0; i < len(all); i++ {
		for j := i + 1; j < len(all); j++ {
			add(all[i], all[j])
		}
	}
	for _, t := range all[:7] {
		add(t)
	}
	return []expSpec{pairs, heads, scaling, table}
}

// BenchmarkBuild runs `report build` on a generated database of 1000
// runs (must stay well under 5 s an operation).
func BenchmarkBuild(b *testing.B) {
	dir := b.TempDir()
	db := filepath.Join(dir, "results.db")
	specs := benchSpecs()
	n := 0
	for _, s := range specs {
		n += len(s.seeds) * len(s.cells)
	}
	if n != 1000 {
		b.Fatalf("benchSpecs has %d runs, want 1000", n)
	}
	writeFixture(b, db, specs)
	out := filepath.Join(dir, "out")
	b.ReportAllocs()
	for b.Loop() {
		if code, _, stderr := run(b, "build", "--db", db, "--out", out); code != 0 {
			b.Fatalf("report build = exit %d, %s", code, stderr)
		}
	}
}
