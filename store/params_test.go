package store

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

// paramsGoldenConfigs are the configs of testdata/params.golden: the
// default, and one with every kind of value changed (lists set and empty,
// a path, a NaN, a boolean).
func paramsGoldenConfigs() []config.Config {
	c := config.DefaultConfig()
	c.Dataset, c.Path, c.TestPath = "imagefolder", "/data/train dir", "/data/test"
	c.Blocks, c.AugmentB, c.Eval = []int{2, 1}, []string{"crop"}, []string{"linear", "finetune"}
	c.LabelFraction, c.EvalFeatures = []float64{0.01, 0.1}, []string{}
	c.LR, c.WeightDecay, c.LinearL2 = 0.3, 0, math.NaN()
	c.FinetuneBatch, c.SaveEncoder, c.Seed = 32, true, -7
	return []config.Config{config.DefaultConfig(), c}
}

// TestFlattenConfigGolden pins the params rows stored for a run: every
// results database holds them, so their keys and texts must not change.
func TestFlattenConfigGolden(t *testing.T) {
	var b strings.Builder
	for i, cfg := range paramsGoldenConfigs() {
		ps, err := FlattenConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "# config %d\n", i)
		for _, p := range ps {
			n := "-"
			if p.Num != nil {
				n = strconv.FormatFloat(*p.Num, 'g', -1, 64)
			}
			fmt.Fprintf(&b, "%s\t%s\t%s\n", p.Key, p.Value, n)
		}
	}
	want, err := os.ReadFile("testdata/params.golden")
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("FlattenConfig rows =\n%s\nwant (testdata/params.golden)\n%s", b.String(), want)
	}
}
