package document

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/report/chart"
	"github.com/simclr-ablate/simclr-ablate/report/stats"
	"github.com/simclr-ablate/simclr-ablate/report/table"
	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/store"
)

func (w *writer) pairwiseSection(e *experiment) error {
	pw := e.Pairwise
	if pw == nil {
		return nil
	}
	w.p("### Pairwise augmentations (Figure 5, Finding 1)\n\n")
	switch pw.Protocol {
	case protocolBoth:
		switch pw.views() {
		case "":
			w.p("Protocol both (SimCLR's training recipe): both branches make their views with the same random pipeline, a crop, then the first transformation, then the second. ")
		case "no crop first":
			w.p("Protocol both (SimCLR's training recipe), no crop first: both branches make their views with the same random pipeline, the first transformation, then the second; a view is cropped only where crop is one of the pair. ")
		default:
			w.p("Protocol both (SimCLR's training recipe): both branches make their views with the same random pipeline, the first transformation, then the second, after a crop in %d of the %d cells (the others crop only where crop is one of the pair). ",
				pw.CropFirst, pw.CropFirst+pw.Uncropped)
		}
	default:
		w.p("Protocol one-branch (Figure 5): every view is first cropped; the transformations under test go to one branch, first then second, and the other branch is only cropped. ")
	}
	if pw.Other > 0 {
		w.p("Left out: %s of the other protocol. ", plural(pw.Other, "row"))
	}
	w.p("The diagonal is one transformation alone. Cells: %s F1, mean ± std over seeds; last column: the mean of the row's cells.%s\n\n",
		e.Headline, pooledNote(pw.Pooled))
	var all []stats.Summary
	for _, s := range pw.Cells {
		all = append(all, s)
	}
	n := sameN(all)
	header := []string{"first ↓ · second →"}
	for _, t := range pw.Transforms {
		header = append(header, table.Escape(t))
	}
	header = append(header, "row mean")
	t := table.New(header...)
	values := make([][]float64, len(pw.Transforms))
	notes := make([][]string, len(pw.Transforms))
	finiteAny := false
	for i, a := range pw.Transforms {
		cells := []string{table.Bold(table.Escape(a))}
		values[i] = make([]float64, len(pw.Transforms))
		notes[i] = make([]string, len(pw.Transforms))
		for j, b := range pw.Transforms {
			s, ok := pw.Cells[pair{a, b}]
			values[i][j] = math.NaN()
			switch {
			case !ok:
				cells = append(cells, "")
			case n > 0:
				cells = append(cells, s.Short())
			default:
				cells = append(cells, s.String())
			}
			if ok && s.N > 0 {
				values[i][j] = s.Mean
				finiteAny = true
			}
			switch {
			case ok && s.N > 1 && n == 0: // seeds differ between cells
				notes[i][j] = fmt.Sprintf("± %.3f (n=%d)", s.Std, s.N)
			case ok && s.N > 1:
				notes[i][j] = fmt.Sprintf("± %.3f", s.Std)
			}
		}
		cells = append(cells, formatFloat(pw.RowMean[i]))
		t.AddRow(cells...)
	}
	w.p("%s\n", t.Markdown())
	if n > 0 {
		w.p("n = %d seeds in every cell. An empty cell was not in the grid; — means no run of it finished.\n\n", n)
	} else {
		w.p("An empty cell was not in the grid; — means no run of it finished.\n\n")
	}
	if !finiteAny {
		return nil
	}
	protocol := pw.Protocol
	if v := pw.views(); v != "" {
		protocol += ", " + v
	}
	h := &chart.Heatmap{
		Title:      fmt.Sprintf("%s: %s F1 by pair of transformations (Figure 5, protocol %s)", e.Info.Name, e.Headline, protocol),
		XLabel:     "second transformation",
		YLabel:     "first transformation",
		Columns:    pw.Transforms,
		Rows:       pw.Transforms,
		Values:     values,
		Notes:      notes,
		Extra:      &chart.Column{Name: "row mean", Values: pw.RowMean},
		ScaleLabel: fmt.Sprintf("macro F1, %s (mean over seeds)", e.Headline),
	}
	png, err := h.PNG()
	if err != nil {
		return fmt.Errorf("pairwise heat map: %w", err)
	}
	w.figure(e.Slug+"-pairwise.png", "Figure 5 heat map of "+e.Info.Name+", protocol "+protocol, png)
	return nil
}

