package document

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/report/stats"
	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// evalKind is a column of the F1 table: a protocol and, for fine-tuning,
// the fraction of labels used (1 for linear evaluation).
type evalKind struct {
	Protocol string
	Fraction float64
}

func (k evalKind) String() string {
	if k.Protocol == "finetune" {
		return "fine-tune " + percent(k.Fraction)
	}
	return k.Protocol
}

// describe says in words what the kind measures, for the table notes.
func (k evalKind) describe() string {
	switch k.Protocol {
	case "linear":
		return "linear evaluation (logistic regression on frozen h; on the pixels for the raw-pixels baseline)"
	case "finetune":
		return fmt.Sprintf("fine-tuning on %s of the training labels", percent(k.Fraction))
	}
	return k.Protocol
}

func percent(f float64) string {
	return strconv.FormatFloat(f*100, 'f', -1, 64) + "%"
}

// featureRank orders the evaluations of one kind: the representation h,
// then pixels (the raw-pixels baseline), then anything else (z).
func featureRank(f string) int {
	switch f {
	case "h":
		return 0
	case "pixels":
		return 1
	case "":
		return 2
	}
	return 3
}

// pickEval returns the run's evaluation of kind k on the preferred
// features (featureRank), or nil.
func pickEval(r *store.RunDetail, k evalKind) *metrics.Evaluation {
	var best *metrics.Evaluation
	for i := range r.Evaluations {
		ev := &r.Evaluations[i]
		if ev.Protocol != k.Protocol || ev.LabelFraction != k.Fraction {
			continue
		}
		if best == nil || featureRank(ev.Features) < featureRank(best.Features) {
			best = ev
		}
	}
	return best
}

// featureEval returns the run's evaluation of kind k on exactly the named
// features, or nil.
func featureEval(r *store.RunDetail, k evalKind, features string) *metrics.Evaluation {
	for i := range r.Evaluations {
		ev := &r.Evaluations[i]
		if ev.Protocol == k.Protocol && ev.LabelFraction == k.Fraction && ev.Features == features {
			return ev
		}
	}
	return nil
}

// score is a row's F1 and accuracy over its finished runs for one kind.
type score struct {
	F1, Acc stats.Summary
}

// row is one line of the F1 table: the runs sharing a label.
type row struct {
	Label    string
	Method   string
	Config   config.Config // of the row's first run in grid order
	Runs     []*store.RunDetail
	Finished []*store.RunDetail
	Scores   map[evalKind]score
	index    int // smallest grid index of its runs
}

// baseline reports whether the row is a baseline (not SimCLR).
func (r *row) baseline() bool { return r.Method != config.MethodSimCLR }

// headline is the row's score of the experiment's headline kind.
func (r *row) headline(k evalKind) stats.Summary { return r.Scores[k].F1 }

// statusCounts returns "2 failed, 1 interrupted" for the row's runs that
// did not finish, or "".
func statusCounts(runs []*store.RunDetail) string {
	counts := map[string]int{}
	for _, r := range runs {
		if r.Status != store.StatusFinished {
			counts[r.Status]++
		}
	}
	var parts []string
	for _, s := range statusOrder {
		if n := counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	return strings.Join(parts, ", ")
}

// methodOrder places SimCLR rows first and the baselines after, in the
// order of config.Methods.
func methodOrder(m string) int {
	for i, x := range config.Methods {
		if x == m {
			return i
		}
	}
	return len(config.Methods)
}

// groupRows groups runs by label into rows ordered by method (SimCLR
// first, baselines at the bottom), then grid index, then label, and
// scores each row on each kind.
func groupRows(runs []store.RunDetail, kinds []evalKind) []*row {
	byLabel := map[string]*row{}
	var rows []*row
	for i := range runs {
		r := &runs[i]
		rw, ok := byLabel[r.Label]
		if !ok {
			rw = &row{Label: r.Label, Method: r.Config.Method, Config: r.Config, index: r.GridIndex}
			byLabel[r.Label] = rw
			rows = append(rows, rw)
		}
		if r.GridIndex < rw.index {
			rw.index, rw.Config, rw.Method = r.GridIndex, r.Config, r.Config.Method
		}
		rw.Runs = append(rw.Runs, r)
		if r.Status == store.StatusFinished {
			rw.Finished = append(rw.Finished, r)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if ma, mb := methodOrder(a.Method), methodOrder(b.Method); ma != mb {
			return ma < mb
		}
		if a.index != b.index {
			return a.index < b.index
		}
		return a.Label < b.Label
	})
	for _, rw := range rows {
		rw.Scores = map[evalKind]score{}
		for _, k := range kinds {
			var f1, acc []float64
			for _, r := range rw.Finished {
				if ev := pickEval(r, k); ev != nil {
					f1 = append(f1, ev.MacroF1)
					acc = append(acc, ev.Accuracy)
				}
			}
			rw.Scores[k] = score{F1: stats.Summarize(f1), Acc: stats.Summarize(acc)}
		}
	}
	return rows
}

// evalKinds returns the kinds of evaluation of the finished runs: linear
// first, then fine-tuning by growing label fraction.
func evalKinds(runs []store.RunDetail) []evalKind {
	seen := map[evalKind]bool{}
	var out []evalKind
	for i := range runs {
		if runs[i].Status != store.StatusFinished {
			continue
		}
		for _, ev := range runs[i].Evaluations {
			k := evalKind{ev.Protocol, ev.LabelFraction}
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Protocol != b.Protocol {
			return protocolOrder(a.Protocol) < protocolOrder(b.Protocol)
		}
		return a.Fraction < b.Fraction
	})
	return out
}

func protocolOrder(p string) int {
	for i, x := range config.EvalKinds {
		if x == p {
			return i
		}
	}
	return len(config.EvalKinds)
}

// modelName describes a row's method and network for the Model column.
func modelName(c config.Config) string {
	switch c.Method {
	case config.MethodRawPixels:
		return "Raw pixels (logistic regression)"
	case config.MethodRandomInit:
		return "Random-init " + c.Encoder
	case config.MethodSupervised:
		return "Supervised " + c.Encoder
	}
	return "SimCLR " + c.Encoder + ", " + headName(c)
}

// headName is "no head", "linear head 32-d" or "nonlinear head 128-d".
func headName(c config.Config) string {
	if c.Head == "none" {
		return "no head"
	}
	return fmt.Sprintf("%s head %d-d", c.Head, c.ProjDim)
}

// augmentName describes the views for the Type Augmentation column:
// "crop + color", or "crop + color / crop" when the second branch has its
// own pipeline, "—" for the baselines that see no augmentation.
func augmentName(c config.Config) string {
	switch c.Method {
	case config.MethodRawPixels, config.MethodRandomInit:
		return "—"
	}
	s := joinAug(c.Augment)
	if len(c.AugmentB) > 0 {
		s += " / " + joinAug(c.AugmentB)
	}
	return s
}

func joinAug(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, " + ")
}

