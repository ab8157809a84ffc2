package document

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/report/stats"
	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

// The paper's findings, as the report states them.
var findingTitles = [3]string{
	"Finding 1: composition of augmentations, crop + colour above all",
	"Finding 2: a nonlinear projection head, and h before it",
	"Finding 3: larger batches and longer training",
}

// verdict is the outcome of one claim of a finding in one experiment.
type verdict struct {
	Finding    int // 1, 2 or 3
	Claim      string
	Experiment string
	Held       string // "yes", "no", "partly" or "not tested"
	Sig        bool   // every comparison behind it is significant
	SigNote    string // why not significant: "one seed", "95% intervals overlap"
	Evidence   string
}

// Outcome is the verdict's "held?" cell: "yes", "yes, not significant
// (one seed)", ...
func (v verdict) Outcome() string {
	if v.Held == "not tested" {
		return v.Held
	}
	if v.Sig {
		return v.Held + " (significant)"
	}
	return v.Held + ", not significant (" + v.SigNote + ")"
}

// comparison is one "a vs b" behind a verdict: does a beat b, and is the
// difference significant.
type comparison struct {
	A, B         string
	SA, SB       stats.Summary
	Higher, Sign bool
}

func compare(a string, sa stats.Summary, b string, sb stats.Summary) comparison {
	return comparison{A: a, B: b, SA: sa, SB: sb, Higher: sa.Mean > sb.Mean, Sign: stats.Significant(sa, sb)}
}

func (c comparison) String() string {
	return fmt.Sprintf("%s %s vs %s %s", c.A, c.SA, c.B, c.SB)
}

// sigNote says in a few words why a comparison is not significant: "one
// seed" when a side has fewer than two values, else "95% intervals
// overlap".
func (c comparison) sigNote() string {
	if c.SA.N < 2 || c.SB.N < 2 {
		return "one seed"
	}
	return "95% intervals overlap"
}

// scoreName names the score a verdict or table rests on: "linear F1",
// "fine-tune 10% F1", or "linear F1 on h" when the features are fixed.
func scoreName(k evalKind, features string) string {
	s := k.String() + " F1"
	if features != "" {
		s += " on " + features
	}
	return s
}

