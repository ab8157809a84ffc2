package chart

import (
	"errors"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Bars is a grouped bar chart: one group of bars per entry of Groups
// along the x axis, one bar per series in each group, each bar with an
// error bar of ± Err and its value printed above when it fits.
type Bars struct {
	Title  string
	XLabel string
	YLabel string
	Groups []string
	Series []BarSeries
	// LegendTitle heads the legend (e.g. "features").
	LegendTitle string
}

// BarSeries is one bar per group: Values[g] (NaN: no bar) ± Err[g] (nil,
// NaN or 0: no error bar).
type BarSeries struct {
	Name   string
	Values []float64
	Err    []float64
}

func (b *Bars) check() error {
	if len(b.Groups) == 0 || len(b.Series) == 0 {
		return errors.New("chart: bar chart needs at least one group and one series")
	}
	any := false
	for _, s := range b.Series {
		if len(s.Values) != len(b.Groups) {
			return fmt.Errorf("chart: bar series %q has %d values for %d groups", s.Name, len(s.Values), len(b.Groups))
		}
		if s.Err != nil && len(s.Err) != len(b.Groups) {
			return fmt.Errorf("chart: bar series %q has %d errors for %d groups", s.Name, len(s.Err), len(b.Groups))
		}
		for _, v := range s.Values {
			any = any || finite(v)
		}
	}
	if !any {
		return errors.New("chart: bar chart has no finite value to draw")
	}
	return nil
}

// PNG draws the chart.
func (b *Bars) PNG() ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	return render(func(c draw.Canvas) error {
		c = pad(c, 8, 8, 12, 12)
		p := newPlot(b.Title, b.XLabel, b.YLabel)
		grid := plotter.NewGrid()
		grid.Vertical.Color = nil // lines through the bars would read as data
		p.Add(grid)
		ns := len(b.Series)
		const groupWidth = 0.8
		w := groupWidth / float64(ns)
		top := 0.0
		var entries []legendEntry
		type label struct {
			x, y float64
			s    string
		}
		var labels []label
		for si, s := range b.Series {
			fill := seriesColor(si)
			var xys []plotter.XYer
			var errs xyErr
			for g, v := range s.Values {
				if !finite(v) {
					continue
				}
				x := float64(g) - groupWidth/2 + w*(float64(si)+0.5)
				lo, hi := math.Min(0, v), math.Max(0, v)
				xys = append(xys, rect(x-w*0.45, x+w*0.45, lo, hi))
				e := 0.0
				if s.Err != nil && finite(s.Err[g]) {
					e = s.Err[g]
				}
				if e > 0 {
					errs.XYs = append(errs.XYs, plotter.XY{X: x, Y: v})
					errs.YErrors = append(errs.YErrors, struct{ Low, High float64 }{e, e})
				}
				top = math.Max(top, hi+e)
				labels = append(labels, label{x, hi + e, fmt.Sprintf("%.3f", v)})
			}
			poly, err := plotter.NewPolygon(xys...)
			if err != nil {
				return fmt.Errorf("chart: bars of %q: %w", s.Name, err)
			}
			poly.Color = fill
			poly.LineStyle = draw.LineStyle{Color: color.RGBA{0x40, 0x40, 0x40, 0xff}, Width: vg.Points(0.5)}
			p.Add(poly)
			if len(errs.XYs) > 0 {
				eb, err := plotter.NewYErrorBars(errs)
				if err != nil {
					return fmt.Errorf("chart: error bars of %q: %w", s.Name, err)
				}
				eb.LineStyle.Width = vg.Points(1.2)
				eb.CapWidth = px(10)
				p.Add(eb)
			}
			entries = append(entries, legendEntry{s.Name, []plot.Thumbnailer{poly}})
		}
		ticks := make([]plot.Tick, len(b.Groups))
		for g, name := range b.Groups {
			ticks[g] = plot.Tick{Value: float64(g), Label: name}
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.X.Tick.Length = 0
		p.X.Min, p.X.Max = -0.5, float64(len(b.Groups))-0.5
		p.Y.Min = 0
		p.Y.Max = top * 1.12
		if p.Y.Max <= 0 {
			p.Y.Max = 1
		}
		left, drawLegend := splitLegend(c, b.LegendTitle, entries, 0.3)
		// Group names: rotate when the widest would not fit its slot.
		var widest vg.Length
		for _, t := range ticks {
			widest = max(widest, p.X.Tick.Label.Width(t.Label))
		}
		slot := (left.Max.X - left.Min.X - px(100)) / vg.Length(len(b.Groups))
		if widest > slot*0.95 {
			p.X.Tick.Label.Rotation = math.Pi / 6
			p.X.Tick.Label.XAlign = draw.XRight
			p.X.Tick.Label.YAlign = draw.YCenter
		}
		// Values above the bars, when they fit the bar's width.
		vals := &textPlotter{sty: textStyle(vg.Points(10)), minWidth: 0.9 * w}
		for _, l := range labels {
			vals.add(l.x, l.y, l.s)
		}
		p.Add(vals)
		p.Draw(left)
		drawLegend()
		return nil
	})
}

// textPlotter prints short texts centred above data points, skipping
// every text wider than minWidth (in x data units) so that neighbouring
// texts never overlap.
type textPlotter struct {
	sty      text.Style
	minWidth float64
	xs, ys   []float64
	texts    []string
}

func (t *textPlotter) add(x, y float64, s string) {
	t.xs, t.ys, t.texts = append(t.xs, x), append(t.ys, y), append(t.texts, s)
}

func (t *textPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	room := trX(t.minWidth) - trX(0)
	sty := t.sty
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YBottom
	for i, s := range t.texts {
		if sty.Width(s) > room {
			continue
		}
		c.FillText(sty, vg.Point{X: trX(t.xs[i]), Y: trY(t.ys[i]) + px(4)}, s)
	}
}
