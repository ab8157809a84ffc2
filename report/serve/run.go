package serve

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/internal/cli"
	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// runPage is the data of run.html.
type runPage struct {
	common
	Run         *store.RunDetail
	Evals       []evalRow
	Eval        *evalRow // the evaluation whose confusion matrix is shown
	Classes     []classRow
	Curves      []string // names of the panels of the curves image; none: no image
	CurvesURL   string
	Epochs      []epochRow
	HasKNN      bool
	Settings    []settingRow
	Seeds       []store.RunRow // the runs of the same cell (experiment and label), this one included
	SeedsURL    string         // compare them
	Attempts    []store.Attempt
	Artifacts   []artifactRow
	GitDirtyTip string
}

type evalRow struct {
	Index        int
	Name         string
	Protocol     string
	Features     string
	Fraction     float64
	TrainSize    int
	TestSize     int
	Accuracy     float64
	MacroF1      float64
	Seconds      float64
	HasConfusion bool
	Headline     bool
	URL          string // the run page showing this evaluation's confusion matrix
	ImageURL     string
}

// artifactRow is a kept file of the run (a saved encoder) and whether it
// still matches its recorded size and SHA-256.
type artifactRow struct {
	store.Artifact
	State string // "ok", or what is wrong with the file
}

type classRow struct {
	Name   string
	F1     float64
	Recall float64
	Count  int
}

type epochRow struct {
	Epoch                     int
	Loss, ContrastiveAcc, KNN float64
	PositiveCos, LR, Images   float64
	Seconds                   float64
	Steps                     int
}

type settingRow struct {
	Key, Value, Raw string
	Axis            bool
}

// metricKNN is the per-epoch kNN accuracy (a k-nearest-neighbour
// classifier on h, measured during pretraining) when a run records it.
const metricKNN = "knn_acc"

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, badRequest("run id %q is not a positive whole number", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) run(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.db.GetRun(ctx, id)
	if err != nil {
		return err
	}
	axes, err := s.db.Axes(ctx)
	if err != nil {
		return err
	}
	page := runPage{common: s.common(fmt.Sprintf("Run %d: %s", d.ID, d.Label)), Run: d, Attempts: d.Attempts}
	arts, err := s.db.Artifacts(ctx, d.ID)
	if err != nil {
		return err
	}
	for _, a := range arts {
		row := artifactRow{Artifact: a, State: "ok"}
		if err := s.db.CheckArtifact(a); err != nil {
			row.State = cli.OneLine(err.Error())
		}
		page.Artifacts = append(page.Artifacts, row)
	}

	headline := headlineEval(d.Evaluations)
	sel := headline
	if v := r.URL.Query().Get("eval"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k < 0 || k >= len(d.Evaluations) {
			return badRequest("eval=%q: run %d has %d evaluations (eval=0 to %d)", v, d.ID, len(d.Evaluations), len(d.Evaluations)-1)
		}
		sel = k
	}
	for i, ev := range d.Evaluations {
		page.Evals = append(page.Evals, evalRow{
			Index: i, Name: evalName(ev.Protocol, ev.Features, ev.LabelFraction),
			Protocol: ev.Protocol, Features: ev.Features, Fraction: ev.LabelFraction,
			TrainSize: ev.TrainSize, TestSize: ev.TestSize, Accuracy: ev.Accuracy, MacroF1: ev.MacroF1,
			Seconds: float64(ev.Duration), HasConfusion: len(ev.Confusion) > 0, Headline: i == headline,
			URL:      fmt.Sprintf("/runs/%d?eval=%d#confusion", d.ID, i),
			ImageURL: fmt.Sprintf("/runs/%d/confusion.png?eval=%d", d.ID, i),
		})
	}
	if sel >= 0 && page.Evals[sel].HasConfusion {
		page.Eval = &page.Evals[sel]
		page.Classes = classRows(d.Evaluations[sel].Confusion, d.Evaluations[sel].Classes, d.Evaluations[sel].PerClassF1)
	}

	knn := metricByEpoch(d.Metrics, metricKNN)
	page.HasKNN = len(knn) > 0
	for _, e := range d.Epochs {
		k, ok := knn[e.Epoch]
		if !ok {
			k = math.NaN()
		}
		page.Epochs = append(page.Epochs, epochRow{Epoch: e.Epoch, Loss: e.Loss, ContrastiveAcc: e.ContrastiveAcc, KNN: k,
			PositiveCos: e.PositiveCos, LR: e.LR, Images: e.ImagesPerSec, Seconds: e.Duration.Seconds(), Steps: e.Steps})
	}
	for _, p := range curvePanels([]store.RunDetail{*d}) {
		page.Curves = append(page.Curves, p.Title)
	}
	if len(page.Curves) > 0 {
		page.CurvesURL = fmt.Sprintf("/runs/%d/curves.png", d.ID)
	}

	axis := map[string]bool{}
	for _, k := range axes[d.Experiment] {
		axis[k] = true
	}
	for _, p := range d.Params {
		page.Settings = append(page.Settings, settingRow{Key: p.Key, Value: formatSetting(p.Value), Raw: p.Value, Axis: axis[p.Key]})
	}
	// Varying settings first, then the rest, each by name.
	slices.SortStableFunc(page.Settings, func(a, b settingRow) int {
		switch {
		case a.Axis == b.Axis:
			return 0
		case a.Axis:
			return -1
		}
		return 1
	})

	seeds, err := s.db.ListRuns(ctx, store.RunFilter{Experiment: d.Experiment, Where: "label = " + quoteWhere(d.Label)})
	if err != nil {
		return err
	}
	slices.SortFunc(seeds, func(a, b store.RunRow) int {
		if a.Seed != b.Seed {
			return int(a.Seed - b.Seed)
		}
		return int(a.ID - b.ID)
	})
	if len(seeds) > 1 {
		page.Seeds = seeds
		v := url.Values{}
		for _, sr := range seeds[:min(len(seeds), MaxCompare)] {
			v.Add("id", strconv.FormatInt(sr.ID, 10))
		}
		page.SeedsURL = "/compare?" + v.Encode()
	}
	s.render(w, "run", http.StatusOK, page)
	return nil
}