func (w *writer) headsSection(e *experiment) error {
	hs := e.Heads
	if hs == nil {
		return nil
	}
	w.p("### Projection heads (Finding 2)\n\n")
	w.p("%s F1 of the representation h (the encoder's output, before the head) and of z (the head's output), by head and output dimension, mean ± std over seeds.%s\n\n",
		capitalize(e.Headline.String()), pooledNote(hs.Pooled))
	t := table.New("Head", "Output dim", "F1 on h", "F1 on z")
	var groups []string
	hv, he, zv, ze := []float64{}, []float64{}, []float64{}, []float64{}
	for _, k := range hs.Keys {
		dim := itoa(k.Dim)
		if k.Head == "none" {
			dim = "— (z = h)"
		}
		zs := hs.Z[k].String()
		if k.Head == "none" {
			zs = "— (z = h)"
		}
		t.AddRow(k.Head, dim, hs.H[k].String(), zs)
		groups = append(groups, k.String())
		hv, he = append(hv, meanOrNaN(hs.H[k])), append(he, stdOrNaN(hs.H[k]))
		if k.Head == "none" {
			zv, ze = append(zv, math.NaN()), append(ze, math.NaN())
		} else {
			zv, ze = append(zv, meanOrNaN(hs.Z[k])), append(ze, stdOrNaN(hs.Z[k]))
		}
	}
	w.p("%s\n", t.Markdown())
	series := []chart.BarSeries{{Name: "h (encoder output)", Values: hv, Err: he}}
	if hs.HasZ {
		series = append(series, chart.BarSeries{Name: "z (projection output)", Values: zv, Err: ze})
	}
	if !anyFinite(hv) && !anyFinite(zv) {
		return nil
	}
	b := &chart.Bars{
		Title:       fmt.Sprintf("%s: %s F1 by projection head (Finding 2)", e.Info.Name, e.Headline),
		XLabel:      "projection head and output dimension",
		YLabel:      fmt.Sprintf("macro F1, %s (mean ± std over seeds)", e.Headline),
		Groups:      groups,
		Series:      series,
		LegendTitle: "features evaluated",
	}
	png, err := b.PNG()
	if err != nil {
		return fmt.Errorf("projection head chart: %w", err)
	}
	w.figure(e.Slug+"-heads.png", "F1 by projection head of "+e.Info.Name, png)
	return nil
}

func (w *writer) scalingSection(e *experiment) error {
	sc := e.Scaling
	if sc == nil {
		return nil
	}
	w.p("### Batch size and training length (Finding 3)\n\n")
	w.p("%s F1 by batch size (rows) and pretraining %s (columns), mean ± std over seeds.%s",
		capitalize(e.Headline.String()), sc.Unit, pooledNote(sc.Pooled))
	if sc.Unit == "steps" {
		w.p(" Every batch size gets the same number of optimisation steps, so a larger batch sees more images.")
	}
	if sc.Other > 0 {
		w.p(" Left out: %s given in steps.", plural(sc.Other, "row"))
	}
	w.p("\n\n")
	header := []string{"batch size ↓ · " + sc.Unit + " →"}
	for _, ep := range sc.Epochs {
		header = append(header, itoa(ep))
	}
	t := table.New(header...)
	var series []chart.LineSeries
	for _, b := range sc.Batches {
		cells := []string{table.Bold(itoa(b))}
		ls := chart.LineSeries{Name: fmt.Sprintf("batch %d", b)}
		for _, ep := range sc.Epochs {
			s, ok := sc.Cells[scaleKey{b, ep}]
			if !ok {
				cells = append(cells, "")
				continue
			}
			cells = append(cells, s.String())
			ls.X = append(ls.X, float64(ep))
			ls.Y = append(ls.Y, meanOrNaN(s))
			ls.Err = append(ls.Err, stdOrNaN(s))
		}
		t.AddRow(cells...)
		if anyFinite(ls.Y) {
			series = append(series, ls)
		}
	}
	w.p("%s\n", t.Markdown())
	if len(series) == 0 {
		return nil
	}
	xs := make([]float64, len(sc.Epochs))
	for i, ep := range sc.Epochs {
		xs[i] = float64(ep)
	}
	l := &chart.Lines{
		Title:  fmt.Sprintf("%s: %s F1 by training length and batch size (Figure 9)", e.Info.Name, e.Headline),
		XLabel: "pretraining " + sc.Unit,
		YLabel: fmt.Sprintf("macro F1, %s (mean ± std over seeds)", e.Headline),
		Series: series,
		XTicks: xs,
		Dodge:  true,
	}
	png, err := l.PNG("batch size")
	if err != nil {
		return fmt.Errorf("batch size chart: %w", err)
	}
	w.figure(e.Slug+"-scaling.png", "F1 by "+sc.Unit+" and batch size of "+e.Info.Name, png)
	return nil
}

