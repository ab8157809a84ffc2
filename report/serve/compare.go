package serve

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/store"
)

// comparePage is the data of compare.html.
type comparePage struct {
	common
	Runs      []store.RunDetail
	Scores    []compareRow
	Differ    []compareRow // settings that differ between the runs
	Same      []compareRow // settings the runs share (one value each)
	Curves    []string
	CurvesURL string
	NoCurves  []int64 // runs without per-epoch metrics
}

// compareRow is a row of the side-by-side tables: a value per run.
type compareRow struct {
	Name   string
	Tip    string
	Values []compareCell
}

type compareCell struct {
	Text string
	Tip  string
	Best bool
}

// compareIDs reads the id parameters (repeated, or comma-separated) and
// checks there are 2 to MaxCompare distinct ones.
func compareIDs(r *http.Request) ([]int64, error) {
	var ids []int64
	seen := map[int64]bool{}
	for _, v := range r.URL.Query()["id"] {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			id, err := strconv.ParseInt(f, 10, 64)
			if err != nil || id < 1 {
				return nil, badRequest("id=%q is not a run id (a positive whole number)", f)
			}
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	if len(ids) < 2 || len(ids) > MaxCompare {
		return nil, badRequest("compare takes 2 to %d runs, got %d: tick them in the run list, or give /compare?id=1&id=2", MaxCompare, len(ids))
	}
	return ids, nil
}

func (s *Server) compare(w http.ResponseWriter, r *http.Request) error {
	ids, err := compareIDs(r)
	if err != nil {
		return err
	}
	runs, err := s.db.GetRuns(r.Context(), ids)
	if err != nil {
		return err
	}
	page := comparePage{common: s.common(fmt.Sprintf("Compare %d runs", len(runs))), Runs: runs}
	page.Scores = scoreRows(runs)
	page.Differ, page.Same = settingRows(runs)
	curved := withEpochs(runs)
	for _, r := range runs {
		if len(r.Epochs) == 0 {
			page.NoCurves = append(page.NoCurves, r.ID)
		}
	}
	for _, p := range curvePanels(curved) {
		page.Curves = append(page.Curves, p.Title)
	}
	if len(page.Curves) > 0 {
		v := url.Values{}
		for _, id := range ids {
			v.Add("id", strconv.FormatInt(id, 10))
		}
		page.CurvesURL = "/compare/curves.png?" + v.Encode()
	}
	s.render(w, "compare", http.StatusOK, page)
	return nil
}

// scoreRows are one accuracy and one macro F1 row per kind of evaluation
// any of the runs has (in the order first met), then the final loss and
// the duration; the best value of a row is marked.
func scoreRows(runs []store.RunDetail) []compareRow {
	type kind struct {
		protocol, features string
		fraction           float64
	}
	var kinds []kind
	seen := map[kind]bool{}
	for _, r := range runs {
		for _, ev := range r.Evaluations {
			k := kind{ev.Protocol, ev.Features, ev.LabelFraction}
			if !seen[k] {
				seen[k] = true
				kinds = append(kinds, k)
			}
		}
	}
	var out []compareRow
	for _, k := range kinds {
		for _, metric := range []string{"macro F1", "accuracy"} {
			row := compareRow{Name: evalName(k.protocol, k.features, k.fraction) + ": " + metric}
			vals := make([]float64, len(runs))
			for i, r := range runs {
				vals[i] = math.NaN()
				for _, ev := range r.Evaluations {
					if (kind{ev.Protocol, ev.Features, ev.LabelFraction}) == k {
						vals[i] = ev.MacroF1
						if metric == "accuracy" {
							vals[i] = ev.Accuracy
						}
						break
					}
				}
			}
			row.Values = markMax(vals, formatScore)
			out = append(out, row)
		}
	}
	loss := compareRow{Name: "final loss", Tip: "training loss of the last epoch"}
	dur := compareRow{Name: "duration", Tip: "wall time of the run"}
	epochs := compareRow{Name: "epochs recorded"}
	for _, r := range runs {
		text := missing
		if r.FinalLoss != nil {
			text = formatNum(*r.FinalLoss)
		}
		loss.Values = append(loss.Values, compareCell{Text: text})
		dur.Values = append(dur.Values, compareCell{Text: formatDuration(r.Duration)})
		epochs.Values = append(epochs.Values, compareCell{Text: fmt.Sprintf("%d of %d", len(r.Epochs), r.Config.Epochs)})
	}
	return append(out, loss, dur, epochs)
}

// markMax formats vals and marks the largest when there are two or more.
func markMax(vals []float64, format func(*float64) string) []compareCell {
	out := make([]compareCell, len(vals))
	best, n := -1, 0
	for i, v := range vals {
		out[i].Text = format(&vals[i])
		if math.IsNaN(v) {
			continue
		}
		n++
		if best < 0 || v > vals[best] {
			best = i
		}
	}
	if n > 1 {
		for i, v := range vals {
			out[i].Best = v == vals[best]
		}
	}
	return out
}

// settingRows splits the runs' settings into those that differ between
// them and those they share; the seed differs when the seeds do.
func settingRows(runs []store.RunDetail) (differ, same []compareRow) {
	var keys []string
	seen := map[string]bool{}
	for _, r := range runs {
		for _, p := range r.Params {
			if !seen[p.Key] {
				seen[p.Key] = true
				keys = append(keys, p.Key)
			}
		}
	}
	extra := []struct {
		name string
		get  func(store.RunDetail) string
	}{
		{"experiment", func(r store.RunDetail) string { return r.Experiment }},
		{"label", func(r store.RunDetail) string { return r.Label }},
		{"status", func(r store.RunDetail) string { return r.Status }},
	}
	for _, e := range extra {
		row := compareRow{Name: e.name}
		first, differs := "", false
		for i, r := range runs {
			v := e.get(r)
			if i == 0 {
				first = v
			}
			differs = differs || v != first
			row.Values = append(row.Values, compareCell{Text: v})
		}
		if differs {
			differ = append(differ, row)
		} else {
			same = append(same, row)
		}
	}
	for _, k := range keys {
		row := compareRow{Name: k}
		first, differs := "", false
		for i, r := range runs {
			v, ok := paramValue(r.Params, k)
			c := compareCell{Text: formatSetting(v), Tip: v}
			if !ok {
				v, c = "\x00", compareCell{Text: missing} // differs from any stored value
			}
			if i == 0 {
				first = v
			}
			differs = differs || v != first
			row.Values = append(row.Values, c)
		}
		if differs {
			differ = append(differ, row)
		} else {
			same = append(same, row)
		}
	}
	return differ, same
}