// tags returns the run's params that are not settings of config.Config:
// facts a runner attached to the cell (pair_first, pair_second).
func tags(r *store.RunDetail) map[string]string {
	var out map[string]string
	for _, p := range r.Params {
		if !isSetting(p.Key) {
			if out == nil {
				out = map[string]string{}
			}
			out[p.Key] = p.Value
		}
	}
	return out
}

var settingKeys = func() map[string]bool {
	ps, err := store.FlattenConfig(config.Config{})
	if err != nil {
		panic("document: " + err.Error())
	}
	m := map[string]bool{}
	for _, p := range ps {
		m[p.Key] = true
	}
	return m
}()

func isSetting(key string) bool { return settingKeys[key] }

// Protocols of a pairwise grid (runner/grid's [pairwise] protocol): the
// pair on the first branch only, the second only cropped (Figure 5), or
// the same pipeline on both branches (SimCLR's training recipe).
const (
	protocolOneBranch = "one-branch"
	protocolBoth      = "both"
)

// protocolOf is the protocol of a SimCLR cell's views: one-branch when
// augment_b is set, both when it is not.
func protocolOf(c config.Config) string {
	if len(c.AugmentB) > 0 {
		return protocolOneBranch
	}
	return protocolBoth
}

// pairOf returns the two transforms of a pairwise cell, its protocol and
// whether the row is one: from the tags pair_first and pair_second when a
// runner stored them, else from the views (augment_b = [crop]; augment =
// [crop, t1, t2], or [crop, t] on the diagonal). The protocol is read from
// the views: one-branch when augment_b is set, both when it is not (then
// the tags are needed: any row without augment_b would look like a pair).
func pairOf(rw *row) (first, second, protocol string, ok bool) {
	if rw.Method != config.MethodSimCLR {
		return "", "", "", false
	}
	c := rw.Config
	protocol = protocolOf(c)
	if t := tags(rw.Runs[0]); t["pair_first"] != "" && t["pair_second"] != "" {
		return t["pair_first"], t["pair_second"], protocol, true
	}
	if len(c.AugmentB) != 1 || c.AugmentB[0] != "crop" || len(c.Augment) < 2 || c.Augment[0] != "crop" {
		return "", "", "", false
	}
	switch len(c.Augment) {
	case 2:
		return c.Augment[1], c.Augment[1], protocol, true
	case 3:
		return c.Augment[1], c.Augment[2], protocol, true
	}
	return "", "", "", false
}

// pool summarises the F1 of kind k on the given features ("" = the
// preferred ones) over every finished run of the rows.
func pool(rows []*row, k evalKind, features string) stats.Summary {
	var xs []float64
	for _, rw := range rows {
		for _, r := range rw.Finished {
			var ev *metrics.Evaluation
			if features == "" {
				ev = pickEval(r, k)
			} else {
				ev = featureEval(r, k, features)
			}
			if ev != nil {
				xs = append(xs, ev.MacroF1)
			}
		}
	}
	return stats.Summarize(xs)
}

// mean of the finite values, NaN when none.
func mean(xs []float64) float64 {
	s, n := 0.0, 0
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			s += x
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}