// judge turns comparisons that should each come out Higher into a
// verdict: yes when all do, no when none does, partly otherwise;
// significant when every comparison is. The evidence starts with the
// score it rests on (scoreName).
func judge(finding int, claim, exp, score string, cs []comparison, sep string) verdict {
	v := verdict{Finding: finding, Claim: claim, Experiment: exp, Sig: true}
	up := 0
	var ev, notes []string
	for _, c := range cs {
		if c.Higher {
			up++
		}
		if !c.Sign {
			v.Sig = false
			notes = appendOnce(notes, c.sigNote())
		}
		ev = append(ev, c.String())
	}
	switch {
	case up == len(cs):
		v.Held = "yes"
	case up == 0:
		v.Held = "no"
	default:
		v.Held = "partly"
	}
	v.SigNote = strings.Join(notes, "; ")
	v.Evidence = score + ": " + strings.Join(ev, sep)
	return v
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func notTested(finding int, claim, why string) verdict {
	return verdict{Finding: finding, Claim: claim, Held: "not tested", Evidence: why}
}

const (
	claimBestPair    = "crop + colour is the best pair of augmentations"
	claimComposition = "a pair of augmentations beats every single one"
	claimBestAug     = "crop + colour is the best augmentation"
	claimHeadOrder   = "nonlinear head > linear head > no head"
	claimHBeforeZ    = "h (before the head) > z (after it)"
	claimBatch       = "F1 rises with batch size"
	claimEpochs      = "F1 rises with training length"
)

// findings1 judges Finding 1 on an experiment: from its pairwise matrix
// when it has one, else from its SimCLR rows when they differ in
// augmentation and one of them is crop + color. The evidence names the
// protocol of the cells compared (withProtocol).
func findings1(e *experiment) []verdict {
	if pw := e.Pairwise; pw != nil {
		return pairwiseFindings(e.Info.Name, scoreName(e.Headline, ""), pw)
	}
	var cc *row
	var others []*row
	augs := map[string]bool{}
	var protocols []string
	for _, rw := range e.Rows {
		if rw.Method != config.MethodSimCLR || rw.headline(e.Headline).N == 0 {
			continue
		}
		name := augmentName(rw.Config)
		augs[name] = true
		protocols = append(protocols, protocolOf(rw.Config))
		if isCropColor(rw.Config) && (cc == nil || rw.headline(e.Headline).Mean > cc.headline(e.Headline).Mean) {
			cc = rw
		} else if !isCropColor(rw.Config) {
			others = append(others, rw)
		}
	}
	if cc == nil || len(augs) < 2 || len(others) == 0 {
		return nil
	}
	best := others[0]
	for _, rw := range others[1:] {
		if rw.headline(e.Headline).Mean > best.headline(e.Headline).Mean {
			best = rw
		}
	}
	c := compare(cc.Label, cc.headline(e.Headline), best.Label+" (next best)", best.headline(e.Headline))
	// The claim is that crop + color beats every other row, so every row
	// counts towards the protocol, not only the next best.
	score := withProtocol(scoreName(e.Headline, ""), protocols...)
	return []verdict{judge(1, claimBestAug, e.Info.Name, score, []comparison{c}, "; ")}
}

// withProtocol appends to a Finding 1 score name the augmentation protocol
// of the cells behind the verdict: "linear F1, protocol one-branch", or,
// when they are not all of one protocol, "linear F1, mixed protocols
// (one-branch and both)".
func withProtocol(score string, protocols ...string) string {
	var have []string
	for _, p := range []string{protocolOneBranch, protocolBoth} {
		if slices.Contains(protocols, p) {
			have = append(have, p)
		}
	}
	switch len(have) {
	case 0:
		return score
	case 1:
		return score + ", protocol " + have[0]
	}
	return score + ", mixed protocols (" + strings.Join(have, " and ") + ")"
}

// isCropColor: the views are crop then colour distortion, on both
// branches.
func isCropColor(c config.Config) bool {
	return protocolOf(c) == protocolBoth && len(c.Augment) == 2 && c.Augment[0] == "crop" && c.Augment[1] == "color"
}

// pairwiseFindings judges Finding 1 on a pairwise matrix; its evidence
// names the matrix's protocol.
func pairwiseFindings(exp, score string, pw *pairwise) []verdict {
	var out []verdict
	score = withProtocol(score, pw.Protocol)
	grid := "the grid (protocol " + pw.Protocol + ")"
	if v := pw.views(); v != "" {
		score += ", " + v
		grid = "the grid (protocol " + pw.Protocol + ", " + v + ")"
	}
	var cc, other, single, bestPair *pair
	var ccS, otherS, singleS, bestPairS stats.Summary
	better := func(cur *pair, curS stats.Summary, s stats.Summary) bool {
		return cur == nil || s.Mean > curS.Mean
	}
	for _, a := range pw.Transforms {
		for _, b := range pw.Transforms {
			p := pair{a, b}
			s, ok := pw.Cells[p]
			if !ok || s.N == 0 {
				continue
			}
			p2 := p
			switch {
			case a == b:
				if better(single, singleS, s) {
					single, singleS = &p2, s
				}
				continue
			case (a == "crop" && b == "color") || (a == "color" && b == "crop"):
				if better(cc, ccS, s) {
					cc, ccS = &p2, s
				}
			default:
				if better(other, otherS, s) {
					other, otherS = &p2, s
				}
			}
			if better(bestPair, bestPairS, s) {
				bestPair, bestPairS = &p2, s
			}
		}
	}
	switch {
	case cc == nil || other == nil:
		why := grid + " has no other pair to compare with"
		if cc == nil {
			why = grid + " has no finished crop+color or color+crop cell"
		}
		v := notTested(1, claimBestPair, why)
		v.Experiment = exp
		out = append(out, v)
	default:
		c := compare(pairName(*cc), ccS, pairName(*other)+" (next best pair)", otherS)
		out = append(out, judge(1, claimBestPair, exp, score, []comparison{c}, "; "))
	}
	if bestPair != nil && single != nil {
		c := compare(pairName(*bestPair)+" (best pair)", bestPairS, pairName(*single)+" (best single)", singleS)
		out = append(out, judge(1, claimComposition, exp, score, []comparison{c}, "; "))
	}
	return out
}

// findings2 judges Finding 2 on an experiment's projection heads.
func findings2(e *experiment) []verdict {
	hs := e.Heads
	if hs == nil {
		return nil
	}
	var out []verdict
	// Heads pooled over output dims, on h.
	byHead := map[string][]*row{}
	for _, k := range hs.Keys {
		byHead[k.Head] = append(byHead[k.Head], hs.Rows[k]...)
	}
	var present []string
	for _, h := range []string{"nonlinear", "linear", "none"} {
		if s := pool(byHead[h], e.Headline, "h"); s.N > 0 {
			present = append(present, h)
		}
	}
	if len(present) >= 2 {
		var cs []comparison
		for i := 0; i+1 < len(present); i++ {
			a, b := present[i], present[i+1]
			cs = append(cs, compare(a, pool(byHead[a], e.Headline, "h"), b, pool(byHead[b], e.Headline, "h")))
		}
		claim := claimHeadOrder
		if len(present) < 3 {
			claim = strings.Join(headClaims(present), " > ")
		}
		v := judge(2, claim, e.Info.Name, scoreName(e.Headline, "h"), cs, "; ")
		if dims := len(hs.Keys); dims > len(present) {
			v.Evidence += " (each head pooled over its output dims)"
		}
		out = append(out, v)
	}
	if hs.HasZ {
		var withHead []*row
		for _, k := range hs.Keys {
			if k.Head != "none" {
				withHead = append(withHead, hs.Rows[k]...)
			}
		}
		h, z := pool(withHead, e.Headline, "h"), pool(withHead, e.Headline, "z")
		if h.N > 0 && z.N > 0 {
			v := judge(2, claimHBeforeZ, e.Info.Name, scoreName(e.Headline, ""), []comparison{compare("h", h, "z", z)}, "; ")
			v.Evidence += " (runs with a linear or nonlinear head)"
			out = append(out, v)
		}
	}
	return out
}

func headClaims(heads []string) []string {
	out := make([]string, len(heads))
	for i, h := range heads {
		if h == "none" {
			out[i] = "no head"
		} else {
			out[i] = h + " head"
		}
	}
	return out
}

// findings3 judges Finding 3 on an experiment's batch sizes and epochs
// (or steps, for an equal-steps grid): at every fixed value of the other,
// the largest setting against the smallest.
func findings3(e *experiment) []verdict {
	sc := e.Scaling
	if sc == nil {
		return nil
	}
	var out []verdict
	rising := func(claim string, outer, inner []int, key func(o, i int) scaleKey, oName, iName string) {
		if len(inner) < 2 {
			return
		}
		var cs []comparison
		for j := len(outer) - 1; j >= 0; j-- {
			o := outer[j]
			var have []int
			for _, i := range inner {
				if s, ok := sc.Cells[key(o, i)]; ok && s.N > 0 {
					have = append(have, i)
				}
			}
			if len(have) < 2 {
				continue
			}
			lo, hi := have[0], have[len(have)-1]
			prefix := ""
			if len(outer) > 1 {
				prefix = fmt.Sprintf("at %s %d: ", oName, o)
			}
			cs = append(cs, compare(fmt.Sprintf("%s%s %d", prefix, iName, hi), sc.Cells[key(o, hi)],
				fmt.Sprintf("%s %d", iName, lo), sc.Cells[key(o, lo)]))
		}
		if len(cs) > 0 {
			out = append(out, judge(3, claim, e.Info.Name, scoreName(e.Headline, ""), cs, "; "))
		}
	}
	rising(claimBatch, sc.Epochs, sc.Batches, func(o, i int) scaleKey { return scaleKey{i, o} }, sc.Unit, "batch")
	rising(claimEpochs, sc.Batches, sc.Epochs, func(o, i int) scaleKey { return scaleKey{o, i} }, "batch", sc.Unit)
	return out
}

// allFindings gathers the verdicts of every experiment, by finding, with
// a "not tested" line for a finding no experiment can judge.
func allFindings(exps []*experiment) [3][]verdict {
	var out [3][]verdict
	for _, e := range exps {
		out[0] = append(out[0], e.Findings[0]...)
		out[1] = append(out[1], e.Findings[1]...)
		out[2] = append(out[2], e.Findings[2]...)
	}
	why := [3]string{
		"no experiment has a pairwise grid or SimCLR rows that differ in augmentation with a crop + color row",
		"no experiment varies the projection head or its output dim, or evaluates z",
		"no experiment varies the batch size or the number of epochs",
	}
	claims := [3]string{claimBestPair, claimHeadOrder, claimBatch + "; " + claimEpochs}
	for i := range out {
		if len(out[i]) == 0 {
			out[i] = []verdict{notTested(i+1, claims[i], why[i])}
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

func finiteOr(x float64, s string) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return s
	}
	return fmt.Sprintf("%.3f", x)
}