// maxCurves is how many cells the pretraining-curve figure shows at most.
const maxCurves = 10

func (w *writer) curvesSection(e *experiment) error {
	type curve struct {
		rw             *row
		loss, acc, knn []stats.Summary // index epoch-1
	}
	var curves []curve
	withKNN := false // some run has the kNN monitor's accuracy
	for _, rw := range e.Rows {
		if rw.Method != config.MethodSimCLR {
			continue
		}
		var loss, acc, knn [][]float64
		for _, r := range rw.Finished {
			for _, ep := range r.Epochs {
				for len(loss) < ep.Epoch {
					loss, acc, knn = append(loss, nil), append(acc, nil), append(knn, nil)
				}
				loss[ep.Epoch-1] = append(loss[ep.Epoch-1], ep.Loss)
				acc[ep.Epoch-1] = append(acc[ep.Epoch-1], ep.ContrastiveAcc)
				if ep.KNNAcc != nil {
					knn[ep.Epoch-1] = append(knn[ep.Epoch-1], *ep.KNNAcc)
					withKNN = true
				}
			}
		}
		if len(loss) == 0 {
			continue
		}
		c := curve{rw: rw}
		for i := range loss {
			c.loss = append(c.loss, stats.Summarize(loss[i]))
			c.acc = append(c.acc, stats.Summarize(acc[i]))
			c.knn = append(c.knn, stats.Summarize(knn[i]))
		}
		curves = append(curves, c)
	}
	if len(curves) == 0 {
		return nil
	}
	total := len(curves)
	sort.SliceStable(curves, func(i, j int) bool {
		a, b := curves[i].rw.headline(e.Headline), curves[j].rw.headline(e.Headline)
		if a.N == 0 || b.N == 0 {
			return a.N > b.N
		}
		return a.Mean > b.Mean
	})
	if len(curves) > maxCurves {
		curves = curves[:maxCurves]
	}
	w.p("### Pretraining curves\n\n")
	w.p("NT-Xent loss and contrastive accuracy (the fraction of anchors whose positive is the most similar other view) per epoch")
	if withKNN {
		w.p(", and the kNN monitor's accuracy (weighted kNN, k = 200, on the encoder's h of labelled training images, scored on test images)")
	}
	w.p("; line: mean over the finished seeds of a cell, band: ± one std. ")
	if total > len(curves) {
		w.p("The %d cells with the best F1, of %d; legend from best to worst.\n\n", len(curves), total)
	} else {
		w.p("Legend from the best cell by F1 to the worst.\n\n")
	}
	loss := chart.Lines{Title: "NT-Xent loss", XLabel: "epoch", YLabel: "training loss (nats)", IntegerX: true}
	acc := chart.Lines{Title: "Contrastive accuracy", XLabel: "epoch", YLabel: "fraction of anchors (0–1)", IntegerX: true}
	knn := chart.Lines{Title: "kNN accuracy", XLabel: "epoch", YLabel: "test accuracy (0–1)", IntegerX: true}
	for _, c := range curves {
		ls := chart.LineSeries{Name: c.rw.Label, Band: true}
		as := chart.LineSeries{Name: c.rw.Label, Band: true}
		ks := chart.LineSeries{Name: c.rw.Label, Band: true}
		for i := range c.loss {
			x := float64(i + 1)
			ls.X, ls.Y, ls.Err = append(ls.X, x), append(ls.Y, meanOrNaN(c.loss[i])), append(ls.Err, stdOrNaN(c.loss[i]))
			as.X, as.Y, as.Err = append(as.X, x), append(as.Y, meanOrNaN(c.acc[i])), append(as.Err, stdOrNaN(c.acc[i]))
			ks.X, ks.Y, ks.Err = append(ks.X, x), append(ks.Y, meanOrNaN(c.knn[i])), append(ks.Err, stdOrNaN(c.knn[i]))
		}
		loss.Series = append(loss.Series, ls)
		acc.Series = append(acc.Series, as)
		knn.Series = append(knn.Series, ks)
	}
	if !anySeries(loss.Series) || !anySeries(acc.Series) {
		w.p("No finite loss was recorded.\n\n")
		return nil
	}
	panels := []chart.Lines{loss, acc}
	if withKNN && anySeries(knn.Series) {
		panels = append(panels, knn)
	}
	png, err := chart.Panels(e.Info.Name+": pretraining curves (mean over seeds, band ± std)", "cell", panels)
	if err != nil {
		return fmt.Errorf("pretraining curves: %w", err)
	}
	w.figure(e.Slug+"-curves.png", "Pretraining curves of "+e.Info.Name, png)
	return nil
}

