package serve

import (
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/simclr-ablate/simclr-ablate/report/chart"
	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// curvePanels are the per-epoch charts of runs, one series a run (in
// order, so a run keeps its colour across panels): the training loss,
// the contrastive accuracy (SimCLR runs; a supervised run has none) and
// the kNN accuracy when a run records knn_acc. A panel without a finite
// point is left out.
func curvePanels(runs []store.RunDetail) []chart.Lines {
	panels := []chart.Lines{
		{Title: "Training loss", XLabel: "epoch", YLabel: "loss (nats)", IntegerX: true},
		{Title: "Contrastive accuracy", XLabel: "epoch", YLabel: "fraction of anchors (0–1)", IntegerX: true},
		{Title: "kNN accuracy", XLabel: "epoch", YLabel: "accuracy (0–1)", IntegerX: true},
	}
	if len(runs) == 1 && runs[0].Config.Method == config.MethodSupervised {
		panels[0].Title = "Training loss (cross-entropy)"
	} else if len(runs) == 1 {
		panels[0].Title = "NT-Xent loss"
	}
	for _, r := range runs {
		name := ""
		if len(runs) > 1 {
			name = seriesName(r)
		}
		knn := metricByEpoch(r.Metrics, metricKNN)
		var loss, acc, kn chart.LineSeries
		loss.Name, acc.Name, kn.Name = name, name, name
		for _, e := range r.Epochs {
			x := float64(e.Epoch)
			a := e.ContrastiveAcc
			if r.Config.Method == config.MethodSupervised {
				a = math.NaN()
			}
			k, ok := knn[e.Epoch]
			if !ok {
				k = math.NaN()
			}
			loss.X, loss.Y = append(loss.X, x), append(loss.Y, e.Loss)
			acc.X, acc.Y = append(acc.X, x), append(acc.Y, a)
			kn.X, kn.Y = append(kn.X, x), append(kn.Y, k)
		}
		panels[0].Series = append(panels[0].Series, loss)
		panels[1].Series = append(panels[1].Series, acc)
		panels[2].Series = append(panels[2].Series, kn)
	}
	var out []chart.Lines
	for _, p := range panels {
		if anyFinite(p.Series) {
			out = append(out, p)
		}
	}
	return out
}

// seriesName names a run in a legend, as the compare table's heading
// does: short, so that the legend leaves the panels their width.
func seriesName(r store.RunDetail) string {
	return fmt.Sprintf("run %d", r.ID)
}

func anyFinite(ss []chart.LineSeries) bool {
	for _, s := range ss {
		for _, y := range s.Y {
			if !math.IsNaN(y) && !math.IsInf(y, 0) {
				return true
			}
		}
	}
	return false
}

// curvesPNG draws the panels of runs side by side under title.
func curvesPNG(title string, runs []store.RunDetail) ([]byte, error) {
	panels := curvePanels(runs)
	if len(panels) == 0 {
		return nil, &httpError{status: http.StatusNotFound, msg: "no per-epoch metrics recorded (yet)"}
	}
	// A series with no finite point in the first panel still gets its
	// legend entry, named after the first panel's series.
	png, err := chart.Panels(title, "run", panels)
	if err != nil {
		return nil, fmt.Errorf("curves: %w", err)
	}
	return png, nil
}

func (s *Server) runCurves(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	runs, err := s.db.GetRuns(r.Context(), []int64{id})
	if err != nil {
		return err
	}
	d := runs[0]
	png, err := curvesPNG(fmt.Sprintf("Run %d: %s, seed %d (%s)", d.ID, d.Label, d.Seed, d.Status), runs)
	if err != nil {
		return err
	}
	writePNG(w, png)
	return nil
}

func (s *Server) runConfusion(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	runs, err := s.db.GetRuns(r.Context(), []int64{id})
	if err != nil {
		return err
	}
	d := runs[0]
	k := headlineEval(d.Evaluations)
	if v := r.URL.Query().Get("eval"); v != "" {
		if k, err = strconv.Atoi(v); err != nil || k < 0 || k >= len(d.Evaluations) {
			return badRequest("eval=%q: run %d has %d evaluations", v, d.ID, len(d.Evaluations))
		}
	}
	if k < 0 || len(d.Evaluations[k].Confusion) == 0 {
		return &httpError{status: http.StatusNotFound, msg: fmt.Sprintf("run %d has no confusion matrix for that evaluation", d.ID)}
	}
	ev := d.Evaluations[k]
	names := make([]string, len(ev.Confusion))
	for i := range names {
		names[i] = className(ev.Classes, i)
	}
	title := fmt.Sprintf("Run %d: %s, seed %d, %s", d.ID, d.Label, d.Seed, evalName(ev.Protocol, ev.Features, ev.LabelFraction))
	png, err := chart.Confusion(title, names, chart.RowFractions(ev.Confusion)).PNG()
	if err != nil {
		return fmt.Errorf("confusion matrix of run %d: %w", d.ID, err)
	}
	writePNG(w, png)
	return nil
}

func (s *Server) compareCurves(w http.ResponseWriter, r *http.Request) error {
	ids, err := compareIDs(r)
	if err != nil {
		return err
	}
	runs, err := s.db.GetRuns(r.Context(), ids)
	if err != nil {
		return err
	}
	runs = withEpochs(runs)
	png, err := curvesPNG(fmt.Sprintf("Per-epoch curves of %d runs", len(runs)), runs)
	if err != nil {
		return err
	}
	writePNG(w, png)
	return nil
}

// withEpochs returns the runs that recorded per-epoch metrics: the others
// (baselines that do not pretrain, runs that failed at once) would have
// legend entries without a line.
func withEpochs(runs []store.RunDetail) []store.RunDetail {
	var out []store.RunDetail
	for _, r := range runs {
		if len(r.Epochs) > 0 {
			out = append(out, r)
		}
	}
	return out
}
