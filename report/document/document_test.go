package document

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
	"github.com/simclr-ablate/simclr-ablate/store"
)

var linear = evalKind{"linear", 1}

// runsOf makes finished runs of one cell with the given linear F1 (on h,
// and on z = F1 − zDrop when zDrop > 0), one per value.
func runsOf(label string, index int, cfg config.Config, zDrop float64, f1s ...float64) []store.RunDetail {
	var out []store.RunDetail
	for i, f := range f1s {
		r := store.RunDetail{Config: cfg}
		r.Label, r.GridIndex, r.Status, r.Seed = label, index, store.StatusFinished, int64(i+1)
		r.Evaluations = []metrics.Evaluation{{Protocol: "linear", Features: "h", LabelFraction: 1, MacroF1: f, Accuracy: f}}
		if zDrop > 0 {
			r.Evaluations = append(r.Evaluations, metrics.Evaluation{Protocol: "linear", Features: "z", LabelFraction: 1, MacroF1: f - zDrop, Accuracy: f - zDrop})
		}
		out = append(out, r)
	}
	return out
}

func cfgWith(mods ...func(*config.Config)) config.Config {
	c := config.DefaultConfig()
	for _, m := range mods {
		m(&c)
	}
	return c
}

func pairCfg(a, b string) config.Config {
	return cfgWith(func(c *config.Config) {
		c.AugmentB = []string{"crop"}
		if a == b {
			c.Augment = []string{"crop", a}
		} else {
			c.Augment = []string{"crop", a, b}
		}
	})
}

// pairExperiment builds an experiment from a pairwise grid's F1 values.
func pairExperiment(f1 map[pair][]float64, order []string) *experiment {
	var runs []store.RunDetail
	i := 0
	for _, a := range order {
		for _, b := range order {
			if v, ok := f1[pair{a, b}]; ok {
				runs = append(runs, runsOf(pairName(pair{a, b}), i, pairCfg(a, b), 0, v...)...)
				i++
			}
		}
	}
	return newExperiment(store.Experiment{Name: "p"}, runs)
}

func outcomes(vs []verdict) string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Claim+": "+v.Outcome())
	}
	return strings.Join(out, "\n")
}

func TestPairwiseFindings(t *testing.T) {
	three := []string{"crop", "color", "blur"}
	tests := []struct {
		name string
		f1   map[pair][]float64
		want string
	}{
		{
			name: "crop+color best, significant",
			f1: map[pair][]float64{
				{"crop", "crop"}: {0.60, 0.61}, {"crop", "color"}: {0.82, 0.83}, {"color", "crop"}: {0.80, 0.81},
				{"color", "color"}: {0.65, 0.66}, {"crop", "blur"}: {0.64, 0.65},
			},
			want: "crop + colour is the best pair of augmentations: yes (significant)\n" +
				"a pair of augmentations beats every single one: yes (significant)",
		},
		{
			name: "another pair best, one seed",
			f1: map[pair][]float64{
				{"crop", "color"}: {0.70}, {"color", "blur"}: {0.75}, {"blur", "blur"}: {0.30},
			},
			want: "crop + colour is the best pair of augmentations: no, not significant (one seed)\n" +
				"a pair of augmentations beats every single one: yes, not significant (one seed)",
		},
		{
			name: "overlapping intervals",
			f1: map[pair][]float64{
				{"crop", "color"}: {0.80, 0.84}, {"color", "blur"}: {0.79, 0.83}, {"blur", "blur"}: {0.70, 0.90},
			},
			want: "crop + colour is the best pair of augmentations: yes, not significant (95% intervals overlap)\n" +
				"a pair of augmentations beats every single one: yes, not significant (95% intervals overlap)",
		},
		{
			name: "no crop and color",
			f1:   map[pair][]float64{{"crop", "blur"}: {0.7}, {"blur", "crop"}: {0.6}},
			want: "crop + colour is the best pair of augmentations: not tested",
		},
	}
	for _, tt := range tests {
		e := pairExperiment(tt.f1, three)
		if e.Pairwise == nil {
			t.Fatalf("%s: no pairwise matrix found", tt.name)
		}
		if got := outcomes(e.Findings[0]); got != tt.want {
			t.Errorf("%s: findings 1 =\n%s\nwant\n%s", tt.name, got, tt.want)
		}
		for _, v := range e.Findings[0] {
			if v.Experiment != "p" {
				t.Errorf("%s: verdict %q names experiment %q, want the grid's, p", tt.name, v.Claim+": "+v.Outcome(), v.Experiment)
			}
		}
	}
}