func (w *writer) confusionSection(e *experiment) error {
	rw := e.Best
	if rw == nil {
		return nil
	}
	var sum [][]int
	var classes []string
	var perClass [][]float64
	runs := 0
	for _, r := range rw.Finished {
		ev := pickEval(r, e.Headline)
		if ev == nil || len(ev.Confusion) == 0 {
			continue
		}
		if sum == nil {
			sum = make([][]int, len(ev.Confusion))
			for i := range sum {
				sum[i] = make([]int, len(ev.Confusion))
			}
			classes = ev.Classes
			perClass = make([][]float64, len(ev.Confusion))
		}
		if len(ev.Confusion) != len(sum) {
			continue // another class count: not comparable
		}
		for i, rowC := range ev.Confusion {
			for j := range rowC {
				if j < len(sum[i]) {
					sum[i][j] += rowC[j]
				}
			}
			if i < len(ev.PerClassF1) {
				perClass[i] = append(perClass[i], ev.PerClassF1[i])
			}
		}
		runs++
	}
	if runs == 0 {
		return nil
	}
	k := len(sum)
	names := make([]string, k)
	for i := range names {
		if i < len(classes) && classes[i] != "" {
			names[i] = classes[i]
		} else {
			names[i] = "class " + itoa(i)
		}
	}
	values := chart.RowFractions(sum)
	w.p("### Confusion matrix of the best cell\n\n")
	w.p("%s (%s, %s), %s evaluation: counts of its %s summed, each row divided by its total, so a row shows where the images of one true class went.\n\n",
		table.Bold(table.Escape(rw.Label)), table.Escape(modelName(rw.Config)), table.Escape(augmentName(rw.Config)), e.Headline, plural(runs, "finished run"))
	title := fmt.Sprintf("%s: confusion matrix of the best cell, %s (%s evaluation)", e.Info.Name, rw.Label, e.Headline)
	png, err := chart.Confusion(title, names, values).PNG()
	if err != nil {
		return fmt.Errorf("confusion matrix: %w", err)
	}
	w.figure(e.Slug+"-confusion.png", "Confusion matrix of "+rw.Label, png)
	t := table.New("Class", "F1", "Recall")
	t.SetAlign(1, table.Right)
	t.SetAlign(2, table.Right)
	for i, name := range names {
		t.AddRow(table.Escape(name), stats.Summarize(perClass[i]).Short(), formatFloat(values[i][i]))
	}
	w.p("Per-class F1 (mean ± std over the runs) and recall (the diagonal above):\n\n%s\n", t.Markdown())
	return nil
}

// unfinished lists the runs that did not finish.
func (w *writer) unfinished(e *experiment) {
	w.p("### Runs that did not finish\n\n")
	var rs []*store.RunDetail
	for i := range e.Runs {
		if e.Runs[i].Status != store.StatusFinished {
			rs = append(rs, &e.Runs[i])
		}
	}
	if len(rs) == 0 {
		w.p("None: all %s finished.\n\n", plural(len(e.Runs), "run"))
		return
	}
	w.p("Not in any mean above. Failed and interrupted runs rerun with `runner run --retry-failed`; a *running* row whose last activity is old belongs to a process that died and is taken over by the next `runner run`.\n\n")
	t := table.New("Run", "Cell", "Seed", "Status", "Attempt", "Last activity", "Error")
	t.SetAlign(0, table.Right)
	t.SetAlign(2, table.Right)
	t.SetAlign(4, table.Right)
	for _, r := range rs {
		last := r.EndedAt
		if last.IsZero() {
			last = r.HeartbeatAt
		}
		errText, _, _ := strings.Cut(strings.TrimSpace(r.ErrorText), "\n")
		if len([]rune(errText)) > 120 {
			errText = string([]rune(errText)[:119]) + "…"
		}
		if errText == "" {
			errText = "—"
		}
		t.AddRow(itoa(int(r.ID)), table.Escape(r.Label), fmt.Sprint(r.Seed), r.Status, itoa(r.Attempt), formatTime(last), table.Escape(errText))
	}
	w.p("%s\n", t.Markdown())
}

func meanOrNaN(s stats.Summary) float64 {
	if s.N == 0 {
		return math.NaN()
	}
	return s.Mean
}

func stdOrNaN(s stats.Summary) float64 {
	if s.N < 2 {
		return math.NaN()
	}
	return s.Std
}

func anyFinite(xs []float64) bool {
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			return true
		}
	}
	return false
}

func anySeries(ss []chart.LineSeries) bool {
	for _, s := range ss {
		if anyFinite(s.Y) {
			return true
		}
	}
	return false
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
