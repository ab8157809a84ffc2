package document

import (
	"strings"
	"testing"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// methodCfg is the default cell with another method (a baseline).
func methodCfg(m string) config.Config {
	return cfgWith(func(c *config.Config) { c.Method = m })
}

// augCfg is a SimCLR cell with the given views on both branches.
func augCfg(list ...string) config.Config {
	return cfgWith(func(c *config.Config) { c.Augment = list })
}

// seedTableRuns is a seed table of three seeds: two SimCLR cells and
// the three baselines, one above the best SimCLR cell, one below, one
// within its interval.
func seedTableRuns() []store.RunDetail {
	var runs []store.RunDetail
	runs = append(runs, runsOf("crop", 0, augCfg("crop"), 0, 0.70, 0.71, 0.72)...)
	runs = append(runs, runsOf("crop+color", 1, augCfg("crop", "color"), 0, 0.80, 0.81, 0.82)...)
	runs = append(runs, runsOf("raw pixels", 2, methodCfg(config.MethodRawPixels), 0, 0.90, 0.91, 0.92)...)
	runs = append(runs, runsOf("random-init", 3, methodCfg(config.MethodRandomInit), 0, 0.60, 0.61, 0.62)...)
	runs = append(runs, runsOf("supervised", 4, methodCfg(config.MethodSupervised), 0, 0.80, 0.82, 0.84)...)
	return runs
}

func TestVersusBaselines(t *testing.T) {
	failedRaw := runsOf("raw pixels", 1, methodCfg(config.MethodRawPixels), 0, 0.5)
	failedRaw[0].Status = store.StatusFailed
	link := "[e](#experiment-e)"
	tests := []struct {
		name string
		runs []store.RunDetail
		want [][]string // cells of each line
	}{
		{
			name: "three seeds: the best SimCLR cell against each baseline, in table order",
			runs: seedTableRuns(),
			want: [][]string{
				{link, "linear F1", "crop+color", "0.810 [0.785, 0.835] (n=3)", "raw pixels", "0.910 [0.885, 0.935] (n=3)", "-0.100", "yes"},
				{link, "linear F1", "crop+color", "0.810 [0.785, 0.835] (n=3)", "random-init", "0.610 [0.585, 0.635] (n=3)", "+0.200", "yes"},
				{link, "linear F1", "crop+color", "0.810 [0.785, 0.835] (n=3)", "supervised", "0.820 [0.770, 0.870] (n=3)", "-0.010", "no (95% intervals overlap)"},
			},
		},
		{
			name: "one seed of SimCLR: no interval, not significant",
			runs: append(runsOf("crop+color", 0, augCfg("crop", "color"), 0, 0.8),
				runsOf("raw pixels", 1, methodCfg(config.MethodRawPixels), 0, 0.70, 0.72)...),
			want: [][]string{
				{link, "linear F1", "crop+color", "0.800 (1 seed: no interval)", "raw pixels", "0.710 [0.583, 0.837] (n=2)", "+0.090", "no (one seed)"},
			},
		},
		{
			name: "a baseline that did not finish",
			runs: append(runsOf("crop+color", 0, augCfg("crop", "color"), 0, 0.80, 0.82), failedRaw...),
			want: [][]string{
				{link, "linear F1", "crop+color", "0.810 [0.683, 0.937] (n=2)", "raw pixels", "— (none finished)", "—", "—"},
			},
		},
		{
			name: "no baseline",
			runs: append(runsOf("crop", 0, augCfg("crop"), 0, 0.7), runsOf("crop+color", 1, augCfg("crop", "color"), 0, 0.8)...),
		},
		{
			name: "baselines only",
			runs: append(runsOf("raw pixels", 0, methodCfg(config.MethodRawPixels), 0, 0.7), runsOf("supervised", 1, methodCfg(config.MethodSupervised), 0, 0.8)...),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newExperiment(store.Experiment{Name: "e"}, tt.runs)
			var got [][]string
			for _, v := range versusBaselines(e) {
				got = append(got, v.cells())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(got), len(tt.want), joinCells(got))
			}
			for i := range got {
				if strings.Join(got[i], " | ") != strings.Join(tt.want[i], " | ") {
					t.Errorf("line %d =\n%s\nwant\n%s", i+1, strings.Join(got[i], " | "), strings.Join(tt.want[i], " | "))
				}
			}
		})
	}
}

func joinCells(rows [][]string) string {
	var out []string
	for _, r := range rows {
		out = append(out, strings.Join(r, " | "))
	}
	return strings.Join(out, "\n")
}