func TestPairwiseMatrix(t *testing.T) {
	e := pairExperiment(map[pair][]float64{
		{"crop", "crop"}: {0.6}, {"crop", "color"}: {0.8}, {"color", "crop"}: {0.7}, {"color", "color"}: {0.5},
	}, []string{"crop", "color"})
	pw := e.Pairwise
	if strings.Join(pw.Transforms, ",") != "crop,color" {
		t.Errorf("Transforms = %v, want [crop color] (grid order)", pw.Transforms)
	}
	if got := pw.RowMean; len(got) != 2 || !near(got[0], 0.7) || !near(got[1], 0.6) {
		t.Errorf("RowMean = %v, want [0.7 0.6]", got)
	}
	// Tags win over the views.
	rs := runsOf("x", 0, cfgWith(), 0, 0.5)
	rs[0].Params = []store.Param{{Key: "pair_first", Value: "rotate"}, {Key: "pair_second", Value: "blur"}, {Key: "head", Value: "nonlinear"}}
	rows := groupRows(rs, []evalKind{linear})
	if a, b, p, ok := pairOf(rows[0]); !ok || a != "rotate" || b != "blur" || p != protocolBoth {
		t.Errorf("pairOf(tags rotate, blur; no augment_b) = %q, %q, %q, %v, want rotate, blur, both, true", a, b, p, ok)
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestPairOf(t *testing.T) {
	tests := []struct {
		cfg                  config.Config
		first, snd, protocol string
		ok                   bool
	}{
		{pairCfg("crop", "color"), "crop", "color", protocolOneBranch, true},
		{pairCfg("blur", "blur"), "blur", "blur", protocolOneBranch, true},
		{cfgWith(), "", "", "", false}, // crop + color on both branches, no tags: not a pair
		{cfgWith(func(c *config.Config) { c.Augment, c.AugmentB = []string{"color", "blur"}, []string{"crop"} }), "", "", "", false},
		{cfgWith(func(c *config.Config) { c.Augment, c.AugmentB = []string{"crop", "a", "b", "c"}, []string{"crop"} }), "", "", "", false},
		{cfgWith(func(c *config.Config) { c.Method = config.MethodRawPixels; c.AugmentB = []string{"crop"} }), "", "", "", false},
	}
	for _, tt := range tests {
		rows := groupRows(runsOf("x", 0, tt.cfg, 0, 0.5), []evalKind{linear})
		a, b, p, ok := pairOf(rows[0])
		if a != tt.first || b != tt.snd || p != tt.protocol || ok != tt.ok {
			t.Errorf("pairOf(augment %v, augment_b %v, method %s) = %q, %q, %q, %v, want %q, %q, %q, %v",
				tt.cfg.Augment, tt.cfg.AugmentB, tt.cfg.Method, a, b, p, ok, tt.first, tt.snd, tt.protocol, tt.ok)
		}
	}
}

func headCfg(head string, dim int) config.Config {
	return cfgWith(func(c *config.Config) { c.Head, c.ProjDim, c.EvalFeatures = head, dim, []string{"h", "z"} })
}

func TestHeadFindings(t *testing.T) {
	var runs []store.RunDetail
	runs = append(runs, runsOf("none", 0, headCfg("none", 32), 0, 0.70, 0.71)...)
	runs = append(runs, runsOf("linear", 1, headCfg("linear", 32), 0.05, 0.74, 0.75)...)
	runs = append(runs, runsOf("nonlinear 32", 2, headCfg("nonlinear", 32), 0.1, 0.73, 0.80)...)
	runs = append(runs, runsOf("nonlinear 128", 3, headCfg("nonlinear", 128), 0.1, 0.79, 0.80)...)
	e := newExperiment(store.Experiment{Name: "h"}, runs)
	want := "nonlinear head > linear head > no head: yes, not significant (95% intervals overlap)\n" +
		"h (before the head) > z (after it): yes (significant)"
	if got := outcomes(e.Findings[1]); got != want {
		t.Errorf("findings 2 =\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(e.Findings[1][0].Evidence, "pooled over its output dims") {
		t.Errorf("evidence %q does not say the heads are pooled over dims", e.Findings[1][0].Evidence)
	}
	if e.Scaling != nil || e.Pairwise != nil {
		t.Errorf("a heads experiment got a scaling (%v) or pairwise (%v) section", e.Scaling != nil, e.Pairwise != nil)
	}
	// Two heads only: the claim names them.
	e = newExperiment(store.Experiment{Name: "h2"}, append(runsOf("none", 0, headCfg("none", 32), 0, 0.8, 0.805, 0.81), runsOf("linear", 1, headCfg("linear", 32), 0, 0.7, 0.705, 0.71)...))
	if got := outcomes(e.Findings[1][:1]); got != "linear head > no head: no (significant)" {
		t.Errorf("findings 2 with two heads = %q, want \"linear head > no head: no (significant)\"", got)
	}
}

func TestScalingFindings(t *testing.T) {
	cfg := func(b, ep int) config.Config {
		return cfgWith(func(c *config.Config) { c.BatchSize, c.Epochs = b, ep })
	}
	var runs []store.RunDetail
	// Three seeds each, tight: every difference is significant.
	runs = append(runs, runsOf("64/5", 0, cfg(64, 5), 0, 0.60, 0.605, 0.61)...)
	runs = append(runs, runsOf("256/5", 1, cfg(256, 5), 0, 0.66, 0.665, 0.67)...)
	runs = append(runs, runsOf("64/20", 2, cfg(64, 20), 0, 0.74, 0.745, 0.75)...)
	runs = append(runs, runsOf("256/20", 3, cfg(256, 20), 0, 0.70, 0.705, 0.71)...)
	e := newExperiment(store.Experiment{Name: "s"}, runs)
	want := "F1 rises with batch size: partly (significant)\n" +
		"F1 rises with training length: yes (significant)"
	if got := outcomes(e.Findings[2]); got != want {
		t.Errorf("findings 3 =\n%s\nwant\n%s", got, want)
	}
	if ev := e.Findings[2][0].Evidence; !strings.HasPrefix(ev, "linear F1: at epochs 20: batch 256 0.705 ± 0.005 (n=3) vs batch 64 0.745 ± 0.005 (n=3); at epochs 5:") {
		t.Errorf("batch evidence = %q, want the longest training first", ev)
	}
}

func TestNotTested(t *testing.T) {
	e := newExperiment(store.Experiment{Name: "plain"}, runsOf("crop+color", 0, cfgWith(), 0, 0.8, 0.82))
	all := allFindings([]*experiment{e})
	for i, vs := range all {
		if len(vs) != 1 || vs[0].Held != "not tested" || vs[0].Experiment != "" {
			t.Errorf("finding %d on a one-row experiment = %+v, want one not-tested verdict", i+1, vs)
		}
	}
}

func TestSeedTableFinding(t *testing.T) {
	aug := func(list ...string) config.Config { return cfgWith(func(c *config.Config) { c.Augment = list }) }
	var runs []store.RunDetail
	runs = append(runs, runsOf("crop+color", 0, aug("crop", "color"), 0, 0.80, 0.81, 0.82)...)
	runs = append(runs, runsOf("crop", 1, aug("crop"), 0, 0.70, 0.71, 0.72)...)
	runs = append(runs, runsOf("raw", 2, cfgWith(func(c *config.Config) { c.Method = config.MethodRawPixels }), 0, 0.90, 0.91)...)
	e := newExperiment(store.Experiment{Name: "t"}, runs)
	if got := outcomes(e.Findings[0]); got != "crop + colour is the best augmentation: yes (significant)" {
		t.Errorf("finding 1 on a seed table = %q, want yes (significant): baselines are not augmentations", got)
	}
	if e.Best == nil || e.Best.Label != "raw" {
		t.Errorf("best row = %v, want raw (the best mean, baseline or not)", e.Best)
	}
	if got := e.Rows[len(e.Rows)-1].Label; got != "raw" {
		t.Errorf("last row = %s, want the baseline raw at the bottom", got)
	}
}

func TestGroupRows(t *testing.T) {
	var runs []store.RunDetail
	sup := cfgWith(func(c *config.Config) { c.Method = config.MethodSupervised })
	runs = append(runs, runsOf("supervised", 0, sup, 0, 0.9)...)
	runs = append(runs, runsOf("b", 2, cfgWith(), 0, 0.7, 0.72)...)
	runs = append(runs, runsOf("a", 1, cfgWith(), 0, 0.6)...)
	failedRun := runsOf("b", 2, cfgWith(), 0, 0.1)[0]
	failedRun.Status, failedRun.Seed = store.StatusFailed, 9
	runs = append(runs, failedRun)
	rows := groupRows(runs, []evalKind{linear})
	var order []string
	for _, r := range rows {
		order = append(order, r.Label)
	}
	if got := strings.Join(order, ","); got != "a,b,supervised" {
		t.Errorf("row order = %s, want a,b,supervised (grid order, baselines last)", got)
	}
	b := rows[1]
	if len(b.Runs) != 3 || len(b.Finished) != 2 || b.Scores[linear].F1.N != 2 || !near(b.Scores[linear].F1.Mean, 0.71) {
		t.Errorf("row b = %d runs, %d finished, F1 %+v, want 3, 2, mean 0.71 of n=2 (the failed run left out)", len(b.Runs), len(b.Finished), b.Scores[linear].F1)
	}
	if got := statusCounts(b.Runs); got != "1 failed" {
		t.Errorf("statusCounts(row b) = %q, want \"1 failed\"", got)
	}
}

func TestEvalKindsAndPick(t *testing.T) {
	r := store.RunDetail{}
	r.Status = store.StatusFinished
	r.Evaluations = []metrics.Evaluation{
		{Protocol: "finetune", Features: "h", LabelFraction: 0.1, MacroF1: 0.5},
		{Protocol: "linear", Features: "z", LabelFraction: 1, MacroF1: 0.6},
		{Protocol: "linear", Features: "h", LabelFraction: 1, MacroF1: 0.7},
		{Protocol: "finetune", Features: "h", LabelFraction: 0.01, MacroF1: 0.4},
	}
	ks := evalKinds([]store.RunDetail{r})
	var names []string
	for _, k := range ks {
		names = append(names, k.String())
	}
	if got := strings.Join(names, ","); got != "linear,fine-tune 1%,fine-tune 10%" {
		t.Errorf("evalKinds = %s, want linear,fine-tune 1%%,fine-tune 10%%", got)
	}
	if ev := pickEval(&r, linear); ev == nil || ev.Features != "h" {
		t.Errorf("pickEval(linear) = %+v, want the evaluation on h", ev)
	}
	if ev := featureEval(&r, linear, "z"); ev == nil || ev.MacroF1 != 0.6 {
		t.Errorf("featureEval(linear, z) = %+v, want F1 0.6", ev)
	}
}

func TestUniqueSlugAndAnchor(t *testing.T) {
	used := map[string]int{}
	tests := []struct{ name, want string }{
		{"seed_table", "seed_table"},
		{"Augment Ablation!", "augment-ablation"},
		{"augment ablation", "augment-ablation-2"},
		{"../../etc", "etc"},
		{"???", "experiment"},
		{"", "experiment-2"},
	}
	for _, tt := range tests {
		if got := uniqueSlug(used, tt.name); got != tt.want {
			t.Errorf("uniqueSlug(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := anchor("Experiment seed_table (v2)"); got != "experiment-seed_table-v2" {
		t.Errorf("anchor = %q, want experiment-seed_table-v2", got)
	}
}

func TestSelectExperiments(t *testing.T) {
	all := []store.Experiment{{ID: 2, Name: "b", Runs: 1}, {ID: 1, Name: "a", Runs: 3}, {ID: 3, Name: "empty"}}
	got, err := selectExperiments(all, nil)
	if err != nil || len(got) != 2 || got[0].Name != "a" || got[1].Name != "b" {
		t.Errorf("selectExperiments(all) = %v, %v, want a, b (created order, empty left out)", got, err)
	}
	got, err = selectExperiments(all, []string{"b", "a", "b"})
	if err != nil || len(got) != 2 || got[0].Name != "b" {
		t.Errorf("selectExperiments(b, a, b) = %v, %v, want b, a", got, err)
	}
	if _, err := selectExperiments(all, []string{"nope"}); err == nil || !strings.Contains(err.Error(), "known: b, a, empty") {
		t.Errorf("selectExperiments(nope) = %v, want an error listing the known names", err)
	}
}

func TestVaryingSettings(t *testing.T) {
	mk := func(seed, head string, tag string) store.RunDetail {
		var r store.RunDetail
		r.Params = []store.Param{{Key: "head", Value: head}, {Key: "seed", Value: seed}, {Key: "lr", Value: "0.001"}}
		if tag != "" {
			r.Params = append(r.Params, store.Param{Key: "pair_first", Value: tag})
		}
		return r
	}
	got := varyingSettings([]store.RunDetail{mk("1", "linear", "crop"), mk("2", "linear", "blur"), mk("1", "none", "")})
	if strings.Join(got, ",") != "head" {
		t.Errorf("varyingSettings = %v, want [head] (seed and tags left out)", got)
	}
}

// bothPairRuns makes finished runs of a pairwise cell of protocol both:
// the pair on both branches (no augment_b), named by the tags.
func bothPairRuns(a, b string, i int, f1s ...float64) []store.RunDetail {
	cfg := pairCfg(a, b)
	cfg.AugmentB = nil
	rs := runsOf(pairName(pair{a, b}), i, cfg, 0, f1s...)
	for j := range rs {
		rs[j].Params = []store.Param{{Key: "pair_first", Value: a}, {Key: "pair_second", Value: b}}
	}
	return rs
}

// TestPairwiseProtocol: a pairwise grid of protocol both (tags, no
// augment_b) is a matrix labelled both; rows of the other protocol in the
// same experiment are left out, not pooled, and counted.
func TestPairwiseProtocol(t *testing.T) {
	var runs []store.RunDetail
	runs = append(runs, bothPairRuns("crop", "crop", 0, 0.6)...)
	runs = append(runs, bothPairRuns("crop", "color", 1, 0.8)...)
	runs = append(runs, runsOf("crop+color one-branch", 2, pairCfg("crop", "color"), 0, 0.3)...)
	e := newExperiment(store.Experiment{Name: "p"}, runs)
	pw := e.Pairwise
	if pw == nil {
		t.Fatal("no pairwise matrix")
	}
	if pw.Protocol != protocolBoth || pw.Other != 1 {
		t.Errorf("Protocol %q, Other %d; want both, 1", pw.Protocol, pw.Other)
	}
	if s := pw.Cells[pair{"crop", "color"}]; s.N != 1 || !near(s.Mean, 0.8) {
		t.Errorf("crop+color cell = %+v, want the both run alone (0.8)", s)
	}
	var w writer
	if err := w.pairwiseSection(e); err != nil {
		t.Fatal(err)
	}
	text := w.b.String()
	for _, want := range []string{"Protocol both (SimCLR's training recipe)", "Left out: 1 row of the other protocol", "heat map of p, protocol both"} {
		if !strings.Contains(text, want) {
			t.Errorf("pairwise section lacks %q:\n%s", want, text)
		}
	}
}

// uncroppedPairRuns makes finished runs of a pairwise cell of protocol
// both with crop_first = false: augment is the pair alone.
func uncroppedPairRuns(a, b string, i int, f1s ...float64) []store.RunDetail {
	rs := bothPairRuns(a, b, i, f1s...)
	for j := range rs {
		rs[j].Config.Augment = []string{a, b}
		if a == b {
			rs[j].Config.Augment = []string{a}
		}
	}
	return rs
}

// TestPairwiseCropFirst: the section and the heat map say whether the
// views were cropped before the pair (Figure 5), not at all (crop_first =
// false), or in some rows only.
func TestPairwiseCropFirst(t *testing.T) {
	for _, tc := range []struct {
		name string
		runs []store.RunDetail
		want []string
	}{
		{"crop first", append(bothPairRuns("crop", "crop", 0, 0.6), bothPairRuns("crop", "color", 1, 0.8)...),
			[]string{"same random pipeline, a crop, then the first transformation", "heat map of p, protocol both]"}},
		{"no crop first", append(uncroppedPairRuns("crop", "crop", 0, 0.6), uncroppedPairRuns("crop", "color", 1, 0.8)...),
			[]string{"no crop first: both branches", "cropped only where crop is one of the pair", "heat map of p, protocol both, no crop first]"}},
		{"mixed", append(bothPairRuns("crop", "crop", 0, 0.6), uncroppedPairRuns("crop", "color", 1, 0.8)...),
			[]string{"after a crop in 1 of the 2 cells", "heat map of p, protocol both, crop first in 1 of 2 cells]"}},
	} {
		e := newExperiment(store.Experiment{Name: "p"}, tc.runs)
		var w writer
		if err := w.pairwiseSection(e); err != nil {
			t.Fatal(err)
		}
		text := w.b.String()
		for _, want := range tc.want {
			if !strings.Contains(text, want) {
				t.Errorf("%s: pairwise section lacks %q:\n%s", tc.name, want, text)
			}
		}
	}
}

// TestFinding1Protocol: every Finding 1 verdict names the protocol of
// the cells it compares, a pairwise matrix's or the variants', and says
// so when the variants mix protocols.
func TestFinding1Protocol(t *testing.T) {
	oneBranch := func(label string, i int, f1s ...float64) []store.RunDetail {
		// Not a pairwise cell: the second branch is more than a crop.
		cfg := cfgWith(func(c *config.Config) {
			c.Augment, c.AugmentB = []string{"crop", "color", "blur"}, []string{"crop", "color"}
		})
		return runsOf(label, i, cfg, 0, f1s...)
	}
	var bothGrid []store.RunDetail
	bothGrid = append(bothGrid, bothPairRuns("crop", "crop", 0, 0.60, 0.61)...)
	bothGrid = append(bothGrid, bothPairRuns("crop", "color", 1, 0.80, 0.81)...)
	bothGrid = append(bothGrid, bothPairRuns("crop", "blur", 2, 0.75, 0.76)...)
	bothGrid = append(bothGrid, runsOf("crop+color one-branch", 3, pairCfg("crop", "color"), 0, 0.95)...)
	tests := []struct {
		name string
		runs []store.RunDetail
		want []string // evidence prefixes, one a verdict
	}{
		{
			name: "pairwise, one-branch",
			runs: pairExperiment(map[pair][]float64{
				{"crop", "crop"}: {0.60, 0.61}, {"crop", "color"}: {0.82, 0.83}, {"crop", "blur"}: {0.70, 0.71},
			}, []string{"crop", "color", "blur"}).Runs,
			want: []string{"linear F1, protocol one-branch: crop+color ", "linear F1, protocol one-branch: crop+color (best pair) "},
		},
		{
			name: "pairwise, both, the one-branch row left out",
			runs: bothGrid,
			want: []string{"linear F1, protocol both: crop+color 0.805", "linear F1, protocol both: crop+color (best pair) "},
		},
		{
			name: "pairwise, both, no crop first",
			runs: append(append(uncroppedPairRuns("crop", "crop", 0, 0.60, 0.61), uncroppedPairRuns("crop", "color", 1, 0.80, 0.81)...),
				uncroppedPairRuns("crop", "blur", 2, 0.75, 0.76)...),
			want: []string{"linear F1, protocol both, no crop first: crop+color 0.805", "linear F1, protocol both, no crop first: crop+color (best pair) "},
		},
		{
			name: "pairwise, one-branch, not tested",
			runs: pairExperiment(map[pair][]float64{{"crop", "blur"}: {0.7}, {"blur", "crop"}: {0.6}}, []string{"crop", "blur"}).Runs,
			want: []string{"the grid (protocol one-branch) has no finished crop+color"},
		},
		{
			name: "variants, both",
			runs: seedTableRuns(),
			want: []string{"linear F1, protocol both: crop+color "},
		},
		{
			name: "variants, mixed: the next best on one branch",
			runs: append(runsOf("crop+color", 0, augCfg("crop", "color"), 0, 0.80, 0.81), oneBranch("one-branch", 1, 0.75, 0.76)...),
			want: []string{"linear F1, mixed protocols (one-branch and both): crop+color "},
		},
		{
			name: "variants, mixed: a lower row on one branch",
			runs: append(append(runsOf("crop+color", 0, augCfg("crop", "color"), 0, 0.80, 0.81),
				runsOf("crop", 1, augCfg("crop"), 0, 0.70, 0.71)...), oneBranch("one-branch", 2, 0.60, 0.61)...),
			want: []string{"linear F1, mixed protocols (one-branch and both): crop+color 0.805 ± 0.007 (n=2) vs crop (next best) "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := newExperiment(store.Experiment{Name: "e"}, tt.runs).Findings[0]
			if len(vs) != len(tt.want) {
				t.Fatalf("%d verdicts, want %d: %+v", len(vs), len(tt.want), vs)
			}
			for i, v := range vs {
				if !strings.HasPrefix(v.Evidence, tt.want[i]) {
					t.Errorf("verdict %q: evidence %q, want it to start with %q", v.Claim, v.Evidence, tt.want[i])
				}
			}
		})
	}
}

// TestCurvesKNNPanel: the pretraining curves get a third panel, the kNN
// monitor's accuracy, when some run recorded it, and keep two otherwise.
func TestCurvesKNNPanel(t *testing.T) {
	curves := func(knn bool) string {
		var runs []store.RunDetail
		for i, label := range []string{"a", "b"} {
			rs := runsOf(label, i, cfgWith(func(c *config.Config) { c.Temperature = 0.1 * float64(i+1) }), 0, 0.5, 0.6)
			for j := range rs {
				for e := 1; e <= 3; e++ {
					st := metrics.EpochStats{Epoch: e, Epochs: 3, Loss: 6 - float64(e), ContrastiveAcc: 0.1 * float64(e)}
					if knn {
						v := 0.2*float64(e) + 0.01*float64(j)
						st.KNNAcc = &v
					}
					rs[j].Epochs = append(rs[j].Epochs, st)
				}
			}
			runs = append(runs, rs...)
		}
		var w writer
		if err := w.curvesSection(newExperiment(store.Experiment{Name: "c"}, runs)); err != nil {
			t.Fatal(err)
		}
		if len(w.figures) != 1 {
			t.Fatalf("knn %v: %d figures, want the curves", knn, len(w.figures))
		}
		return w.b.String()
	}
	if text := curves(true); !strings.Contains(text, "the kNN monitor's accuracy") {
		t.Errorf("curves with kNN accuracies do not describe its panel:\n%s", text)
	}
	if text := curves(false); strings.Contains(text, "kNN") {
		t.Errorf("curves without kNN accuracies mention it:\n%s", text)
	}
}

// TestScalingInSteps: an equal-steps grid (every SimCLR row given in
// steps) is compared by batch size at equal steps, with steps as the
// columns; a row given in steps beside epoch rows is left out.
func TestScalingInSteps(t *testing.T) {
	stepsCfg := func(batch, steps int) config.Config {
		return cfgWith(func(c *config.Config) { c.BatchSize, c.Epochs, c.Steps = batch, 0, steps })
	}
	var runs []store.RunDetail
	i := 0
	for _, b := range []int{64, 256} {
		for _, st := range []int{390, 780} {
			runs = append(runs, runsOf(fmt.Sprintf("b%d s%d", b, st), i, stepsCfg(b, st), 0, 0.7+float64(b)/2560+float64(st)/7800, 0.71+float64(b)/2560+float64(st)/7800)...)
			i++
		}
	}
	e := newExperiment(store.Experiment{Name: "s"}, runs)
	sc := e.Scaling
	if sc == nil || sc.Unit != "steps" || !slices.Equal(sc.Epochs, []int{390, 780}) || !slices.Equal(sc.Batches, []int{64, 256}) {
		t.Fatalf("Scaling = %+v, want steps 390, 780 × batch 64, 256", sc)
	}
	var w writer
	if err := w.scalingSection(e); err != nil {
		t.Fatal(err)
	}
	if text := w.b.String(); !strings.Contains(text, "pretraining steps (columns)") || !strings.Contains(text, "batch size ↓ · steps →") {
		t.Errorf("scaling section does not speak of steps:\n%s", text)
	}
	verdicts := findings3(e)
	if len(verdicts) == 0 || !strings.Contains(fmt.Sprint(verdicts), "at steps 780: batch 256") {
		t.Errorf("findings3 = %+v, want batch compared at equal steps", verdicts)
	}

	runs = append(runs, runsOf("epochs", i, cfgWith(), 0, 0.8)...)
	runs = append(runs, runsOf("epochs 64", i+1, cfgWith(func(c *config.Config) { c.BatchSize = 64 }), 0, 0.8)...)
	if sc := newExperiment(store.Experiment{Name: "m"}, runs).Scaling; sc == nil || sc.Unit != "epochs" || sc.Other != 4 {
		t.Errorf("mixed units: Scaling = %+v, want epochs with 4 rows left out", sc)
	}
}
