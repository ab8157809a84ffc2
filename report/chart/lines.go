package chart

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Lines is one panel of line series: y against x, each point optionally
// with ± Err drawn as error bars or as a shaded band.
type Lines struct {
	Title  string
	XLabel string
	YLabel string
	Series []LineSeries
	// XTicks, when set, are the only x ticks, labelled with their values
	// (e.g. the epochs at which runs were measured).
	XTicks []float64
	// IntegerX labels x with whole numbers only (epochs).
	IntegerX bool
	// Dodge shifts the series apart along x by a small fraction of the x
	// range, so that error bars at the same x do not hide each other.
	Dodge bool
}

// LineSeries is one line. X and Y have the same length; a NaN Y breaks
// the line. Err, when set, has the same length (NaN: none at that x).
type LineSeries struct {
	Name string
	X, Y []float64
	Err  []float64
	Band bool // draw Err as a shaded band instead of error bars
}

func (l *Lines) check() error {
	if len(l.Series) == 0 {
		return fmt.Errorf("chart: line chart %q has no series", l.Title)
	}
	any := false
	for _, s := range l.Series {
		if len(s.X) != len(s.Y) || (s.Err != nil && len(s.Err) != len(s.Y)) {
			return fmt.Errorf("chart: line series %q has %d x, %d y and %d error values", s.Name, len(s.X), len(s.Y), len(s.Err))
		}
		for i := range s.X {
			any = any || (finite(s.X[i]) && finite(s.Y[i]))
		}
	}
	if !any {
		return fmt.Errorf("chart: line chart %q has no finite point to draw", l.Title)
	}
	return nil
}

// PNG draws the chart with its legend on the right.
func (l *Lines) PNG(legendTitle string) ([]byte, error) {
	return Panels("", legendTitle, []Lines{*l})
}

// Panels draws line charts side by side under one figure title, with one
// legend on the right: series with the same index share colour, marker
// and legend entry (named after the first panel's series).
func Panels(title, legendTitle string, panels []Lines) ([]byte, error) {
	if len(panels) == 0 {
		return nil, errors.New("chart: no panel to draw")
	}
	for i := range panels {
		if err := panels[i].check(); err != nil {
			return nil, err
		}
	}
	return render(func(c draw.Canvas) error {
		c = pad(c, 8, 8, 12, 12)
		c = drawTitle(c, title)
		var entries []legendEntry
		if n := len(panels[0].Series); n > 1 || panels[0].Series[0].Name != "" {
			for i, s := range panels[0].Series {
				line := &plotter.Line{LineStyle: lineStyle(i)}
				sc := &plotter.Scatter{GlyphStyle: glyph(i)}
				entries = append(entries, legendEntry{s.Name, []plot.Thumbnailer{line, sc}})
			}
		}
		left, drawLegend := splitLegend(c, legendTitle, entries, 0.32)
		tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: px(24)}
		for k := range panels {
			p, err := panels[k].plot()
			if err != nil {
				return err
			}
			p.Draw(tiles.At(left, k, 0))
		}
		drawLegend()
		return nil
	})
}

func glyph(i int) draw.GlyphStyle {
	return draw.GlyphStyle{Color: seriesColor(i), Radius: vg.Points(3.5), Shape: seriesGlyphs[i%len(seriesGlyphs)]}
}

func (l *Lines) plot() (*plot.Plot, error) {
	p := newPlot(l.Title, l.XLabel, l.YLabel)
	p.Add(plotter.NewGrid())
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, s := range l.Series {
		for _, x := range s.X {
			if finite(x) {
				xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
			}
		}
	}
	if xmin == xmax { // one x: give the axis a span
		p.X.Min, p.X.Max = xmin-1, xmax+1
	}
	bandAlpha := uint8(0x38)
	if len(l.Series) > 4 {
		bandAlpha = 0x1c
	}
	for i, s := range l.Series {
		shift := 0.0
		if l.Dodge && len(l.Series) > 1 && xmax > xmin {
			shift = (float64(i) - float64(len(l.Series)-1)/2) * 0.01 * (xmax - xmin)
		}
		// Split at NaN so that a missing point breaks the line.
		var seg plotter.XYs
		var band plotter.XYs
		var bandLow plotter.XYs
		var errs xyErr
		flush := func() error {
			if len(band) > 1 {
				ring := append(plotter.XYs{}, band...)
				for j := len(bandLow) - 1; j >= 0; j-- {
					ring = append(ring, bandLow[j])
				}
				poly, err := plotter.NewPolygon(ring)
				if err != nil {
					return err
				}
				poly.Color = withAlpha(seriesColor(i), bandAlpha)
				poly.LineStyle.Width = 0
				p.Add(poly)
			}
			if len(seg) > 0 {
				ln, err := plotter.NewLine(seg)
				if err != nil {
					return err
				}
				ln.LineStyle = lineStyle(i)
				sc, err := plotter.NewScatter(seg)
				if err != nil {
					return err
				}
				sc.GlyphStyle = glyph(i)
				p.Add(ln, sc)
			}
			seg, band, bandLow = nil, nil, nil
			return nil
		}
		for j := range s.X {
			x, y := s.X[j]+shift, s.Y[j]
			if !finite(x) || !finite(y) {
				if err := flush(); err != nil {
					return nil, fmt.Errorf("chart: series %q: %w", s.Name, err)
				}
				continue
			}
			seg = append(seg, plotter.XY{X: x, Y: y})
			if s.Err == nil || !finite(s.Err[j]) || s.Err[j] <= 0 {
				continue
			}
			e := s.Err[j]
			if s.Band {
				band = append(band, plotter.XY{X: x, Y: y + e})
				bandLow = append(bandLow, plotter.XY{X: x, Y: y - e})
			} else {
				errs.XYs = append(errs.XYs, plotter.XY{X: x, Y: y})
				errs.YErrors = append(errs.YErrors, struct{ Low, High float64 }{e, e})
			}
		}
		if err := flush(); err != nil {
			return nil, fmt.Errorf("chart: series %q: %w", s.Name, err)
		}
		if len(errs.XYs) > 0 {
			eb, err := plotter.NewYErrorBars(errs)
			if err != nil {
				return nil, fmt.Errorf("chart: series %q: %w", s.Name, err)
			}
			eb.LineStyle = lineStyle(i)
			eb.LineStyle.Width = vg.Points(1.2)
			eb.LineStyle.Dashes = nil
			eb.CapWidth = px(10)
			p.Add(eb)
		}
	}
	if len(l.XTicks) > 0 {
		ticks := make([]plot.Tick, len(l.XTicks))
		for i, x := range l.XTicks {
			ticks[i] = plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'g', -1, 64)}
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
	} else {
		p.X.Tick.Marker = denseTicks{ints: l.IntegerX}
	}
	p.X.Padding, p.Y.Padding = px(12), px(12)
	return p, nil
}