func TestBestSimCLR(t *testing.T) {
	tests := []struct {
		name string
		runs []store.RunDetail
		want string // label, "" for none
	}{
		{
			name: "highest mean, not the first row",
			runs: append(runsOf("a", 0, augCfg("crop"), 0, 0.6, 0.7), runsOf("b", 1, augCfg("color"), 0, 0.7, 0.71)...),
			want: "b",
		},
		{
			name: "a baseline above every SimCLR row is not picked",
			runs: append(runsOf("a", 0, augCfg("crop"), 0, 0.6), runsOf("sup", 1, methodCfg(config.MethodSupervised), 0, 0.9)...),
			want: "a",
		},
		{
			name: "a tie keeps the first in table order",
			runs: append(runsOf("a", 0, augCfg("crop"), 0, 0.7), runsOf("b", 1, augCfg("color"), 0, 0.7)...),
			want: "a",
		},
		{
			name: "no SimCLR row",
			runs: runsOf("raw", 0, methodCfg(config.MethodRawPixels), 0, 0.7),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := groupRows(tt.runs, []evalKind{linear})
			got := ""
			if rw := bestSimCLR(rows, linear); rw != nil {
				got = rw.Label
			}
			if got != tt.want {
				t.Errorf("bestSimCLR = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestBaselinesTableMarkdown: the section lists the lines of every
// experiment with baselines, names one whose SimCLR cells did not finish
// and leaves out one without baselines.
func TestBaselinesTableMarkdown(t *testing.T) {
	unfinished := runsOf("crop+color", 0, augCfg("crop", "color"), 0, 0.8)
	unfinished[0].Status = store.StatusInterrupted
	unfinished = append(unfinished, runsOf("raw pixels", 1, methodCfg(config.MethodRawPixels), 0, 0.7)...)
	w := writer{exps: []*experiment{
		newExperiment(store.Experiment{Name: "seed_table"}, seedTableRuns()),
		newExperiment(store.Experiment{Name: "plain"}, runsOf("crop", 0, augCfg("crop"), 0, 0.7)),
		newExperiment(store.Experiment{Name: "broken"}, unfinished),
	}}
	w.baselinesTable()
	got := w.b.String()
	want := []string{
		"### SimCLR against its baselines\n\n",
		"| Experiment                           | Score     | SimCLR cell | SimCLR F1 [95% interval]   | Baseline    | Baseline F1 [95% interval] | Difference | Significant?               |\n" +
			"| ------------------------------------ | --------- | ----------- | -------------------------- | ----------- | -------------------------- | ---------: | -------------------------- |\n" +
			"| [seed_table](#experiment-seed_table) | linear F1 | crop+color  | 0.810 [0.785, 0.835] (n=3) | raw pixels  | 0.910 [0.885, 0.935] (n=3) |     -0.100 | yes                        |\n" +
			"| [seed_table](#experiment-seed_table) | linear F1 | crop+color  | 0.810 [0.785, 0.835] (n=3) | random-init | 0.610 [0.585, 0.635] (n=3) |     +0.200 | yes                        |\n" +
			"| [seed_table](#experiment-seed_table) | linear F1 | crop+color  | 0.810 [0.785, 0.835] (n=3) | supervised  | 0.820 [0.770, 0.870] (n=3) |     -0.010 | no (95% intervals overlap) |\n",
		"Not compared, no SimCLR cell of theirs finished with a score: [broken](#experiment-broken).\n",
	}
	for _, s := range want {
		if !strings.Contains(got, s) {
			t.Errorf("baselines section lacks\n%s\ngot\n%s", s, got)
		}
	}
	if strings.Contains(got, "plain") {
		t.Errorf("baselines section names an experiment without baselines:\n%s", got)
	}

	w = writer{exps: w.exps[1:2]}
	w.baselinesTable()
	if got := w.b.String(); !strings.Contains(got, "No experiment has a baseline row") {
		t.Errorf("baselines section without baselines = %q, want it to say there are none", got)
	}
}

// TestEvidenceNamesScore: every verdict's evidence starts with the score
// it rests on (and, for Finding 1, the protocol).
func TestEvidenceNamesScore(t *testing.T) {
	fineTuneOnly := func(label string, index int, cfg config.Config, f1s ...float64) []store.RunDetail {
		rs := runsOf(label, index, cfg, 0, f1s...)
		for i := range rs {
			rs[i].Evaluations = []metrics.Evaluation{{Protocol: "finetune", Features: "h", LabelFraction: 0.1, MacroF1: f1s[i], Accuracy: f1s[i]}}
		}
		return rs
	}
	var heads []store.RunDetail
	heads = append(heads, runsOf("none", 0, headCfg("none", 32), 0, 0.70, 0.71)...)
	heads = append(heads, runsOf("linear", 1, headCfg("linear", 32), 0.05, 0.74, 0.75)...)
	tests := []struct {
		name    string
		runs    []store.RunDetail
		finding int
		want    []string // evidence prefixes, one a verdict
	}{
		{
			name:    "seed table, linear",
			runs:    seedTableRuns(),
			finding: 1,
			want:    []string{"linear F1, protocol both: crop+color "},
		},
		{
			name:    "seed table, fine-tuning only",
			runs:    append(fineTuneOnly("crop+color", 0, augCfg("crop", "color"), 0.8, 0.81), fineTuneOnly("crop", 1, augCfg("crop"), 0.7, 0.71)...),
			finding: 1,
			want:    []string{"fine-tune 10% F1, protocol both: crop+color "},
		},
		{
			name:    "heads: order on h, then h against z",
			runs:    heads,
			finding: 2,
			want:    []string{"linear F1 on h: linear ", "linear F1: h "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := newExperiment(store.Experiment{Name: "e"}, tt.runs).Findings[tt.finding-1]
			if len(vs) != len(tt.want) {
				t.Fatalf("finding %d: %d verdicts, want %d: %+v", tt.finding, len(vs), len(tt.want), vs)
			}
			for i, v := range vs {
				if !strings.HasPrefix(v.Evidence, tt.want[i]) {
					t.Errorf("verdict %q: evidence %q, want it to start with %q", v.Claim, v.Evidence, tt.want[i])
				}
			}
		})
	}
}
