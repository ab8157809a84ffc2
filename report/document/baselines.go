package document

import (
	"fmt"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/report/stats"
	"github.com/simclr-ablate/simclr-ablate/report/table"
)

// versusBaseline is one line of the table of SimCLR against its
// baselines: an experiment's best SimCLR row against one of its baseline
// rows, on the experiment's headline score.
type versusBaseline struct {
	Experiment string
	Kind       evalKind
	SimCLR     *row
	Baseline   *row
	Cmp        comparison // SimCLR (A) against the baseline (B)
}

// bestSimCLR returns the SimCLR row with the highest mean F1 of kind k
// (the first in table order on a tie), or nil when no SimCLR row has a
// finished score.
func bestSimCLR(rows []*row, k evalKind) *row {
	var best *row
	for _, rw := range rows {
		s := rw.headline(k)
		if rw.baseline() || s.N == 0 {
			continue
		}
		if best == nil || s.Mean > best.headline(k).Mean {
			best = rw
		}
	}
	return best
}

// versusBaselines compares the experiment's best SimCLR row with each of
// its baseline rows, in table order. It returns nil when the experiment
// has no baseline row or no SimCLR row with a finished score.
func versusBaselines(e *experiment) []versusBaseline {
	best := bestSimCLR(e.Rows, e.Headline)
	if best == nil {
		return nil
	}
	var out []versusBaseline
	for _, rw := range e.Rows {
		if !rw.baseline() {
			continue
		}
		c := compare(best.Label, best.headline(e.Headline), rw.Label, rw.headline(e.Headline))
		out = append(out, versusBaseline{Experiment: e.Info.Name, Kind: e.Headline, SimCLR: best, Baseline: rw, Cmp: c})
	}
	return out
}

// hasBaseline reports whether some row of the experiment is a baseline.
func hasBaseline(e *experiment) bool {
	for _, rw := range e.Rows {
		if rw.baseline() {
			return true
		}
	}
	return false
}

// intervalCell formats a score for the baselines table: "0.830 [0.822,
// 0.838] (n=3)" (mean and 95% interval), "0.634 (1 seed: no interval)",
// or "— (none finished)".
func intervalCell(s stats.Summary) string {
	switch s.N {
	case 0:
		return "— (none finished)"
	case 1:
		return fmt.Sprintf("%.3f (1 seed: no interval)", s.Mean)
	}
	return fmt.Sprintf("%.3f %s (n=%d)", s.Mean, s.Interval(), s.N)
}

// differenceCell is the SimCLR mean minus the baseline mean, signed, or
// "—" when a side has no score.
func differenceCell(c comparison) string {
	if c.SA.N == 0 || c.SB.N == 0 {
		return "—"
	}
	return fmt.Sprintf("%+.3f", c.SA.Mean-c.SB.Mean)
}

// significantCell is "yes" when the 95% intervals do not overlap (the
// verdicts' rule), else "no" and why, or "—" when a side has no score.
func significantCell(c comparison) string {
	switch {
	case c.SA.N == 0 || c.SB.N == 0:
		return "—"
	case c.Sign:
		return "yes"
	}
	return "no (" + c.sigNote() + ")"
}

// cells returns the table row of v.
func (v versusBaseline) cells() []string {
	return []string{
		experimentLink(v.Experiment),
		scoreName(v.Kind, ""),
		table.Escape(v.SimCLR.Label),
		intervalCell(v.Cmp.SA),
		table.Escape(v.Baseline.Label),
		intervalCell(v.Cmp.SB),
		differenceCell(v.Cmp),
		significantCell(v.Cmp),
	}
}

// experimentLink links an experiment's name to its section, or is "—"
// for no experiment.
func experimentLink(name string) string {
	if name == "" {
		return "—"
	}
	return fmt.Sprintf("[%s](#%s)", table.Escape(name), anchor("Experiment "+name))
}

// baselinesTable writes, under Findings, each experiment's best SimCLR
// cell against each of its baselines, and names the experiments with
// baselines but no finished SimCLR cell to compare.
func (w *writer) baselinesTable() {
	w.p("### SimCLR against its baselines\n\n")
	var lines []versusBaseline
	var without []string
	for _, e := range w.exps {
		if !hasBaseline(e) {
			continue
		}
		vs := versusBaselines(e)
		if len(vs) == 0 {
			without = append(without, experimentLink(e.Info.Name))
		}
		lines = append(lines, vs...)
	}
	if len(lines) == 0 && len(without) == 0 {
		w.p("No experiment has a baseline row (raw pixels, random-init encoder, supervised).\n\n")
		return
	}
	if len(lines) > 0 {
		w.p("The best SimCLR cell of each experiment with baselines (highest mean F1 of its first score column) against each baseline of that experiment. ")
		w.p("F1: mean over n seeds with its 95%% Student's t interval in brackets. Difference: SimCLR minus baseline. ")
		w.p("Significant when the two intervals do not overlap, the rule of the verdicts above; with one seed there is no interval and nothing is significant.\n\n")
		t := table.New("Experiment", "Score", "SimCLR cell", "SimCLR F1 [95% interval]", "Baseline", "Baseline F1 [95% interval]", "Difference", "Significant?")
		t.SetAlign(6, table.Right)
		for _, v := range lines {
			t.AddRow(v.cells()...)
		}
		w.p("%s\n", t.Markdown())
	}
	if len(without) > 0 {
		w.p("Not compared, no SimCLR cell of theirs finished with a score: %s.\n\n", strings.Join(without, ", "))
	}
}