// quoteWhere quotes s as a string of the filter language.
func quoteWhere(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// headlineEval is the index of the evaluation the run is judged by (as
// run_summary's linear_*: linear on h, else on pixels, else the first
// linear one, else the first), or -1 when there is none.
func headlineEval(evs []metrics.Evaluation) int {
	best, rank := -1, 99
	for i, ev := range evs {
		r := 10 + i
		if ev.Protocol == "linear" {
			switch ev.Features {
			case "h":
				r = 0
			case "pixels":
				r = 1
			default:
				r = 2
			}
		}
		if r < rank {
			best, rank = i, r
		}
	}
	return best
}

// classRows are the per-class F1 and recall of a confusion matrix.
func classRows(confusion [][]int, classes []string, f1 []float64) []classRow {
	out := make([]classRow, len(confusion))
	for i, row := range confusion {
		total := 0
		for _, c := range row {
			total += c
		}
		out[i] = classRow{Name: className(classes, i), F1: math.NaN(), Recall: math.NaN(), Count: total}
		if i < len(f1) {
			out[i].F1 = f1[i]
		}
		if total > 0 && i < len(row) {
			out[i].Recall = float64(row[i]) / float64(total)
		}
	}
	return out
}

func className(classes []string, i int) string {
	if i < len(classes) && classes[i] != "" {
		return classes[i]
	}
	return "class " + strconv.Itoa(i)
}

// metricByEpoch returns the per-epoch values of one metric key.
func metricByEpoch(ms []store.Metric, key string) map[int]float64 {
	out := map[int]float64{}
	for _, m := range ms {
		if m.Step == 0 && m.Key == key {
			out[m.Epoch] = m.Value
		}
	}
	return out
}
